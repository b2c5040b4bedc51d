#!/usr/bin/env bash
# An API error reaches the user with the API's own code and message; the
# other fleet is unaffected; once the cause is gone the next apply converges.
source "$(dirname "$0")/lib.sh"
sim_up
sim_fault "$RUNNERFLEET_SIM_ARM" '{"method":"PUT","path":"virtualMachineScaleSets/vmss-team-a","status":403,"count":100,
  "body":{"error":{"code":"AuthorizationFailed","message":"The client does not have authorization to perform action Microsoft.Compute/virtualMachineScaleSets/write."}}}'
if rf apply "$SRC/examples"; then fail "apply exited 0 despite a 403"; fi
grep -q "AuthorizationFailed: The client does not have authorization" "$T/out" || { cat "$T/out"; fail "ARM code and message not shown"; }
grep -q "1 of 2 fleet(s) converged" "$T/out" || { cat "$T/out"; fail "team-b was held back by team-a's error"; }
# 403 is permanent: sent once, not retried.
n=$(sim "$RUNNERFLEET_SIM_ARM/_sim/requests" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["method"]=="PUT" and "vmss-team-a" in r["path"]))')
[ "$n" = 1 ] || fail "the 403 was retried ($n PUTs)"
pass "ARM error code and message reach the user; permanent error not retried; other fleet converged"

sim -X DELETE "$RUNNERFLEET_SIM_ARM/_sim/faults" >/dev/null
rf apply "$SRC/examples" || { cat "$T/out"; fail "apply after the fault was lifted failed"; }
pass "next apply converges"

# GitLab drift: pause the runner in the "UI"; apply repairs it through a retried PUT.
id=$(sim_eval "$RUNNERFLEET_SIM_GITLAB" "[r['id'] for r in s['runners'].values() if r['description']=='azure-vmss-runner-team-a'][0]")
curl -fsS --cacert "$RUNNERFLEET_CA_FILE" -X PUT -H "PRIVATE-TOKEN: $GITLAB_API_TOKEN" -H 'Content-Type: application/json' \
  -d '{"paused":true}' "$RUNNERFLEET_SIM_GITLAB/api/v4/runners/$id" >/dev/null
[ "$(sim_eval "$RUNNERFLEET_SIM_GITLAB" "s['runners']['$id']['paused']")" = True ] || fail "could not pause the runner"
# A 503 on that write is retried and the apply still converges.
sim_fault "$RUNNERFLEET_SIM_GITLAB" '{"method":"PUT","path":"/runners/","status":503,"count":1}'
rf apply "$SRC/examples" || { cat "$T/out"; fail "apply with a transient 503 failed"; }
paused=$(sim_eval "$RUNNERFLEET_SIM_GITLAB" "s['runners']['$id']['paused']")
[ "$paused" = False ] || fail "runner still paused after apply"
pass "runner paused in GitLab is repaired, through a retried 503"

# Regression (fresh-user trial): a runner POST that fails once must not
# leave the next apply failing with "the runner token is not known".
"$RF" delete "$SRC/examples" >/dev/null 2>&1 || fail "delete failed"
sim_fault "$RUNNERFLEET_SIM_GITLAB" '{"method":"POST","path":"/user/runners","status":500,"count":1}'
if rf apply "$SRC/examples"; then fail "apply with a failing runner POST exited 0"; fi
grep -q "create runner registration" "$T/out" || { cat "$T/out"; fail "runner error not named"; }
rf apply "$SRC/examples" || { cat "$T/out"; fail "second apply after a failed runner POST did not converge"; }
n=$(sim_eval "$RUNNERFLEET_SIM_GITLAB" "sum(1 for r in s['runners'].values() if r['description']=='azure-vmss-runner-team-a')")
[ "$n" = 1 ] || fail "$n runner registrations after the retry"
pass "a failed runner POST converges on the next apply, one registration"

# Regression: a state folder that cannot be written stops the fleet before
# any token is created or reset in GitLab.
rm "$RUNNERFLEET_STATE_DIR/ci/team-a/runner.json"
sim_clear_requests
if rf apply --state-dir /proc/runnerfleet-not-writable "$SRC/examples/team-a.yaml"; then fail "apply with an unwritable state folder exited 0"; fi
grep -q "not writable" "$T/out" || { cat "$T/out"; fail "unwritable state folder not reported"; }
[ "$(sim_writes "$RUNNERFLEET_SIM_GITLAB")" = 0 ] || fail "GitLab was written to although the token could not be kept"
pass "unwritable state folder: reported, nothing reset in GitLab"
