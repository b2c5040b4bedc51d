#!/usr/bin/env bash
# One bad spec beside a good one: the good fleet converges, the exit code is
# non-zero and the error names the bad file, line and field.
source "$(dirname "$0")/lib.sh"
sim_up
mkdir -p "$T/specs"
cp "$SRC/examples/team-a.yaml" "$T/specs/"
cat > "$T/specs/broken.yaml" <<'YAML'
apiVersion: runnerfleet.dev/v1alpha1
kind: RunnerFleet
metadata: {name: broken}
spec:
  appName: broken
  location: westeurope
  gitlab: {url: https://gitlab.example.com, runnerToken: {env: GITLAB_RUNNER_TOKEN}}
  autoscaler:
    maxInstance: 5
YAML
if rf apply "$T/specs"; then fail "apply with a bad spec exited 0"; fi
grep -q "broken.yaml:9:5: error: spec.autoscaler.maxInstance" "$T/out" || { cat "$T/out"; fail "error does not name file:line:col and field"; }
grep -q '1 of 1 fleet(s) converged' "$T/out" || { cat "$T/out"; fail "the good fleet did not converge"; }
rg=$(sim_eval "$RUNNERFLEET_SIM_ARM" "any(k.lower().endswith('/resourcegroups/rg-team-a') for k in s['resources'])")
[ "$rg" = True ] || fail "team-a was not created"
rg=$(sim_eval "$RUNNERFLEET_SIM_ARM" "any(k.lower().endswith('/resourcegroups/rg-broken') for k in s['resources'])")
[ "$rg" = False ] || fail "the broken fleet was acted on"
pass "bad spec reported with file:line:col and field; good fleet converged"

# A secret that cannot be read fails that fleet only, naming the variable.
sed 's/GITLAB_API_TOKEN/RF_TEST_UNSET_TOKEN/; s/name: team-a/name: team-c/; s/appName: team-a/appName: team-c/' \
  "$SRC/examples/team-a.yaml" > "$T/specs/team-c.yaml"
rm "$T/specs/broken.yaml"
if rf apply "$T/specs"; then fail "apply with a missing secret exited 0"; fi
grep -q "RF_TEST_UNSET_TOKEN is not set" "$T/out" || { cat "$T/out"; fail "missing secret not named"; }
grep -q "1 of 2 fleet(s) converged" "$T/out" || { cat "$T/out"; fail "team-a did not converge beside team-c"; }
pass "a missing secret fails only its fleet, naming the variable"

# Regression: plan fails like apply when a runner token cannot be read, and
# its footer does not claim "No changes" for a fleet it could not plan.
if ( unset GITLAB_RUNNER_TOKEN; rf plan --detailed-exitcode "$SRC/examples/team-b-existing-network.yaml" ); then
  fail "plan with an unset runner token exited 0"
fi
grep -q "GITLAB_RUNNER_TOKEN is not set" "$T/out" || { cat "$T/out"; fail "plan did not name the unset variable"; }
grep -q "No changes" "$T/out" && { cat "$T/out"; fail "plan said No changes for a fleet it could not plan"; }
pass "plan reports an unreadable runner token and does not claim No changes"
