"""What each simulated ARM resource type accepts, how it renders, and what blocks its deletion.

Each ``Kind`` validates a request body completely in ``prepare`` (raising ``ArmError``) before
anything changes, then ``apply`` makes the changes (children, references, instances).  Response
shapes follow the official examples in shared/fixtures/azure/; where the examples show
read-only fields (resourceGuid, uniqueId, vmId, defaultSecurityRules, back-references) they are
computed here.  Secrets (adminPassword, customData, protectedSettings) are never rendered; they
are kept in ``res.extra["secret"]`` so /_sim/state can show what the controller delivered.
"""

import base64
import binascii
import copy
import ipaddress

from arm_store import ArmError, Res, iso7, new_guid

NETWORK = "Microsoft.Network"
COMPUTE = "Microsoft.Compute"

# Built-in role definitions the simulated tenant knows (name -> GUID).
BUILTIN_ROLES = {
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "4d97b98b-1d4f-4787-a291-c67834d212e7": "Network Contributor",
    "9980e02c-c2be-4d73-94e8-173b1dc7cf3c": "Virtual Machine Contributor",
    "f1a07417-d97a-45cb-824c-7a7467783830": "Managed Identity Operator",
    "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59": "Managed Identity Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}

DEFAULT_SECURITY_RULES = [
    ("AllowVnetInBound", "Allow inbound traffic from all VMs in VNET", "VirtualNetwork", "VirtualNetwork",
     "Allow", 65000, "Inbound"),
    ("AllowAzureLoadBalancerInBound", "Allow inbound traffic from azure load balancer", "AzureLoadBalancer", "*",
     "Allow", 65001, "Inbound"),
    ("DenyAllInBound", "Deny all inbound traffic", "*", "*", "Deny", 65500, "Inbound"),
    ("AllowVnetOutBound", "Allow outbound traffic from all VMs to all VMs in VNET", "VirtualNetwork",
     "VirtualNetwork", "Allow", 65000, "Outbound"),
    ("AllowInternetOutBound", "Allow outbound traffic from all VMs to Internet", "*", "Internet",
     "Allow", 65001, "Outbound"),
    ("DenyAllOutBound", "Deny all outbound traffic", "*", "*", "Deny", 65500, "Outbound"),
]


class Ctx:
    """What a Kind needs to know about the request it validates or applies."""

    def __init__(self, store, ident, rid, name, parent, existing, api_version, now):
        self.store = store
        self.ident = ident          # identity.json: subscription, tenant, service principal
        self.rid = rid              # the id (display spelling) the resource has or will have
        self.name = name
        self.parent = parent        # Res: resource group, parent resource or RA scope
        self.existing = existing    # Res or None
        self.api_version = api_version
        self.now = now


# -- small helpers ---------------------------------------------------------------------------

def bad(code, message, target=None, network=False, status=400):
    return ArmError(status, code, message, target=target, details=[] if network else None)


def norm_location(loc):
    return loc.replace(" ", "").lower() if isinstance(loc, str) else loc


def deep_merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            deep_merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)
    return dst


def dig(obj, *path):
    for p in path:
        if isinstance(obj, dict):
            obj = obj.get(p)
        elif isinstance(obj, list) and isinstance(p, int) and p < len(obj):
            obj = obj[p]
        else:
            return None
    return obj


def as_dict(value, what):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad("InvalidRequestContent", "The request content was invalid and could not be deserialized: "
                  "'%s' must be an object." % what)
    return value


def base_body(ctx, body, kind):
    """location/tags/sku/... of a tracked resource, with ARM's location rules applied."""
    out = {}
    loc = norm_location(body.get("location"))
    if kind.tracked:
        if not loc:
            raise bad("LocationRequired", "The location property is required for this definition.")
        if ctx.existing is not None and ctx.existing.location != loc:
            raise bad("InvalidResourceLocation",
                      "The resource '%s' already exists in location '%s' in resource group '%s'. A resource "
                      "with the same name cannot be created in location '%s'. Please select a new resource "
                      "name." % (ctx.name, ctx.existing.location, ctx.existing.rg().name, loc))
        out["location"] = loc
    for k in ("tags", "sku", "zones", "plan", "kind", "extendedLocation"):
        if k in body and body[k] is not None:
            out[k] = copy.deepcopy(body[k])
    if "tags" in out and not isinstance(out["tags"], dict):
        raise bad("InvalidRequestContent", "The request content was invalid and could not be deserialized: "
                  "'tags' must be an object.")
    out["properties"] = copy.deepcopy(as_dict(body.get("properties"), "properties"))
    return out


def envelope(res, kind, props, etag=None):
    out = {"name": res.name, "id": res.id}
    if etag is not None:
        out["etag"] = etag
    out["type"] = kind.type_path
    if kind.tracked:
        out["location"] = res.location
    for k in ("tags", "sku", "zones", "plan", "kind", "extendedLocation"):
        if k in res.body:
            out[k] = copy.deepcopy(res.body[k])
    out["properties"] = props
    return out


def network_etag(res):
    return 'W/"%s"' % res.extra.setdefault("etag", new_guid())


def users_of(res, relation=None):
    """Ids that reference ``res`` (all of them, or only those of one relation)."""
    return [i for rel, ids in res.used_by.values() if relation in (None, rel) for i in ids]


def resolve(ctx, rid, referrer_id, want_type=None):
    """The resource a body references by id; 400 InvalidResourceReference when it is missing."""
    target = None
    if isinstance(rid, str) and rid.startswith("/"):
        target = ctx.store.get(rid.rstrip("/").lower())
    if target is None or (want_type and (target.kind is None or target.kind.type_path.lower() != want_type.lower())):
        raise bad("InvalidResourceReference",
                  "Resource %s referenced by resource %s was not found. Please make sure that the referenced "
                  "resource exists, and that both resources are in the same region." % (rid, referrer_id),
                  network=True)
    return target


def require_provisioned(ctx, target, referrer_id):
    """Network refuses to reference a resource that is still being created or updated."""
    op = target.op                       # ``target`` came from Store.get: already settled
    if op is not None:
        singular = target.kind.types[-1][:-1]
        raise bad("ReferencedResourceNotProvisioned",
                  "Cannot proceed with operation because resource %s used by resource %s is not in Succeeded "
                  "state. Resource is in %s state and the last operation that updated/is updating the resource "
                  "is %s%sOperation." % (target.id, referrer_id, target.state, op.verb.capitalize(),
                                         singular[:1].upper() + singular[1:]),
                  network=True)


def same_region(target, referrer_id, referrer_location):
    """References across regions fail like missing ones (the message says so)."""
    if referrer_location and target.location and target.location != referrer_location:
        raise bad("InvalidResourceReference",
                  "Resource %s referenced by resource %s was not found. Please make sure that the referenced "
                  "resource exists, and that both resources are in the same region." % (target.id, referrer_id),
                  network=True)


def parse_prefix(text):
    try:
        return ipaddress.ip_network(text, strict=True)
    except (ValueError, TypeError):
        return None


# -- the kinds -------------------------------------------------------------------------------

class Kind:
    ns = ""
    types = ()                 # canonical spelling of the type segments
    lro = None                 # namespace whose operations endpoint tracks it; None = synchronous
    tracked = True             # has location/tags; listed under the resource group
    lock = "self"              # "parent": locks with parent and siblings; "children": with children
    tags_only_patch = False    # Network and MSI PATCH only updates tags, synchronously
    actions = ()               # POST actions (lower case)
    rg_segment = "resourceGroups"
    child_kinds = ()           # type-segment names of child kinds (lower case)

    @property
    def type_path(self):
        return self.ns + "/" + "/".join(self.types)

    @property
    def parent_kind(self):
        """The kind of a child type's parent (subnets: virtual networks), else None."""
        return KINDS.get((self.ns + "/" + self.types[0]).lower()) if len(self.types) > 1 else None

    def pending_state(self, is_new):
        return "Updating"

    def prepare(self, ctx, body):
        return base_body(ctx, body, self)

    @property
    def patch_lro(self):
        return self.lro is not None and not self.tags_only_patch

    def prepare_patch(self, ctx, res, body):
        merged = copy.deepcopy(res.body)
        if "tags" in body:
            merged["tags"] = copy.deepcopy(body["tags"])
        if self.tags_only_patch:
            return merged
        rest = {k: v for k, v in body.items() if k != "tags"}
        deep_merge(merged, rest)
        return self.prepare(ctx, merged)

    def apply(self, ctx, res, is_new):
        return []

    def render_props(self, store, res):
        return copy.deepcopy(res.body.get("properties", {}))

    def render(self, store, res):
        props = self.render_props(store, res)
        props["provisioningState"] = res.state
        return envelope(res, self, props)

    def check_delete(self, store, res):
        pass

    def on_remove(self, store, res):
        pass

    def action(self, ctx, res, name, body):
        """Validate and apply a POST action; returns (pending_state, on_done or None)."""
        return "Updating", None

    def on_op(self, res, op):
        """Hook: attach completion work to an operation started by a PUT/PATCH."""


class NetworkKind(Kind):
    """Network resources: W/"guid" etags, resourceGuid, tags-only synchronous PATCH."""
    ns, lro = NETWORK, NETWORK
    tags_only_patch = True

    def render(self, store, res):
        props = self.render_props(store, res)
        props["provisioningState"] = res.state
        props["resourceGuid"] = res.extra.setdefault("resourceGuid", new_guid())
        return envelope(res, self, props, etag=network_etag(res))


class NetworkSecurityGroup(NetworkKind):
    types = ("networkSecurityGroups",)
    READ_ONLY = ("defaultSecurityRules", "subnets", "networkInterfaces", "provisioningState", "resourceGuid")

    def prepare(self, ctx, body):
        out = base_body(ctx, body, self)
        props = out["properties"]
        for k in self.READ_ONLY:
            props.pop(k, None)
        rules = props.get("securityRules") or []
        if not isinstance(rules, list):
            raise bad("InvalidRequestFormat", "Cannot parse the request.", network=True)
        for rule in rules:
            rp = dig(rule, "properties") or {}
            prio = rp.get("priority")
            if not isinstance(prio, int) or not 100 <= prio <= 4096:
                raise bad("SecurityRuleInvalidPriority",
                          "Security rule has invalid Priority. Value provided: %s Allowed range 100-4096."
                          % prio, network=True)
            for field, allowed in (("direction", ("Inbound", "Outbound")), ("access", ("Allow", "Deny")),
                                   ("protocol", ("Tcp", "Udp", "Icmp", "Esp", "*", "Ah"))):
                if str(rp.get(field)).lower() not in [a.lower() for a in allowed]:
                    raise bad("SecurityRuleParameterContainsUnsupportedValue" if field == "protocol"
                              else "InvalidRequestFormat",
                              "Security rule parameter %s for rule with Id %s/securityRules/%s cannot "
                              "contain '%s'." % (field.capitalize(), ctx.rid, rule.get("name"), rp.get(field)),
                              network=True)
        props["securityRules"] = rules
        return out

    def render_props(self, store, res):
        props = copy.deepcopy(res.body["properties"])
        rules = []
        for rule in props.get("securityRules", []):
            rules.append({"name": rule.get("name"), "id": "%s/securityRules/%s" % (res.id, rule.get("name")),
                          "etag": network_etag(res), "type": "Microsoft.Network/networkSecurityGroups/securityRules",
                          "properties": dict(rule.get("properties") or {}, provisioningState=res.state)})
        props["securityRules"] = rules
        props["defaultSecurityRules"] = [
            {"name": n, "id": "%s/defaultSecurityRules/%s" % (res.id, n), "etag": network_etag(res),
             "type": "Microsoft.Network/networkSecurityGroups/defaultSecurityRules",
             "properties": {"provisioningState": "Succeeded", "description": d, "protocol": "*",
                            "sourcePortRange": "*", "destinationPortRange": "*", "sourceAddressPrefix": s,
                            "destinationAddressPrefix": t, "access": a, "priority": p, "direction": dr}}
            for n, d, s, t, a, p, dr in DEFAULT_SECURITY_RULES]
        subnets, nics = users_of(res, "subnet"), users_of(res, "nic")
        if subnets:
            props["subnets"] = [{"id": i} for i in subnets]
        if nics:
            props["networkInterfaces"] = [{"id": i} for i in nics]
        props.setdefault("flushConnection", False)
        return props

    def check_delete(self, store, res):
        users = users_of(res)
        if users:
            raise bad("InUseNetworkSecurityGroupCannotBeDeleted",
                      "Network security group %s cannot be deleted because it is in use by the following "
                      "resources: %s. In order to delete the Network security group, remove the association "
                      "with the resource(s). To learn how to do this, see aka.ms/deletensg."
                      % (res.id, ", ".join(users)), network=True)


class Subnet(NetworkKind):
    types = ("virtualNetworks", "subnets")
    tracked = False
    tags_only_patch = False
    lock = "parent"
    READ_ONLY = ("ipConfigurations", "provisioningState", "ipConfigurationProfiles", "resourceNavigationLinks",
                 "serviceAssociationLinks", "privateEndpoints")

    def prepare_subnet(self, ctx, vnet_name, vnet_space, name, sid, body, siblings, existing):
        """Validate one subnet body against its VNet; returns (stored body, NSG Res or None)."""
        props = copy.deepcopy(as_dict(body.get("properties"), "properties"))
        for k in self.READ_ONLY:
            props.pop(k, None)
        prefix = parse_prefix(props.get("addressPrefix") or (props.get("addressPrefixes") or [None])[0])
        if prefix is None:
            raise bad("NetcfgInvalidSubnet", "Subnet '%s' is not valid in virtual network '%s'."
                      % (name, vnet_name), network=True)
        if not any(prefix.version == s.version and prefix.subnet_of(s) for s in vnet_space):
            raise bad("NetcfgSubnetRangeOutsideVnet",
                      "Subnet '%s' is not valid because its IP address range is outside the IP address range "
                      "of virtual network '%s'." % (name, vnet_name), network=True)
        for other_name, other_prefix in siblings:
            if other_prefix is not None and prefix.version == other_prefix.version and prefix.overlaps(other_prefix):
                raise bad("NetcfgSubnetRangesOverlap",
                          "Subnet '%s' is not valid because its IP address range overlaps with that of an existing "
                          "subnet in virtual network '%s'." % (name, vnet_name), network=True)
        if existing is not None and existing.used_by and \
                parse_prefix(dig(existing.body, "properties", "addressPrefix")) != prefix:
            raise bad("InUseSubnetCannotBeUpdated",
                      "Subnet %s is in use and cannot be updated." % name, network=True)
        nsg_id = dig(props, "networkSecurityGroup", "id")
        nsg = None
        if nsg_id is not None:
            nsg = resolve(ctx, nsg_id, sid, "Microsoft.Network/networkSecurityGroups")
            require_provisioned(ctx, nsg, sid)
        return {"properties": props}, nsg

    def prepare(self, ctx, body):
        vnet = ctx.parent
        space = [parse_prefix(p) for p in dig(vnet.body, "properties", "addressSpace", "addressPrefixes") or []]
        siblings = [(c.name, parse_prefix(dig(c.body, "properties", "addressPrefix")))
                    for c in vnet.children.values() if c.kind is SUBNET and c is not ctx.existing]
        stored, nsg = self.prepare_subnet(ctx, vnet.name, [s for s in space if s], ctx.name, ctx.rid, body,
                                          siblings, ctx.existing)
        stored["_nsg"] = nsg
        return stored

    def apply(self, ctx, res, is_new):
        nsg = res.body.pop("_nsg", None)
        ctx.store.set_refs(res, [(nsg, "subnet", [res.id])] if nsg is not None else [])
        return []

    def ip_configurations(self, store, res):
        ids = []
        for referrer_key, (rel, rel_ids) in res.used_by.items():
            if rel == "vmss":
                vmss = store.res.get(referrer_key)
                if vmss is not None:
                    ids.extend(VMSS.instance_ipconfig_ids(vmss, rel_ids))
            else:
                ids.extend(rel_ids)
        return ids

    def render(self, store, res):
        props = copy.deepcopy(res.body["properties"])
        props["provisioningState"] = res.state
        ipc = self.ip_configurations(store, res)
        if ipc:
            props["ipConfigurations"] = [{"id": i} for i in ipc]
        props.setdefault("privateEndpointNetworkPolicies", "Disabled")
        props.setdefault("privateLinkServiceNetworkPolicies", "Enabled")
        return {"name": res.name, "id": res.id, "etag": network_etag(res), "type": self.type_path,
                "properties": props}

    def check_delete(self, store, res):
        ipc = self.ip_configurations(store, res)
        if ipc:
            raise bad("InUseSubnetCannotBeDeleted",
                      "Subnet %s is in use by %s and cannot be deleted. In order to delete the subnet, delete all "
                      "the resources within the subnet. See aka.ms/deletesubnet." % (res.name, ipc[0]),
                      network=True)

    def allocate_ip(self, res):
        """The next private address of the subnet (Azure reserves the first four)."""
        net = parse_prefix(dig(res.body, "properties", "addressPrefix"))
        n = res.extra.get("next_host", 4)
        res.extra["next_host"] = n + 1
        if net is None or n >= net.num_addresses - 1:
            return None
        return str(net[n])


class VirtualNetwork(NetworkKind):
    types = ("virtualNetworks",)
    lock = "children"
    child_kinds = ("subnets",)

    def prepare(self, ctx, body):
        out = base_body(ctx, body, self)
        props = out["properties"]
        for k in ("provisioningState", "resourceGuid", "virtualNetworkPeerings"):
            props.pop(k, None)
        prefixes = dig(props, "addressSpace", "addressPrefixes")
        if not isinstance(prefixes, list) or not prefixes:
            raise bad("InvalidRequestFormat", "Cannot parse the request.", network=True)
        space = []
        for p in prefixes:
            net = parse_prefix(p)
            if net is None:
                raise bad("InvalidAddressPrefixFormat", "Address prefix %s of resource %s is not formatted "
                          "correctly. It should follow CIDR notation, for example 10.0.0.0/24." % (p, ctx.rid),
                          network=True)
            space.append(net)
        subnets = props.pop("subnets", None) or []
        if not isinstance(subnets, list):
            raise bad("InvalidRequestFormat", "Cannot parse the request.", network=True)
        existing_children = {c.name.lower(): c for c in ctx.existing.children.values() if c.kind is SUBNET} \
            if ctx.existing is not None else {}
        planned, siblings, seen = [], [], set()
        for sb in subnets:
            name = sb.get("name") if isinstance(sb, dict) else None
            if not name or name.lower() in seen:
                raise bad("InvalidRequestFormat", "Cannot parse the request.", network=True)
            seen.add(name.lower())
            sid = "%s/subnets/%s" % (ctx.rid, name)
            stored, nsg = SUBNET.prepare_subnet(ctx, ctx.name, space, name, sid, sb, siblings,
                                                existing_children.get(name.lower()))
            siblings.append((name, parse_prefix(dig(stored, "properties", "addressPrefix"))))
            planned.append((name, stored, nsg))
        # A VNet PUT is a full replacement: subnets it leaves out are deleted, which fails
        # when something still uses them.
        for lname, child in existing_children.items():
            if lname not in seen:
                SUBNET.check_delete(ctx.store, child)
        out["_subnets"] = planned
        return out

    def apply(self, ctx, res, is_new):
        planned = res.body.pop("_subnets", None)
        if planned is None:                       # a tags PATCH
            return []
        store = ctx.store
        keep, targets = set(), []
        for name, stored, nsg in planned:
            key = "%s/subnets/%s" % (res.key, name.lower())
            keep.add(key)
            child = store.res.get(key)
            if child is None:
                child = Res(key, "%s/subnets/%s" % (res.id, name), name, SUBNET, res, stored, ctx.now)
                store.add(child)
            else:
                child.body = stored
                child.changed = ctx.now
                child.extra.pop("etag", None)
            store.set_refs(child, [(nsg, "subnet", [child.id])] if nsg is not None else [])
            targets.append(child)
        for child in [c for c in res.children.values() if c.kind is SUBNET and c.key not in keep]:
            store.remove(child)
        return targets

    def render_props(self, store, res):
        props = copy.deepcopy(res.body["properties"])
        props["subnets"] = [SUBNET.render(store, c) for c in res.children.values() if c.kind is SUBNET]
        props.setdefault("virtualNetworkPeerings", [])
        props.setdefault("enableDdosProtection", False)
        return props

    def check_delete(self, store, res):
        for child in res.children.values():
            if child.kind is SUBNET:
                SUBNET.check_delete(store, child)


class PublicIPAddress(NetworkKind):
    types = ("publicIPAddresses",)
    _next = [0]

    def prepare(self, ctx, body):
        out = base_body(ctx, body, self)
        out.setdefault("sku", {"name": "Standard", "tier": "Regional"})
        out["sku"].setdefault("tier", "Regional")
        props = out["properties"]
        for k in ("provisioningState", "resourceGuid", "ipAddress", "ipConfiguration"):
            props.pop(k, None)
        static = out["sku"].get("name", "").lower() == "standard"
        props.setdefault("publicIPAllocationMethod", "Static" if static else "Dynamic")
        props.setdefault("publicIPAddressVersion", "IPv4")
        props.setdefault("idleTimeoutInMinutes", 4)
        props.setdefault("ipTags", [])
        return out

    def apply(self, ctx, res, is_new):
        if "ip" not in res.extra:
            n = self._next[0] = self._next[0] + 1
            res.extra["ip"] = "20.%d.%d.%d" % (50 + (n >> 16) % 200, (n >> 8) % 256, n % 256)
        return []

    def render_props(self, store, res):
        props = copy.deepcopy(res.body["properties"])
        users = users_of(res)
        if props.get("publicIPAllocationMethod") == "Static" or users:
            props["ipAddress"] = res.extra.get("ip")
        if users:
            props["ipConfiguration"] = {"id": users[0]}
        return props

    def check_delete(self, store, res):
        users = users_of(res)
        if users:
            raise bad("PublicIPAddressCannotBeDeleted",
                      "Public IP address %s can not be deleted since it is still allocated to resource %s. In order "
                      "to delete the public IP, disassociate/detach the Public IP address from the resource.  To "
                      "learn how to do this, see aka.ms/deletepublicip." % (res.id, users[0]), network=True)


class NetworkInterface(NetworkKind):
    types = ("networkInterfaces",)

    def prepare(self, ctx, body):
        out = base_body(ctx, body, self)
        props = out["properties"]
        for k in ("provisioningState", "resourceGuid", "virtualMachine", "macAddress", "primary"):
            props.pop(k, None)
        ipcs = props.get("ipConfigurations")
        if not isinstance(ipcs, list) or not ipcs:
            raise bad("NetworkInterfaceMustHaveAtLeastOneIpConfiguration",
                      "Network interface %s must have one or more IP configurations." % ctx.rid, network=True)
        old = {i.get("name"): i for i in dig(ctx.existing.body, "properties", "ipConfigurations") or []} \
            if ctx.existing is not None else {}
        refs = {}                                   # target key -> (Res, relation, [ids])
        for n, ipc in enumerate(ipcs):
            name = ipc.get("name") if isinstance(ipc, dict) else None
            if not name:
                raise bad("InvalidRequestFormat", "Cannot parse the request.", network=True)
            ipc_id = "%s/ipConfigurations/%s" % (ctx.rid, name)
            ip = ipc.setdefault("properties", {})
            ip.setdefault("primary", n == 0)
            ip.setdefault("privateIPAllocationMethod", "Dynamic")
            ip.setdefault("privateIPAddressVersion", "IPv4")
            ip.pop("provisioningState", None)
            subnet_id = dig(ip, "subnet", "id")
            if subnet_id is None:
                raise bad("IpConfigurationSubnetMissing" if n == 0 else "InvalidRequestFormat",
                          "Subnet is required for IP configuration %s." % ipc_id, network=True)
            subnet = resolve(ctx, subnet_id, ctx.rid, "Microsoft.Network/virtualNetworks/subnets")
            same_region(subnet.parent, ctx.rid, out["location"])
            require_provisioned(ctx, subnet, ctx.rid)
            refs.setdefault(subnet.key, (subnet, "ipconfig", []))[2].append(ipc_id)
            # Keep the address across updates while the subnet stays the same.
            prev_subnet = dig(old.get(name), "properties", "subnet", "id") or ""
            if prev_subnet.lower() == subnet_id.lower():
                ip.setdefault("privateIPAddress", dig(old.get(name), "properties", "privateIPAddress"))
            ip["_subnet"] = subnet
            pip_id = dig(ip, "publicIPAddress", "id")
            if pip_id is not None:
                pip = resolve(ctx, pip_id, ctx.rid, "Microsoft.Network/publicIPAddresses")
                other = [k for k in pip.used_by if k != ctx.rid.lower()]
                if other:
                    raise bad("PublicIPAddressInUse",
                              "Resource %s is referenced by resource %s. In order to use it, it must be "
                              "dissociated from that resource first." % (pip.id, pip.used_by[other[0]][1][0]),
                              network=True)
                require_provisioned(ctx, pip, ctx.rid)
                refs.setdefault(pip.key, (pip, "ipconfig", []))[2].append(ipc_id)
        nsg_id = dig(props, "networkSecurityGroup", "id")
        if nsg_id is not None:
            nsg = resolve(ctx, nsg_id, ctx.rid, "Microsoft.Network/networkSecurityGroups")
            require_provisioned(ctx, nsg, ctx.rid)
            refs[nsg.key] = (nsg, "nic", [ctx.rid])
        props.setdefault("enableAcceleratedNetworking", False)
        props.setdefault("enableIPForwarding", False)
        props.setdefault("dnsSettings", {"dnsServers": [], "appliedDnsServers": []})
        out["_refs"] = list(refs.values())
        return out

    def apply(self, ctx, res, is_new):
        refs = res.body.pop("_refs", None)
        if refs is None:
            return []
        for ipc in res.body["properties"]["ipConfigurations"]:
            subnet = ipc["properties"].pop("_subnet")
            if not ipc["properties"].get("privateIPAddress"):
                ipc["properties"]["privateIPAddress"] = SUBNET.allocate_ip(subnet)
        ctx.store.set_refs(res, refs)
        return []

    def render_props(self, store, res):
        props = copy.deepcopy(res.body["properties"])
        for ipc in props["ipConfigurations"]:
            ipc["id"] = "%s/ipConfigurations/%s" % (res.id, ipc["name"])
            ipc["etag"] = network_etag(res)
            ipc["type"] = "Microsoft.Network/networkInterfaces/ipConfigurations"
            ipc["properties"]["provisioningState"] = res.state
        vms = users_of(res, "vm")
        if vms:
            props["virtualMachine"] = {"id": vms[0]}
            props["primary"] = True
            props["macAddress"] = res.extra.setdefault(
                "mac", "00-0D-3A-%02X-%02X-%02X" % tuple(bytes.fromhex(new_guid()[:6])))
        props.setdefault("nicType", "Standard")
        props.setdefault("vnetEncryptionSupported", False)
        return props

    def check_delete(self, store, res):
        vms = users_of(res, "vm")
        if vms:
            raise bad("NicInUse",
                      "Network Interface %s is used by existing resource %s. In order to delete the network "
                      "interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic."
                      % (res.id, vms[0]), network=True)


class UserAssignedIdentity(Kind):
    ns, types = "Microsoft.ManagedIdentity", ("userAssignedIdentities",)
    rg_segment = "resourcegroups"     # the MSI provider really spells its ids this way
    tags_only_patch = True

    def prepare(self, ctx, body):
        out = base_body(ctx, body, self)
        out["properties"] = {}
        return out

    def apply(self, ctx, res, is_new):
        if is_new:
            res.extra.update(principalId=new_guid(), clientId=new_guid(), tenantId=ctx.ident["tenant_id"])
            ctx.store.principals[res.extra["principalId"]] = res.key
        return []

    def render(self, store, res):
        out = {"id": res.id, "location": res.location, "name": res.name,
               "properties": {k: res.extra[k] for k in ("clientId", "principalId", "tenantId")}}
        if "tags" in res.body:
            out["tags"] = copy.deepcopy(res.body["tags"])
        out["type"] = self.type_path
        return out

    def on_remove(self, store, res):
        store.principals.pop(res.extra.get("principalId"), None)


class RoleAssignment(Kind):
    ns, types = "Microsoft.Authorization", ("roleAssignments",)
    tracked = False

    @staticmethod
    def role_guid(ctx, role_def_id):
        parts = role_def_id.strip("/").split("/") if isinstance(role_def_id, str) else []
        low = [p.lower() for p in parts]
        ok = (len(parts) == 4 and low[:3] == ["providers", "microsoft.authorization", "roledefinitions"]) or \
             (len(parts) == 6 and low[0] == "subscriptions" and low[1] == ctx.ident["subscription_id"] and
              low[2:5] == ["providers", "microsoft.authorization", "roledefinitions"])
        if not ok:
            raise bad("InvalidRoleDefinitionId", "The role definition ID '%s' is not valid." % role_def_id)
        guid = low[-1]
        if guid not in BUILTIN_ROLES:
            raise bad("RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist."
                      % parts[-1])
        return guid

    def prepare(self, ctx, body):
        try:
            import uuid
            uuid.UUID(ctx.name)
        except ValueError:
            raise bad("InvalidRoleAssignmentId", "The role assignment ID '%s' is not valid. The role assignment ID "
                      "must be a GUID." % ctx.name) from None
        props = as_dict(body.get("properties"), "properties")
        principal = props.get("principalId")
        if not isinstance(principal, str) or not principal:
            raise bad("InvalidPrincipalId", "A valid principal ID must be provided for role assignment.")
        guid = self.role_guid(ctx, props.get("roleDefinitionId"))
        principal = principal.lower()
        if principal not in ctx.store.principals and principal != ctx.ident["sp_object_id"]:
            raise bad("PrincipalNotFound",
                      "Principal %s does not exist in the directory %s. Check that you have the correct principal "
                      "ID. If you are creating this principal and then immediately assigning a role, this error "
                      "might be related to a replication delay. In this case, set the role assignment principalType "
                      "property to a value, such as ServicePrincipal, User, or Group.  See "
                      "https://aka.ms/docs-principaltype" % (principal.replace("-", ""), ctx.ident["tenant_id"]))
        triple = (ctx.parent.key, principal, guid)
        if ctx.existing is not None:
            if (ctx.existing.extra["principal"], ctx.existing.extra["role"]) != (principal, guid):
                raise bad("RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope "
                          "are not allowed to be updated.", status=400)
        elif triple in ctx.store.ra_triples:
            raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")
        stored = {"properties": {"roleDefinitionId": props["roleDefinitionId"], "principalId": principal,
                                 "principalType": props.get("principalType") or "ServicePrincipal"}}
        for k in ("description", "condition", "conditionVersion"):
            if k in props:
                stored["properties"][k] = props[k]
        stored["_meta"] = (principal, guid)
        return stored

    def apply(self, ctx, res, is_new):
        principal, guid = res.body.pop("_meta")
        res.extra.update(principal=principal, role=guid)
        ctx.store.ra_triples[(res.parent.key, principal, guid)] = res.key
        res.extra.setdefault("createdOn", iso7(ctx.now))
        res.extra["by"] = ctx.ident["sp_object_id"]
        res.extra["updatedOn"] = iso7(ctx.now)
        return []

    def render(self, store, res):
        props = copy.deepcopy(res.body["properties"])
        props["roleDefinitionId"] = "/providers/Microsoft.Authorization/roleDefinitions/%s" % res.extra["role"]
        props["scope"] = res.parent.id
        props.update(createdOn=res.extra["createdOn"], updatedOn=res.extra["updatedOn"],
                     createdBy=ctx_sp(res), updatedBy=ctx_sp(res))
        return {"properties": props, "id": res.id, "type": self.type_path, "name": res.name}

    def on_remove(self, store, res):
        store.ra_triples.pop((res.parent.key, res.extra.get("principal"), res.extra.get("role")), None)


def ctx_sp(res):
    return res.extra.get("by")


def strip_os_secrets(os_profile, secret_store):
    """Remove what ARM never returns from an osProfile; keep it aside for /_sim/state."""
    if not isinstance(os_profile, dict):
        return
    for k in ("adminPassword", "customData"):
        if k in os_profile:
            secret_store[k] = os_profile.pop(k)


def check_custom_data(value):
    if value is None:
        return
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else None
    except (binascii.Error, ValueError):
        raw = None
    if raw is None or len(value) > 87380 or len(raw) > 65535:
        raise bad("InvalidParameter", "Custom data in OSProfile must be in Base64 encoding and with a maximum "
                  "length of 87380 characters.", target="customData")


def resolve_identities(ctx, body):
    """Check user-assigned identity references; returns the rendered identity block."""
    ident = body.get("identity")
    if ident is None:
        return
    uai = ident.get("userAssignedIdentities") or {}
    for rid in uai:
        target = ctx.store.get(rid.rstrip("/").lower())
        if target is None or target.kind is not USER_ASSIGNED_IDENTITY:
            raise bad("FailedIdentityOperation",
                      "Identity (principal id) operation for resource '%s' failed: user assigned identity "
                      "'%s' was not found." % (ctx.name, rid))


def render_identity(store, body):
    ident = copy.deepcopy(body.get("identity"))
    if not ident:
        return None
    uai = ident.get("userAssignedIdentities")
    if isinstance(uai, dict):
        for rid in uai:
            target = store.res.get(rid.rstrip("/").lower())
            if target is not None:
                uai[rid] = {"principalId": target.extra.get("principalId"), "clientId": target.extra.get("clientId")}
    return ident


def check_conditions(req_headers, res, name):
    """If-Match / If-None-Match on Compute resources (412 PreconditionFailed)."""
    if_match = req_headers.get("If-Match")
    if_none = req_headers.get("If-None-Match")
    current = '"%d"' % res.etag if res is not None else None
    if if_none == "*" and res is not None:
        raise ArmError(412, "PreconditionFailed", "The specified precondition 'If-None-Match = *' failed: "
                       "resource '%s' already exists." % name)
    if if_match and if_match != "*" and if_match != current:
        raise ArmError(412, "PreconditionFailed", "The specified precondition 'If-Match = %s' failed." % if_match)
    if if_match == "*" and res is None:
        raise ArmError(412, "PreconditionFailed", "The specified precondition 'If-Match = *' failed.")


class ComputeKind(Kind):
    lro = COMPUTE
    ns = COMPUTE

    def pending_state(self, is_new):
        return "Creating" if is_new else "Updating"

    def render_etag(self, res):
        return '"%d"' % res.etag


class VirtualMachineScaleSet(ComputeKind):
    types = ("virtualMachineScaleSets",)
    actions = ("delete", "manualupgrade", "deallocate", "poweroff", "restart", "start", "reimage",
               "reimageall", "redeploy", "performmaintenance", "scaleout")

    def prepare(self, ctx, body):
        out = base_body(ctx, body, self)
        if body.get("identity") is not None:
            out["identity"] = copy.deepcopy(body["identity"])
        props = out["properties"]
        for k in ("provisioningState", "uniqueId", "timeCreated"):
            props.pop(k, None)
        sku = out.get("sku")
        if not isinstance(sku, dict) or (ctx.existing is None and not sku.get("name")):
            raise bad("InvalidParameter", "Required parameter 'sku' is missing (null).", target="sku")
        cap = sku.get("capacity", 0 if ctx.existing is None else None)
        if cap is None:
            cap = ctx.existing.body["sku"].get("capacity", 0)
        if not isinstance(cap, int) or isinstance(cap, bool) or cap < 0 or cap > 1000:
            raise bad("InvalidParameter", "The value %s of parameter 'sku.capacity' is out of range. The value must "
                      "be between 0 and 1000, inclusive." % cap, target="sku.capacity")
        sku["capacity"] = cap
        mode = props.setdefault("orchestrationMode", "Uniform")
        if ctx.existing is not None and ctx.existing.body["properties"].get("orchestrationMode") != mode:
            raise bad("PropertyChangeNotAllowed", "Changing property 'orchestrationMode' is not allowed.",
                      target="orchestrationMode")
        vmp = props.get("virtualMachineProfile")
        if mode == "Uniform" and not isinstance(vmp, dict):
            raise bad("InvalidParameter", "Required parameter 'virtualMachineProfile' is missing (null).",
                      target="virtualMachineProfile")
        secret = {}
        osp = dig(vmp, "osProfile")
        if isinstance(osp, dict):
            prefix = osp.get("computerNamePrefix")
            if prefix is not None and (not isinstance(prefix, str) or not 1 <= len(prefix) <= 15):
                raise bad("InvalidParameter", "The value of parameter computerNamePrefix is invalid.",
                          target="computerNamePrefix")
            check_custom_data(osp.get("customData"))
            strip_os_secrets(osp, secret)
            osp.setdefault("secrets", [])
        if mode == "Uniform":
            props.setdefault("overprovision", True)
            props.setdefault("singlePlacementGroup", True)
            props.setdefault("upgradePolicy", {"mode": "Manual"})
            props.setdefault("doNotRunExtensionsOnOverprovisionedVMs", False)
        refs = {}
        for nic in dig(vmp, "networkProfile", "networkInterfaceConfigurations") or []:
            nic_name = dig(nic, "name")
            nsg_id = dig(nic, "properties", "networkSecurityGroup", "id")
            if nsg_id is not None:
                nsg = resolve(ctx, nsg_id, ctx.rid, "Microsoft.Network/networkSecurityGroups")
                refs.setdefault(nsg.key, (nsg, "vmss", []))
            for ipc in dig(nic, "properties", "ipConfigurations") or []:
                subnet_id = dig(ipc, "properties", "subnet", "id")
                if subnet_id is None:
                    continue
                subnet = resolve(ctx, subnet_id, ctx.rid, "Microsoft.Network/virtualNetworks/subnets")
                same_region(subnet.parent, ctx.rid, out["location"])
                refs.setdefault(subnet.key, (subnet, "vmss", []))[2].append((nic_name, dig(ipc, "name")))
        resolve_identities(ctx, out)
        out["_refs"] = list(refs.values())
        out["_secret"] = secret
        return out

    def apply(self, ctx, res, is_new):
        store = ctx.store
        store.set_refs(res, res.body.pop("_refs"))
        secret = res.body.pop("_secret")
        res.extra.setdefault("secret", {}).update(secret)
        ex = res.extra
        model = repr((dig(res.body, "properties", "virtualMachineProfile"), sorted(secret.items())))
        if is_new:
            ex.update(uniqueId=new_guid(), timeCreated=iso7(ctx.now, "+00:00"), instances={}, next_id=0,
                      model=1, model_body=model)
        elif model != ex["model_body"]:
            ex["model"] += 1
            ex["model_body"] = model
            mode = dig(res.body, "properties", "upgradePolicy", "mode") or "Manual"
            if mode != "Manual":
                for inst in ex["instances"].values():
                    if inst["state"] != "Deleting":
                        inst["state"], inst["pending_model"] = "Updating", ex["model"]
        self.scale_to(ctx, res, res.body["sku"]["capacity"])
        return []

    def scale_to(self, ctx, res, capacity):
        """Add instances with fresh ids, or mark the newest for deletion (scale-in policy Default)."""
        insts = res.extra["instances"]
        live = [i for i, inst in insts.items() if inst["state"] != "Deleting"]
        zones = res.body.get("zones") or []
        while len(live) < capacity:
            iid = str(res.extra["next_id"])
            res.extra["next_id"] += 1
            insts[iid] = {"state": "Creating", "model": res.extra["model"], "vmId": new_guid(),
                          "created": ctx.now, "power": "running",
                          "zone": zones[int(iid) % len(zones)] if zones else None}
            live.append(iid)
        policy = (dig(res.body, "properties", "scaleInPolicy", "rules") or ["Default"])[0]
        victims = sorted(live, key=int, reverse=(policy != "OldestVM"))[:max(0, len(live) - capacity)]
        for iid in victims:
            insts[iid]["state"] = "Deleting"

    def finish_instances(self, res, ok):
        """Operation end: Creating/Updating instances settle, Deleting ones go away."""
        insts = res.extra["instances"]
        for iid in list(insts):
            inst = insts[iid]
            if inst["state"] == "Deleting":
                if ok:
                    del insts[iid]
                else:
                    inst["state"] = "Failed"
            elif inst["state"] in ("Creating", "Updating"):
                inst["state"] = "Succeeded" if ok else "Failed"
                if ok and "pending_model" in inst:
                    inst["model"] = inst.pop("pending_model")

    def action(self, ctx, res, name, body):
        insts = res.extra["instances"]
        ids = body.get("instanceIds") if isinstance(body, dict) else None
        if name == "delete" and not ids:
            raise bad("InvalidParameter", "Required parameter 'instanceIds' is missing (null).",
                      target="instanceIds")
        if name == "scaleout":
            cap = body.get("capacity") if isinstance(body, dict) else None
            if not isinstance(cap, int) or cap < res.body["sku"]["capacity"]:
                raise bad("InvalidParameter", "The value of parameter capacity is invalid.", target="capacity")
            res.body["sku"]["capacity"] = cap
            self.scale_to(ctx, res, cap)
            return "Updating", lambda ok: self.finish_instances(res, ok)
        if ids is not None:
            if not isinstance(ids, list):
                raise bad("InvalidParameter", "The value of parameter instanceIds is invalid.", target="instanceIds")
            for iid in ids:
                if str(iid) not in insts or insts[str(iid)]["state"] == "Deleting":
                    raise bad("InvalidParameter", "The provided instanceId %s is not an active Virtual Machine "
                              "Scale Set VM instanceId." % iid, target="instanceIds")
        chosen = [str(i) for i in ids] if ids else [i for i, v in insts.items() if v["state"] != "Deleting"]
        if name == "delete":
            for iid in chosen:
                insts[iid]["state"] = "Deleting"
            res.body["sku"]["capacity"] = max(0, res.body["sku"]["capacity"] - len(chosen))
        else:
            power = {"deallocate": "deallocated", "poweroff": "stopped", "start": "running",
                     "restart": "running", "reimage": "running", "reimageall": "running"}.get(name)
            for iid in chosen:
                insts[iid]["state"] = "Updating"
                if name == "manualupgrade":
                    insts[iid]["pending_model"] = res.extra["model"]
                if power:
                    insts[iid]["power"] = power
        return "Updating", lambda ok: self.finish_instances(res, ok)

    def on_op(self, res, op):
        op.on_done = lambda ok: self.finish_instances(res, ok)

    @staticmethod
    def instance_ipconfig_ids(res, nic_ipcs):
        """The per-instance ipConfiguration ids a subnet lists for a Uniform scale set."""
        out = []
        for iid in res.extra.get("instances", {}):
            for nic_name, ipc_name in nic_ipcs:
                out.append("%s/virtualMachines/%s/networkInterfaces/%s/ipConfigurations/%s"
                           % (res.id, iid, nic_name, ipc_name))
        return out

    def render(self, store, res):
        props = copy.deepcopy(res.body["properties"])
        props["provisioningState"] = res.state
        props["uniqueId"] = res.extra["uniqueId"]
        props["timeCreated"] = res.extra["timeCreated"]
        out = envelope(res, self, props, etag=self.render_etag(res))
        ident = render_identity(store, res.body)
        if ident:
            out["identity"] = ident
        return out

    def render_instance(self, res, iid, expand):
        inst = res.extra["instances"][iid]
        sku = res.body["sku"]
        prefix = dig(res.body, "properties", "virtualMachineProfile", "osProfile", "computerNamePrefix") or res.name
        out = {"instanceId": iid, "sku": {"name": sku.get("name"), "tier": sku.get("tier", "Standard")},
               "name": "%s_%s" % (res.name, iid), "id": "%s/virtualMachines/%s" % (res.id, iid),
               "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines", "location": res.location}
        if "tags" in res.body:
            out["tags"] = copy.deepcopy(res.body["tags"])
        if inst["zone"]:
            out["zones"] = [inst["zone"]]
        nics = [{"id": "%s/virtualMachines/%s/networkInterfaces/%s" % (res.id, iid, dig(n, "name"))}
                for n in dig(res.body, "properties", "virtualMachineProfile", "networkProfile",
                             "networkInterfaceConfigurations") or []]
        props = {"latestModelApplied": inst["model"] == res.extra["model"], "vmId": inst["vmId"],
                 "osProfile": {"computerName": prefix + base36(int(iid)).rjust(6, "0"),
                               "adminUsername": dig(res.body, "properties", "virtualMachineProfile",
                                                    "osProfile", "adminUsername")},
                 "networkProfile": {"networkInterfaces": nics},
                 "provisioningState": inst["state"], "timeCreated": iso7(inst["created"], "+00:00")}
        if expand and "instanceview" in expand.lower():
            props["instanceView"] = {"statuses": [
                {"code": "ProvisioningState/%s" % inst["state"].lower(),
                 "level": "Error" if inst["state"] == "Failed" else "Info",
                 "displayStatus": "Provisioning %s" % ("failed" if inst["state"] == "Failed" else
                                                        "succeeded" if inst["state"] == "Succeeded" else
                                                        inst["state"].lower())},
                {"code": "PowerState/%s" % inst["power"], "level": "Info",
                 "displayStatus": "VM %s" % inst["power"]}]}
        out["properties"] = props
        return out


def base36(n):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


class VirtualMachine(ComputeKind):
    types = ("virtualMachines",)
    lock = "children"
    child_kinds = ("extensions",)
    actions = ("start", "poweroff", "deallocate", "restart", "redeploy", "reimage")

    def prepare(self, ctx, body):
        out = base_body(ctx, body, self)
        if body.get("identity") is not None:
            out["identity"] = copy.deepcopy(body["identity"])
        props = out["properties"]
        for k in ("provisioningState", "vmId", "timeCreated", "instanceView"):
            props.pop(k, None)
        secret = {}
        osp = props.get("osProfile")
        if isinstance(osp, dict):
            check_custom_data(osp.get("customData"))
            strip_os_secrets(osp, secret)
            osp.setdefault("secrets", [])
            osp.setdefault("allowExtensionOperations", True)
            osp.setdefault("requireGuestProvisionSignal", True)
        nics = dig(props, "networkProfile", "networkInterfaces")
        if not isinstance(nics, list) or not nics:
            raise bad("InvalidParameter", "Required parameter 'networkProfile' is missing (null).",
                      target="networkProfile")
        refs = []
        for nic_ref in nics:
            nic = resolve(ctx, dig(nic_ref, "id"), ctx.rid, "Microsoft.Network/networkInterfaces")
            same_region(nic, ctx.rid, out["location"])
            others = [ids[0] for key, (rel, ids) in nic.used_by.items() if rel == "vm" and key != ctx.rid.lower()]
            if others:
                raise bad("NicInUse", "Network Interface '%s' is used by existing Virtual Machine '%s'."
                          % (nic.id, others[0]))
            refs.append((nic, "vm", [ctx.rid]))
        resolve_identities(ctx, out)
        disk = dig(props, "storageProfile", "osDisk")
        if isinstance(disk, dict):
            disk.setdefault("osType", "Linux")
            disk.setdefault("name", "%s_OsDisk_1_%s" % (ctx.name, new_guid().replace("-", "")))
        if isinstance(props.get("storageProfile"), dict):
            props["storageProfile"].setdefault("dataDisks", [])
        out["_refs"] = refs
        out["_secret"] = secret
        return out

    def apply(self, ctx, res, is_new):
        ctx.store.set_refs(res, res.body.pop("_refs"))
        res.extra.setdefault("secret", {}).update(res.body.pop("_secret"))
        if is_new:
            res.extra.update(vmId=new_guid(), timeCreated=iso7(ctx.now, "+00:00"))
        return []

    def render(self, store, res):
        props = copy.deepcopy(res.body["properties"])
        props["vmId"] = res.extra["vmId"]
        props["provisioningState"] = res.state
        props["timeCreated"] = res.extra["timeCreated"]
        out = envelope(res, self, props, etag=self.render_etag(res))
        ident = render_identity(store, res.body)
        if ident:
            out["identity"] = ident
        exts = [VM_EXTENSION.render(store, c) for c in res.children.values() if c.kind is VM_EXTENSION]
        if exts:
            out["resources"] = exts
        return out


class VirtualMachineExtension(ComputeKind):
    types = ("virtualMachines", "extensions")
    lock = "parent"

    def prepare(self, ctx, body):
        if not body.get("location"):
            body = dict(body, location=ctx.parent.location)
        out = base_body(ctx, body, self)
        props = out["properties"]
        props.pop("provisioningState", None)
        out["_secret"] = {"protectedSettings": props.pop("protectedSettings")} \
            if "protectedSettings" in props else {}
        return out

    def apply(self, ctx, res, is_new):
        res.extra["secret"] = res.body.pop("_secret")
        return []


NETWORK_SECURITY_GROUP = NetworkSecurityGroup()
VIRTUAL_NETWORK = VirtualNetwork()
SUBNET = Subnet()
PUBLIC_IP = PublicIPAddress()
NETWORK_INTERFACE = NetworkInterface()
USER_ASSIGNED_IDENTITY = UserAssignedIdentity()
ROLE_ASSIGNMENT = RoleAssignment()
VMSS = VirtualMachineScaleSet()
VIRTUAL_MACHINE = VirtualMachine()
VM_EXTENSION = VirtualMachineExtension()

# Lower-cased "namespace/type[/childtype]" -> Kind
KINDS = {k.type_path.lower(): k for k in (
    NETWORK_SECURITY_GROUP, VIRTUAL_NETWORK, SUBNET, PUBLIC_IP, NETWORK_INTERFACE, USER_ASSIGNED_IDENTITY,
    ROLE_ASSIGNMENT, VMSS, VIRTUAL_MACHINE, VM_EXTENSION)}
NAMESPACES = {k.ns.lower(): k.ns for k in KINDS.values()}
