# Shared by the scripts in this folder: paths, ports and small helpers. Source it, don't run it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="$ROOT/var"

say() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# Ports of the local instances: "dev" (scripts/up), "test" (scripts/test), "bench" and
# "bench-audit" (scripts/bench; the audit benchmark keeps its filled table apart from the benches
# that start empty) and "chaos" (scripts/chaos).
instance_ports() {
  case "$1" in
    dev)  REDIS_PORT="${OC_DEV_REDIS_PORT:-6380}";  PG_PORT="${OC_DEV_PG_PORT:-5433}";  OPA_PORT="${OC_DEV_OPA_PORT:-8281}" ;;
    test) REDIS_PORT="${OC_TEST_REDIS_PORT:-6391}"; PG_PORT="${OC_TEST_PG_PORT:-5491}"; OPA_PORT="${OC_TEST_OPA_PORT:-8291}" ;;
    bench) REDIS_PORT="${OC_BENCH_REDIS_PORT:-6396}"; PG_PORT="${OC_BENCH_PG_PORT:-5496}"; OPA_PORT="${OC_BENCH_OPA_PORT:-8296}" ;;
    bench-audit) REDIS_PORT="${OC_BENCH_AUDIT_REDIS_PORT:-6397}"; PG_PORT="${OC_BENCH_AUDIT_PG_PORT:-5497}"; OPA_PORT="${OC_BENCH_AUDIT_OPA_PORT:-8295}" ;;
    chaos) REDIS_PORT="${OC_CHAOS_REDIS_PORT:-6393}"; PG_PORT="${OC_CHAOS_PG_PORT:-5493}"; OPA_PORT="${OC_CHAOS_OPA_PORT:-8293}" ;;
    *) die "unknown instance '$1' (dev, test, bench, bench-audit or chaos)" ;;
  esac
}

# PostgreSQL server binaries (Debian keeps them off PATH).
pg_bin() {
  local name="$1" candidate
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  for candidate in /usr/lib/postgresql/*/bin/"$name"; do
    [ -x "$candidate" ] && { echo "$candidate"; return; }
  done
  die "$name not found: run scripts/setup (installs postgresql)"
}

# Runs a command as the postgres user when we are root (initdb and postgres refuse root).
as_pg_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The OPA engine (Go, rego v1) from the PyPI wheel opa-golib-python-bindings, unpacked here.
OPA_LIB="$VAR/opa/lib"

swift_build_flags() { echo "-c ${OC_BUILD_CONFIG:-debug}"; }

# Points the fleet's connector settings at FakeProviders listening from port $1 (control $1,
# google_oauth +1, gmail +2, calendar +3, drive +4, atlassian_auth +5, jira +6, github_oauth +7,
# github +8) with its default OAuth clients.
fake_provider_env() {
  local p="$1" h="http://127.0.0.1"
  export OC_GOOGLE_CLIENT_ID="1094561183372-fakeproviders.apps.googleusercontent.com" OC_GOOGLE_CLIENT_SECRET="GOCSPX-fake-google-secret"
  export OC_GOOGLE_AUTHORIZE_URL="$h:$((p+1))/o/oauth2/v2/auth" OC_GOOGLE_TOKEN_URL="$h:$((p+1))/token" OC_GOOGLE_REVOKE_URL="$h:$((p+1))/revoke"
  export OC_GMAIL_URL="$h:$((p+2))" OC_GCAL_URL="$h:$((p+3))" OC_GDRIVE_URL="$h:$((p+4))"
  export OC_ATLASSIAN_CLIENT_ID="FakeAtlassianClientId0123456789ab" OC_ATLASSIAN_CLIENT_SECRET="ATOAfake-atlassian-secret"
  export OC_ATLASSIAN_AUTHORIZE_URL="$h:$((p+5))/authorize" OC_ATLASSIAN_TOKEN_URL="$h:$((p+5))/oauth/token"
  export OC_ATLASSIAN_RESOURCES_URL="$h:$((p+5))/oauth/token/accessible-resources" OC_JIRA_URL="$h:$((p+6))"
  export OC_GITHUB_CLIENT_ID="Iv23liFakeGitHubApp01" OC_GITHUB_CLIENT_SECRET="fake-github-client-secret-0123456789abcdef"
  export OC_GITHUB_AUTHORIZE_URL="$h:$((p+7))/login/oauth/authorize" OC_GITHUB_TOKEN_URL="$h:$((p+7))/login/oauth/access_token"
  export OC_GITHUB_API_URL="$h:$((p+8))"
}

# A secrets key kept in $1 (made on first use), exported as OC_SECRETS_KEY_FILE.
secrets_key_file() {
  local file="$1"
  if [ ! -s "$file" ]; then
    mkdir -p "$(dirname "$file")"
    (umask 077; head -c 32 /dev/urandom | base64 > "$file")
  fi
  export OC_SECRETS_KEY_FILE="$file"
}
