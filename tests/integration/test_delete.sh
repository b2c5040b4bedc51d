#!/usr/bin/env bash
# delete removes everything the fleets own, in reverse order, and leaves the
# user's network and the UI-created runner alone; deleting twice is a no-op.
source "$(dirname "$0")/lib.sh"
sim_up
before=$(sim_eval "$RUNNERFLEET_SIM_ARM" "sorted(k.lower() for k in s['resources'])")
rf apply "$SRC/examples" || { cat "$T/out"; fail "apply failed"; }

rf delete "$SRC/examples" || { cat "$T/out"; fail "delete failed"; }
after=$(sim_eval "$RUNNERFLEET_SIM_ARM" "sorted(k.lower() for k in s['resources'])")
[ "$before" = "$after" ] || fail "Azure after delete differs from before apply: $after"
pass "delete leaves Azure as it was before apply"

left=$(sim_eval "$RUNNERFLEET_SIM_GITLAB" "sorted(r['description'] for r in s['runners'].values())")
[ "$left" = "['azure-vmss-runner-team-b']" ] || fail "GitLab runners after delete: $left"
[ ! -e "$RUNNERFLEET_STATE_DIR/ci/team-a/runner.json" ] || fail "runner token left in the state folder"
pass "runner registration removed; the UI-created one kept; token removed"

# Reverse order: the scale set goes before the subnet, the VM before its NIC.
order=$(sim "$RUNNERFLEET_SIM_ARM/_sim/requests" | python3 -c '
import json,sys
reqs=[r for r in json.load(sys.stdin) if r["method"]=="DELETE"]
pos=lambda frag: min(i for i,r in enumerate(reqs) if frag in r["path"].lower())
print(pos("virtualmachinescalesets/vmss-team-a?") < pos("networksecuritygroups/nsg-team-a") and
      pos("virtualmachines/vm-team-a-mgr?") < pos("networkinterfaces/nic-team-a-mgr") and
      pos("networksecuritygroups/nsg-team-a") < pos("resourcegroups/rg-team-a?"))')
[ "$order" = True ] || fail "deletes were not in reverse dependency order"
pass "deletes in reverse dependency order"

sim_clear_requests
rf delete "$SRC/examples" || { cat "$T/out"; fail "second delete failed"; }
w=$(( $(sim_writes "$RUNNERFLEET_SIM_ARM") + $(sim_writes "$RUNNERFLEET_SIM_GITLAB") ))
[ "$w" = 0 ] || fail "second delete made $w write requests"
pass "deleting twice is a no-op"
