#!/usr/bin/env python3
"""Prints what the simulators hold, grouped: one line per Azure resource
(type, name, runnerfleet owner tag) and one per GitLab runner. Used by the
demo so a person can see the outcome without reading JSON."""
import json
import os
import ssl
import urllib.request

CTX = ssl.create_default_context(cafile=os.environ.get("RUNNERFLEET_CA_FILE"))


def state(base):
    with urllib.request.urlopen(base + "/_sim/state", context=CTX, timeout=10) as r:
        return json.load(r)


def main():
    arm = state(os.environ["RUNNERFLEET_SIM_ARM"])
    resources = arm.get("resources", {})
    print(f"Azure ({len(resources)} resources):")
    for rid in sorted(resources, key=str.lower):
        r = resources[rid]
        owner = (r.get("tags") or {}).get("runnerfleet-fleet", "-")
        rg = rid.split("/")[4] if rid.count("/") >= 4 else ""
        state_ = (r.get("properties") or {}).get("provisioningState", "")
        print(f"  {r.get('type', ''):<50} {rg + '/' + r.get('name', ''):<48} {state_:<10} owner={owner}")
    gl = state(os.environ["RUNNERFLEET_SIM_GITLAB"])
    runners = gl.get("runners", {})
    print(f"GitLab ({len(runners)} runner registrations):")
    for r in sorted(runners.values(), key=lambda r: r["id"]):
        print(f"  #{r['id']:<6} {r.get('description') or '':<32} {r.get('runner_type', ''):<14} "
              f"tags={','.join(r.get('tag_list') or [])} note={r.get('maintenance_note') or '-'}")


if __name__ == "__main__":
    main()
