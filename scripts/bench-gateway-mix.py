#!/usr/bin/env python3
"""Tenants, users, policies and requests for `scripts/bench gateway-mix`.

  bench-gateway-mix.py claims DIR                 writes DIR/claims.jsonl (admins, then users)
  bench-gateway-mix.py provision DIR URL          with DIR/tokens.txt (one per claims line): saves
                                                  every tenant's policies through the API and writes
                                                  DIR/requests.jsonl ({"token", "body"} per line)

100 tenants x 100 users in three orgs and four teams, some team leads; each tenant's enterprise
policy allows most of what the mix asks, parks writes for approval and blocks the rest; one org
per tenant restricts a read further, and five users per tenant have a policy of their own (users
are named within their tenant, as an identity provider's subjects are, so no two tenants' documents
are the same). The
requests mix kinds (noop, connector-sync, classifier), actions and classifications so that about
80% are allowed, 10% need an approval and 10% are denied.
"""

import json
import random
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

TENANTS = [f"mix-{n:03d}" for n in range(1, 101)]
USERS = 100
ORGS = ["eng", "ops", "sales"]
TEAMS = ["core", "web", "data", "infra"]
OWN_POLICY = {7, 23, 41, 66, 88}  # users (by number) with a user-scope policy

ENTERPRISE = {
    "default": {"autonomy": "block"},
    "noop.run": {"autonomy": "autonomous"},
    "gmail.read": {"autonomy": "autonomous", "max_classification": "confidential"},
    "jira.read": {"autonomy": "autonomous"},
    "github.read": {"autonomy": "autonomous"},
    "gdrive.read": {"autonomy": "notify"},
    "jira.comment": {"autonomy": "approve"},
    "gcal.create_event": {"autonomy": "approve"},
}

# (weight, body): about 80% allowed, 10% parked for approval, 10% denied under the policies above.
MIX = [
    (30, {"kind": "noop", "action": "noop.run"}),
    (14, {"kind": "connector-sync", "action": "gmail.read", "payload": {"connector": "gmail"}}),
    (10, {"kind": "connector-sync", "action": "jira.read", "payload": {"connector": "jira"}}),
    (10, {"kind": "classifier", "action": "github.read", "payload": {"source": "github"}}),
    (10, {"kind": "noop", "action": "gdrive.read", "classification": "internal"}),
    (6, {"kind": "noop", "action": "jira.read", "classification": "internal"}),
    (6, {"kind": "noop", "action": "jira.comment", "classification": "internal"}),
    (4, {"kind": "noop", "action": "gcal.create_event", "classification": "confidential"}),
    (6, {"kind": "noop", "action": "gmail.send", "classification": "internal"}),
    (4, {"kind": "noop", "action": "gmail.read", "classification": "restricted"}),
]


def user_id(tenant, number):
    return f"u{number:03d}-{tenant}"


def user_claims(tenant, number):
    roles = ["team_lead"] if number % 20 == 0 else ["user"]
    return {"tenant": tenant, "sub": user_id(tenant, number), "org": ORGS[number % 3], "team": TEAMS[(number // 3) % 4],
            "roles": roles}


def claims(directory):
    with open(f"{directory}/claims.jsonl", "w") as out:
        for tenant in TENANTS:
            out.write(json.dumps({"tenant": tenant, "sub": "admin", "org": "", "team": "", "roles": ["enterprise_admin"]}) + "\n")
        for tenant in TENANTS:
            for number in range(USERS):
                out.write(json.dumps(user_claims(tenant, number)) + "\n")


def put(url, token, path, content):
    body = json.dumps({"content": content, "change_reason": "bench"}).encode()
    request = urllib.request.Request(url + path, data=body, method="PUT",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        if response.status >= 300:
            raise SystemExit(f"PUT {path}: {response.status}")


def provision(directory, url):
    tokens = open(f"{directory}/tokens.txt").read().split()
    admins = dict(zip(TENANTS, tokens[:len(TENANTS)]))
    users = tokens[len(TENANTS):]

    def tenant_policies(tenant):
        token = admins[tenant]
        put(url, token, "/v1/policies/enterprise/*/integrations", {"write": ["jira.comment", "gcal.create_event"]})
        put(url, token, "/v1/policies/enterprise/*/actions", ENTERPRISE)
        put(url, token, "/v1/policies/org/sales/actions", {"gdrive.read": {"autonomy": "approve"}})
        for number in sorted(OWN_POLICY):
            put(url, token, f"/v1/policies/user/{user_id(tenant, number)}/actions", {"jira.read": {"autonomy": "approve"}})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(tenant_policies, TENANTS))

    rng = random.Random(20261201)
    bodies = [body for weight, body in MIX for _ in range(weight)]
    with open(f"{directory}/requests.jsonl", "w") as out:
        for _ in range(50_000):
            out.write(json.dumps({"token": rng.choice(users), "body": rng.choice(bodies)}) + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["claims"]:
        claims(sys.argv[2])
    elif sys.argv[1:2] == ["provision"]:
        provision(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
