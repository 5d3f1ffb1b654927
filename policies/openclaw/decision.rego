# The decision for one action of one requester.
#
# input: {tenant, user, org, team, roles, action, classification, target, channel,
#         model: {name, external}}
# data.openclaw.tenants[<tenant>]: the tenant's policy documents by scope:
#   {enterprise: DOC, orgs: {<org>: DOC}, teams: {"<org>:<team>": DOC}, users: {<user>: DOC}, revision}
#   DOC (every domain optional):
#     actions:      {<action> | "default": {autonomy, max_classification, allowed_transitions}}
#     integrations: {write: [<write action>, ...]}
#     models:       {external_max_classification}
#     data:         {max_classification}
#
# Lower scopes can only restrict (saving a widening policy is refused, and here the most
# restrictive value of all scopes wins anyway). Anything undefined is blocked.
package openclaw.decision

import rego.v1

permissiveness := {"block": 0, "approve": 1, "notify": 2, "autonomous": 3}

class_rank := {"public": 0, "internal": 1, "confidential": 2, "restricted": 3}

write_actions := {
	"gmail.send", "gmail.draft", "gcal.create_event", "jira.comment", "jira.transition", "github.comment",
	"autorespond.send", "ocip.send", "ocip.reply",
}

tenant := data.openclaw.tenants[input.tenant]

# Unknown or missing classification is restricted.
classification := input.classification if class_rank[input.classification] else := "restricted"

# The scopes that apply to the requester, as {label, doc}.
scopes contains {"label": "enterprise", "doc": tenant.enterprise} if tenant.enterprise

scopes contains {"label": sprintf("org:%s", [input.org]), "doc": doc} if {
	input.org != ""
	doc := tenant.orgs[input.org]
}

# A team is named within its org: its documents are under "<org>:<team>".
scopes contains {"label": sprintf("team:%s:%s", [input.org, input.team]), "doc": doc} if {
	input.team != ""
	doc := tenant.teams[sprintf("%s:%s", [input.org, input.team])]
}

scopes contains {"label": sprintf("user:%s", [input.user]), "doc": doc} if {
	doc := tenant.users[input.user]
}

# The action's settings in one document: its own entry, else the document's default.
action_settings(doc) := doc.actions[input.action]

action_settings(doc) := doc.actions["default"] if not doc.actions[input.action]

# Autonomy each scope sets for the action (the enterprise blocks unless it says otherwise).
autonomy contains {"label": s.label, "level": level} if {
	some s in scopes
	level := action_settings(s.doc).autonomy
	permissiveness[level]
}

autonomy contains {"label": "enterprise", "level": "block"} if {
	not action_settings(tenant.enterprise).autonomy
}

effective_rank := min({permissiveness[a.level] | some a in autonomy})

effective_level := level if {
	some level, rank in permissiveness
	rank == effective_rank
}

# The most general scope that set the effective level.
deciding_scope := label if {
	labels := [a.label | some a in autonomy; permissiveness[a.level] == effective_rank]
	label := sort(labels)[0]
}

# Classification ceiling for the action's data, per scope.
ceilings contains {"label": s.label, "level": level} if {
	some s in scopes
	level := action_settings(s.doc).max_classification
}

ceilings contains {"label": s.label, "level": level} if {
	some s in scopes
	level := s.doc.data.max_classification
}

effective_ceiling := level if {
	count(ceilings) > 0
	rank := min({class_rank[c.level] | some c in ceilings})
	some level, r in class_rank
	r == rank
} else := "restricted"

# Transitions (e.g. Jira) allowed by every scope that lists them.
transition_lists := [action_settings(s.doc).allowed_transitions | some s in scopes]

allowed_transitions_all := sort([t |
	count(transition_lists) > 0
	some t in transition_lists[0]
	every list in transition_lists {
		t in list
	}
])

violations contains {"policy": sprintf("%s/data", [c.label]), "reason": sprintf("data classified %s exceeds the %s ceiling set by %s", [classification, c.level, c.label])} if {
	some c in ceilings
	class_rank[classification] > class_rank[c.level]
}

violations contains {"policy": "enterprise/integrations", "reason": sprintf("%s writes to an external system and the enterprise policy does not allow it (connectors are read-only by default)", [input.action])} if {
	input.action in write_actions
	not input.action in object.get(object.get(tenant.enterprise, "integrations", {}), "write", [])
}

violations contains {"policy": sprintf("%s/integrations", [s.label]), "reason": sprintf("%s writes to an external system and %s does not allow it", [input.action, s.label])} if {
	input.action in write_actions
	some s in scopes
	s.label != "enterprise"
	writes := s.doc.integrations.write
	not input.action in writes
}

model_ceilings contains {"label": s.label, "level": s.doc.models.external_max_classification} if {
	some s in scopes
	s.doc.models.external_max_classification
}

model_ceiling := level if {
	count(model_ceilings) > 0
	rank := min({class_rank[c.level] | some c in model_ceilings})
	some level, r in class_rank
	r == rank
} else := "internal"

violations contains {"policy": "models", "reason": sprintf("data classified %s may not go to an external model (ceiling %s)", [classification, model_ceiling])} if {
	input.action == "model.call"
	object.get(object.get(input, "model", {}), "external", true) == true
	class_rank[classification] > class_rank[model_ceiling]
}

# The requester may approve their own request only where the enterprise says so and no lower
# scope says otherwise.
default self_approval := false

self_approval if {
	action_settings(tenant.enterprise).self_approval == true
	not self_approval_withdrawn
}

self_approval_withdrawn if {
	some s in scopes
	action_settings(s.doc).self_approval == false
}

outcome := {"block": "deny", "approve": "require_approval", "notify": "allow", "autonomous": "allow"}

reasons := {
	"block": "is blocked",
	"approve": "needs a human approval",
	"notify": "is allowed with an AI disclosure",
	"autonomous": "is allowed",
}

decision := result if {
	count(violations) > 0
	first := sort([sprintf("%s|%s", [v.policy, v.reason]) | some v in violations])[0]
	parts := split(first, "|")
	result := {"decision": "deny", "policy_applied": parts[0], "reason": parts[1], "constraints": {}}
} else := result if {
	tenant.enterprise
	level := effective_level
	result := {
		"decision": outcome[level],
		"policy_applied": sprintf("%s/actions", [deciding_scope]),
		"reason": sprintf("%s %s by %s", [input.action, reasons[level], deciding_scope]),
		"constraints": {
			"disclosure_required": level == "notify",
			"max_classification": effective_ceiling,
			"allowed_transitions": allowed_transitions_all,
			"self_approval": self_approval,
		},
	}
} else := {
	"decision": "deny",
	"policy_applied": "openclaw/default",
	"reason": "no enterprise policy is defined for this tenant (everything is blocked by default)",
	"constraints": {},
}
