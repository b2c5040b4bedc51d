"""Helpers for tests/sim/up: the simulated identities, the readiness wait and the exports.

    launch.py identity DIR        create DIR/identity.json once (0600); later runs reuse it
    launch.py ready DIR NAME...   wait until every simulator NAME answers /_sim/health, then
                                  print the `export NAME=VALUE` lines on stdout

The identities (service principal secret, GitLab tokens) are random per sim dir and kept across
restarts, so a controller state folder that outlives one `up` still matches the next.
"""

import json
import os
import secrets
import shlex
import ssl
import sys
import time
import urllib.request

# Fixed ids: tests and docs may spell them out.  The secrets are random per sim dir.
SUBSCRIPTION_ID = "3f2c5a8e-1d4b-4c6e-9a7f-2b8d0e1f4a55"
TENANT_ID = "9d3e6b2a-4c1f-4a8e-b5d7-0e2f1a3c5b7d"
CLIENT_ID = "5a7c9e1b-3d5f-4b2a-8c6e-1f3a5b7d9e0c"
SP_OBJECT_ID = "c1e3a5b7-9d2f-4e6a-8b0c-2d4f6a8b0c1e"   # the service principal's object id

READY_TIMEOUT = float(os.environ.get("SIM_READY_TIMEOUT", "10"))


def make_identity(sim_dir):
    path = os.path.join(sim_dir, "identity.json")
    if os.path.exists(path):
        return
    ident = {
        "subscription_id": SUBSCRIPTION_ID,
        "tenant_id": TENANT_ID,
        "client_id": CLIENT_ID,
        "sp_object_id": SP_OBJECT_ID,
        "client_secret": "sim~" + secrets.token_urlsafe(30),
        "gitlab_api_token": "glpat-" + secrets.token_urlsafe(15)[:20],
        "gitlab_runner_token": "glrt-t1_" + secrets.token_urlsafe(15)[:20],
    }
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(ident, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)


def _pid_alive(sim_dir, name):
    try:
        with open(os.path.join(sim_dir, name + ".pid"), encoding="ascii") as f:
            os.kill(int(f.read().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


def _log_tail(sim_dir, name, lines=15):
    try:
        with open(os.path.join(sim_dir, name + ".log"), encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)\n"


def _healthy(url, ctx):
    try:
        with urllib.request.urlopen(url + "/_sim/health", timeout=2, context=ctx) as r:
            return r.status == 200 and json.load(r).get("ok") is True
    except (OSError, ValueError):
        return False


def wait_ready(sim_dir, names):
    """{name: {role: base URL}} once all answer; raises RuntimeError naming the one that did not."""
    ctx = ssl.create_default_context(cafile=os.path.join(sim_dir, "ca.pem"))
    deadline = time.monotonic() + READY_TIMEOUT
    endpoints = {}
    for name in names:
        path = os.path.join(sim_dir, name + ".endpoints")
        while True:
            if name not in endpoints and os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    endpoints[name] = json.load(f)
            if name in endpoints and all(_healthy(u, ctx) for u in endpoints[name].values()):
                break
            started = os.path.exists(os.path.join(sim_dir, name + ".pid"))
            if started and not _pid_alive(sim_dir, name):
                raise RuntimeError("the %s simulator exited during start-up; end of %s:\n%s" % (
                    name, os.path.join(sim_dir, name + ".log"), _log_tail(sim_dir, name)))
            if time.monotonic() > deadline:
                raise RuntimeError("the %s simulator did not answer GET /_sim/health within %gs; "
                                   "end of %s:\n%s" % (name, READY_TIMEOUT,
                                                       os.path.join(sim_dir, name + ".log"),
                                                       _log_tail(sim_dir, name)))
            time.sleep(0.05)
    return endpoints


def exports(sim_dir, endpoints):
    with open(os.path.join(sim_dir, "identity.json"), encoding="utf-8") as f:
        ident = json.load(f)
    arm = endpoints["azure"]["arm"]
    entra = endpoints["azure"]["entra"]
    gitlab = endpoints["gitlab"]["gitlab"]
    ca = os.path.join(sim_dir, "ca.pem")
    return [
        ("AZURE_ARM_ENDPOINT", arm),
        ("AZURE_AUTHORITY_HOST", entra + "/"),
        ("AZURE_IMDS_ENDPOINT", entra),
        ("AZURE_TENANT_ID", ident["tenant_id"]),
        ("AZURE_CLIENT_ID", ident["client_id"]),
        ("AZURE_CLIENT_SECRET", ident["client_secret"]),
        ("AZURE_SUBSCRIPTION_ID", ident["subscription_id"]),
        ("RUNNERFLEET_GITLAB_URL", gitlab),
        ("GITLAB_API_TOKEN", ident["gitlab_api_token"]),
        ("GITLAB_RUNNER_TOKEN", ident["gitlab_runner_token"]),
        ("RUNNERFLEET_CA_FILE", ca),
        ("CURL_CA_BUNDLE", ca),
        ("SSL_CERT_FILE", ca),
        ("REQUESTS_CA_BUNDLE", ca),
        ("NODE_EXTRA_CA_CERTS", ca),
        ("RUNNERFLEET_SIM_DIR", sim_dir),
        ("RUNNERFLEET_SIM_ARM", arm),
        ("RUNNERFLEET_SIM_ENTRA", entra),
        ("RUNNERFLEET_SIM_GITLAB", gitlab),
    ]


def main(argv):
    if len(argv) >= 2 and argv[0] == "identity":
        make_identity(os.path.abspath(argv[1]))
        return 0
    if len(argv) >= 3 and argv[0] == "ready":
        sim_dir = os.path.abspath(argv[1])
        try:
            endpoints = wait_ready(sim_dir, argv[2:])
        except RuntimeError as e:
            sys.stderr.write("tests/sim/up: %s\n" % e)
            return 1
        for name, value in exports(sim_dir, endpoints):
            sys.stdout.write("export %s=%s\n" % (name, shlex.quote(value)))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
