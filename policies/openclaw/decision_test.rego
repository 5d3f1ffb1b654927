package openclaw.decision_test

import rego.v1

import data.openclaw.decision

policies := {"acme": {
	"enterprise": {
		"actions": {
			"default": {"autonomy": "block"},
			"gmail.read": {"autonomy": "autonomous"},
			"gmail.send": {"autonomy": "approve", "max_classification": "confidential"},
			"jira.transition": {"autonomy": "autonomous", "allowed_transitions": ["In Review", "Done"]},
			"jira.comment": {"autonomy": "notify"},
			"gcal.create_event": {"autonomy": "approve", "self_approval": true},
			"model.call": {"autonomy": "autonomous"},
			"noop.run": {"autonomy": "autonomous"},
		},
		"integrations": {"write": ["gmail.send", "jira.transition", "jira.comment", "gcal.create_event"]},
		"models": {"external_max_classification": "internal"},
		"data": {"max_classification": "restricted"},
	},
	"orgs": {"eng": {"actions": {"gmail.send": {"autonomy": "block"}}}},
	"teams": {"sales:core": {
		"actions": {"jira.transition": {"autonomy": "approve", "allowed_transitions": ["In Review"]}},
		"integrations": {"write": ["jira.transition"]},
	}},
	"users": {"bob": {"data": {"max_classification": "internal"}}},
	"revision": 7,
}}

request(overrides) := object.union(
	{"tenant": "acme", "user": "alice", "org": "sales", "team": "", "roles": ["user"], "action": "gmail.read", "classification": "internal"},
	overrides,
)

test_autonomous_action_is_allowed if {
	d := decision.decision with data.openclaw.tenants as policies with input as request({})
	d.decision == "allow"
	d.constraints.disclosure_required == false
	d.policy_applied == "enterprise/actions"
}

test_unlisted_action_is_blocked_by_default if {
	d := decision.decision with data.openclaw.tenants as policies with input as request({"action": "gdrive.read"})
	d.decision == "deny"
}

test_tenant_without_policy_is_denied if {
	d := decision.decision with data.openclaw.tenants as policies with input as request({"tenant": "other"})
	d.decision == "deny"
	d.policy_applied == "openclaw/default"
}

test_approve_level_requires_approval if {
	d := decision.decision with data.openclaw.tenants as policies with input as request({"action": "gmail.send"})
	d.decision == "require_approval"
}

test_notify_level_allows_with_disclosure if {
	d := decision.decision with data.openclaw.tenants as policies with input as request({"action": "jira.comment"})
	d.decision == "allow"
	d.constraints.disclosure_required == true
}

test_org_can_restrict_to_block if {
	d := decision.decision with data.openclaw.tenants as policies with input as request({"action": "gmail.send", "org": "eng"})
	d.decision == "deny"
	d.policy_applied == "org:eng/actions"
}

test_team_restricts_level_and_transitions if {
	d := decision.decision with data.openclaw.tenants as policies with input as request({"action": "jira.transition", "team": "core"})
	d.decision == "require_approval"
	d.constraints.allowed_transitions == ["In Review"]
}

test_enterprise_transitions_without_team if {
	d := decision.decision with data.openclaw.tenants as policies with input as request({"action": "jira.transition"})
	d.decision == "allow"
	d.constraints.allowed_transitions == ["Done", "In Review"]
}

test_lower_scope_cannot_widen if {
	widened := json.patch(policies, [{"op": "add", "path": "/acme/users/alice", "value": {"actions": {"gmail.send": {"autonomy": "autonomous"}}}}])
	d := decision.decision with data.openclaw.tenants as widened with input as request({"action": "gmail.send"})
	d.decision == "require_approval"
}

test_write_needs_enterprise_permission if {
	d := decision.decision with data.openclaw.tenants as policies with input as request({"action": "github.comment"})
	d.decision == "deny"
	d.policy_applied == "enterprise/integrations"
}

test_team_can_withdraw_a_write if {
	d := decision.decision with data.openclaw.tenants as policies with input as request({"action": "jira.comment", "team": "core"})
	d.decision == "deny"
	d.policy_applied == "team:sales:core/integrations"
}

test_classification_ceiling_per_action if {
	d := decision.decision with data.openclaw.tenants as policies with input as request({"action": "gmail.send", "classification": "restricted"})
	d.decision == "deny"
	contains(d.reason, "exceeds the confidential ceiling")
}

test_user_ceiling_applies if {
	d := decision.decision with data.openclaw.tenants as policies with input as request({"user": "bob", "classification": "confidential"})
	d.decision == "deny"
	d.policy_applied == "user:bob/data"
}

test_unknown_classification_is_restricted if {
	d := decision.decision with data.openclaw.tenants as policies with input as request({"user": "bob", "classification": "top-secret"})
	d.decision == "deny"
}

test_confidential_data_never_to_external_model if {
	d := decision.decision with data.openclaw.tenants as policies with input as request({"action": "model.call", "classification": "confidential", "model": {"name": "gpt", "external": true}})
	d.decision == "deny"
	d.policy_applied == "models"
}

test_confidential_data_to_internal_model_is_fine if {
	d := decision.decision with data.openclaw.tenants as policies with input as request({"action": "model.call", "classification": "confidential", "model": {"name": "local", "external": false}})
	d.decision == "allow"
}

test_enterprise_may_allow_external_models_higher if {
	raised := json.patch(policies, [{"op": "replace", "path": "/acme/enterprise/models/external_max_classification", "value": "confidential"}])
	d := decision.decision with data.openclaw.tenants as raised with input as request({"action": "model.call", "classification": "confidential", "model": {"external": true}})
	d.decision == "allow"
}

test_self_approval_only_where_enterprise_allows if {
	own := decision.decision with data.openclaw.tenants as policies with input as request({"action": "gcal.create_event"})
	own.decision == "require_approval"
	own.constraints.self_approval == true
	other := decision.decision with data.openclaw.tenants as policies with input as request({"action": "gmail.send"})
	other.constraints.self_approval == false
}

test_lower_scope_can_withdraw_self_approval if {
	withdrawn := json.patch(policies, [{"op": "add", "path": "/acme/users/alice", "value": {"actions": {"gcal.create_event": {"self_approval": false}}}}])
	d := decision.decision with data.openclaw.tenants as withdrawn with input as request({"action": "gcal.create_event"})
	d.constraints.self_approval == false
}

test_a_team_is_named_within_its_org if {
	d := decision.decision with data.openclaw.tenants as policies with input as request({"action": "jira.comment", "org": "support", "team": "core"})
	d.decision == "allow"
}
