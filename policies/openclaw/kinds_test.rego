# One test per job kind (the kind catalog in Sources/Contracts/Kinds): the actions a kind
# performs, decided as the kind's jobs meet them. A test checks that every kind has one here
# (named test_kind_<kind>_...).
package openclaw.kinds_test

import rego.v1

import data.openclaw.decision

policies := {"acme": {
	"enterprise": {
		"actions": {
			"default": {"autonomy": "block"},
			"gmail.read": {"autonomy": "autonomous"},
			"gcal.read": {"autonomy": "autonomous"},
			"jira.read": {"autonomy": "autonomous"},
			"github.read": {"autonomy": "autonomous"},
			"gdrive.read": {"autonomy": "autonomous"},
			"model.call": {"autonomy": "autonomous"},
			"autorespond.send": {"autonomy": "approve", "max_classification": "confidential"},
			"gmail.send": {"autonomy": "notify"},
			"ocip.send": {"autonomy": "autonomous"},
			"ocip.reply": {"autonomy": "approve"},
			"noop.run": {"autonomy": "autonomous"},
		},
		"integrations": {"write": ["autorespond.send", "gmail.send", "ocip.reply"]},
		"models": {"external_max_classification": "internal"},
		"data": {"max_classification": "confidential"},
	},
	"orgs": {},
	"teams": {},
	"users": {},
}}

decide(overrides) := d if {
	request := object.union(
		{"tenant": "acme", "user": "alice", "org": "eng", "team": "", "roles": ["user"], "classification": "internal"},
		overrides,
	)
	d := decision.decision with data.openclaw.tenants as policies with input as request
}

test_kind_connector_sync_reads_each_connector if {
	every action in ["gmail.read", "gcal.read", "jira.read", "github.read", "gdrive.read"] {
		decide({"action": action}).decision == "allow"
	}
}

test_kind_connector_sync_is_refused_above_the_data_ceiling if {
	d := decide({"action": "gmail.read", "classification": "restricted"})
	d.decision == "deny"
	d.policy_applied == "enterprise/data"
}

test_kind_classifier_reads_the_item_of_its_source if {
	every action in ["gmail.read", "gcal.read", "jira.read", "github.read", "gdrive.read"] {
		decide({"action": action}).decision == "allow"
	}
}

test_kind_classifier_keeps_confidential_data_from_external_models if {
	decide({"action": "model.call", "model": {"name": "gpt", "external": true}}).decision == "allow"
	d := decide({"action": "model.call", "classification": "confidential", "model": {"name": "gpt", "external": true}})
	d.decision == "deny"
	d.policy_applied == "models"
}

test_kind_auto_responder_sends_after_approval_with_disclosure_for_mail if {
	decide({"action": "gmail.read"}).decision == "allow"
	decide({"action": "autorespond.send"}).decision == "require_approval"
	mail := decide({"action": "gmail.send"})
	mail.decision == "allow"
	mail.constraints.disclosure_required == true
}

test_kind_auto_responder_cannot_send_without_a_write_permission if {
	withdrawn := json.patch(policies, [{"op": "replace", "path": "/acme/enterprise/integrations/write", "value": []}])
	d := decision.decision with data.openclaw.tenants as withdrawn
		with input as {"tenant": "acme", "user": "alice", "org": "", "team": "", "roles": [], "action": "autorespond.send", "classification": "internal"}
	d.decision == "deny"
	d.policy_applied == "enterprise/integrations"
}

test_kind_standup_reads_activity_and_calls_an_internal_model if {
	every action in ["gmail.read", "gcal.read", "jira.read", "github.read", "gdrive.read"] {
		decide({"action": action}).decision == "allow"
	}
	decide({"action": "model.call", "classification": "confidential", "model": {"name": "local", "external": false}}).decision == "allow"
}

test_kind_briefing_reads_its_sources_and_calls_an_internal_model if {
	every action in ["gmail.read", "gcal.read", "jira.read", "github.read", "gdrive.read"] {
		decide({"action": action}).decision == "allow"
	}
	decide({"action": "model.call", "model": {"name": "local", "external": false}}).decision == "allow"
}

test_kind_briefing_mails_only_what_the_data_ceiling_allows if {
	# The briefing is mailed (gmail.send, decided at run time) at the highest level allowed.
	decide({"action": "gmail.send", "classification": "internal"}).decision == "allow"
	decide({"action": "gmail.send", "classification": "restricted"}).decision == "deny"
}

test_kind_ocip_relay_sends_only_what_integrations_allow if {
	# ocip.send is autonomous but not among the writes the enterprise allows.
	send := decide({"action": "ocip.send"})
	send.decision == "deny"
	send.policy_applied == "enterprise/integrations"
	decide({"action": "ocip.reply"}).decision == "require_approval"
}

test_kind_noop_runs_under_its_own_action if {
	decide({"action": "noop.run"}).decision == "allow"
	decide({"action": "noop.other"}).decision == "deny"
}
