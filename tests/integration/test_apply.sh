#!/usr/bin/env bash
# apply from empty converges both example fleets; a second pass writes nothing.
source "$(dirname "$0")/lib.sh"
sim_up

rf apply "$SRC/examples" || { cat "$T/out"; fail "apply exited non-zero"; }
grep -q "2 of 2 fleet(s) converged" "$T/out" || { cat "$T/out"; fail "summary line missing"; }
pass "apply from empty converges"

# Everything the design card lists exists, tagged, once.
count() { sim_eval "$RUNNERFLEET_SIM_ARM" "sum(1 for r in s['resources'].values() if r['type'].lower()=='$1'.lower() and (r.get('tags') or {}).get('runnerfleet-fleet')=='$2')"; }
for t in Microsoft.Resources/resourceGroups Microsoft.Network/networkSecurityGroups \
         Microsoft.ManagedIdentity/userAssignedIdentities Microsoft.Compute/virtualMachineScaleSets \
         Microsoft.Network/networkInterfaces Microsoft.Compute/virtualMachines \
         Microsoft.Compute/virtualMachines/extensions; do
  [ "$(count $t ci/team-a)" = 1 ] || fail "team-a: expected one $t"
  [ "$(count $t ci/team-b)" = 1 ] || fail "team-b: expected one $t"
done
[ "$(count Microsoft.Network/virtualNetworks ci/team-a)" = 1 ] || fail "team-a: expected its own VNet"
[ "$(count Microsoft.Network/virtualNetworks ci/team-b)" = 0 ] || fail "team-b must use the existing VNet"
ra=$(sim_eval "$RUNNERFLEET_SIM_ARM" "sum(1 for r in s['resources'].values() if r['type'].lower()=='microsoft.authorization/roleassignments')")
[ "$ra" = 2 ] || fail "expected 2 role assignments, got $ra"
# The role is Virtual Machine Contributor on the scale set, not Contributor on the group.
scope_ok=$(sim_eval "$RUNNERFLEET_SIM_ARM" "all('/virtualmachinescalesets/' in r['id'].lower() and r['properties']['roleDefinitionId'].endswith('9980e02c-c2be-4d73-94e8-173b1dc7cf3c') for r in s['resources'].values() if r['type'].lower()=='microsoft.authorization/roleassignments')")
[ "$scope_ok" = True ] || fail "role assignment scope or role wrong"
# The user's network is untouched.
shared=$(sim_eval "$RUNNERFLEET_SIM_ARM" "s['resources'][[k for k in s['resources'] if k.lower().endswith('/virtualnetworks/vnet-shared')][0]].get('tags')")
[ "$shared" = "None" ] || [ "$shared" = "{}" ] || fail "the existing VNet was modified: tags $shared"
# The scale set: Uniform, no overprovisioning, Manual upgrades, capacity left to the manager.
vmss=$(sim_eval "$RUNNERFLEET_SIM_ARM" "[(r['properties']['orchestrationMode'], r['properties']['overprovision'], r['properties']['upgradePolicy']['mode'], r['sku']['capacity']) for r in s['resources'].values() if r['type']=='Microsoft.Compute/virtualMachineScaleSets' and r['name']=='vmss-team-a'][0]")
[ "$vmss" = "('Uniform', False, 'Manual', 0)" ] || fail "scale set model: $vmss"
pass "every resource exists once, tagged; least-privilege role on the scale set"

# One runner registration, marked; its token stored 0600.
runners=$(sim_eval "$RUNNERFLEET_SIM_GITLAB" "sum(1 for r in s['runners'].values() if r['description']=='azure-vmss-runner-team-a' and 'runnerfleet-fleet=ci/team-a' in (r.get('maintenance_note') or ''))")
[ "$runners" = 1 ] || fail "expected one marked runner for team-a, got $runners"
f="$RUNNERFLEET_STATE_DIR/ci/team-a/runner.json"
[ -f "$f" ] || fail "runner token not stored at $f"
[ "$(stat -c %a "$f")" = 600 ] || fail "runner.json mode is $(stat -c %a "$f")"
tok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$f")
gl_tok=$(sim_eval "$RUNNERFLEET_SIM_GITLAB" "[r['token'] for r in s['runners'].values() if r['description']=='azure-vmss-runner-team-a'][0]")
[ "$tok" = "$gl_tok" ] || fail "stored token differs from GitLab's"
pass "one runner registration with the fleet marker; token stored 0600"

# Second pass: plan finds nothing, apply writes nothing.
sim_clear_requests
rf plan --detailed-exitcode "$SRC/examples" || { cat "$T/out"; fail "plan after apply: exit $?"; }
grep -q "No changes" "$T/out" || fail "plan did not say No changes"
rf apply "$SRC/examples" || fail "second apply failed"
w=$(( $(sim_writes "$RUNNERFLEET_SIM_ARM") + $(sim_writes "$RUNNERFLEET_SIM_GITLAB") ))
[ "$w" = 0 ] || fail "second pass made $w write requests"
pass "second pass: plan exit 0, zero write requests"

"$RF" plan --json "$SRC/examples" >"$T/plan.json" 2>/dev/null || fail "plan --json failed"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["summary"]["changes"]==0 and len(d["fleets"])==2, d' "$T/plan.json" \
  || fail "plan --json is not the expected JSON"
pass "plan --json parses and reports zero changes"
