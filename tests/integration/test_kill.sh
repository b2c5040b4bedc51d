#!/usr/bin/env bash
# apply killed with SIGKILL at several moments, then applied again: it
# converges with exactly one of everything, and never writes over an
# operation still in flight.
source "$(dirname "$0")/lib.sh"
export SIM_ARM_OP_SECONDS=0.5
sim_up

check_one_of_each() {
  local r
  r=$(sim_eval "$RUNNERFLEET_SIM_GITLAB" "sum(1 for x in s['runners'].values() if x['description']=='azure-vmss-runner-team-a')")
  [ "$r" = 1 ] || fail "$1: $r runner registrations for team-a"
  r=$(sim_eval "$RUNNERFLEET_SIM_ARM" "sum(1 for x in s['resources'].values() if x['type']=='Microsoft.Compute/virtualMachineScaleSets')")
  [ "$r" = 2 ] || fail "$1: $r scale sets"
  r=$(sim_eval "$RUNNERFLEET_SIM_ARM" "sum(1 for x in s['resources'].values() if x['type'].lower()=='microsoft.authorization/roleassignments')")
  [ "$r" = 2 ] || fail "$1: $r role assignments"
  r=$(sim_eval "$RUNNERFLEET_SIM_ARM" "sum(1 for k,x in s['resources'].items() if 'rg-team-' in k.lower() and x['type'].split('/')[-1] not in ('subnets','roleAssignments','extensions') and not (x.get('tags') or {}).get('runnerfleet-fleet'))")
  [ "$r" = 0 ] || fail "$1: $r untagged resources"
}

for delay in 0.2 0.6 1.2 2.0; do
  "$RF" apply "$SRC/examples" >"$T/killed.out" 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rf apply "$SRC/examples" || { cat "$T/out"; fail "apply after a kill at ${delay}s failed"; }
  check_one_of_each "kill at ${delay}s"
  pass "killed at ${delay}s, applied again: converged with one of everything"
  "$RF" delete "$SRC/examples" >/dev/null 2>&1 || fail "delete failed"
done

# Rejected writes: while an operation ran, no write hit a resource (409s).
conflicts=$(sim "$RUNNERFLEET_SIM_ARM/_sim/requests" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["status"]==409))')
[ "$conflicts" = 0 ] || fail "$conflicts writes were refused with 409 (written over an operation in flight)"
pass "no write over an operation in flight"

# The runner was created but its token never stored (a crash between the two):
# the next apply finds it by its marker and resets its token; no duplicate.
rf apply "$SRC/examples" || fail "apply failed"
rm "$RUNNERFLEET_STATE_DIR/ci/team-a/runner.json"
rf apply "$SRC/examples" || { cat "$T/out"; fail "apply without the stored token failed"; }
grep -q "reset the token" "$T/out" || { cat "$T/out"; fail "token was not reset"; }
[ -f "$RUNNERFLEET_STATE_DIR/ci/team-a/runner.json" ] || fail "token not stored again"
check_one_of_each "lost token"
pass "lost runner token recovered by reset, no duplicate registration"
