/// The OpenAPI 3.1 description of the gateway, served at `/openapi.json` and printed by
/// `Dispatcher openapi` (the repository's `openapi.json`); a test keeps it in step with the routes.
enum OpenAPIDocument {
    static let json = #"""
        {
          "components": {
            "responses": {
              "BadRequest": {
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                },
                "description": "Malformed JSON, unknown fields or kinds, wrong types"
              },
              "Conflict": {
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                },
                "description": "The object is in another state, or the tenant is not provisioned yet"
              },
              "Forbidden": {
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                },
                "description": "Not allowed for this caller"
              },
              "NotFound": {
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                },
                "description": "No such object for this tenant"
              },
              "PolicyDenied": {
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                },
                "description": "Denied by policy"
              },
              "RateLimited": {
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                },
                "description": "Over the tenant or user rate limit (Retry-After)"
              },
              "TooLarge": {
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                },
                "description": "Body over the size limit"
              },
              "Unauthorized": {
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                },
                "description": "Missing or invalid token"
              },
              "Unavailable": {
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                },
                "description": "Identity provider, policy engine, queue, database or audit log unavailable; the detail says what was done, if anything, and whether to retry"
              },
              "Widens": {
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                },
                "description": "A lower-scope policy that widens its parent"
              }
            },
            "schemas": {
              "Approval": {
                "properties": {
                  "action": {
                    "type": "string"
                  },
                  "created_at": {
                    "type": "string"
                  },
                  "decided_by": {
                    "type": "string"
                  },
                  "decision_reason": {
                    "type": "string"
                  },
                  "expires_at": {
                    "type": "string"
                  },
                  "id": {
                    "type": "string"
                  },
                  "job_id": {
                    "type": "string"
                  },
                  "kind": {
                    "type": "string"
                  },
                  "policy_applied": {
                    "type": "string"
                  },
                  "policy_reason": {
                    "type": "string"
                  },
                  "requester_org": {
                    "type": "string"
                  },
                  "requester_team": {
                    "type": "string"
                  },
                  "requester_user": {
                    "type": "string"
                  },
                  "status": {
                    "type": "string"
                  }
                },
                "type": "object"
              },
              "ApprovalDecided": {
                "properties": {
                  "id": {
                    "type": "string"
                  },
                  "job_id": {
                    "type": "string"
                  },
                  "status": {
                    "enum": [
                      "approved",
                      "rejected"
                    ],
                    "type": "string"
                  }
                },
                "type": "object"
              },
              "ApprovalList": {
                "properties": {
                  "approvals": {
                    "items": {
                      "$ref": "#/components/schemas/Approval"
                    },
                    "type": "array"
                  }
                },
                "type": "object"
              },
              "AuditPage": {
                "properties": {
                  "entries": {
                    "items": {
                      "description": "An audit entry with seq, prev_hash and hash",
                      "type": "object"
                    },
                    "type": "array"
                  },
                  "next_cursor": {
                    "type": "string"
                  }
                },
                "type": "object"
              },
              "DecisionReason": {
                "additionalProperties": false,
                "properties": {
                  "reason": {
                    "minLength": 1,
                    "type": "string"
                  }
                },
                "required": [
                  "reason"
                ],
                "type": "object"
              },
              "JobAwaitingApproval": {
                "properties": {
                  "approval_id": {
                    "type": "string"
                  },
                  "duplicate": {
                    "type": "boolean"
                  },
                  "policy": {
                    "type": "string"
                  },
                  "reason": {
                    "type": "string"
                  },
                  "request_id": {
                    "type": "string"
                  },
                  "status": {
                    "const": "awaiting_approval"
                  }
                },
                "type": "object"
              },
              "JobCancelled": {
                "properties": {
                  "id": {
                    "type": "string"
                  },
                  "status": {
                    "const": "cancelled"
                  }
                },
                "type": "object"
              },
              "JobQueued": {
                "properties": {
                  "disclosure_required": {
                    "type": "boolean"
                  },
                  "duplicate": {
                    "type": "boolean"
                  },
                  "id": {
                    "type": "string"
                  },
                  "request_id": {
                    "type": "string"
                  },
                  "status": {
                    "const": "queued"
                  }
                },
                "type": "object"
              },
              "JobRequest": {
                "additionalProperties": false,
                "properties": {
                  "action": {
                    "examples": [
                      "gmail.read"
                    ],
                    "pattern": "^[a-z0-9_]+\\.[a-z0-9_]+$",
                    "type": "string"
                  },
                  "classification": {
                    "enum": [
                      "public",
                      "internal",
                      "confidential",
                      "restricted"
                    ],
                    "type": "string"
                  },
                  "kind": {
                    "enum": [
                      "connector-sync",
                      "classifier",
                      "auto-responder",
                      "standup",
                      "ocip-relay",
                      "briefing",
                      "noop"
                    ],
                    "type": "string"
                  },
                  "payload": {
                    "description": "Per kind: connector-sync {connector, account?, full?}; classifier {source, item_id}; auto-responder {channel, message_id}; standup {date?}; briefing {date?}; ocip-relay {envelope}; noop {sleep_ms?, fail_attempts?, fail_until_ms?, poison?, record?}",
                    "type": "object"
                  },
                  "run_at": {
                    "format": "date-time",
                    "type": "string"
                  }
                },
                "required": [
                  "kind",
                  "action"
                ],
                "type": "object"
              },
              "JobStatus": {
                "properties": {
                  "attempts": {
                    "type": "integer"
                  },
                  "enqueued_at": {
                    "format": "date-time",
                    "type": "string"
                  },
                  "finished_at": {
                    "format": "date-time",
                    "type": "string"
                  },
                  "id": {
                    "type": "string"
                  },
                  "kind": {
                    "type": "string"
                  },
                  "last_error": {
                    "type": "string"
                  },
                  "run_at": {
                    "format": "date-time",
                    "type": "string"
                  },
                  "started_at": {
                    "format": "date-time",
                    "type": "string"
                  },
                  "status": {
                    "enum": [
                      "queued",
                      "running",
                      "succeeded",
                      "retrying",
                      "failed",
                      "dead",
                      "cancelled"
                    ],
                    "type": "string"
                  },
                  "updated_at": {
                    "format": "date-time",
                    "type": "string"
                  }
                },
                "type": "object"
              },
              "PolicyChange": {
                "additionalProperties": false,
                "properties": {
                  "change_reason": {
                    "minLength": 1,
                    "type": "string"
                  },
                  "content": {
                    "type": "object"
                  }
                },
                "required": [
                  "content",
                  "change_reason"
                ],
                "type": "object"
              },
              "PolicyList": {
                "properties": {
                  "policies": {
                    "items": {
                      "properties": {
                        "author": {
                          "type": "string"
                        },
                        "change_reason": {
                          "type": "string"
                        },
                        "content": {
                          "type": "object"
                        },
                        "created_at": {
                          "type": "string"
                        },
                        "domain": {
                          "type": "string"
                        },
                        "scope": {
                          "type": "string"
                        },
                        "scope_id": {
                          "type": "string"
                        },
                        "version": {
                          "type": "integer"
                        }
                      },
                      "type": "object"
                    },
                    "type": "array"
                  },
                  "revision": {
                    "type": "integer"
                  }
                },
                "type": "object"
              },
              "PolicySaved": {
                "properties": {
                  "revision": {
                    "type": "integer"
                  },
                  "version": {
                    "type": "integer"
                  }
                },
                "type": "object"
              },
              "Problem": {
                "properties": {
                  "detail": {
                    "type": "string"
                  },
                  "instance": {
                    "type": "string"
                  },
                  "policy": {
                    "type": "string"
                  },
                  "status": {
                    "type": "integer"
                  },
                  "title": {
                    "type": "string"
                  },
                  "type": {
                    "format": "uri",
                    "type": "string"
                  }
                },
                "required": [
                  "type",
                  "title",
                  "status",
                  "detail"
                ],
                "type": "object"
              },
              "Readiness": {
                "properties": {
                  "policy_engine": {
                    "type": "string"
                  },
                  "postgresql": {
                    "type": "string"
                  },
                  "redis": {
                    "type": "string"
                  },
                  "status": {
                    "type": "string"
                  }
                },
                "type": "object"
              },
              "Schedule": {
                "properties": {
                  "active": {
                    "type": "boolean"
                  },
                  "created_at": {
                    "type": "string"
                  },
                  "created_by": {
                    "type": "string"
                  },
                  "cron": {
                    "type": "string"
                  },
                  "id": {
                    "type": "string"
                  },
                  "job": {
                    "type": "object"
                  },
                  "last_fired_at": {
                    "type": "string"
                  },
                  "next_fire_at": {
                    "type": "string"
                  },
                  "time_zone": {
                    "type": "string"
                  }
                },
                "type": "object"
              },
              "ScheduleList": {
                "properties": {
                  "schedules": {
                    "items": {
                      "$ref": "#/components/schemas/Schedule"
                    },
                    "type": "array"
                  }
                },
                "type": "object"
              },
              "ScheduleRequest": {
                "additionalProperties": false,
                "properties": {
                  "cron": {
                    "examples": [
                      "0 8 * * *",
                      "@daily"
                    ],
                    "type": "string"
                  },
                  "job": {
                    "description": "A JobRequest without run_at",
                    "type": "object"
                  },
                  "time_zone": {
                    "examples": [
                      "Europe/Berlin"
                    ],
                    "type": "string"
                  }
                },
                "required": [
                  "cron",
                  "time_zone",
                  "job"
                ],
                "type": "object"
              }
            },
            "securitySchemes": {
              "bearer": {
                "bearerFormat": "JWT",
                "description": "OIDC access token (RS256 or ES256) from the configured issuer",
                "scheme": "bearer",
                "type": "http"
              }
            }
          },
          "info": {
            "description": "Every request becomes a policy-checked job. Authenticate with an OIDC bearer token; tenant, user, org, team and roles come from the token only. Errors are application/problem+json with a stable type URI under https://openclaw.dev/problems/.",
            "title": "OpenClaw Enterprise Fleet gateway",
            "version": "1.0.0"
          },
          "openapi": "3.1.0",
          "paths": {
            "/healthz": {
              "get": {
                "responses": {
                  "200": {
                    "description": "The process is up"
                  }
                },
                "security": [],
                "summary": "Liveness",
                "tags": [
                  "operations"
                ]
              }
            },
            "/metrics": {
              "get": {
                "responses": {
                  "200": {
                    "content": {
                      "text/plain": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    },
                    "description": "Prometheus text format"
                  }
                },
                "security": [],
                "summary": "Prometheus metrics",
                "tags": [
                  "operations"
                ]
              }
            },
            "/openapi.json": {
              "get": {
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object"
                        }
                      }
                    },
                    "description": "OpenAPI 3.1"
                  }
                },
                "security": [],
                "summary": "This document",
                "tags": [
                  "operations"
                ]
              }
            },
            "/readyz": {
              "get": {
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Readiness"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "503": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Readiness"
                        }
                      }
                    },
                    "description": "Redis or PostgreSQL is unreachable, or the policy engine does not hold this Dispatcher's policies"
                  }
                },
                "security": [],
                "summary": "Readiness: Redis and PostgreSQL answer, and the policy engine holds this Dispatcher's policies",
                "tags": [
                  "operations"
                ]
              }
            },
            "/v1/approvals": {
              "get": {
                "parameters": [
                  {
                    "description": "pending (default), approved, rejected or expired",
                    "in": "query",
                    "name": "status",
                    "required": false,
                    "schema": {
                      "enum": [
                        "pending",
                        "approved",
                        "rejected",
                        "expired"
                      ],
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/ApprovalList"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "429": {
                    "$ref": "#/components/responses/RateLimited"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                },
                "summary": "Approvals you may decide, and your own requests",
                "tags": [
                  "approvals"
                ]
              }
            },
            "/v1/approvals/{id}": {
              "get": {
                "parameters": [
                  {
                    "description": "Approval id",
                    "in": "path",
                    "name": "id",
                    "required": true,
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Approval"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "429": {
                    "$ref": "#/components/responses/RateLimited"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                },
                "summary": "One approval",
                "tags": [
                  "approvals"
                ]
              }
            },
            "/v1/approvals/{id}/approve": {
              "post": {
                "parameters": [
                  {
                    "description": "Approval id",
                    "in": "path",
                    "name": "id",
                    "required": true,
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "requestBody": {
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/DecisionReason"
                      }
                    }
                  },
                  "required": true
                },
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/ApprovalDecided"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "429": {
                    "$ref": "#/components/responses/RateLimited"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                },
                "summary": "Approve: the job is enqueued",
                "tags": [
                  "approvals"
                ]
              }
            },
            "/v1/approvals/{id}/reject": {
              "post": {
                "parameters": [
                  {
                    "description": "Approval id",
                    "in": "path",
                    "name": "id",
                    "required": true,
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "requestBody": {
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/DecisionReason"
                      }
                    }
                  },
                  "required": true
                },
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/ApprovalDecided"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "429": {
                    "$ref": "#/components/responses/RateLimited"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                },
                "summary": "Reject",
                "tags": [
                  "approvals"
                ]
              }
            },
            "/v1/audit": {
              "get": {
                "parameters": [
                  {
                    "description": "User id",
                    "in": "query",
                    "name": "user",
                    "required": false,
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "description": "Action type",
                    "in": "query",
                    "name": "action_type",
                    "required": false,
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "description": "success, denied, error, pending_approval",
                    "in": "query",
                    "name": "outcome",
                    "required": false,
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "description": "Classification",
                    "in": "query",
                    "name": "classification",
                    "required": false,
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "description": "Request id",
                    "in": "query",
                    "name": "request_id",
                    "required": false,
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "description": "ISO 8601, inclusive",
                    "in": "query",
                    "name": "from",
                    "required": false,
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "description": "ISO 8601, exclusive",
                    "in": "query",
                    "name": "to",
                    "required": false,
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "description": "1-1000 (default 100)",
                    "in": "query",
                    "name": "limit",
                    "required": false,
                    "schema": {
                      "type": "integer"
                    }
                  },
                  {
                    "description": "next_cursor of the previous page",
                    "in": "query",
                    "name": "cursor",
                    "required": false,
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/AuditPage"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "429": {
                    "$ref": "#/components/responses/RateLimited"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                },
                "summary": "Audit entries, newest first (enterprise admins: the tenant's; others: their own)",
                "tags": [
                  "audit"
                ]
              }
            },
            "/v1/jobs": {
              "post": {
                "description": "The policy engine decides: allow (202 queued), require_approval (202 awaiting_approval), deny (403). If the policy engine is unreachable nothing is enqueued (503 policy-unavailable). Every decision is audited.",
                "parameters": [
                  {
                    "description": "Repeats return the first submission",
                    "in": "header",
                    "name": "Idempotency-Key",
                    "required": false,
                    "schema": {
                      "maxLength": 200,
                      "type": "string"
                    }
                  },
                  {
                    "in": "header",
                    "name": "X-Request-Id",
                    "required": false,
                    "schema": {
                      "maxLength": 64,
                      "type": "string"
                    }
                  },
                  {
                    "description": "W3C trace context, carried to the worker",
                    "in": "header",
                    "name": "traceparent",
                    "required": false,
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "requestBody": {
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/JobRequest"
                      }
                    }
                  },
                  "required": true
                },
                "responses": {
                  "202": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "oneOf": [
                            {
                              "$ref": "#/components/schemas/JobQueued"
                            },
                            {
                              "$ref": "#/components/schemas/JobAwaitingApproval"
                            }
                          ]
                        }
                      }
                    },
                    "description": "Queued (allow) or parked for approval (require_approval)",
                    "headers": {
                      "Location": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/PolicyDenied"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "429": {
                    "$ref": "#/components/responses/RateLimited"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                },
                "summary": "Submit a job",
                "tags": [
                  "jobs"
                ]
              }
            },
            "/v1/jobs/{id}": {
              "delete": {
                "parameters": [
                  {
                    "description": "Job id",
                    "in": "path",
                    "name": "id",
                    "required": true,
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/JobCancelled"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "429": {
                    "$ref": "#/components/responses/RateLimited"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                },
                "summary": "Cancel a job that has not started",
                "tags": [
                  "jobs"
                ]
              },
              "get": {
                "parameters": [
                  {
                    "description": "Job id",
                    "in": "path",
                    "name": "id",
                    "required": true,
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/JobStatus"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "429": {
                    "$ref": "#/components/responses/RateLimited"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                },
                "summary": "A job's status",
                "tags": [
                  "jobs"
                ]
              }
            },
            "/v1/policies": {
              "get": {
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/PolicyList"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "429": {
                    "$ref": "#/components/responses/RateLimited"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                },
                "summary": "Current policy documents you may see",
                "tags": [
                  "policies"
                ]
              }
            },
            "/v1/policies/{scope}/{scopeID}/{domain}": {
              "put": {
                "description": "Lower scopes may only restrict their parents; a widening document is refused (422) with the reasons. Every change is versioned (author, time, change reason), audited, and effective on every Dispatcher within seconds.",
                "parameters": [
                  {
                    "in": "path",
                    "name": "scope",
                    "required": true,
                    "schema": {
                      "enum": [
                        "enterprise",
                        "org",
                        "team",
                        "user"
                      ],
                      "type": "string"
                    }
                  },
                  {
                    "description": "'*' for the enterprise, else the org id, '<org>:<team>' for a team, or the user id",
                    "in": "path",
                    "name": "scopeID",
                    "required": true,
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "in": "path",
                    "name": "domain",
                    "required": true,
                    "schema": {
                      "enum": [
                        "models",
                        "actions",
                        "integrations",
                        "agent-to-agent",
                        "features",
                        "data",
                        "audit"
                      ],
                      "type": "string"
                    }
                  }
                ],
                "requestBody": {
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/PolicyChange"
                      }
                    }
                  },
                  "required": true
                },
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/PolicySaved"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "422": {
                    "$ref": "#/components/responses/Widens"
                  },
                  "429": {
                    "$ref": "#/components/responses/RateLimited"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                },
                "summary": "Save a new version of a policy document",
                "tags": [
                  "policies"
                ]
              }
            },
            "/v1/schedules": {
              "get": {
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/ScheduleList"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "429": {
                    "$ref": "#/components/responses/RateLimited"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                },
                "summary": "Your schedules (all for an enterprise admin)",
                "tags": [
                  "schedules"
                ]
              },
              "post": {
                "requestBody": {
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/ScheduleRequest"
                      }
                    }
                  },
                  "required": true
                },
                "responses": {
                  "201": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Schedule"
                        }
                      }
                    },
                    "description": "Created"
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/PolicyDenied"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "429": {
                    "$ref": "#/components/responses/RateLimited"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                },
                "summary": "Create a schedule (cron + IANA time zone + job template)",
                "tags": [
                  "schedules"
                ]
              }
            },
            "/v1/schedules/{id}": {
              "delete": {
                "parameters": [
                  {
                    "description": "Schedule id",
                    "in": "path",
                    "name": "id",
                    "required": true,
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "204": {
                    "description": "Deleted"
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "429": {
                    "$ref": "#/components/responses/RateLimited"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                },
                "summary": "Delete a schedule",
                "tags": [
                  "schedules"
                ]
              },
              "get": {
                "parameters": [
                  {
                    "description": "Schedule id",
                    "in": "path",
                    "name": "id",
                    "required": true,
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Schedule"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "429": {
                    "$ref": "#/components/responses/RateLimited"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                },
                "summary": "One schedule",
                "tags": [
                  "schedules"
                ]
              }
            }
          },
          "security": [
            {
              "bearer": []
            }
          ],
          "servers": [
            {
              "url": "http://127.0.0.1:8080"
            }
          ],
          "tags": [
            {
              "name": "jobs"
            },
            {
              "name": "approvals"
            },
            {
              "name": "schedules"
            },
            {
              "name": "policies"
            },
            {
              "name": "audit"
            },
            {
              "name": "operations"
            }
          ]
        }
        """#
}
