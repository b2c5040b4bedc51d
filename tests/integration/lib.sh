# Shared by the integration tests: each test gets its own simulators, state
# folder and temp folder, so ctest can run them in parallel.
set -euo pipefail
SRC=${RF_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
RF=${RF_BINARY:-$SRC/build/runnerfleet}
T=$(mktemp -d "${TMPDIR:-/tmp}/rf-test.XXXXXX")
export RUNNERFLEET_SIM_DIR="$T/sim" RUNNERFLEET_STATE_DIR="$T/state"
export SIM_ARM_OP_SECONDS=${SIM_ARM_OP_SECONDS:-0.2} SIM_ARM_RETRY_AFTER=${SIM_ARM_RETRY_AFTER:-0}
export RUNNERFLEET_POLL_INTERVAL_MS=200

_cleanup() { "$SRC/tests/sim/down" >/dev/null 2>&1 || true; rm -rf "$T"; }
trap _cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }

sim_up() { eval "$("$SRC/tests/sim/up")"; }
sim() { curl -fsS --cacert "$RUNNERFLEET_CA_FILE" "$@"; }
sim_clear_requests() {
  sim -X DELETE "$RUNNERFLEET_SIM_ARM/_sim/requests" >/dev/null
  sim -X DELETE "$RUNNERFLEET_SIM_GITLAB/_sim/requests" >/dev/null
}
# Number of non-GET/HEAD requests a simulator received.
sim_writes() {
  sim "$1/_sim/requests" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["method"] not in ("GET","HEAD")))'
}
sim_fault() { sim -X POST -H 'Content-Type: application/json' -d "$2" "$1/_sim/faults" >/dev/null; }
# Runs a Python expression over the JSON state of a simulator ($1 base URL);
# `s` is the state. Prints the result.
sim_eval() {
  sim "$1/_sim/state" | python3 -c "import json,sys; s=json.load(sys.stdin); print($2)"
}

# Runs runnerfleet, keeping its combined output in $T/out; returns its exit code.
rf() {
  set +e
  # RF_WRAPPER runs the binary under a checker, e.g. valgrind (make test-valgrind).
  ${RF_WRAPPER:-} "$RF" "$@" >"$T/out" 2>&1
  local rc=$?
  set -e
  cat "$T/out" >>"$T/all-output"
  return $rc
}
