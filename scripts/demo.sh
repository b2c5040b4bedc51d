#!/usr/bin/env bash
# The main job: start the local API simulators, apply the example fleets,
# then show that a second pass has nothing to do and writes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/runnerfleet}
work=$(mktemp -d "${TMPDIR:-/tmp}/runnerfleet-demo.XXXXXX")
export RUNNERFLEET_SIM_DIR="$work/sim" RUNNERFLEET_STATE_DIR="$work/state"
export SIM_ARM_OP_SECONDS=${SIM_ARM_OP_SECONDS:-0.5} SIM_ARM_RETRY_AFTER=${SIM_ARM_RETRY_AFTER:-0}

cleanup() { tests/sim/down >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Starting the simulators (Azure Resource Manager, Entra ID, GitLab) on 127.0.0.1"
eval "$(tests/sim/up)"
echo "ARM    $AZURE_ARM_ENDPOINT"
echo "Entra  $AZURE_AUTHORITY_HOST"
echo "GitLab $RUNNERFLEET_GITLAB_URL"

step "runnerfleet validate examples/"
"$bin" validate examples/

step "runnerfleet apply examples/   (every action as it happens: what, which resource, how long)"
"$bin" apply --log-format text examples/

step "What the simulators hold now"
python3 tests/sim/inventory.py

sim() { curl -fsS --cacert "$RUNNERFLEET_CA_FILE" "$@"; }
sim -X DELETE "$RUNNERFLEET_SIM_ARM/_sim/requests" >/dev/null
sim -X DELETE "$RUNNERFLEET_SIM_GITLAB/_sim/requests" >/dev/null

step "runnerfleet plan --detailed-exitcode examples/   (must report no changes and exit 0)"
set +e
"$bin" plan --detailed-exitcode --log-format text examples/
rc=$?
set -e
echo "exit code: $rc"
[ "$rc" -eq 0 ] || { echo "demo: the second pass found changes (exit $rc)" >&2; exit 1; }

count_writes() {
  sim "$1/_sim/requests" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["method"] not in ("GET","HEAD")))'
}
count_reads() {
  sim "$1/_sim/requests" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["method"] in ("GET","HEAD")))'
}
arm_w=$(count_writes "$RUNNERFLEET_SIM_ARM"); gl_w=$(count_writes "$RUNNERFLEET_SIM_GITLAB")
arm_r=$(count_reads "$RUNNERFLEET_SIM_ARM"); gl_r=$(count_reads "$RUNNERFLEET_SIM_GITLAB")
step "Second pass: $((arm_w + gl_w)) write requests (ARM $arm_w, GitLab $gl_w); $((arm_r + gl_r)) reads (ARM $arm_r, GitLab $gl_r)"
[ $((arm_w + gl_w)) -eq 0 ] || { echo "demo: the second pass wrote" >&2; exit 1; }

step "Stopping the simulators"
tests/sim/down
echo "demo: OK"
