#!/usr/bin/env bash
# No token or credential appears in any output, at any log level, in any format.
source "$(dirname "$0")/lib.sh"
sim_up
for fmt in json text; do
  rf --log-level debug --log-format $fmt apply "$SRC/examples" || { cat "$T/out"; fail "apply failed"; }
  rf --log-level debug --log-format $fmt plan "$SRC/examples" || true
  rf --log-level debug --log-format $fmt plan --json "$SRC/examples" || true
  rf --log-level debug render "$SRC/examples/team-a.yaml" || fail "render failed"
done
# A failing sign-in must not echo the secret either.
AZURE_CLIENT_SECRET=wrong-secret-value-123 rf --log-level debug apply "$SRC/examples" || true
grep -q "wrong-secret-value-123" "$T/all-output" && fail "client secret in output"
rf --log-level debug delete "$SRC/examples" || { cat "$T/out"; fail "delete failed"; }

runner_tokens=$(sim_eval "$RUNNERFLEET_SIM_GITLAB" "' '.join(r['token'] for r in s['runners'].values())")
# Tokens of deleted runners are gone from the state; the one created is known from the log of GitLab's sim.
for secret in "$GITLAB_API_TOKEN" "$GITLAB_RUNNER_TOKEN" "$AZURE_CLIENT_SECRET" $runner_tokens; do
  [ -n "$secret" ] || continue
  if grep -qF -- "$secret" "$T/all-output"; then fail "a secret appeared in the output"; fi
done
# Also the password derived for the workers and the ARM access tokens.
grep -qE 'Rf-[0-9a-f]{32}!9' "$T/all-output" && fail "worker password in output"
access=$(sim "$RUNNERFLEET_SIM_ENTRA/_sim/state" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(" ".join(list((s.get("tokens") or {}).keys())[:50]))' 2>/dev/null || true)
for a in $access; do grep -qF -- "$a" "$T/all-output" && fail "an access token appeared in the output"; done
lines=$(wc -l < "$T/all-output")
[ "$lines" -gt 50 ] || fail "too little output to be a meaningful check ($lines lines)"
pass "no secret in $lines lines of output (debug logs, json and text, plan, render, delete)"
