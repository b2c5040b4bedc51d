#!/usr/bin/env python3
"""Self-check of the API simulators: starts them with tests/sim/up in a temporary sim dir,
drives them over HTTPS (verifying against the sim CA) and stops them with tests/sim/down.

    python3 tests/sim/test_sims.py [-v] [TestCase.test_name]
"""

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
API_NET, API_CMP, API_RG, API_MSI, API_AUTH = "2024-05-01", "2024-07-01", "2021-04-01", "2023-01-31", "2022-04-01"
VM_CONTRIBUTOR = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def start_sims(extra_env):
    """Run `up` in a fresh sim dir; returns (sim dir, {export name: value})."""
    sim_dir = tempfile.mkdtemp(prefix="rf-simtest-")
    env = dict(os.environ, RUNNERFLEET_SIM_DIR=sim_dir, **extra_env)
    out = subprocess.run([os.path.join(HERE, "up")], env=env, capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError("tests/sim/up failed (%d):\n%s" % (out.returncode, out.stderr))
    exports = {}
    for line in out.stdout.splitlines():
        assert line.startswith("export "), "up printed a non-export line on stdout: %r" % line
        name, _, value = line[len("export "):].partition("=")
        exports[name] = value.strip("'")
    return sim_dir, exports


def stop_sims(sim_dir):
    env = dict(os.environ, RUNNERFLEET_SIM_DIR=sim_dir)
    return subprocess.run([os.path.join(HERE, "down")], env=env, capture_output=True, text=True, timeout=30)


class Client:
    """urllib with the sim CA; returns (status, headers, parsed body)."""

    def __init__(self, ca_file):
        self.ctx = ssl.create_default_context(cafile=ca_file) if ca_file else None

    def call(self, method, url, body=None, headers=None, form=None):
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif form is not None:
            data = urllib.parse.urlencode(form, doseq=True).encode()
            h.setdefault("Content-Type", "application/x-www-form-urlencoded")
        req = urllib.request.Request(url, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=10) as r:
                return r.status, r.headers, self._parse(r.read())
        except urllib.error.HTTPError as e:
            return e.code, e.headers, self._parse(e.read())

    @staticmethod
    def _parse(raw):
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode()


class SimTestCase(unittest.TestCase):
    """Shares one set of simulators (op time 0.2 s, Retry-After 0) across the tests."""

    @classmethod
    def setUpClass(cls):
        cls.sim_dir, cls.env = start_sims({"SIM_ARM_OP_SECONDS": "0.2", "SIM_ARM_RETRY_AFTER": "0"})
        cls.http = Client(cls.env["RUNNERFLEET_CA_FILE"])
        cls.arm_base = cls.env["AZURE_ARM_ENDPOINT"]
        cls.gl_base = cls.env["RUNNERFLEET_GITLAB_URL"]
        cls.sub = "/subscriptions/" + cls.env["AZURE_SUBSCRIPTION_ID"]
        cls._token = None

    @classmethod
    def tearDownClass(cls):
        first, second = stop_sims(cls.sim_dir), stop_sims(cls.sim_dir)
        shutil.rmtree(cls.sim_dir, ignore_errors=True)
        assert first.returncode == 0 and second.returncode == 0, (first.stderr, second.stderr)

    def setUp(self):
        for base in (self.arm_base, self.gl_base):
            self.assertEqual(self.http.call("POST", base + "/_sim/reset")[0], 200)

    # -- helpers ----------------------------------------------------------------------------

    def token(self):
        cls = type(self)
        if cls._token is None:
            st, _, body = self.http.call("POST", "%s%s/oauth2/v2.0/token" % (
                self.env["AZURE_AUTHORITY_HOST"], self.env["AZURE_TENANT_ID"]), form={
                "grant_type": "client_credentials", "client_id": self.env["AZURE_CLIENT_ID"],
                "client_secret": self.env["AZURE_CLIENT_SECRET"],
                "scope": "https://management.azure.com/.default"})
            self.assertEqual(st, 200, body)
            cls._token = body["access_token"]
        return cls._token

    def arm(self, method, path, body=None, version=API_NET, headers=None):
        url = path if path.startswith("http") else "%s%s%s%s" % (
            self.arm_base, path, "&" if "?" in path else "?", "api-version=" + version)
        h = {"Authorization": "Bearer " + self.token()}
        h.update(headers or {})
        return self.http.call(method, url, body, h)

    def rg_path(self, rg):
        return "%s/resourceGroups/%s" % (self.sub, rg)

    def make_rg(self, rg, location="westeurope"):
        st, _, body = self.arm("PUT", "%s/resourcegroups/%s" % (self.sub, rg), {"location": location}, API_RG)
        self.assertIn(st, (200, 201), body)

    def wait_async(self, headers, timeout=5.0):
        """Poll Azure-AsyncOperation until terminal; returns the final status body."""
        url = headers["Azure-AsyncOperation"]
        deadline = time.time() + timeout
        while True:
            st, h, body = self.arm("GET", url)
            self.assertEqual(st, 200, body)
            if body["status"] != "InProgress":
                return body
            self.assertEqual(h["Retry-After"], "0")
            self.assertLess(time.time(), deadline, "operation never finished")
            time.sleep(0.05)

    def put_done(self, path, body, version=API_NET):
        st, h, resp = self.arm("PUT", path, body, version)
        self.assertIn(st, (200, 201), resp)
        if "Azure-AsyncOperation" in h:
            self.assertEqual(self.wait_async(h)["status"], "Succeeded")
        return resp

    def network(self, rg="rg-net", vnet_prefix="10.0.0.0/16", subnet="10.0.1.0/24"):
        """RG + NSG + VNet with one subnet (NSG attached), all finished; returns ids."""
        self.make_rg(rg)
        nsg = self.rg_path(rg) + "/providers/Microsoft.Network/networkSecurityGroups/nsg-a"
        self.put_done(nsg, {"location": "westeurope"})
        vnet = self.rg_path(rg) + "/providers/Microsoft.Network/virtualNetworks/vnet-a"
        self.put_done(vnet, {"location": "westeurope", "properties": {
            "addressSpace": {"addressPrefixes": [vnet_prefix]},
            "subnets": [{"name": "snet-a", "properties": {"addressPrefix": subnet,
                                                          "networkSecurityGroup": {"id": nsg}}}]}})
        return {"nsg": nsg, "vnet": vnet, "subnet": vnet + "/subnets/snet-a"}

    def vmss_body(self, subnet, capacity=2, identity=None):
        body = {"location": "westeurope", "sku": {"name": "Standard_D2s_v5", "tier": "Standard", "capacity": capacity},
                "properties": {"overprovision": False, "upgradePolicy": {"mode": "Manual"}, "virtualMachineProfile": {
                    "osProfile": {"computerNamePrefix": "rf", "adminUsername": "azureuser",
                                  "adminPassword": "S3cret!pass", "customData": "I2Nsb3VkLWNvbmZpZw=="},
                    "storageProfile": {"imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts",
                                                          "sku": "server", "version": "latest"},
                                       "osDisk": {"createOption": "FromImage"}},
                    "networkProfile": {"networkInterfaceConfigurations": [{"name": "nic0", "properties": {
                        "primary": True, "ipConfigurations": [{"name": "ipc0", "properties": {
                            "subnet": {"id": subnet}}}]}}]}}}}
        if identity:
            body["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {identity: {}}}
        return body

    def gl(self, method, path, body=None, token=None, form=None, headers=None):
        h = {"PRIVATE-TOKEN": token or self.env["GITLAB_API_TOKEN"]}
        h.update(headers or {})
        return self.http.call(method, self.gl_base + "/api/v4" + path, body, h, form)


class TestLaunch(SimTestCase):
    def test_exports_have_the_documented_shapes(self):
        e = self.env
        self.assertTrue(e["AZURE_ARM_ENDPOINT"].startswith("https://127.0.0.1:"))
        self.assertFalse(e["AZURE_ARM_ENDPOINT"].endswith("/"))
        self.assertTrue(e["AZURE_AUTHORITY_HOST"].endswith("/"))
        self.assertEqual(e["AZURE_SUBSCRIPTION_ID"], "3f2c5a8e-1d4b-4c6e-9a7f-2b8d0e1f4a55")
        self.assertTrue(e["GITLAB_API_TOKEN"].startswith("glpat-"))
        self.assertTrue(e["GITLAB_RUNNER_TOKEN"].startswith("glrt-"))
        for name in ("CURL_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS"):
            self.assertEqual(e[name], e["RUNNERFLEET_CA_FILE"])
        self.assertEqual(e["RUNNERFLEET_SIM_DIR"], os.path.realpath(self.sim_dir))
        for name in ("RUNNERFLEET_SIM_ARM", "RUNNERFLEET_SIM_ENTRA", "RUNNERFLEET_SIM_GITLAB"):
            self.assertEqual(self.http.call("GET", e[name] + "/_sim/health")[2], {"ok": True, "service": {
                "RUNNERFLEET_SIM_ARM": "arm", "RUNNERFLEET_SIM_ENTRA": "entra",
                "RUNNERFLEET_SIM_GITLAB": "gitlab"}[name]})

    def test_tls_is_verified_against_the_sim_ca(self):
        port = int(self.gl_base.rsplit(":", 1)[1])
        # Trusting the CA works for both SAN names ...
        for host in ("127.0.0.1", "localhost"):
            st, _, _ = self.http.call("GET", "https://%s:%d/_sim/health" % (host, port))
            self.assertEqual(st, 200)
        # ... and a client that does not trust it is refused.
        untrusting = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)      # verifies, but knows no CA
        with self.assertRaises(urllib.error.URLError) as cm:
            urllib.request.urlopen(self.gl_base + "/_sim/health", context=untrusting, timeout=5)
        self.assertIsInstance(cm.exception.reason, ssl.SSLCertVerificationError)

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        host, port = self.arm_base[len("https://"):].split(":")
        conn = http.client.HTTPSConnection(host, int(port), context=self.http.ctx, timeout=5)
        auth = {"Authorization": "Bearer " + self.token()}
        conn.request("GET", "/_sim/health")
        r = conn.getresponse()
        r.read()
        sock = conn.sock
        for path, want in (("%s/resourcegroups/rg-shared-network?api-version=%s" % (self.sub, API_RG), 200),
                           ("%s/resourcegroups/missing?api-version=%s" % (self.sub, API_RG), 404),
                           ("%s/resourceGroups/rg-shared-network/providers/Microsoft.Network/virtualNetworks/x?"
                            "api-version=%s" % (self.sub, API_NET), 204)):
            method = "DELETE" if want == 204 else "GET"
            conn.request(method, path, headers=auth)
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, want)
            if want != 204:
                self.assertIsNotNone(r.getheader("Content-Length"))
        conn.request("HEAD", "%s/resourcegroups/rg-shared-network?api-version=%s" % (self.sub, API_RG), headers=auth)
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 204)
        self.assertIs(conn.sock, sock, "the connection was not kept alive")
        conn.close()


class TestEntra(SimTestCase):
    def token_url(self, tenant=None):
        return "%s%s/oauth2/v2.0/token" % (self.env["AZURE_AUTHORITY_HOST"], tenant or self.env["AZURE_TENANT_ID"])

    def form(self, **over):
        f = {"grant_type": "client_credentials", "client_id": self.env["AZURE_CLIENT_ID"],
             "client_secret": self.env["AZURE_CLIENT_SECRET"], "scope": "https://management.azure.com/.default"}
        f.update(over)
        return {k: v for k, v in f.items() if v is not None}

    def test_client_credentials_issue_a_token_that_arm_accepts(self):
        st, _, body = self.http.call("POST", self.token_url(), form=self.form())
        self.assertEqual(st, 200)
        self.assertEqual(set(body), {"token_type", "expires_in", "ext_expires_in", "access_token"})
        self.assertEqual((body["token_type"], body["expires_in"], body["ext_expires_in"]), ("Bearer", 3599, 3599))
        st, _, rg = self.http.call("GET", "%s%s/resourcegroups/rg-shared-network?api-version=%s" % (
            self.arm_base, self.sub, API_RG), headers={"Authorization": "Bearer " + body["access_token"]})
        self.assertEqual(st, 200)
        self.assertEqual(rg["tags"], {"owner": "network-team"})

    def test_secret_in_basic_auth_and_workload_assertion_are_accepted(self):
        import base64
        basic = base64.b64encode(("%s:%s" % (self.env["AZURE_CLIENT_ID"], self.env["AZURE_CLIENT_SECRET"]))
                                 .encode()).decode()
        st, _, _ = self.http.call("POST", self.token_url(), form=self.form(client_secret=None, client_id=None),
                                  headers={"Authorization": "Basic " + basic})
        self.assertEqual(st, 200)
        st, _, _ = self.http.call("POST", self.token_url(), form=self.form(
            client_secret=None, client_assertion="eyJhbGciOi.fake.jwt",
            client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer"))
        self.assertEqual(st, 200)

    def test_wrong_tenant_client_and_secret_get_entra_errors(self):
        st, _, body = self.http.call("POST", self.token_url("00000000-0000-0000-0000-000000000001"), form=self.form())
        self.assertEqual((st, body["error"]), (400, "invalid_request"))
        self.assertTrue(body["error_description"].startswith("AADSTS90002:"))
        self.assertEqual(body["error_codes"], [90002])
        st, _, body = self.http.call("POST", self.token_url(), form=self.form(client_secret="wrong"))
        self.assertEqual((st, body["error"], body["error_codes"]), (401, "invalid_client", [7000215]))
        for key in ("timestamp", "trace_id", "correlation_id"):
            self.assertIn(key, body)
        st, _, body = self.http.call("POST", self.token_url(), form=self.form(
            client_id="11111111-2222-3333-4444-555555555555"))
        self.assertEqual((st, body["error_codes"]), (400, [700016]))
        st, _, body = self.http.call("POST", self.token_url(), form=self.form(scope="https://graph.microsoft.com/x"))
        self.assertEqual((st, body["error"]), (400, "invalid_scope"))

    def test_imds_needs_the_metadata_header(self):
        url = self.env["AZURE_IMDS_ENDPOINT"] + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" + \
            urllib.parse.quote("https://management.azure.com/")
        st, _, body = self.http.call("GET", url)
        self.assertEqual((st, body["error"]), (400, "bad_request_102"))
        st, _, body = self.http.call("GET", url, headers={"Metadata": "true"})
        self.assertEqual(st, 200)
        self.assertIsInstance(body["expires_in"], str)
        st, _, _ = self.http.call("GET", "%s%s/resourcegroups?api-version=%s" % (self.arm_base, self.sub, API_RG),
                                  headers={"Authorization": "Bearer " + body["access_token"]})
        self.assertEqual(st, 200)

    def test_short_lived_tokens_expire_at_arm(self):
        entra = self.env["RUNNERFLEET_SIM_ENTRA"]
        self.assertEqual(self.http.call("POST", entra + "/_sim/token-lifetime", {"seconds": 1})[0], 200)
        try:
            st, _, body = self.http.call("POST", self.token_url(), form=self.form())
            self.assertEqual(body["expires_in"], 1)
            time.sleep(1.1)
            st, _, err = self.http.call("GET", "%s%s/resourcegroups?api-version=%s" % (self.arm_base, self.sub, API_RG),
                                        headers={"Authorization": "Bearer " + body["access_token"]})
            self.assertEqual(st, 401)
            self.assertEqual(err["error"]["code"], "ExpiredAuthenticationToken")
            self.assertRegex(err["error"]["message"], r"^The access token expiry UTC time '\d+/\d+/\d{4} "
                                                      r"\d+:\d\d:\d\d [AP]M' is earlier than current UTC time")
        finally:
            self.http.call("POST", entra + "/_sim/token-lifetime", {"seconds": 3599})


class TestArm(SimTestCase):
    def test_missing_or_bad_credentials_and_parameters(self):
        url = "%s%s/resourcegroups?api-version=%s" % (self.arm_base, self.sub, API_RG)
        st, h, body = self.http.call("GET", url)
        self.assertEqual((st, body["error"]["code"]), (401, "AuthenticationFailed"))
        self.assertIn("WWW-Authenticate", h)
        st, _, body = self.http.call("GET", url, headers={"Authorization": "Bearer nope"})
        self.assertEqual((st, body["error"]["code"]), (401, "InvalidAuthenticationToken"))
        st, _, body = self.arm("GET", "%s%s/resourcegroups" % (self.arm_base, self.sub))
        self.assertEqual(body, {"error": {"code": "MissingApiVersionParameter", "message":
                                          "The api-version query parameter (?api-version=) is required for all "
                                          "requests."}})
        self.assertEqual(st, 400)
        st, _, body = self.arm("GET", "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups", version=API_RG)
        self.assertEqual((st, body["error"]["code"]), (404, "SubscriptionNotFound"))
        st, _, _ = self.arm("GET", "%s/resourcegroups" % self.sub, version="2099-01-01-preview")
        self.assertEqual(st, 200)

    def test_every_response_carries_tracing_and_quota_headers(self):
        st, h, _ = self.arm("GET", "%s/resourcegroups/rg-shared-network" % self.sub, version=API_RG,
                            headers={"x-ms-correlation-request-id": "corr-1"})
        self.assertEqual(st, 200)
        self.assertEqual(h["x-ms-correlation-request-id"], "corr-1")
        self.assertRegex(h["x-ms-routing-request-id"], r"^[A-Z]+:\d{8}T\d{6}Z:[0-9a-f-]{36}$")
        self.assertIsNotNone(h["x-ms-request-id"])
        self.assertEqual(h["Content-Type"], "application/json; charset=utf-8")
        reads = int(h["x-ms-ratelimit-remaining-subscription-reads"])
        self.assertTrue(0 < reads < 250)
        st, h, _ = self.arm("DELETE", "%s/resourcegroups/rg-missing" % self.sub, version=API_RG)
        self.assertEqual(st, 404)
        self.assertIn("x-ms-ratelimit-remaining-subscription-deletes", h)

    def test_resource_group_put_get_head_and_seeded_network(self):
        path = "%s/resourcegroups/rg-Team-A" % self.sub
        st, _, body = self.arm("PUT", path, {"location": "westeurope", "tags": {"managed-by": "runnerfleet"}}, API_RG)
        self.assertEqual(st, 201)
        self.assertEqual(body["properties"], {"provisioningState": "Succeeded"})
        self.assertEqual(body["id"], "%s/resourceGroups/rg-Team-A" % self.sub)
        st, _, body = self.arm("PUT", path.lower(), {"location": "westeurope"}, API_RG)
        self.assertEqual((st, body["name"]), (200, "rg-Team-A"))          # stored spelling kept
        self.assertEqual(self.arm("HEAD", path, version=API_RG)[0], 204)
        self.assertEqual(self.arm("HEAD", path + "x", version=API_RG)[0], 404)
        st, _, snet = self.arm("GET", self.rg_path("rg-shared-network") +
                               "/providers/Microsoft.Network/virtualNetworks/vnet-shared/subnets/snet-runners")
        self.assertEqual((st, snet["properties"]["addressPrefix"]), (200, "10.20.1.0/24"))

    def test_network_sequence_runs_as_long_running_operations(self):
        self.make_rg("rg-lro")
        nsg = self.rg_path("rg-lro") + "/providers/Microsoft.Network/networkSecurityGroups/nsg-lro"
        st, h, body = self.arm("PUT", nsg, {"location": "westeurope", "tags": {"a": "b"}})
        self.assertEqual(st, 201)
        self.assertEqual(body["properties"]["provisioningState"], "Updating")
        self.assertEqual(len(body["properties"]["defaultSecurityRules"]), 6)
        self.assertEqual(h["Retry-After"], "0")
        self.assertRegex(h["Azure-AsyncOperation"], r"/subscriptions/[^/]+/providers/Microsoft\.Network/locations/"
                                                    r"westeurope/operations/[0-9a-f-]+\?api-version=" + API_NET + "$")
        self.assertEqual(h["x-ms-request-id"], h["Azure-AsyncOperation"].split("/operations/")[1].split("?")[0])
        self.assertEqual(self.arm("GET", h["Azure-AsyncOperation"])[2], {"status": "InProgress"})
        self.assertEqual(self.arm("GET", nsg)[2]["properties"]["provisioningState"], "Updating")
        self.assertEqual(self.wait_async(h), {"status": "Succeeded"})
        self.assertEqual(self.arm("GET", nsg)[2]["properties"]["provisioningState"], "Succeeded")
        vnet = self.rg_path("rg-lro") + "/providers/Microsoft.Network/virtualNetworks/vnet-lro"
        self.put_done(vnet, {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]}}})
        subnet = vnet + "/subnets/snet-lro"
        st, h, body = self.arm("PUT", subnet, {"properties": {"addressPrefix": "10.1.1.0/24",
                                                              "networkSecurityGroup": {"id": nsg}}})
        self.assertEqual((st, body["properties"]["provisioningState"]), (201, "Updating"))
        self.assertEqual(self.wait_async(h)["status"], "Succeeded")
        st, _, got = self.arm("GET", vnet)
        self.assertEqual([s["name"] for s in got["properties"]["subnets"]], ["snet-lro"])
        st, _, got = self.arm("GET", nsg)
        self.assertEqual(got["properties"]["subnets"], [{"id": subnet}])
        st, _, listing = self.arm("GET", self.rg_path("rg-lro") + "/resources?$expand=changedTime,createdTime",
                                  version=API_RG)
        self.assertEqual(sorted(r["name"] for r in listing["value"]), ["nsg-lro", "vnet-lro"])
        self.assertTrue(all("createdTime" in r and "changedTime" in r for r in listing["value"]))
        # A subnet outside the VNet's range is refused.
        st, _, err = self.arm("PUT", vnet + "/subnets/bad", {"properties": {"addressPrefix": "10.9.0.0/24"}})
        self.assertEqual((st, err["error"]["code"]), (400, "NetcfgSubnetRangeOutsideVnet"))

    def test_not_found_codes(self):
        st, _, err = self.arm("GET", self.rg_path("rg-nope") + "/providers/Microsoft.Network/virtualNetworks/v")
        self.assertEqual((st, err["error"]), (404, {"code": "ResourceGroupNotFound",
                                                    "message": "Resource group 'rg-nope' could not be found."}))
        st, _, err = self.arm("PUT", self.rg_path("rg-nope") + "/providers/Microsoft.Network/virtualNetworks/v",
                              {"location": "westeurope"})
        self.assertEqual((st, err["error"]["code"]), (404, "ResourceGroupNotFound"))
        shared = self.rg_path("rg-shared-network")
        st, _, err = self.arm("PUT", shared + "/providers/Microsoft.Network/virtualNetworks/nope/subnets/s",
                              {"properties": {"addressPrefix": "10.0.0.0/24"}})
        self.assertEqual((st, err["error"]["code"]), (404, "ParentResourceNotFound"))
        st, _, err = self.arm("GET", shared + "/providers/Microsoft.Compute/virtualMachines/nope/extensions/x",
                              version=API_CMP)
        self.assertEqual((st, err["error"]["code"]), (404, "ParentResourceNotFound"))
        st, _, err = self.arm("GET", shared + "/providers/Microsoft.Network/networkSecurityGroups/nsg-x")
        self.assertEqual((st, err["error"]), (404, {
            "code": "ResourceNotFound",
            "message": "The Resource 'Microsoft.Network/networkSecurityGroups/nsg-x' under resource group "
                       "'rg-shared-network' was not found. For more details please go to "
                       "https://aka.ms/ARMResourceNotFoundFix"}))
        st, _, body = self.arm("DELETE", shared + "/providers/Microsoft.Network/networkSecurityGroups/nsg-x")
        self.assertEqual((st, body), (204, None))

    def test_second_write_during_an_operation_conflicts(self):
        ids = self.network("rg-busy")
        st, h, _ = self.arm("PUT", ids["nsg"], {"location": "westeurope", "tags": {"x": "1"}})
        self.assertEqual(st, 200)
        st, _, err = self.arm("PUT", ids["nsg"], {"location": "westeurope", "tags": {"x": "2"}})
        self.assertEqual((st, err["error"]["code"]), (409, "AnotherOperationInProgress"))
        self.assertIn("To retrieve status of the operation use uri: " + h["Azure-AsyncOperation"], err["error"]["message"])
        self.assertEqual(err["error"]["details"], [])
        # Subnets lock with their VNet: a second subnet PUT while one runs conflicts too.
        self.arm("PUT", ids["vnet"] + "/subnets/s2", {"properties": {"addressPrefix": "10.0.2.0/24"}})
        st, _, err = self.arm("PUT", ids["vnet"] + "/subnets/s3", {"properties": {"addressPrefix": "10.0.3.0/24"}})
        self.assertEqual((st, err["error"]["code"]), (409, "AnotherOperationInProgress"))
        # Compute answers OperationNotAllowed.
        vmss = self.rg_path("rg-busy") + "/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-busy"
        self.assertEqual(self.arm("PUT", vmss, self.vmss_body(ids["subnet"]), API_CMP)[0], 201)
        st, _, err = self.arm("PATCH", vmss, {"sku": {"capacity": 3}}, API_CMP)
        self.assertEqual((st, err["error"]["code"]), (409, "OperationNotAllowed"))

    def test_role_assignments_need_a_scope_and_a_principal_and_are_unique(self):
        ids = self.network("rg-ra")
        ident = self.put_done(self.rg_path("rg-ra") + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a",
                              {"location": "westeurope"}, API_MSI)
        self.assertTrue(ident["id"].startswith(self.sub + "/resourcegroups/rg-ra/"))     # MSI's spelling
        principal = ident["properties"]["principalId"]
        vmss = self.rg_path("rg-ra") + "/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-ra"
        self.put_done(vmss, self.vmss_body(ids["subnet"], 1, ident["id"]), API_CMP)
        role = "%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (self.sub, VM_CONTRIBUTOR)
        ra = vmss + "/providers/Microsoft.Authorization/roleAssignments/8a5f0f36-2f7c-4a63-9a5a-1f0f2b5d0c11"
        body = {"properties": {"roleDefinitionId": role, "principalId": principal, "principalType": "ServicePrincipal"}}
        st, h, got = self.arm("PUT", ra, body, API_AUTH)
        self.assertEqual(st, 201)
        self.assertNotIn("Azure-AsyncOperation", h)
        self.assertEqual(got["properties"]["roleDefinitionId"],
                         "/providers/Microsoft.Authorization/roleDefinitions/" + VM_CONTRIBUTOR)
        self.assertEqual(got["properties"]["scope"], vmss)
        self.assertEqual(got["type"], "Microsoft.Authorization/roleAssignments")
        self.assertEqual(self.arm("PUT", ra, body, API_AUTH)[0], 200)
        other = ra.rsplit("/", 1)[0] + "/0c6e0f1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"
        st, _, err = self.arm("PUT", other, body, API_AUTH)
        self.assertEqual((st, err["error"]["code"]), (409, "RoleAssignmentExists"))
        st, _, err = self.arm("PUT", other, {"properties": {"roleDefinitionId": role,
                                                            "principalId": "00000000-1111-2222-3333-444444444444"}},
                              API_AUTH)
        self.assertEqual((st, err["error"]["code"]), (400, "PrincipalNotFound"))
        missing = self.rg_path("rg-ra") + "/providers/Microsoft.Compute/virtualMachineScaleSets/none/providers/" \
                                          "Microsoft.Authorization/roleAssignments/0c6e0f1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"
        self.assertEqual(self.arm("PUT", missing, body, API_AUTH)[0], 404)
        # Deleting the scope deletes its role assignments.
        st, h, _ = self.arm("DELETE", vmss, version=API_CMP)
        self.assertEqual(st, 202)
        self.wait_async(h)
        self.assertEqual(self.arm("GET", vmss, version=API_CMP)[0], 404)
        st, _, listing = self.arm("GET", self.rg_path("rg-ra") + "/providers/Microsoft.Authorization/roleAssignments",
                                  version=API_AUTH)
        self.assertEqual((st, listing["value"]), (200, []))

    def test_vmss_instances_follow_capacity_and_delete_by_id(self):
        ids = self.network("rg-vmss")
        vmss = self.rg_path("rg-vmss") + "/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-a"
        st, h, body = self.arm("PUT", vmss, self.vmss_body(ids["subnet"], 3), API_CMP)
        self.assertEqual((st, body["properties"]["provisioningState"]), (201, "Creating"))
        self.assertIn("Location", h)
        self.assertIn("monitor=true", h["Location"])
        os_profile = body["properties"]["virtualMachineProfile"]["osProfile"]
        self.assertNotIn("adminPassword", os_profile)
        self.assertNotIn("customData", os_profile)
        self.assertEqual(body["properties"]["orchestrationMode"], "Uniform")
        self.assertEqual(body["etag"], '"1"')
        status = self.wait_async(h)
        self.assertEqual(set(status), {"startTime", "endTime", "status", "name"})
        st, _, vms = self.arm("GET", vmss + "/virtualMachines", version=API_CMP)
        self.assertEqual([(v["instanceId"], v["name"], v["properties"]["provisioningState"]) for v in vms["value"]],
                         [("0", "vmss-a_0", "Succeeded"), ("1", "vmss-a_1", "Succeeded"), ("2", "vmss-a_2", "Succeeded")])
        self.assertTrue(all(v["properties"]["latestModelApplied"] for v in vms["value"]))
        st, h, body = self.arm("POST", vmss + "/delete", {"instanceIds": ["1"]}, API_CMP)
        self.assertEqual((st, body), (202, None))
        st, _, _ = self.arm("GET", h["Location"])
        self.assertEqual(st, 202)
        time.sleep(0.25)
        st, _, body = self.arm("GET", h["Location"])
        self.assertEqual((st, body), (200, None))
        st, _, got = self.arm("GET", vmss, version=API_CMP)
        self.assertEqual(got["sku"]["capacity"], 2)
        st, h, _ = self.arm("PATCH", vmss, {"sku": {"capacity": 4}}, API_CMP)
        self.assertEqual(st, 200)
        self.wait_async(h)
        st, _, vms = self.arm("GET", vmss + "/virtualMachines", version=API_CMP)
        self.assertEqual([v["instanceId"] for v in vms["value"]], ["0", "2", "3", "4"])   # ids never reused
        st, _, err = self.arm("POST", vmss + "/delete", {"instanceIds": ["1"]}, API_CMP)
        self.assertEqual((st, err["error"]["code"]), (400, "InvalidParameter"))
        state = self.http.call("GET", self.arm_base + "/_sim/state")[2]
        secret = state["resources"][got["id"]]["_sim"]["secret"]
        self.assertEqual(secret["customData"], "I2Nsb3VkLWNvbmZpZw==")    # kept for assertions, never returned

    def test_in_use_checks_and_cascading_group_delete(self):
        ids = self.network("rg-use")
        nic = self.rg_path("rg-use") + "/providers/Microsoft.Network/networkInterfaces/nic-a"
        self.put_done(nic, {"location": "westeurope", "properties": {"ipConfigurations": [
            {"name": "ipconfig1", "properties": {"subnet": {"id": ids["subnet"]}}}]}})
        st, _, snet = self.arm("GET", ids["subnet"])
        self.assertEqual(snet["properties"]["ipConfigurations"], [{"id": nic + "/ipConfigurations/ipconfig1"}])
        st, _, err = self.arm("DELETE", ids["subnet"])
        self.assertEqual((st, err["error"]["code"]), (400, "InUseSubnetCannotBeDeleted"))
        st, _, err = self.arm("DELETE", ids["nsg"])
        self.assertEqual((st, err["error"]["code"]), (400, "InUseNetworkSecurityGroupCannotBeDeleted"))
        st, _, err = self.arm("PUT", ids["vnet"], {"location": "westeurope", "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}})
        self.assertEqual((st, err["error"]["code"]), (400, "InUseSubnetCannotBeDeleted"))
        st, _, err = self.arm("PUT", self.rg_path("rg-use") + "/providers/Microsoft.Network/networkInterfaces/nic-b",
                              {"location": "westeurope", "properties": {"ipConfigurations": [
                                  {"name": "c", "properties": {"subnet": {"id": ids["vnet"] + "/subnets/none"}}}]}})
        self.assertEqual((st, err["error"]["code"]), (400, "InvalidResourceReference"))
        # A NIC in our group on the user's shared subnet: deleting our group frees the subnet.
        shared_subnet = self.rg_path("rg-shared-network") + \
            "/providers/Microsoft.Network/virtualNetworks/vnet-shared/subnets/snet-runners"
        self.put_done(self.rg_path("rg-use") + "/providers/Microsoft.Network/networkInterfaces/nic-s",
                      {"location": "westeurope", "properties": {"ipConfigurations": [
                          {"name": "c", "properties": {"subnet": {"id": shared_subnet}}}]}})
        self.assertIn("ipConfigurations", self.arm("GET", shared_subnet)[2]["properties"])
        st, h, body = self.arm("DELETE", "%s/resourcegroups/rg-use" % self.sub, version=API_RG)
        self.assertEqual((st, body), (202, None))
        self.assertNotIn("Azure-AsyncOperation", h)
        self.assertRegex(h["Location"], r"/subscriptions/[^/]+/operationresults/[A-Za-z0-9_-]+\?api-version=")
        self.assertEqual(self.arm("GET", "%s/resourcegroups/rg-use" % self.sub, version=API_RG)[2]
                         ["properties"]["provisioningState"], "Deleting")
        st, _, err = self.arm("PUT", nic, {"location": "westeurope"})
        self.assertEqual((st, err["error"]["code"]), (409, "ResourceGroupBeingDeleted"))
        self.assertEqual(self.arm("GET", h["Location"])[0], 202)
        time.sleep(0.25)
        self.assertEqual(self.arm("GET", h["Location"])[0], 200)
        self.assertEqual(self.arm("GET", "%s/resourcegroups/rg-use" % self.sub, version=API_RG)[0], 404)
        self.assertNotIn("ipConfigurations", self.arm("GET", shared_subnet)[2]["properties"])

    def test_network_delete_is_202_then_gone(self):
        self.make_rg("rg-del")
        pip = self.rg_path("rg-del") + "/providers/Microsoft.Network/publicIPAddresses/pip-a"
        self.put_done(pip, {"location": "westeurope", "sku": {"name": "Standard"}})
        st, h, _ = self.arm("DELETE", pip)
        self.assertEqual(st, 202)
        self.assertIn("/operationResults/", h["Location"])
        self.assertIn("/operations/", h["Azure-AsyncOperation"])
        self.assertEqual(self.arm("GET", pip)[2]["properties"]["provisioningState"], "Deleting")
        self.assertEqual(self.wait_async(h)["status"], "Succeeded")
        self.assertEqual(self.arm("GET", pip)[0], 404)
        self.assertEqual(self.arm("GET", h["Location"])[0], 204)

    def test_vm_and_extension_never_return_secrets(self):
        ids = self.network("rg-vm")
        nic = self.rg_path("rg-vm") + "/providers/Microsoft.Network/networkInterfaces/nic-mgr"
        self.put_done(nic, {"location": "westeurope", "properties": {"ipConfigurations": [
            {"name": "ipconfig1", "properties": {"subnet": {"id": ids["subnet"]}}}]}})
        vm = self.rg_path("rg-vm") + "/providers/Microsoft.Compute/virtualMachines/vm-mgr"
        st, _, err = self.arm("PUT", vm.replace("vm-mgr", "vm-x"), {"location": "westeurope", "properties": {
            "networkProfile": {"networkInterfaces": [{"id": nic + "-none"}]}}}, API_CMP)
        self.assertEqual((st, err["error"]["code"]), (400, "InvalidResourceReference"))
        st, h, body = self.arm("PUT", vm, {"location": "westeurope", "properties": {
            "hardwareProfile": {"vmSize": "Standard_D2s_v3"},
            "osProfile": {"computerName": "mgr", "adminUsername": "azureuser", "adminPassword": "S3cret!"},
            "networkProfile": {"networkInterfaces": [{"id": nic, "properties": {"primary": True}}]}}}, API_CMP)
        self.assertEqual((st, body["properties"]["provisioningState"]), (201, "Creating"))
        self.assertNotIn("adminPassword", body["properties"]["osProfile"])
        self.assertRegex(body["properties"]["vmId"], r"^[0-9a-f-]{36}$")
        self.wait_async(h)
        self.assertEqual(self.arm("GET", nic)[2]["properties"]["virtualMachine"], {"id": vm})
        self.assertEqual(self.arm("DELETE", nic)[2]["error"]["code"], "NicInUse")
        ext = vm + "/extensions/runner-config"
        st, h, body = self.arm("PUT", ext, {"location": "westeurope", "properties": {
            "publisher": "Microsoft.Azure.Extensions", "type": "CustomScript", "typeHandlerVersion": "2.1",
            "forceUpdateTag": "sha256:abc", "settings": {}, "protectedSettings": {"script": "c2VjcmV0"}}}, API_CMP)
        self.assertEqual((st, body["properties"]["provisioningState"]), (201, "Creating"))
        self.assertNotIn("protectedSettings", body["properties"])
        self.assertEqual(body["properties"]["forceUpdateTag"], "sha256:abc")
        self.assertEqual(self.wait_async(h)["status"], "Succeeded")
        st, _, got = self.arm("GET", ext, version=API_CMP)
        self.assertEqual((got["properties"]["provisioningState"], got["type"]),
                         ("Succeeded", "Microsoft.Compute/virtualMachines/extensions"))
        state = self.http.call("GET", self.arm_base + "/_sim/state")[2]
        self.assertEqual(state["resources"][ext]["_sim"]["secret"], {"protectedSettings": {"script": "c2VjcmV0"}})

    def test_network_tag_patch_is_synchronous(self):
        ids = self.network("rg-patch")
        st, h, body = self.arm("PATCH", ids["nsg"], {"tags": {"managed-by": "runnerfleet"}})
        self.assertEqual((st, body["tags"], body["properties"]["provisioningState"]),
                         (200, {"managed-by": "runnerfleet"}, "Succeeded"))
        self.assertNotIn("Azure-AsyncOperation", h)

    def test_throttling_buckets_follow_arm_limits(self):
        import sys
        sys.path.insert(0, HERE)
        from arm_store import Buckets
        b = Buckets(enforce=True)
        results = [b.take("writes") for _ in range(200)]
        self.assertTrue(all(ok for ok, _, _ in results))
        self.assertEqual(results[-1][1], 0)
        ok, remaining, retry = b.take("writes")
        self.assertEqual((ok, remaining, retry), (False, 0, 1))
        self.assertTrue(b.take("reads")[0])             # separate buckets
        self.assertTrue(Buckets(enforce=False).take("deletes")[0])

    def test_operation_fails_fault_ends_in_failed(self):
        ids = self.network("rg-fail")
        vmss = self.rg_path("rg-fail") + "/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-f"
        st, _, _ = self.http.call("POST", self.arm_base + "/_sim/faults", {
            "method": "PUT", "path": "virtualMachineScaleSets/vmss-f",
            "operation_fails": {"code": "QuotaExceeded", "message": "Operation could not be completed as it results "
                                "in exceeding approved Total Regional Cores quota."}})
        self.assertEqual(st, 201)
        st, h, _ = self.arm("PUT", vmss, self.vmss_body(ids["subnet"]), API_CMP)
        self.assertEqual(st, 201)
        status = self.wait_async(h)
        self.assertEqual((status["status"], status["error"]["code"]), ("Failed", "QuotaExceeded"))
        self.assertEqual(self.arm("GET", vmss, version=API_CMP)[2]["properties"]["provisioningState"], "Failed")
        st, _, err = self.arm("GET", h["Location"])
        self.assertEqual((st, err["error"]["code"]), (409, "QuotaExceeded"))


class TestGitLab(SimTestCase):
    def create(self, **fields):
        body = {"runner_type": "project_type", "project_id": 12345, "tag_list": ["azure"], **fields}
        return self.gl("POST", "/user/runners", body)

    def test_runner_lifecycle(self):
        st, h, body = self.create(description="azure-vmss-runner-team-a", maintenance_note="runnerfleet-fleet=ci/a",
                                  run_untagged=False, maximum_timeout=3600)
        self.assertEqual(st, 201)
        self.assertEqual(set(body), {"id", "token", "token_expires_at"})
        self.assertTrue(body["token"].startswith("glrt-"))
        self.assertIsNone(body["token_expires_at"])
        for name in ("RateLimit-Name", "RateLimit-Limit", "RateLimit-Observed", "RateLimit-Remaining", "RateLimit-Reset"):
            self.assertIn(name, h)
        self.assertGreater(int(h["RateLimit-Reset"]), time.time())
        rid = body["id"]
        st, _, got = self.gl("GET", "/runners/%d" % rid)
        self.assertEqual((st, got["tag_list"], got["run_untagged"], got["maximum_timeout"]),
                         (200, ["azure"], False, 3600))
        self.assertEqual((got["status"], got["online"], got["maintenance_note"]),
                         ("never_contacted", None, "runnerfleet-fleet=ci/a"))
        self.assertEqual([p["id"] for p in got["projects"]], [12345])
        st, _, listed = self.gl("GET", "/projects/12345/runners?type=project_type")
        self.assertEqual([r["id"] for r in listed], [rid])
        self.assertNotIn("tag_list", listed[0])
        self.assertNotIn("maintenance_note", listed[0])
        st, _, got = self.gl("PUT", "/runners/%d" % rid, form={"tag_list": "azure,vmss,linux", "paused": "true"})
        self.assertEqual((st, got["tag_list"], got["paused"], got["active"]), (200, ["azure", "vmss", "linux"], True, False))
        self.assertEqual([r["id"] for r in self.gl("GET", "/runners?paused=true")[2]], [rid])
        self.assertEqual(self.gl("GET", "/runners?tag_list=vmss,linux")[2][0]["id"], rid)
        self.assertEqual(self.gl("DELETE", "/runners/%d" % rid)[0], 204)
        self.assertEqual(self.gl("GET", "/runners/%d" % rid)[::2], (404, {"message": "404 Not found"}))
        self.assertEqual(self.gl("DELETE", "/runners/%d" % rid)[0], 404)

    def test_form_bodies_and_comma_tags_are_accepted(self):
        st, _, body = self.gl("POST", "/user/runners", form={"runner_type": "group_type", "group_id": "77",
                                                             "tag_list": "a, b", "run_untagged": "false"})
        self.assertEqual(st, 201)
        got = self.gl("GET", "/runners/%d" % body["id"])[2]
        self.assertEqual((got["runner_type"], got["tag_list"], got["groups"][0]["id"]), ("group_type", ["a", "b"], 77))
        # Group runners show up in the projects of the group.
        self.assertIn(body["id"], [r["id"] for r in self.gl("GET", "/projects/platform%2Fteam-a/runners")[2]])

    def test_pagination_headers(self):
        made = [self.create(description="r%d" % i)[2]["id"] for i in range(5)]
        st, h, page1 = self.gl("GET", "/projects/12345/runners?per_page=2&type=project_type")
        self.assertEqual([r["id"] for r in page1], made[:2])
        self.assertEqual((h["X-Page"], h["X-Per-Page"], h["X-Next-Page"], h["X-Prev-Page"], h["X-Total"],
                          h["X-Total-Pages"]), ("1", "2", "2", "", "5", "3"))
        base = "%s/api/v4/projects/12345/runners?" % self.gl_base
        self.assertEqual(h["Link"], ", ".join([
            '<%spage=2&per_page=2&type=project_type>; rel="next"' % base,
            '<%spage=1&per_page=2&type=project_type>; rel="first"' % base,
            '<%spage=3&per_page=2&type=project_type>; rel="last"' % base]))
        st, h, page3 = self.gl("GET", "/projects/12345/runners?per_page=2&type=project_type&page=3")
        self.assertEqual([r["id"] for r in page3], made[4:])
        self.assertEqual((h["X-Next-Page"], h["X-Prev-Page"]), ("", "2"))
        self.assertTrue(h["Link"].startswith('<%spage=2&per_page=2&type=project_type>; rel="prev"' % base))
        self.assertNotIn('rel="next"', h["Link"])
        st, h, _ = self.gl("GET", "/runners/all?per_page=500")
        self.assertEqual(h["X-Per-Page"], "100")
        st, h, jobs = self.gl("GET", "/projects/12345/jobs?scope[]=pending&scope[]=running")
        self.assertEqual((st, jobs), (200, []))
        self.assertNotIn("X-Total", h)
        self.assertNotIn("X-Total-Pages", h)
        self.assertNotIn('rel="last"', h["Link"])

    def test_error_shapes(self):
        self.assertEqual(self.gl("GET", "/runners", token="glpat-unknown")[::2], (401, {"message": "401 Unauthorized"}))
        token = self.http.call("POST", self.gl_base + "/_sim/tokens", {"scopes": ["read_api"]})[2]["token"]
        st, _, err = self.gl("POST", "/user/runners", {"runner_type": "instance_type"}, token=token)
        self.assertEqual((st, err["error"], err["scope"]), (403, "insufficient_scope", "api create_runner"))
        cases = [
            ({}, {"error": "runner_type is missing"}),
            ({"runner_type": "bogus"}, {"error": "runner_type does not have a valid value"}),
            ({"runner_type": "project_type"}, {"error": "project_id is missing"}),
            ({"runner_type": "project_type", "project_id": 999}, {"message": "400 Bad request - Missing/invalid project"}),
            ({"runner_type": "group_type", "group_id": 5}, {"message": "400 Bad request - Missing/invalid group"}),
            ({"runner_type": "project_type", "project_id": 12345, "run_untagged": False},
             {"message": "400 Bad request - Tags list can not be empty when runner is not allowed to pick untagged jobs"}),
            ({"runner_type": "project_type", "project_id": 12345, "maximum_timeout": 60},
             {"message": "400 Bad request - Maximum timeout needs to be at least 10 minutes"}),
            ({"runner_type": "project_type", "project_id": 12345, "description": "x" * 1025},
             {"message": "400 Bad request - Description is too long (maximum is 1024 characters)"}),
            ({"runner_type": "project_type", "project_id": 12345, "tag_list": ["t%d" % i for i in range(51)]},
             {"message": "400 Bad request - Tag list Too many tags specified. Please limit the number of tags to 50"}),
        ]
        for body, want in cases:
            st, _, got = self.gl("POST", "/user/runners", body)
            self.assertEqual((st, got), (400, want), body)
        rid = self.create()[2]["id"]
        st, _, err = self.gl("PUT", "/runners/%d" % rid, {})
        self.assertEqual((st, err), (400, {"error": "description, active, paused, tag_list, run_untagged, locked, "
                                                    "access_level, maximum_timeout, maintenance_note are missing, at "
                                                    "least one parameter must be provided"}))
        st, _, err = self.gl("PUT", "/runners/%d" % rid, {"active": True, "paused": True})
        self.assertEqual((st, err), (400, {"error": "active, paused are mutually exclusive"}))
        st, _, err = self.gl("PUT", "/runners/%d" % rid, {"tag_list": [], "run_untagged": False})
        self.assertEqual((st, err), (400, {"message": {"tags_list": [
            "can not be empty when runner is not allowed to pick untagged jobs"]}}))
        st, _, err = self.gl("PUT", "/runners/%d" % rid, {"maximum_timeout": 5})
        self.assertEqual((st, err), (400, {"message": {"maximum_timeout": ["needs to be at least 10 minutes"]}}))
        self.assertEqual(self.gl("GET", "/runners?type=nope")[::2], (400, {"error": "type does not have a valid value"}))
        self.assertEqual(self.gl("GET", "/nowhere")[::2], (404, {"error": "404 Not Found"}))
        self.assertEqual(self.gl("GET", "/projects/999/runners")[::2], (404, {"message": "404 Project Not Found"}))

    def test_seeded_runner_verify_managers_and_tokens(self):
        runner_token = self.env["GITLAB_RUNNER_TOKEN"]
        listed = self.gl("GET", "/projects/23456/runners")[2]
        seeded = [r for r in listed if r["description"] == "azure-vmss-runner-team-b"]
        self.assertEqual(len(seeded), 1)
        rid = seeded[0]["id"]
        self.assertEqual((seeded[0]["status"], seeded[0]["online"]), ("never_contacted", None))
        st, _, body = self.http.call("POST", self.gl_base + "/api/v4/runners/verify",
                                     {"token": runner_token, "system_id": "s_0123456789ab"})
        self.assertEqual((st, body["id"]), (200, rid))
        got = self.gl("GET", "/runners/%d" % rid)[2]
        self.assertEqual((got["status"], got["online"]), ("online", True))
        self.assertEqual([r["id"] for r in self.gl("GET", "/runners?status=online")[2]], [rid])
        managers = self.gl("GET", "/runners/%d/managers" % rid)[2]
        self.assertEqual([(m["system_id"], m["status"]) for m in managers], [("s_0123456789ab", "online")])
        st, _, _ = self.http.call("POST", self.gl_base + "/api/v4/runners/verify", {"token": "glrt-wrong"})
        self.assertEqual(st, 403)
        # A runner last seen three hours ago is offline; paused wins over offline only when contacted recently.
        self.http.call("POST", self.gl_base + "/_sim/runners/%d" % rid, {"contacted_seconds_ago": 3 * 3600})
        self.assertEqual(self.gl("GET", "/runners/%d" % rid)[2]["status"], "offline")
        st, _, _ = self.http.call("DELETE", self.gl_base + "/api/v4/runners/managers",
                                  form={"token": runner_token, "system_id": "s_0123456789ab"})
        self.assertEqual(st, 204)
        self.assertEqual(self.gl("GET", "/runners/%d/managers" % rid)[2], [])
        # Created over a week ago and silent since: stale, and listed as such.
        self.http.call("POST", self.gl_base + "/_sim/runners/%d" % rid,
                       {"contacted_seconds_ago": 8 * 86400, "created_seconds_ago": 30 * 86400})
        self.assertEqual(self.gl("GET", "/runners/%d" % rid)[2]["status"], "stale")
        self.assertEqual([r["id"] for r in self.gl("GET", "/runners?status=stale")[2]], [rid])
        st, _, fresh = self.gl("POST", "/runners/%d/reset_authentication_token" % rid)
        self.assertEqual(st, 201)
        self.assertNotEqual(fresh["token"], runner_token)
        self.assertEqual(self.http.call("DELETE", self.gl_base + "/api/v4/runners", form={"token": runner_token})[0], 403)
        self.assertEqual(self.http.call("DELETE", self.gl_base + "/api/v4/runners", form={"token": fresh["token"]})[0], 204)
        self.assertEqual(self.gl("GET", "/runners/%d" % rid)[0], 404)


class TestControl(SimTestCase):
    def test_status_faults_count_then_clear(self):
        st, _, fault = self.http.call("POST", self.gl_base + "/_sim/faults",
                                      {"path": r"^/api/v4/runners(\?|$)", "status": 503, "count": 2})
        self.assertEqual(st, 201)
        self.assertEqual(len(self.http.call("GET", self.gl_base + "/_sim/faults")[2]), 1)
        self.assertEqual(self.gl("GET", "/runners")[::2], (503, {"message": "503 Service Unavailable"}))
        self.assertEqual(self.gl("GET", "/runners")[0], 503)
        self.assertEqual(self.gl("GET", "/runners")[0], 200)
        self.assertEqual(self.http.call("GET", self.gl_base + "/_sim/faults")[2], [])
        # ARM faults get ARM-shaped bodies; method filters apply; 429 carries Retry-After.
        self.http.call("POST", self.arm_base + "/_sim/faults", {"method": "PUT", "path": "resourcegroups/rg-x",
                                                                "status": 429})
        self.assertEqual(self.arm("GET", "%s/resourcegroups/rg-x" % self.sub, version=API_RG)[0], 404)
        st, h, err = self.arm("PUT", "%s/resourcegroups/rg-x" % self.sub, {"location": "westeurope"}, API_RG)
        self.assertEqual((st, err["error"]["code"], h["Retry-After"]), (429, "TooManyRequests", "0"))
        self.http.call("POST", self.gl_base + "/_sim/faults", {"path": "/user", "status": 500, "count": -1})
        self.assertEqual(self.http.call("DELETE", self.gl_base + "/_sim/faults")[0], 200)
        self.assertEqual(self.gl("GET", "/user")[0], 200)

    def test_drop_closes_the_connection_without_a_response(self):
        self.http.call("POST", self.gl_base + "/_sim/faults", {"path": "/api/v4/version", "drop": True})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError, socket.error)):
            self.gl("GET", "/version")
        self.assertEqual(self.gl("GET", "/version")[0], 200)
        log = self.http.call("GET", self.gl_base + "/_sim/requests")[2]
        self.assertEqual([e["status"] for e in log if e["path"] == "/api/v4/version"], [0, 200])

    def test_delay_slows_a_request_down(self):
        self.http.call("POST", self.gl_base + "/_sim/faults", {"path": "/api/v4/user", "delay_ms": 300})
        t0 = time.monotonic()
        self.assertEqual(self.gl("GET", "/user")[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)

    def test_request_log_records_method_path_and_status(self):
        self.assertEqual(self.http.call("DELETE", self.gl_base + "/_sim/requests")[0], 200)
        self.gl("GET", "/runners?per_page=5")
        self.gl("GET", "/runners/999999")
        self.http.call("GET", self.gl_base + "/_sim/state")          # control calls are not logged
        self.assertEqual(self.http.call("GET", self.gl_base + "/_sim/requests")[2], [
            {"method": "GET", "path": "/api/v4/runners?per_page=5", "status": 200},
            {"method": "GET", "path": "/api/v4/runners/999999", "status": 404}])

    def test_reset_restores_the_seeded_state(self):
        self.make_rg("rg-temp")
        rid = self.gl("POST", "/user/runners", {"runner_type": "project_type", "project_id": 12345})[2]["id"]
        for base in (self.arm_base, self.gl_base):
            self.assertEqual(self.http.call("POST", base + "/_sim/reset")[0], 200)
            self.assertEqual(self.http.call("GET", base + "/_sim/requests")[2], [])
        self.assertEqual(self.arm("GET", "%s/resourcegroups/rg-temp" % self.sub, version=API_RG)[0], 404)
        self.assertEqual(self.arm("GET", "%s/resourcegroups/rg-shared-network" % self.sub, version=API_RG)[0], 200)
        self.assertEqual(self.gl("GET", "/runners/%d" % rid)[0], 404)
        state = self.http.call("GET", self.gl_base + "/_sim/state")[2]
        self.assertEqual([r["token"] for r in state["runners"].values()], [self.env["GITLAB_RUNNER_TOKEN"]])


class TestPlainHttpSet(unittest.TestCase):
    """A second, independent set (plain http) runs beside the first and stops cleanly."""

    def test_plain_http_set_runs_in_its_own_dir(self):
        sim_dir, env = start_sims({"SIM_PLAIN_HTTP": "1"})
        try:
            self.assertTrue(env["RUNNERFLEET_GITLAB_URL"].startswith("http://127.0.0.1:"))
            st, _, body = Client(None).call("GET", env["RUNNERFLEET_GITLAB_URL"] + "/api/v4/runners/all",
                                            headers={"PRIVATE-TOKEN": env["GITLAB_API_TOKEN"]})
            self.assertEqual((st, len(body)), (200, 1))
        finally:
            self.assertEqual(stop_sims(sim_dir).returncode, 0)
            shutil.rmtree(sim_dir, ignore_errors=True)
        with self.assertRaises(OSError):
            urllib.request.urlopen(env["RUNNERFLEET_GITLAB_URL"] + "/_sim/health", timeout=2)


if __name__ == "__main__":
    unittest.main()
