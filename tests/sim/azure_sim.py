#!/usr/bin/env python3
"""Azure simulator: Azure Resource Manager and the Entra ID token endpoint, in one process.

Two ports, each with its own request log and fault table: ARM (AZURE_ARM_ENDPOINT) and the
authority host (AZURE_AUTHORITY_HOST, which also answers the IMDS token path).  Tokens the
Entra port issues are the only ones the ARM port accepts, so the controller's whole credential
flow is exercised.

The wire behaviour follows shared/reference/azure_arm.md §0-3, §5 and §7; README.md lists
where it had to guess.  Resource behaviour lives in arm_types.py, the state and long-running
operations in arm_store.py; this module is routing, authentication and HTTP headers.

    azure_sim.py --dir SIM_DIR [--plain]      (normally started by tests/sim/up)
"""

import base64
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import arm_types as T  # noqa: E402
from arm_store import (ArmError, Buckets, Res, Store, iso7, new_guid, not_found,  # noqa: E402
                       parent_not_found, rg_not_found)
from simcore import (Response, Service, SimServer, env_float, json_response, load_identity,  # noqa: E402
                     main_args, run)

API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-(preview|privatepreview|alpha|beta))?$")
RG_NAME = re.compile(r"^[-\w._()]{1,90}$")
PAGE_SIZE = int(os.environ.get("SIM_ARM_PAGE_SIZE", "100"))
VMSS_VMS = "microsoft.compute/virtualmachinescalesets/virtualmachines"


class SubscriptionKind(T.Kind):
    ns, types = "Microsoft.Resources", ("subscriptions",)


class ResourceGroupKind(T.Kind):
    ns, types = "Microsoft.Resources", ("resourceGroups",)

    def render(self, store, res):
        out = {"id": res.id, "name": res.name, "type": self.type_path, "location": res.location}
        if res.body.get("managedBy"):
            out["managedBy"] = res.body["managedBy"]
        if "tags" in res.body:
            out["tags"] = dict(res.body["tags"])
        out["properties"] = {"provisioningState": res.state}
        return out


SUBSCRIPTION = SubscriptionKind()
RESOURCE_GROUP = ResourceGroupKind()


def no_route(req):
    return ArmError(404, "NotFound", "The requested resource '%s' was not found." % req.path)


def category(method):
    return "reads" if method in ("GET", "HEAD") else "deletes" if method == "DELETE" else "writes"


def ms_time(ts):
    """The US-style UTC time ARM prints in ExpiredAuthenticationToken messages."""
    t = time.gmtime(ts)
    return "%d/%d/%d %d:%02d:%02d %s" % (t.tm_mon, t.tm_mday, t.tm_year, t.tm_hour % 12 or 12, t.tm_min,
                                         t.tm_sec, "AM" if t.tm_hour < 12 else "PM")


class TokenTable:
    """Access tokens issued by the Entra port and checked by the ARM port."""

    DEFAULT_LIFETIME = 3599

    def __init__(self):
        self.lock = threading.Lock()
        self.tokens = {}                     # token -> expiry (epoch seconds)
        self.lifetime = self.DEFAULT_LIFETIME

    def issue(self):
        with self.lock:
            token = "sim." + secrets.token_urlsafe(36)
            self.tokens[token] = time.time() + self.lifetime
            if len(self.tokens) > 100000:    # bounded: forget the oldest
                for old in list(self.tokens)[:10000]:
                    del self.tokens[old]
            return token, self.lifetime

    def expiry(self, token):
        with self.lock:
            return self.tokens.get(token)

    def expire_all(self):
        with self.lock:
            past = time.time() - 1
            for t in self.tokens:
                self.tokens[t] = past

    def reset(self):
        with self.lock:
            self.tokens = {}
            self.lifetime = self.DEFAULT_LIFETIME


def token_lifetime_control(tokens, req, sub):
    """/_sim/token-lifetime and /_sim/tokens/expire, served on both Azure ports."""
    if sub == "token-lifetime" and req.method == "POST":
        seconds = int((req.json() or {})["seconds"])
        if seconds < 1:
            raise ValueError("seconds must be >= 1")
        tokens.lifetime = seconds
        return json_response(200, {"ok": True, "seconds": seconds})
    if sub == "tokens/expire" and req.method == "POST":
        tokens.expire_all()
        return json_response(200, {"ok": True})
    return None


# ---------------------------------------------------------------------------------------------
# ARM
# ---------------------------------------------------------------------------------------------

class ArmService(Service):
    name = "arm"

    def __init__(self, ident, tokens, op_seconds, retry_after, throttle):
        self.ident = ident
        self.sub = ident["subscription_id"].lower()
        self.tokens = tokens
        self.op_seconds = op_seconds
        self.retry_after = retry_after
        self.buckets = Buckets(throttle)
        self.entra_base = ""
        self.lock = threading.RLock()
        self.reset()

    # -- seeded state ---------------------------------------------------------------------

    def reset(self):
        with self.lock:
            self.store = Store(self.op_seconds)
            self.rg_jobs = {}                      # RG deletion job token -> Op
            now = self.store.now()
            sub_id = "/subscriptions/" + self.sub
            self.root = Res(sub_id, sub_id, self.sub, SUBSCRIPTION, None, {}, now)
            self.store.add(self.root)
            # "A user's existing network": not ours, carries no runnerfleet tags.
            rg = self.new_rg("rg-shared-network", {"location": "westeurope", "tags": {"owner": "network-team"}}, now)
            vnet_id = rg.id + "/providers/Microsoft.Network/virtualNetworks/vnet-shared"
            vnet = Res(vnet_id.lower(), vnet_id, "vnet-shared", T.VIRTUAL_NETWORK, rg,
                       {"location": "westeurope",
                        "properties": {"addressSpace": {"addressPrefixes": ["10.20.0.0/16"]}}}, now)
            self.store.add(vnet)
            snet_id = vnet_id + "/subnets/snet-runners"
            self.store.add(Res(snet_id.lower(), snet_id, "snet-runners", T.SUBNET, vnet,
                               {"properties": {"addressPrefix": "10.20.1.0/24"}}, now))

    def new_rg(self, name, body, now):
        rid = "/subscriptions/%s/resourceGroups/%s" % (self.sub, name)
        rg = Res(rid.lower(), rid, name, RESOURCE_GROUP, self.root, body, now)
        self.store.add(rg)
        return rg

    def state(self):
        with self.lock:
            st = self.store
            st.settle_all()
            resources = {}
            for res in list(st.res.values()):
                if res.kind is SUBSCRIPTION:
                    continue
                doc = res.kind.render(st, res)
                sim = {"provisioningState": res.state, "operation": res.op.id if res.op else None}
                if res.extra.get("secret"):
                    sim["secret"] = res.extra["secret"]
                if res.kind is T.VMSS:
                    sim["instances"] = {iid: dict(i) for iid, i in res.extra["instances"].items()}
                doc["_sim"] = sim
                resources[res.id] = doc
            now = st.now()
            ops = {op.id: {"namespace": op.namespace, "verb": op.verb, "status": op.status(now),
                           "targets": [t.id for t in op.targets], "startTime": iso7(op.start),
                           "endTime": iso7(op.end), "error": op.error} for op in st.ops.values()}
            return {"subscriptionId": self.sub, "resources": resources, "operations": ops,
                    "settings": {"op_seconds": self.op_seconds, "retry_after": self.retry_after,
                                 "throttle": self.buckets.enforce}}

    def control(self, req, sub):
        return token_lifetime_control(self.tokens, req, sub)

    # -- headers and errors ---------------------------------------------------------------

    def fault_response(self, req, fault):
        body = fault.body
        if body is None:
            code, msg = {
                400: ("BadRequest", "The request is invalid."),
                401: ("InvalidAuthenticationToken", "The access token is invalid."),
                403: ("AuthorizationFailed", "The client does not have authorization to perform this action."),
                404: ("ResourceNotFound", "The resource was not found."),
                409: ("Conflict", "The request conflicts with the current state of the resource."),
                429: ("TooManyRequests", "The request is being throttled as the limit has been reached for "
                                         "operation type - %s_ObservationWindow_00:00:01. For more information, see "
                                         "- https://aka.ms/srpthrottlinglimits" % category(req.method)[:-1].capitalize()),
                500: ("InternalServerError", "Encountered internal server error. Diagnostic information: "
                                             "timestamp '%s'." % iso7(time.time())),
                502: ("BadGateway", "The gateway did not receive a response within the specified time period."),
                503: ("ServiceUnavailable", "The server (leader) is currently unable to receive requests. "
                                            "Please retry your request."),
                504: ("GatewayTimeout", "The gateway did not receive a response from "
                                        "'Microsoft.Resources' within the specified time period."),
            }.get(fault.status, ("Error%d" % fault.status, "Injected error."))
            body = {"error": {"code": code, "message": msg}}
        resp = Response(fault.status, body)
        if fault.status in (429, 503):
            resp.set_header("Retry-After", str(self.retry_after))
        return resp

    def finalize(self, req, resp):
        arm = getattr(req, "arm", {})
        cat = category(req.method)
        remaining = arm.get("remaining")
        if remaining is None:
            remaining = self.buckets.peek(cat)
        if resp.header("x-ms-request-id") is None:
            resp.set_header("x-ms-request-id", new_guid())
        resp.set_header("x-ms-correlation-request-id", req.header("x-ms-correlation-request-id") or new_guid())
        resp.set_header("x-ms-routing-request-id", "WESTEUROPE:%s:%s" % (
            time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), new_guid()))
        resp.set_header("x-ms-ratelimit-remaining-subscription-" + cat, str(remaining))
        for k, v in (("Cache-Control", "no-cache"), ("Pragma", "no-cache"), ("Expires", "-1"),
                     ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
                     ("X-Content-Type-Options", "nosniff")):
            resp.set_header(k, v)
        if resp.payload and (resp.content_type or "").startswith("application/json"):
            resp.content_type = "application/json; charset=utf-8"

    @staticmethod
    def error(e):
        return Response(e.status, e.body(), e.headers)

    # -- entry ----------------------------------------------------------------------------

    def handle(self, req):
        cat = category(req.method)
        req.arm = {}
        try:
            self.authenticate(req)
            allowed, remaining, wait = self.buckets.take(cat)
            req.arm["remaining"] = remaining
            if not allowed:
                raise ArmError(429, "TooManyRequests",
                               "The request is being throttled as the limit has been reached for operation type - "
                               "%s_ObservationWindow_00:00:01. For more information, see - "
                               "https://aka.ms/srpthrottlinglimits" % cat[:-1].capitalize(),
                               headers={"Retry-After": str(wait)})
            version = req.q("api-version")
            if not version:
                raise ArmError(400, "MissingApiVersionParameter",
                               "The api-version query parameter (?api-version=) is required for all requests.")
            if not API_VERSION.match(version):
                raise ArmError(400, "InvalidApiVersionParameter",
                               "The api-version '%s' is invalid. The supported versions are '2025-04-01,2024-11-01,"
                               "2024-07-01,2024-03-01,2023-07-01,2022-12-01,2022-09-01,2021-04-01'." % version)
            req.arm["version"] = version
            with self.lock:
                return self.route(req)
        except ArmError as e:
            return self.error(e)

    def authenticate(self, req):
        auth = req.header("Authorization")
        challenge = 'Bearer authorization_uri="%s/", error="invalid_token", error_description="%%s"' % self.entra_base
        if not auth:
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                           headers={"WWW-Authenticate": challenge % "The authentication failed because of missing "
                                                                    "'Authorization' header.",
                                    "x-ms-failure-cause": "gateway"})
        parts = auth.split(None, 1)
        if len(parts) != 2 or parts[0].lower() != "bearer":
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is "
                           "provided in an invalid format.",
                           headers={"WWW-Authenticate": challenge % "The access token is invalid.",
                                    "x-ms-failure-cause": "gateway"})
        expiry = self.tokens.expiry(parts[1].strip())
        if expiry is None:
            raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.",
                           headers={"WWW-Authenticate": challenge % "The access token is invalid.",
                                    "x-ms-failure-cause": "gateway"})
        now = time.time()
        if expiry <= now:
            raise ArmError(401, "ExpiredAuthenticationToken",
                           "The access token expiry UTC time '%s' is earlier than current UTC time '%s'."
                           % (ms_time(expiry), ms_time(now)),
                           headers={"WWW-Authenticate": challenge % "The access token has expired.",
                                    "x-ms-failure-cause": "gateway"})

    # -- routing --------------------------------------------------------------------------

    def route(self, req):
        segs = [urllib.parse.unquote(s) for s in req.path.split("/") if s]
        low = [s.lower() for s in segs]
        m = req.method
        if not segs or low[0] != "subscriptions":
            if low[:4] == ["providers", "microsoft.authorization", "roledefinitions"] and len(segs) == 4 and m == "GET":
                return self.role_definition(segs[3])
            raise no_route(req)
        if len(segs) == 1:
            if m != "GET":
                raise self.method_not_allowed(m)
            return json_response(200, {"value": [self.subscription_body()], "count": {"type": "Total", "value": 1}})
        self.check_subscription(segs[1])
        if len(segs) == 2:
            if m != "GET":
                raise self.method_not_allowed(m)
            return json_response(200, self.subscription_body())
        kw = low[2]
        if kw == "resourcegroups":
            if len(segs) == 3:
                if m != "GET":
                    raise self.method_not_allowed(m)
                return self.list_rgs(req)
            if len(segs) == 4:
                return self.rg_item(req, segs[3])
            if len(segs) == 5 and low[4] == "resources" and m == "GET":
                return self.list_resources(req, self.require_rg(segs[3]))
            if low[4] == "providers":
                return self.provider_path(req, segs, low)
        elif kw == "resources" and len(segs) == 3 and m == "GET":
            return self.list_resources(req, None)
        elif kw == "operationresults" and len(segs) == 4 and m == "GET":
            return self.rg_job_poll(req, segs[3])
        elif kw == "providers" and len(segs) >= 4:
            if len(segs) == 8 and low[4] == "locations" and low[6] in ("operations", "operationresults") \
                    and m == "GET":
                return self.operation(req, segs[3], low[6] == "operationresults", low[7])
            return self.provider_path(req, segs, low)
        raise no_route(req)

    @staticmethod
    def method_not_allowed(method):
        return ArmError(405, "MethodNotAllowed", "The requested resource does not support http method '%s'." % method)

    def check_subscription(self, sub):
        try:
            uuid.UUID(sub)
        except ValueError:
            raise ArmError(400, "InvalidSubscriptionId",
                           "The provided subscription identifier '%s' is malformed or invalid." % sub) from None
        if sub.lower() != self.sub:
            raise ArmError(404, "SubscriptionNotFound", "The subscription '%s' could not be found." % sub)

    def subscription_body(self):
        return {"id": "/subscriptions/" + self.sub, "authorizationSource": "RoleBased",
                "subscriptionId": self.sub, "tenantId": self.ident["tenant_id"],
                "displayName": "runnerfleet simulated subscription", "state": "Enabled",
                "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                         "spendingLimit": "Off"}}

    def role_definition(self, guid):
        name = T.BUILTIN_ROLES.get(guid.lower())
        if name is None:
            raise ArmError(404, "RoleDefinitionDoesNotExist",
                           "The specified role definition with ID '%s' does not exist." % guid)
        return json_response(200, {
            "id": "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (self.sub, guid.lower()),
            "name": guid.lower(), "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {"roleName": name, "type": "BuiltInRole", "description": name, "assignableScopes": ["/"],
                           "permissions": []}})

    # -- helpers shared by the handlers ----------------------------------------------------

    def require_rg(self, name):
        rg = self.store.get("/subscriptions/%s/resourcegroups/%s" % (self.sub, name.lower()))
        if rg is None:
            raise rg_not_found(name)
        return rg

    def rg_writable(self, rg):
        if rg.op is not None:
            raise ArmError(409, "ResourceGroupBeingDeleted",
                           "The resource group '%s' is in deprovisioning state and cannot perform this operation."
                           % rg.name)

    def body_json(self, req, required=True):
        try:
            body = req.json()
        except (ValueError, UnicodeDecodeError) as e:
            raise ArmError(400, "InvalidRequestContent",
                           "The request content was invalid and could not be deserialized: '%s'." % e) from None
        if body is None:
            if required:
                raise ArmError(400, "InvalidRequestContent",
                               "The request content was invalid and could not be deserialized: 'The request body "
                               "is empty.'.")
            return {}
        if not isinstance(body, dict):
            raise ArmError(400, "InvalidRequestContent",
                           "The request content was invalid and could not be deserialized: 'Expected an object.'.")
        return body

    def op_urls(self, req, op):
        """(Azure-AsyncOperation URL, Location URL) of an operation, as the RP spells them."""
        base = "%s/subscriptions/%s/providers/%s/locations/%s" % (req.base_url, self.sub, op.namespace, op.location)
        v = urllib.parse.quote(op.api_version)
        async_url = "%s/operations/%s?api-version=%s" % (base, op.id, v)
        if op.namespace == T.NETWORK:
            return async_url, "%s/operationResults/%s?api-version=%s" % (base, op.id, v)
        return async_url, "%s/operations/%s?monitor=true&api-version=%s" % (base, op.id, v)

    def begin(self, req, namespace, location, verb, targets, pending_state):
        """Start an operation; an ``operation_fails`` fault on the request decides its outcome."""
        fails, error, fail_status = req.operation_fails, None, 409
        if fails is not None:
            error = {k: v for k, v in fails.items() if k in ("code", "message", "details", "target")}
            error.setdefault("message", "The operation failed.")
            fail_status = int(fails.get("status", 409))
        return self.store.start_op(namespace, location, verb, targets, req.arm["version"], pending_state,
                                   error=error, fail_status=fail_status)

    def lro_headers(self, req, op, location):
        async_url, loc_url = self.op_urls(req, op)
        headers = {"Azure-AsyncOperation": async_url, "Retry-After": str(self.retry_after), "x-ms-request-id": op.id}
        if location:
            headers["Location"] = loc_url
        return headers

    def conflict(self, req, res, op):
        if op.namespace == "Microsoft.Resources":
            return ArmError(409, "ResourceGroupBeingDeleted",
                            "The resource group '%s' is in deprovisioning state and cannot perform this operation."
                            % res.rg().name)
        async_url, _ = self.op_urls(req, op)
        if op.namespace == T.NETWORK:
            return ArmError(409, "AnotherOperationInProgress",
                            "Another operation on this or dependent resource is in progress. To retrieve status of "
                            "the operation use uri: %s." % async_url, details=[])
        what = {"virtualMachineScaleSets": "Virtual Machine Scale Set",
                "virtualMachines": "VM"}.get(res.kind.types[0], "resource")
        if op.verb == "DELETE":
            msg = ("Operation '%s' is not allowed since the %s '%s' is marked for deletion. You can only retry the "
                   "Delete operation (or wait for an ongoing one to complete)." % (req.method, what, op.targets[0].name))
        else:
            msg = ("Operation '%s' is not allowed on %s '%s' since another operation is in progress. To retrieve "
                   "status of the operation use uri: %s." % (req.method, what, op.targets[0].name, async_url))
        return ArmError(409, "OperationNotAllowed", msg)

    def check_lock(self, req, res):
        op = self.store.running_op(res)
        if op is not None:
            raise self.conflict(req, res, op)

    def page(self, req, items, render):
        """ARM's list envelope with nextLink paging ($top caps the total, $skiptoken is an offset)."""
        try:
            skip = int(req.q("$skiptoken", "0"))
            top = req.q("$top")
            top = int(top) if top is not None else None
        except ValueError:
            raise ArmError(400, "InvalidQueryParameterValue", "Invalid value for the query parameter.") from None
        if top is not None:
            items = items[:top]
        chunk = items[skip:skip + PAGE_SIZE]
        out = {"value": [render(r) for r in chunk]}
        if skip + PAGE_SIZE < len(items):
            query = [(k, v) for k, vs in req.query.items() for v in vs if k != "$skiptoken"]
            query.append(("$skiptoken", str(skip + PAGE_SIZE)))
            out["nextLink"] = "%s%s?%s" % (req.base_url, req.path, urllib.parse.urlencode(query, safe="$,'"))
        return json_response(200, out)

    # -- resource groups ------------------------------------------------------------------

    def rg_item(self, req, name):
        m = req.method
        key = "/subscriptions/%s/resourcegroups/%s" % (self.sub, name.lower())
        rg = self.store.get(key)
        if m == "HEAD":
            return Response(204 if rg is not None else 404)
        if m == "GET":
            if rg is None:
                raise rg_not_found(name)
            return json_response(200, RESOURCE_GROUP.render(self.store, rg))
        if m == "PUT":
            body = self.body_json(req)
            if not RG_NAME.match(name) or name.endswith("."):
                raise ArmError(400, "InvalidResourceGroup",
                               "The provided resource group name '%s' has these invalid characters. The name can "
                               "only be a letter, digit, '-', '.', '(', ')' or '_'. (Code:InvalidResourceGroup)" % name)
            loc = T.norm_location(body.get("location"))
            if not loc:
                raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
            if rg is not None:
                self.rg_writable(rg)
                if rg.location != loc:
                    raise ArmError(409, "InvalidResourceGroupLocation",
                                   "Invalid resource group location '%s'. The Resource group already exists in "
                                   "location '%s'." % (loc, rg.location))
            stored = {"location": loc}
            for k in ("tags", "managedBy"):
                if body.get(k) is not None:
                    stored[k] = body[k]
            if rg is None:
                rg = self.new_rg(name, stored, self.store.now())
                return json_response(201, RESOURCE_GROUP.render(self.store, rg))
            rg.body = stored
            rg.changed = self.store.now()
            return json_response(200, RESOURCE_GROUP.render(self.store, rg))
        if m == "PATCH":
            body = self.body_json(req)
            if rg is None:
                raise rg_not_found(name)
            self.rg_writable(rg)
            for k in ("tags", "managedBy"):
                if k in body:
                    rg.body[k] = body[k]
            rg.changed = self.store.now()
            return json_response(200, RESOURCE_GROUP.render(self.store, rg))
        if m == "DELETE":
            if rg is None:
                raise rg_not_found(name)
            if rg.op is not None:          # already being deleted: the same job again
                return Response(202, None, self.rg_job_headers(req, rg.op))
            op = self.begin(req, "Microsoft.Resources", rg.location, "DELETE", [rg], "Deleting")
            op.final = lambda: (200, None)
            return Response(202, None, self.rg_job_headers(req, op))
        raise self.method_not_allowed(m)

    def rg_job_headers(self, req, op):
        rg = op.targets[0]
        token = base64.urlsafe_b64encode(json.dumps(
            {"jobId": "RESOURCEGROUPDELETIONJOB-%s-%s" % (rg.name.upper(), rg.location.upper()),
             "jobLocation": rg.location, "simOperationId": op.id}, separators=(",", ":")).encode()).decode().rstrip("=")
        self.rg_jobs[token] = op
        return {"Location": "%s/subscriptions/%s/operationresults/%s?api-version=%s"
                            % (req.base_url, self.sub, token, urllib.parse.quote(op.api_version)),
                "Retry-After": str(self.retry_after)}

    def rg_job_poll(self, req, token):
        op = self.rg_jobs.get(token)
        if op is None:
            raise ArmError(404, "NotFound", "The operation result '%s' was not found." % token)
        return self.location_poll(req, op)

    def list_rgs(self, req):
        rgs = [r for r in self.root.children.values() if r.kind is RESOURCE_GROUP]
        rgs = [r for r in rgs if self.store.get(r.key) is not None]
        rgs = self.apply_filter(req, rgs)
        return self.page(req, rgs, lambda r: RESOURCE_GROUP.render(self.store, r))

    # -- generic resources list ($filter, $expand) -----------------------------------------

    def apply_filter(self, req, items):
        flt = req.q("$filter")
        if not flt:
            return items
        conds = {}
        for clause in re.split(r"\s+and\s+", flt.strip(), flags=re.I):
            m = re.match(r"^\s*(\w+)\s+eq\s+'([^']*)'\s*$", clause)
            if not m or m.group(1).lower() not in ("tagname", "tagvalue", "resourcetype", "name", "location"):
                raise ArmError(400, "InvalidFilterInQueryString", "Invalid $filter '%s' specified in the query "
                               "string." % flt)
            conds[m.group(1).lower()] = m.group(2)
        out = []
        for r in items:
            tags = {k.lower(): v for k, v in (r.body.get("tags") or {}).items()}
            if "tagname" in conds:
                tv = tags.get(conds["tagname"].lower())
                if tv is None or ("tagvalue" in conds and tv != conds["tagvalue"]):
                    continue
            if "resourcetype" in conds and r.kind.type_path.lower() != conds["resourcetype"].lower():
                continue
            if "name" in conds and r.name.lower() != conds["name"].lower():
                continue
            if "location" in conds and r.location != T.norm_location(conds["location"]):
                continue
            out.append(r)
        return out

    def list_resources(self, req, rg):
        rgs = [rg] if rg is not None else [r for r in list(self.root.children.values())
                                           if r.kind is RESOURCE_GROUP and self.store.get(r.key) is not None]
        items = []
        for g in rgs:
            for r in list(g.children.values()):
                r = self.store.get(r.key)
                if r is None or not r.kind.tracked:
                    continue
                items.append(r)
                items.extend(c for c in r.children.values() if c.kind.tracked)
        items = self.apply_filter(req, items)
        expand = (req.q("$expand") or "").lower()

        def render(r):
            out = {"id": r.id, "name": r.name, "type": r.kind.type_path, "location": r.location}
            for k in ("sku", "kind", "zones"):
                if k in r.body:
                    out[k] = r.body[k]
            if r.body.get("identity"):
                out["identity"] = {"type": r.body["identity"].get("type")}
            if "tags" in r.body:
                out["tags"] = dict(r.body["tags"])
            if "createdtime" in expand:
                out["createdTime"] = iso7(r.created)
            if "changedtime" in expand:
                out["changedTime"] = iso7(r.changed)
            if "provisioningstate" in expand:
                out["provisioningState"] = r.state
            return out
        return self.page(req, items, render)

    # -- provider paths: /{scope}/providers/{ns}/{type}/{name}[/{type}/{name}][/{action}] ----

    def provider_path(self, req, segs, low):
        p = max(i for i, s in enumerate(low) if s == "providers" and i >= 2)
        if p + 1 >= len(segs):
            raise no_route(req)
        ns_low = low[p + 1]
        rest, rest_low = segs[p + 2:], low[p + 2:]
        if ns_low == "microsoft.authorization" and rest_low[:1] == ["roledefinitions"]:
            if len(rest) == 2 and req.method == "GET":
                return self.role_definition(rest[1])
            if len(rest) == 1 and req.method == "GET":
                return json_response(200, {"value": [json.loads(self.role_definition(g).payload)
                                                     for g in T.BUILTIN_ROLES]})
        if ns_low not in T.NAMESPACES:
            raise ArmError(409, "MissingSubscriptionRegistration",
                           "The subscription is not registered to use namespace '%s'. See "
                           "https://aka.ms/rps-not-found for how to register subscriptions." % segs[p + 1],
                           details=[{"code": "MissingSubscriptionRegistration", "target": segs[p + 1],
                                     "message": "The subscription is not registered to use namespace '%s'."
                                                % segs[p + 1]}])
        if not rest:
            raise no_route(req)
        try:
            scope = self.resolve_scope(segs[:p], low[:p])
        except ArmError as e:
            # An extension resource (role assignment) whose scope is gone is gone too.
            if e.code == "ResourceNotFound" and req.method == "DELETE" and len(rest) % 2 == 0:
                return Response(204)
            raise
        types = rest_low[0::2]
        full = ns_low + "/" + "/".join(types)
        if full == VMSS_VMS:
            return self.vmss_instances(req, scope, rest)
        kind = T.KINDS.get(full)
        if len(rest) % 2 == 1:                               # a collection or an action
            if kind is not None and req.method == "GET":
                return self.list_kind(req, scope, kind, rest)
            parent_kind = T.KINDS.get(ns_low + "/" + "/".join(types[:-1]))
            if parent_kind is not None and req.method == "POST" and types[-1] in parent_kind.actions:
                return self.post_action(req, scope, parent_kind, rest[:-1], rest_low[-1])
            if kind is None and parent_kind is None:
                raise self.invalid_type(req, segs[p + 1], "/".join(rest[0:-1:2] + [rest[-1]]))
            raise no_route(req)
        if kind is None:
            raise self.invalid_type(req, segs[p + 1], "/".join(rest[0::2]))
        if kind is not T.ROLE_ASSIGNMENT and scope.kind is not RESOURCE_GROUP:
            raise no_route(req)
        return self.resource_item(req, scope, kind, rest)

    def invalid_type(self, req, ns, type_path):
        return ArmError(400, "InvalidResourceType", "The resource type '%s' could not be found in the namespace '%s' "
                        "for api version '%s'." % (type_path, ns, req.arm["version"]))

    def resolve_scope(self, segs, low):
        """The Res a provider path hangs under: the subscription, a resource group or a resource."""
        if len(segs) == 2:
            return self.root
        rg = self.require_rg(segs[3])
        if len(segs) == 4:
            return rg
        res = self.store.get("/" + "/".join(low))
        if res is None:
            q = low.index("providers")
            type_path = segs[q + 1] + "/" + "/".join(segs[q + 2:-1])
            raise not_found(rg.name, type_path, segs[-1])
        return res

    def resource_key_and_id(self, scope, kind, rest):
        """(key, display id, parent Res or None-if-missing, parent display name) of an item path."""
        if len(rest) == 2:
            seg = kind.rg_segment if scope.kind is RESOURCE_GROUP else None
            prefix = ("/subscriptions/%s/%s/%s" % (self.sub, seg, scope.name)) if seg else scope.id
            rid = "%s/providers/%s/%s/%s" % (prefix, kind.ns, kind.types[0], rest[1])
            return rid.lower(), rid, scope
        parent_kind = kind.parent_kind
        pkey, pid, _ = self.resource_key_and_id(scope, parent_kind, rest[:2])
        parent = self.store.get(pkey)
        if parent is None:
            return ("%s/%s/%s" % (pkey, kind.types[1], rest[3])).lower(), None, None
        rid = "%s/%s/%s" % (parent.id, kind.types[1], rest[3])
        return rid.lower(), rid, parent

    def resource_item(self, req, scope, kind, rest):
        m = req.method
        key, rid, parent = self.resource_key_and_id(scope, kind, rest)
        name = rest[-1]
        rg = scope.rg() if scope is not self.root else None
        type_path = kind.ns + "/" + "/".join(x for pair in zip(kind.types, rest[1::2]) for x in pair)
        type_path = type_path[:type_path.rfind("/")]
        if parent is None:
            if m == "DELETE":
                return Response(204)
            raise parent_not_found(rest[1])
        res = self.store.get(key)
        if m in ("GET", "HEAD"):
            if res is None:
                if m == "HEAD":
                    return Response(404)
                if kind is T.ROLE_ASSIGNMENT:
                    raise ArmError(404, "RoleAssignmentNotFound", "The role assignment '%s' is not found." % name)
                raise not_found(rg.name if rg else "", type_path, name)
            return Response(204) if m == "HEAD" else json_response(200, kind.render(self.store, res))
        if m == "DELETE":
            return self.delete_resource(req, kind, res)
        if m not in ("PUT", "PATCH"):
            raise self.method_not_allowed(m)
        if rg is not None:
            self.rg_writable(rg)
        body = self.body_json(req)
        if m == "PATCH" and res is None:
            raise not_found(rg.name if rg else "", type_path, name)
        if res is not None:
            self.check_lock(req, res)
        elif parent.kind is not RESOURCE_GROUP and parent is not self.root and kind.lock == "parent":
            self.check_lock(req, parent)
        if kind.lro == T.COMPUTE:
            T.check_conditions(req.headers, res, name)
        ctx = T.Ctx(self.store, self.ident, res.id if res else rid, res.name if res else name, parent, res,
                    req.arm["version"], self.store.now())
        prepared = kind.prepare_patch(ctx, res, body) if m == "PATCH" else kind.prepare(ctx, body)
        is_new = res is None
        if is_new:
            res = Res(key, rid, name, kind, parent, prepared, ctx.now)
            self.store.add(res)
        else:
            res.body = prepared
            res.changed = ctx.now
            res.etag += 1
            res.extra.pop("etag", None)
        extra_targets = kind.apply(ctx, res, is_new)
        lro = kind.lro is not None and (m == "PUT" or kind.patch_lro)
        status = 201 if is_new else 200
        if not lro:
            return json_response(status, kind.render(self.store, res))
        op = self.begin(req, kind.lro, self.op_location(res), m, [res] + extra_targets, kind.pending_state(is_new))
        kind.on_op(res, op)
        op.final = lambda: (200, kind.render(self.store, res)) if self.store.res.get(res.key) is res else (204, None)
        headers = self.lro_headers(req, op, location=(kind.lro == T.COMPUTE))
        return json_response(status, kind.render(self.store, res), headers)

    @staticmethod
    def op_location(res):
        r = res
        while r is not None and not r.location:
            r = r.parent
        return r.location if r is not None else "westeurope"

    def delete_resource(self, req, kind, res):
        if res is None:
            return Response(204)
        rg = res.rg()
        if rg.kind is RESOURCE_GROUP:
            self.rg_writable(rg)
        self.check_lock(req, res)
        kind.check_delete(self.store, res)
        if kind.lro is None:
            body = kind.render(self.store, res) if kind is T.ROLE_ASSIGNMENT else None
            self.store.remove(res)
            return json_response(200, body) if body is not None else Response(200)
        op = self.begin(req, kind.lro, self.op_location(res), "DELETE", [res], "Deleting")
        op.final = (lambda: (204, None)) if kind.lro == T.NETWORK else (lambda: (200, None))
        return Response(202, None, self.lro_headers(req, op, location=True))


    def post_action(self, req, scope, kind, rest, action):
        if scope.kind is not RESOURCE_GROUP:
            raise no_route(req)
        key, rid, parent = self.resource_key_and_id(scope, kind, rest)
        res = self.store.get(key)
        if res is None:
            raise not_found(scope.name, kind.type_path, rest[-1])
        self.rg_writable(scope)
        self.check_lock(req, res)
        body = self.body_json(req, required=False)
        ctx = T.Ctx(self.store, self.ident, res.id, res.name, parent, res, req.arm["version"], self.store.now())
        pending, on_done = kind.action(ctx, res, action, body)
        op = self.begin(req, kind.lro, res.location, "POST", [res], pending)
        op.on_done = on_done
        op.final = lambda: (200, None)
        return Response(202, None, self.lro_headers(req, op, location=True))

    def list_kind(self, req, scope, kind, rest):
        """GET of a collection: resources of a type in a group or subscription, or children."""
        if len(rest) == 1:
            if kind is T.ROLE_ASSIGNMENT:
                return self.list_role_assignments(req, scope)
            groups = [scope] if scope.kind is RESOURCE_GROUP else \
                [r for r in self.root.children.values() if r.kind is RESOURCE_GROUP]
            items = [self.store.get(r.key) for g in groups for r in list(g.children.values()) if r.kind is kind]
            return self.page(req, [r for r in items if r is not None], lambda r: kind.render(self.store, r))
        parent_kind = kind.parent_kind
        pkey, _, _ = self.resource_key_and_id(scope, parent_kind, rest[:2])
        parent = self.store.get(pkey)
        if parent is None:
            raise parent_not_found(rest[1])
        items = [c for c in parent.children.values() if c.kind is kind]
        return self.page(req, items, lambda r: kind.render(self.store, r))

    def list_role_assignments(self, req, scope):
        """Assignments at the scope and above it, and below it unless $filter=atScope()."""
        flt = req.q("$filter") or ""
        m = re.search(r"principalId\s+eq\s+'([^']+)'", flt, re.I)
        principal = m.group(1).lower() if m else None
        at_scope = "atscope()" in flt.lower().replace(" ", "")
        found = []
        r = scope
        while r is not None:                          # at and above: walk up
            found.extend(c for c in r.children.values() if c.kind is T.ROLE_ASSIGNMENT)
            r = r.parent
        if not at_scope:                              # below: walk the scope's own subtree
            todo = [c for c in scope.children.values() if c.kind is not T.ROLE_ASSIGNMENT]
            while todo:
                r = todo.pop()
                for c in r.children.values():
                    (found if c.kind is T.ROLE_ASSIGNMENT else todo).append(c)
        out = [ra for ra in found if principal is None or ra.extra["principal"] == principal]
        return self.page(req, out, lambda r: T.ROLE_ASSIGNMENT.render(self.store, r))

    # -- VMSS instances -------------------------------------------------------------------

    def vmss_instances(self, req, scope, rest):
        if scope.kind is not RESOURCE_GROUP:
            raise no_route(req)
        key, _, _ = self.resource_key_and_id(scope, T.VMSS, rest[:2])
        vmss = self.store.get(key)
        if vmss is None:
            raise (parent_not_found(rest[1]) if len(rest) > 3 else not_found(scope.name, T.VMSS.type_path, rest[1]))
        insts = vmss.extra["instances"]
        expand = req.q("$expand")
        if len(rest) == 3:
            if req.method != "GET":
                raise self.method_not_allowed(req.method)
            return self.page(req, list(insts), lambda iid: T.VMSS.render_instance(vmss, iid, expand))
        iid = rest[3]
        if req.method == "GET":
            if iid not in insts:
                raise not_found(scope.name, "%s/%s/virtualMachines" % (T.VMSS.type_path, vmss.name), iid)
            return json_response(200, T.VMSS.render_instance(vmss, iid, expand))
        if req.method == "DELETE":
            if iid not in insts:
                return Response(204)
            self.rg_writable(scope)
            self.check_lock(req, vmss)
            ctx = T.Ctx(self.store, self.ident, vmss.id, vmss.name, scope, vmss, req.arm["version"], self.store.now())
            pending, on_done = T.VMSS.action(ctx, vmss, "delete", {"instanceIds": [iid]})
            # Recorded as a POST: the scale set stays, only the instance goes.
            op = self.begin(req, T.COMPUTE, vmss.location, "POST", [vmss], pending)
            op.on_done = on_done
            op.final = lambda: (200, None)
            return Response(202, None, self.lro_headers(req, op, location=True))
        raise self.method_not_allowed(req.method)

    # -- operation status and Location polling ---------------------------------------------

    def operation(self, req, ns, is_result, opid):
        op = self.store.ops.get(opid)
        if op is None or op.namespace.lower() != ns.lower():
            raise ArmError(404, "NotFound", "The operation '%s' could not be found." % opid)
        now = self.store.now()
        if not op.completed and op.end <= now:
            self.store.complete(op)
        if is_result or (req.q("monitor") or "").lower() == "true":
            return self.location_poll(req, op)
        status = op.status(now)
        if op.namespace == T.COMPUTE:
            body = {"startTime": iso7(op.start, "+00:00"), "status": status, "name": op.id}
            if status != "InProgress":
                body["endTime"] = iso7(op.end, "+00:00")
        else:
            body = {"status": status}
        if status == "Failed":
            body["error"] = dict(op.error, details=op.error.get("details", [])) \
                if op.namespace == T.NETWORK else dict(op.error)
        headers = {"Retry-After": str(self.retry_after)} if status == "InProgress" else {}
        return json_response(200, body, headers)

    def location_poll(self, req, op):
        now = self.store.now()
        if now < op.end:
            return Response(202, None, {"Location": req.base_url + req.raw_path,
                                        "Retry-After": str(self.retry_after)})
        if not op.completed:
            self.store.complete(op)
        if op.error:
            return json_response(op.fail_status, {"error": op.error})
        status, body = op.final() if op.final else (200, None)
        return json_response(status, body) if body is not None else Response(status)


# ---------------------------------------------------------------------------------------------
# Entra ID (and IMDS)
# ---------------------------------------------------------------------------------------------

class EntraService(Service):
    name = "entra"
    ARM_AUDIENCES = {"https://management.azure.com", "https://management.core.windows.net"}

    def __init__(self, ident, tokens):
        self.ident = ident
        self.tokens = tokens
        self.audiences = set(self.ARM_AUDIENCES)

    def reset(self):
        self.tokens.reset()

    def state(self):
        return {"tenant_id": self.ident["tenant_id"], "client_id": self.ident["client_id"],
                "tokens_issued": len(self.tokens.tokens), "token_lifetime": self.tokens.lifetime}

    def control(self, req, sub):
        return token_lifetime_control(self.tokens, req, sub)

    def finalize(self, req, resp):
        resp.set_header("Cache-Control", "no-store, no-cache")
        resp.set_header("Pragma", "no-cache")
        resp.set_header("x-ms-request-id", new_guid())
        if req.header("client-request-id"):
            resp.set_header("client-request-id", req.header("client-request-id"))
        if resp.payload and (resp.content_type or "").startswith("application/json"):
            resp.content_type = "application/json; charset=utf-8"

    def fault_response(self, req, fault):
        if fault.body is not None:
            return Response(fault.status, fault.body)
        return self.aad_error(req, fault.status, "temporarily_unavailable", 90006,
                              "The server is temporarily unavailable.") if fault.status >= 500 else \
            self.aad_error(req, fault.status, "invalid_request", 90000, "Injected error.")

    def aad_error(self, req, status, error, code, message):
        trace, corr = new_guid(), req.header("client-request-id") or new_guid()
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        return json_response(status, {
            "error": error,
            "error_description": "AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s"
                                 % (code, message, trace, corr, stamp),
            "error_codes": [code], "timestamp": stamp, "trace_id": trace, "correlation_id": corr,
            "error_uri": "%s/error?code=%d" % (req.base_url, code)})

    def audience_ok(self, resource):
        aud = resource.strip()
        if aud.endswith("/.default"):
            aud = aud[:-len("/.default")]
        return aud.rstrip("/").lower() in self.audiences

    def handle(self, req):
        segs = [s for s in req.path.split("/") if s]
        if req.path.rstrip("/") == "/metadata/identity/oauth2/token" and req.method == "GET":
            return self.imds(req)
        if len(segs) == 4 and segs[1:] == ["oauth2", "v2.0", "token"] and req.method == "POST":
            return self.token(req, segs[0])
        if len(segs) == 4 and segs[1:] == ["v2.0", ".well-known", "openid-configuration"] and req.method == "GET":
            return self.openid_configuration(req, segs[0])
        if len(segs) == 3 and segs[1:] == ["discovery", "instance"] and req.method == "GET":
            host = req.base_url.split("://", 1)[1]
            return json_response(200, {
                "tenant_discovery_endpoint": "%s/%s/v2.0/.well-known/openid-configuration"
                                             % (req.base_url, self.ident["tenant_id"]),
                "api-version": "1.1",
                "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}]})
        return json_response(404, {"error": "not_found", "error_description": "No such endpoint: %s %s"
                                   % (req.method, req.path)})

    def openid_configuration(self, req, tenant):
        if tenant.lower() not in (self.ident["tenant_id"], "organizations", "common"):
            return self.aad_error(req, 400, "invalid_tenant", 90002, "Tenant '%s' not found." % tenant)
        base = "%s/%s" % (req.base_url, self.ident["tenant_id"])
        return json_response(200, {
            "token_endpoint": base + "/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": base + "/discovery/v2.0/keys", "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"], "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": "%s/%s/v2.0" % (req.base_url, self.ident["tenant_id"]),
            "authorization_endpoint": base + "/oauth2/v2.0/authorize",
            "device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
            "end_session_endpoint": base + "/oauth2/v2.0/logout", "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com", "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com"})

    def token(self, req, tenant):
        """POST /{tenant}/oauth2/v2.0/token, client-credentials grant (secret or assertion)."""
        form = req.form()

        def f(name):
            vals = form.get(name)
            return vals[0] if vals else None
        tenant_id = self.ident["tenant_id"]
        if tenant.lower() != tenant_id:
            return self.aad_error(req, 400, "invalid_request", 90002,
                                  "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are "
                                  "signing into the correct cloud. Check with your subscription administrator, this "
                                  "may happen if there are no active subscriptions for the tenant." % tenant)
        client_id, secret = f("client_id"), f("client_secret")
        basic = req.header("Authorization") or ""
        if basic.lower().startswith("basic "):
            try:
                user, _, pw = base64.b64decode(basic[6:].strip()).decode("utf-8").partition(":")
                client_id = client_id or urllib.parse.unquote_plus(user)
                secret = secret or urllib.parse.unquote_plus(pw)
            except (ValueError, UnicodeDecodeError):
                return self.aad_error(req, 401, "invalid_client", 7000218, "The request body must contain the "
                                      "following parameter: 'client_assertion' or 'client_secret'.")
        if not f("grant_type"):
            return self.aad_error(req, 400, "invalid_request", 900144,
                                  "The request body must contain the following parameter: 'grant_type'.")
        if f("grant_type") != "client_credentials":
            return self.aad_error(req, 400, "unsupported_grant_type", 70003,
                                  "The app requested an unsupported grant type '%s'." % f("grant_type"))
        if not client_id:
            return self.aad_error(req, 400, "invalid_request", 900144,
                                  "The request body must contain the following parameter: 'client_id'.")
        if client_id.lower() != self.ident["client_id"]:
            return self.aad_error(req, 400, "unauthorized_client", 700016,
                                  "Application with identifier '%s' was not found in the directory '%s'. This can "
                                  "happen if the application has not been installed by the administrator of the "
                                  "tenant or consented to by any user in the tenant. You may have sent your "
                                  "authentication request to the wrong tenant." % (client_id, tenant_id))
        scope = f("scope")
        if not scope:
            return self.aad_error(req, 400, "invalid_request", 900144,
                                  "The request body must contain the following parameter: 'scope'.")
        if not scope.strip().endswith("/.default"):
            return self.aad_error(req, 400, "invalid_scope", 1002012,
                                  "The provided value for scope %s is not valid. Client credential flows must have a "
                                  "scope value with /.default suffixed to the resource identifier (application ID "
                                  "URI)." % scope)
        if not self.audience_ok(scope):
            return self.aad_error(req, 400, "invalid_resource", 500011,
                                  "The resource principal named %s was not found in the tenant named %s. This can "
                                  "happen if the application has not been installed by the administrator of the "
                                  "tenant or consented to by any user in the tenant. You might have sent your "
                                  "authentication request to the wrong tenant." % (scope[:-len("/.default")], tenant_id))
        assertion = f("client_assertion")
        if assertion:
            if f("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                return self.aad_error(req, 400, "invalid_request", 900144, "The request body must contain the "
                                      "following parameter: 'client_assertion_type'.")
        elif secret:
            if secret != self.ident["client_secret"]:
                return self.aad_error(req, 401, "invalid_client", 7000215,
                                      "Invalid client secret provided. Ensure the secret being sent in the request is "
                                      "the client secret value, not the client secret ID, for a secret added to app "
                                      "'%s'." % client_id)
        else:
            return self.aad_error(req, 401, "invalid_client", 7000216, "'client_assertion', 'client_secret' or "
                                  "'request' is required for the 'client_credentials' grant type.")
        token, lifetime = self.tokens.issue()
        return json_response(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                                   "access_token": token})

    def imds(self, req):
        """The managed-identity endpoint (reference §4.2); numbers are strings, as IMDS sends them."""
        if (req.header("Metadata") or "") != "true":
            return json_response(400, {"error": "bad_request_102",
                                       "error_description": "Required metadata header not specified"})
        if not req.q("api-version"):
            return json_response(400, {"error": "invalid_request",
                                       "error_description": "Required query variable 'api-version' is missing"})
        resource = req.q("resource")
        if not resource:
            return json_response(400, {"error": "invalid_request",
                                       "error_description": "Required audience parameter not specified"})
        if not self.audience_ok(resource):
            return json_response(400, {"error": "invalid_resource",
                                       "error_description": "AADSTS500011: The resource principal named %s was not "
                                                            "found in the tenant." % resource})
        token, lifetime = self.tokens.issue()
        now = int(time.time())
        return json_response(200, {"access_token": token, "refresh_token": "", "expires_in": str(lifetime),
                                   "expires_on": str(now + lifetime), "not_before": str(now), "resource": resource,
                                   "token_type": "Bearer"})


def main(argv):
    sim_dir, tls = main_args(argv, "azure")
    ident = load_identity(sim_dir)
    tokens = TokenTable()
    arm = ArmService(ident, tokens, op_seconds=env_float("SIM_ARM_OP_SECONDS", 1.0),
                     retry_after=int(env_float("SIM_ARM_RETRY_AFTER", 1)),
                     throttle=os.environ.get("SIM_ARM_THROTTLE") == "1")
    entra = EntraService(ident, tokens)
    arm_srv, entra_srv = SimServer(arm, tls), SimServer(entra, tls)
    # Like a sovereign cloud, the simulated ARM is also its own token audience.
    entra.audiences.update({arm_srv.base_url.lower(), arm_srv.base_url.lower().replace("127.0.0.1", "localhost")})
    arm.entra_base = entra_srv.base_url
    run("azure", sim_dir, {"arm": arm_srv, "entra": entra_srv})


if __name__ == "__main__":
    main(sys.argv[1:])
