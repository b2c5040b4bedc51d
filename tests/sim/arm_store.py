"""The state behind the ARM simulator: resources, long-running operations, references, buckets.

Design choices that matter for fidelity and scale:

* Operations are time-based.  An ``Op`` records when it started and when it will end; nothing
  runs in the background.  Whoever reads a resource (or an operation status) first "settles"
  finished operations on the way (``Store.get``), so a status URL, a resource GET and a list
  all agree, and a thousand idle fleets cost nothing.
* Every lookup is a dict access on a lower-cased canonical id (ARM ids are case-insensitive);
  the stored ``Res.id`` keeps the spelling the resource was created with.
* References between resources (NIC -> subnet, subnet -> NSG, VMSS -> subnet, ...) are kept
  in both directions (``uses``/``used_by``), so "in use" checks and the back-references ARM
  shows (``subnet.ipConfigurations``, ``nsg.subnets``) need no scan of the store.
* Children (subnets, VM extensions, role assignments at a scope) hang off their parent, and
  every top-level resource hangs off its resource group, so a cascade delete walks only what
  it removes.
"""

import math
import threading
import time
import uuid


def iso7(ts, suffix="Z"):
    """ARM's timestamp style: seven fractional digits, 'Z' or '+00:00'."""
    return "%s.%07d%s" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)),
                          int((ts % 1) * 1e7), suffix)


def new_guid():
    return str(uuid.uuid4())


class ArmError(Exception):
    """An ARM error response: ``{"error":{"code","message"[,"target"][,"details"]}}``."""

    def __init__(self, status, code, message, target=None, details=None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.details = details
        self.headers = headers or {}

    def body(self):
        err = {"code": self.code, "message": self.message}
        if self.target is not None:
            err["target"] = self.target
        if self.details is not None:
            err["details"] = self.details
        return {"error": err}


def not_found(rg_name, type_path, name):
    return ArmError(404, "ResourceNotFound",
                    "The Resource '%s/%s' under resource group '%s' was not found. For more details "
                    "please go to https://aka.ms/ARMResourceNotFoundFix" % (type_path, name, rg_name))


def rg_not_found(rg_name):
    return ArmError(404, "ResourceGroupNotFound", "Resource group '%s' could not be found." % rg_name)


def parent_not_found(parent_name):
    return ArmError(404, "ParentResourceNotFound",
                    "Can not perform requested operation on nested resource. Parent resource '%s' "
                    "not found." % parent_name)


class Res:
    """One stored resource (resource groups included).

    ``body`` is what the caller sent, normalised and with secrets removed; read-only and
    computed fields are added when rendering.  ``extra`` holds per-type computed state.
    """

    __slots__ = ("key", "id", "name", "kind", "parent", "body", "state", "op", "created",
                 "changed", "etag", "children", "uses", "used_by", "extra")

    def __init__(self, key, rid, name, kind, parent, body, now):
        self.key = key
        self.id = rid
        self.name = name
        self.kind = kind            # the arm_types.Kind (None for resource groups)
        self.parent = parent        # Res: resource group, parent resource or role-assignment scope
        self.body = body
        self.state = "Succeeded"    # provisioningState once no operation runs
        self.op = None              # the Op currently running on it
        self.created = now
        self.changed = now
        self.etag = 1
        self.children = {}          # key -> Res
        self.uses = {}              # target key -> Res we reference
        self.used_by = {}           # referrer key -> (relation, [ids to show])
        self.extra = {}

    @property
    def location(self):
        return self.body.get("location")

    def rg(self):
        """The resource group this resource lives in (the root of the tree is the subscription)."""
        r = self
        while r.parent is not None and r.parent.parent is not None:
            r = r.parent
        return r

    def provisioning_state(self):
        return self.state


class Op:
    """A long-running operation: its outcome is fixed at start, its end is a point in time."""

    __slots__ = ("id", "namespace", "location", "verb", "targets", "start", "end", "error",
                 "fail_status", "api_version", "completed", "on_done", "final", "pending_state")

    def __init__(self, namespace, location, verb, targets, start, seconds, api_version,
                 pending_state, error=None, fail_status=409):
        self.id = new_guid()
        self.namespace = namespace
        self.location = location
        self.verb = verb                     # PUT, PATCH, DELETE, POST
        self.targets = targets
        self.start = start
        self.end = start + seconds
        self.error = error                   # {"code","message"} when the operation will fail
        self.fail_status = fail_status       # HTTP status of the Location poll when it fails
        self.api_version = api_version
        self.completed = False
        self.on_done = None                  # callable(ok): per-type completion work
        self.final = None                    # callable() -> (status, body) for Location polls
        self.pending_state = pending_state

    def status(self, now):
        if now < self.end:
            return "InProgress"
        return "Failed" if self.error else "Succeeded"


class Store:
    """All ARM resources of the simulated subscription.  Not thread-safe: the service holds
    its lock around every request."""

    def __init__(self, op_seconds):
        self.op_seconds = op_seconds
        self.res = {}                 # canonical key -> Res
        self.ops = {}                 # operation id -> Op
        self.ra_triples = {}          # (scope key, principal, role guid) -> role assignment key
        self.principals = {}          # principal id (lower) -> identity key

    @staticmethod
    def now():
        return time.time()

    # -- lookups that settle finished operations on the way --------------------------------

    def get(self, key):
        res = self.res.get(key)
        if res is None:
            return None
        chain = []
        while res is not None:
            chain.append(res)
            res = res.parent
        now = self.now()
        for r in reversed(chain):          # outermost first: a finished RG delete wins
            if r.op is not None and r.op.end <= now:
                self.complete(r.op)
        return self.res.get(key)

    def running_op(self, res):
        """The unfinished operation that locks ``res`` against writes, or None.

        Subnets lock with their VNet and sibling subnets, extensions with their VM: the real
        services serialise those (parallel subnet PUTs fail with AnotherOperationInProgress).
        """
        lock = res.kind.lock if res.kind is not None else "self"
        if lock == "parent":
            group = [res.parent] + list(res.parent.children.values())
        elif lock == "children":
            group = [res] + list(res.children.values())
        else:
            group = [res]
        now = self.now()
        for r in group:
            op = r.op
            if op is not None:
                if op.end <= now:
                    self.complete(op)
                else:
                    return op
        return None

    def settle_all(self):
        now = self.now()
        for op in list(self.ops.values()):
            if not op.completed and op.end <= now:
                self.complete(op)

    # -- changes -------------------------------------------------------------------------

    def add(self, res):
        self.res[res.key] = res
        if res.parent is not None:
            res.parent.children[res.key] = res

    def remove(self, res):
        """Remove ``res`` and everything under it; drop its references both ways."""
        for child in list(res.children.values()):
            self.remove(child)
        self.set_refs(res, [])
        for referrer_key in list(res.used_by):
            referrer = self.res.get(referrer_key)
            if referrer is not None:
                referrer.uses.pop(res.key, None)
        if res.kind is not None:
            res.kind.on_remove(self, res)
        if res.parent is not None:
            res.parent.children.pop(res.key, None)
        if self.res.get(res.key) is res:
            del self.res[res.key]

    def set_refs(self, res, refs):
        """Replace what ``res`` references: ``refs`` is [(target Res, relation, [ids])]."""
        for target in res.uses.values():
            target.used_by.pop(res.key, None)
        res.uses = {}
        for target, relation, ids in refs:
            res.uses[target.key] = target
            target.used_by[res.key] = (relation, ids)

    def start_op(self, namespace, location, verb, targets, api_version, pending_state,
                 error=None, fail_status=409):
        op = Op(namespace, location, verb, targets, self.now(), self.op_seconds, api_version,
                pending_state, error, fail_status)
        for t in targets:
            t.op = op
            t.state = pending_state
        self.ops[op.id] = op
        return op

    def complete(self, op):
        """Apply the outcome of a finished operation (once)."""
        if op.completed:
            return
        op.completed = True
        ok = op.error is None
        for t in op.targets:
            if t.op is op:
                t.op = None
                t.state = "Succeeded" if ok else "Failed"
        if op.on_done is not None:
            op.on_done(ok)
        if op.verb == "DELETE" and ok:
            for t in op.targets:
                if self.res.get(t.key) is t:
                    self.remove(t)


class Buckets:
    """ARM's per-subscription token buckets (reads 250/25 s⁻¹, writes and deletes 200/10 s⁻¹).

    The remaining-quota headers always reflect them; requests are only refused when
    ``enforce`` is on (SIM_ARM_THROTTLE=1).
    """

    LIMITS = {"reads": (250.0, 25.0), "writes": (200.0, 10.0), "deletes": (200.0, 10.0)}

    def __init__(self, enforce):
        self.enforce = enforce
        self.lock = threading.Lock()
        now = time.monotonic()
        self.state = {cat: [cap, now] for cat, (cap, _) in self.LIMITS.items()}

    def _refill(self, cat, now):
        cap, rate = self.LIMITS[cat]
        st = self.state[cat]
        st[0] = min(cap, st[0] + (now - st[1]) * rate)
        st[1] = now
        return st

    def take(self, cat):
        """(allowed, remaining, retry_after_seconds)."""
        with self.lock:
            now = time.monotonic()
            st = self._refill(cat, now)
            if st[0] >= 1.0:
                st[0] -= 1.0
                return True, int(st[0]), 0
            if not self.enforce:
                return True, 0, 0
            rate = self.LIMITS[cat][1]
            return False, 0, max(1, math.ceil((1.0 - st[0]) / rate))

    def peek(self, cat):
        with self.lock:
            return int(self._refill(cat, time.monotonic())[0])
