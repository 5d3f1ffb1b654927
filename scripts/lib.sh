# Shared by the scripts in this folder: paths, ports and small helpers. Source it, don't run it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="$ROOT/var"

say() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# Ports of the local instances: "dev" (scripts/up), "test" (scripts/test), "bench" (scripts/bench)
# and "chaos" (scripts/chaos).
instance_ports() {
  case "$1" in
    dev)  REDIS_PORT="${OC_DEV_REDIS_PORT:-6380}";  PG_PORT="${OC_DEV_PG_PORT:-5433}";  OPA_PORT="${OC_DEV_OPA_PORT:-8281}" ;;
    test) REDIS_PORT="${OC_TEST_REDIS_PORT:-6391}"; PG_PORT="${OC_TEST_PG_PORT:-5491}"; OPA_PORT="${OC_TEST_OPA_PORT:-8291}" ;;
    bench) REDIS_PORT="${OC_BENCH_REDIS_PORT:-6396}"; PG_PORT="${OC_BENCH_PG_PORT:-5496}"; OPA_PORT="${OC_BENCH_OPA_PORT:-8296}" ;;
    chaos) REDIS_PORT="${OC_CHAOS_REDIS_PORT:-6393}"; PG_PORT="${OC_CHAOS_PG_PORT:-5493}"; OPA_PORT="${OC_CHAOS_OPA_PORT:-8293}" ;;
    *) die "unknown instance '$1' (dev, test, bench or chaos)" ;;
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
