#include "core/desired.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/render.h"
#include "util/buf.h"
#include "util/sha256.h"

static cJSON *add_obj(cJSON *parent, const char *key)
{
	cJSON *o = cJSON_CreateObject();
	if (o && !cJSON_AddItemToObject(parent, key, o)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static void add_ref(cJSON *parent, const char *key, const char *id)
{
	cJSON *o = add_obj(parent, key);
	if (o)
		cJSON_AddStringToObject(o, "id", id);
}

static void add_tags(cJSON *o, const desired_ctx *c)
{
	cJSON *t = add_obj(o, "tags");
	if (!t)
		return;
	cJSON_AddStringToObject(t, RF_TAG_MANAGED_BY, RF_TAG_MANAGED_BY_VALUE);
	cJSON_AddStringToObject(t, RF_TAG_FLEET, c->n->key);
}

static cJSON *tracked(const desired_ctx *c)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "location", c->f->location);
	add_tags(o, c);
	return o;
}

const char *desired_owner_tag(const cJSON *resource)
{
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(resource, "tags");
	const cJSON *v = cJSON_GetObjectItem(tags, RF_TAG_FLEET);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *observed_string(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
	if (b)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	return cJSON_IsString(x) ? x->valuestring : NULL;
}

static void image_reference(cJSON *storage, bool windows)
{
	cJSON *img = add_obj(storage, "imageReference");
	if (!img)
		return;
	if (windows) {
		cJSON_AddStringToObject(img, "publisher", "MicrosoftWindowsServer");
		cJSON_AddStringToObject(img, "offer", "WindowsServer");
		cJSON_AddStringToObject(img, "sku", "2022-datacenter-azure-edition");
	} else {
		cJSON_AddStringToObject(img, "publisher", "Canonical");
		cJSON_AddStringToObject(img, "offer", "ubuntu-24_04-lts");
		cJSON_AddStringToObject(img, "sku", "server");
	}
	cJSON_AddStringToObject(img, "version", "latest");
	cJSON *disk = add_obj(storage, "osDisk");
	if (!disk)
		return;
	cJSON_AddStringToObject(disk, "createOption", "FromImage");
	cJSON_AddStringToObject(disk, "caching", "ReadWrite");
	cJSON *md = add_obj(disk, "managedDisk");
	if (md)
		cJSON_AddStringToObject(md, "storageAccountType", "StandardSSD_LRS");
}

static cJSON *nsg_rule(const char *name, int priority, const char *source, const char *port, const char *access)
{
	cJSON *r = cJSON_CreateObject();
	if (!r)
		return NULL;
	cJSON_AddStringToObject(r, "name", name);
	cJSON *p = add_obj(r, "properties");
	if (!p)
		return r;
	cJSON_AddStringToObject(p, "protocol", strcmp(port, "*") == 0 ? "*" : "Tcp");
	cJSON_AddStringToObject(p, "sourcePortRange", "*");
	cJSON_AddStringToObject(p, "destinationPortRange", port);
	cJSON_AddStringToObject(p, "sourceAddressPrefix", source);
	cJSON_AddStringToObject(p, "destinationAddressPrefix", "*");
	cJSON_AddStringToObject(p, "access", access);
	cJSON_AddNumberToObject(p, "priority", priority);
	cJSON_AddStringToObject(p, "direction", "Inbound");
	return r;
}

static cJSON *build_nsg(const desired_ctx *c)
{
	cJSON *o = tracked(c);
	cJSON *props = o ? add_obj(o, "properties") : NULL;
	cJSON *rules = props ? cJSON_AddArrayToObject(props, "securityRules") : NULL;
	if (!rules)
		return o;
	/* SSH from the VNet is allowed by Azure's default rules; from outside
	 * only from the ranges the spec names, and only with a public IP. */
	if (c->f->manager.public_ip) {
		for (size_t i = 0; i < c->f->manager.ssh_source_ranges.n && i < 100; i++) {
			char name[32];
			snprintf(name, sizeof name, "allow-ssh-%zu", i);
			cJSON_AddItemToArray(rules, nsg_rule(name, 100 + (int)i, c->f->manager.ssh_source_ranges.items[i],
							     "22", "Allow"));
		}
	}
	cJSON_AddItemToArray(rules, nsg_rule("deny-internet-inbound", 4000, "Internet", "*", "Deny"));
	return o;
}

static cJSON *subnet_props(const desired_ctx *c)
{
	cJSON *p = cJSON_CreateObject();
	if (!p)
		return NULL;
	cJSON_AddStringToObject(p, "addressPrefix", c->f->network.subnet_address_space);
	add_ref(p, "networkSecurityGroup", c->n->id[RK_NSG]);
	return p;
}

static cJSON *build_vnet(const desired_ctx *c, bool with_subnets)
{
	cJSON *o = tracked(c);
	cJSON *props = o ? add_obj(o, "properties") : NULL;
	cJSON *space = props ? add_obj(props, "addressSpace") : NULL;
	cJSON *prefixes = space ? cJSON_AddArrayToObject(space, "addressPrefixes") : NULL;
	if (!prefixes)
		return o;
	cJSON_AddItemToArray(prefixes, cJSON_CreateString(c->f->network.vnet_address_space));
	if (!with_subnets)
		return o;
	/* A VNet PUT replaces its subnet list: send ours, and keep any other
	 * subnet someone added, as it is. */
	cJSON *subnets = cJSON_AddArrayToObject(props, "subnets");
	cJSON *mine = cJSON_CreateObject();
	if (!subnets || !mine) {
		cJSON_Delete(mine);
		return o;
	}
	cJSON_AddStringToObject(mine, "name", c->n->name[RK_SUBNET]);
	cJSON_AddItemToObject(mine, "properties", subnet_props(c));
	cJSON_AddItemToArray(subnets, mine);
	const cJSON *have = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(c->observed[RK_VNET], "properties"), "subnets");
	const cJSON *s;
	cJSON_ArrayForEach(s, have)
	{
		const char *name = observed_string(s, "name", NULL);
		if (name && strcasecmp(name, c->n->name[RK_SUBNET]) != 0)
			cJSON_AddItemToArray(subnets, cJSON_Duplicate(s, 1));
	}
	return o;
}

static cJSON *build_subnet(const desired_ctx *c)
{
	cJSON *o = cJSON_CreateObject();
	if (o)
		cJSON_AddItemToObject(o, "properties", subnet_props(c));
	return o;
}

static cJSON *build_role(const desired_ctx *c, const char **missing)
{
	const char *principal = observed_string(c->observed[RK_IDENTITY], "properties", "principalId");
	if (!principal) {
		*missing = "the managed identity's principal id";
		return NULL;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON *p = o ? add_obj(o, "properties") : NULL;
	if (!p)
		return o;
	char role[256];
	snprintf(role, sizeof role, "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s",
		 c->n->subscription, RF_ROLE_VM_CONTRIBUTOR);
	cJSON_AddStringToObject(p, "roleDefinitionId", role);
	cJSON_AddStringToObject(p, "principalId", principal);
	/* A fresh identity may not have replicated yet; saying what it is avoids
	 * PrincipalNotFound. */
	cJSON_AddStringToObject(p, "principalType", "ServicePrincipal");
	return o;
}

static cJSON *build_pip(const desired_ctx *c)
{
	cJSON *o = tracked(c);
	cJSON *sku = o ? add_obj(o, "sku") : NULL;
	if (!sku)
		return o;
	cJSON_AddStringToObject(sku, "name", "Standard");
	cJSON *p = add_obj(o, "properties");
	if (p) {
		cJSON_AddStringToObject(p, "publicIPAllocationMethod", "Static");
		cJSON_AddStringToObject(p, "publicIPAddressVersion", "IPv4");
	}
	return o;
}

static cJSON *build_nic(const desired_ctx *c)
{
	cJSON *o = tracked(c);
	cJSON *p = o ? add_obj(o, "properties") : NULL;
	cJSON *ipcs = p ? cJSON_AddArrayToObject(p, "ipConfigurations") : NULL;
	cJSON *ipc = ipcs ? cJSON_CreateObject() : NULL;
	if (!ipc)
		return o;
	cJSON_AddItemToArray(ipcs, ipc);
	cJSON_AddStringToObject(ipc, "name", "ipconfig1");
	cJSON *ip = add_obj(ipc, "properties");
	if (ip) {
		cJSON_AddStringToObject(ip, "privateIPAllocationMethod", "Dynamic");
		add_ref(ip, "subnet", c->n->subnet_id);
		if (c->f->manager.public_ip)
			add_ref(ip, "publicIPAddress", c->n->id[RK_PUBLIC_IP]);
	}
	add_ref(p, "networkSecurityGroup", c->n->id[RK_NSG]);
	return o;
}

/* Secrets and write-only fields of the scale set's model, hashed into a tag:
 * ARM never returns them, so the tag is how a change becomes visible. */
static void model_hash(const desired_ctx *c, const char *password, const char *custom_data, char out[17])
{
	buf b;
	buf_init(&b, 1 << 20);
	buf_puts(&b, password ? password : "");
	buf_puts(&b, "\n");
	buf_puts(&b, custom_data ? custom_data : "");
	char *s = buf_detach(&b);
	sha256_hex(s ? s : "", s ? strlen(s) : 0, 8, out);
	free(s);
	(void)c;
}

static cJSON *build_vmss(const desired_ctx *c, bool with_secrets, const char **missing)
{
	if (!c->runner_token) {
		*missing = "the runner token";
		return NULL;
	}
	const bool windows = c->f->runner_type == SPEC_RUNNER_WINDOWS;
	render_input in = {c->f, c->n, c->gitlab_url, c->runner_token, NULL};
	char password[40];
	render_worker_password(c->runner_token, c->n->key, password);
	in.worker_password = password;
	char *cloud_init = render_worker_cloud_init(&in);
	char *custom = cloud_init ? base64_encode(cloud_init, strlen(cloud_init)) : NULL;
	free(cloud_init);
	char hash[17];
	model_hash(c, password, custom, hash);

	cJSON *o = tracked(c);
	if (!o || !custom)
		goto done;
	cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(o, "tags"), "runnerfleet-model", hash);
	cJSON *sku = add_obj(o, "sku");
	if (sku) {
		cJSON_AddStringToObject(sku, "name", c->f->workers.vm_size);
		cJSON_AddStringToObject(sku, "tier", "Standard");
		if (with_secrets) {
			/* Capacity belongs to the autoscaler (the manager's plugin, or
			 * runnerfleet's own in controller mode): keep what is there. */
			const cJSON *have = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(c->observed[RK_VMSS], "sku"), "capacity");
			cJSON_AddNumberToObject(sku, "capacity", cJSON_IsNumber(have) ? have->valuedouble : 0);
		}
	}
	cJSON *p = add_obj(o, "properties");
	if (!p)
		goto done;
	cJSON_AddStringToObject(p, "orchestrationMode", "Uniform");
	cJSON_AddBoolToObject(p, "overprovision", false);
	cJSON_AddBoolToObject(p, "singlePlacementGroup", false);
	cJSON *up = add_obj(p, "upgradePolicy");
	if (up)
		cJSON_AddStringToObject(up, "mode", "Manual");
	cJSON *vp = add_obj(p, "virtualMachineProfile");
	cJSON *os = vp ? add_obj(vp, "osProfile") : NULL;
	if (!os)
		goto done;
	cJSON_AddStringToObject(os, "computerNamePrefix", "rfworker");
	cJSON_AddStringToObject(os, "adminUsername", RF_ADMIN_USER);
	if (with_secrets) {
		cJSON_AddStringToObject(os, "adminPassword", password);
		if (!windows)
			cJSON_AddStringToObject(os, "customData", custom);
	}
	cJSON *lc = add_obj(os, windows ? "windowsConfiguration" : "linuxConfiguration");
	if (lc && !windows)
		cJSON_AddBoolToObject(lc, "disablePasswordAuthentication", false);
	if (lc && windows)
		cJSON_AddBoolToObject(lc, "provisionVMAgent", true);
	cJSON *st = add_obj(vp, "storageProfile");
	if (st)
		image_reference(st, windows);
	cJSON *np = add_obj(vp, "networkProfile");
	cJSON *nics = np ? cJSON_AddArrayToObject(np, "networkInterfaceConfigurations") : NULL;
	cJSON *nic = nics ? cJSON_CreateObject() : NULL;
	if (!nic)
		goto done;
	cJSON_AddItemToArray(nics, nic);
	cJSON_AddStringToObject(nic, "name", "nic0");
	cJSON *nicp = add_obj(nic, "properties");
	if (!nicp)
		goto done;
	cJSON_AddBoolToObject(nicp, "primary", true);
	add_ref(nicp, "networkSecurityGroup", c->n->id[RK_NSG]);
	cJSON *ipcs = cJSON_AddArrayToObject(nicp, "ipConfigurations");
	cJSON *ipc = ipcs ? cJSON_CreateObject() : NULL;
	if (ipc) {
		cJSON_AddItemToArray(ipcs, ipc);
		cJSON_AddStringToObject(ipc, "name", "ipc0");
		cJSON *ipp = add_obj(ipc, "properties");
		if (ipp) {
			cJSON_AddBoolToObject(ipp, "primary", true);
			add_ref(ipp, "subnet", c->n->subnet_id);
		}
	}
done:
	free(custom);
	return o;
}

static cJSON *build_vm(const desired_ctx *c, bool with_secrets, const char **missing)
{
	if (!c->runner_token && with_secrets) {
		*missing = "the runner token";
		return NULL;
	}
	cJSON *o = tracked(c);
	cJSON *id = o ? add_obj(o, "identity") : NULL;
	if (!id)
		return o;
	cJSON_AddStringToObject(id, "type", "UserAssigned");
	cJSON *uai = add_obj(id, "userAssignedIdentities");
	if (uai)
		add_obj(uai, c->n->id[RK_IDENTITY]);
	cJSON *p = add_obj(o, "properties");
	if (!p)
		return o;
	cJSON *hw = add_obj(p, "hardwareProfile");
	if (hw)
		cJSON_AddStringToObject(hw, "vmSize", c->f->manager.vm_size);
	cJSON *st = add_obj(p, "storageProfile");
	if (st)
		image_reference(st, false); /* the manager is always Linux */
	cJSON *os = add_obj(p, "osProfile");
	if (os) {
		cJSON_AddStringToObject(os, "computerName", c->n->name[RK_VM]);
		cJSON_AddStringToObject(os, "adminUsername", RF_ADMIN_USER);
		if (with_secrets) {
			char password[40];
			render_worker_password(c->runner_token, c->n->key, password);
			cJSON_AddStringToObject(os, "adminPassword", password);
		}
		cJSON *lc = add_obj(os, "linuxConfiguration");
		if (lc)
			cJSON_AddBoolToObject(lc, "disablePasswordAuthentication", false);
	}
	cJSON *np = add_obj(p, "networkProfile");
	cJSON *nics = np ? cJSON_AddArrayToObject(np, "networkInterfaces") : NULL;
	cJSON *nic = nics ? cJSON_CreateObject() : NULL;
	if (nic) {
		cJSON_AddItemToArray(nics, nic);
		cJSON_AddStringToObject(nic, "id", c->n->id[RK_NIC]);
		cJSON *np2 = add_obj(nic, "properties");
		if (np2)
			cJSON_AddBoolToObject(np2, "primary", true);
	}
	return o;
}

/* The script the manager's extension runs, secrets included; NULL when the
 * runner token is not known yet. Caller frees. */
static char *manager_script(const desired_ctx *c)
{
	if (!c->runner_token)
		return NULL;
	char password[40];
	render_worker_password(c->runner_token, c->n->key, password);
	render_input in = {c->f, c->n, c->gitlab_url, c->runner_token, password};
	return render_manager_script(&in, false);
}

static cJSON *build_extension(const desired_ctx *c, bool with_secrets, const char **missing)
{
	/* Rendered once: its hash is the forceUpdateTag, its text the payload. */
	char *script = manager_script(c);
	if (!script) {
		*missing = "the runner token";
		return NULL;
	}
	char hash[17];
	sha256_hex(script, strlen(script), 8, hash);
	cJSON *o = tracked(c);
	cJSON *p = o ? add_obj(o, "properties") : NULL;
	if (!p)
		goto done;
	cJSON_AddStringToObject(p, "publisher", "Microsoft.Azure.Extensions");
	cJSON_AddStringToObject(p, "type", "CustomScript");
	cJSON_AddStringToObject(p, "typeHandlerVersion", "2.1");
	cJSON_AddBoolToObject(p, "autoUpgradeMinorVersion", true);
	/* A new hash re-runs the script: that is how a spec change reaches the
	 * manager. */
	cJSON_AddStringToObject(p, "forceUpdateTag", hash);
	add_obj(p, "settings");
	if (with_secrets) {
		char *b64 = base64_encode(script, strlen(script));
		cJSON *ps = add_obj(p, "protectedSettings");
		if (ps && b64)
			cJSON_AddStringToObject(ps, "script", b64);
		free(b64);
	}
done:
	memset(script, 0, strlen(script));
	free(script);
	return o;
}

static cJSON *build_runner(const desired_ctx *c, bool for_create)
{
	const spec_fleet *f = c->f;
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (for_create) {
		static const char *types[] = {"project_type", "group_type", "instance_type"};
		cJSON_AddStringToObject(o, "runner_type", types[f->gitlab.runner.scope]);
		if (f->gitlab.runner.scope == SPEC_SCOPE_PROJECT)
			cJSON_AddNumberToObject(o, "project_id", (double)f->gitlab.runner.project_id);
		if (f->gitlab.runner.scope == SPEC_SCOPE_GROUP)
			cJSON_AddNumberToObject(o, "group_id", (double)f->gitlab.runner.group_id);
	}
	cJSON_AddStringToObject(o, "description", c->n->name[RK_RUNNER]);
	cJSON_AddBoolToObject(o, "paused", f->gitlab.runner.paused);
	cJSON_AddBoolToObject(o, "locked", f->gitlab.runner.locked);
	cJSON_AddBoolToObject(o, "run_untagged", f->gitlab.runner.run_untagged);
	cJSON *tags = cJSON_AddArrayToObject(o, "tag_list");
	for (size_t i = 0; tags && i < f->gitlab.runner.tags.n; i++)
		cJSON_AddItemToArray(tags, cJSON_CreateString(f->gitlab.runner.tags.items[i]));
	if (f->gitlab.runner.maximum_timeout > 0)
		cJSON_AddNumberToObject(o, "maximum_timeout", (double)f->gitlab.runner.maximum_timeout);
	char note[RF_NAME_MAX + 32];
	snprintf(note, sizeof note, "%s=%s", RF_TAG_FLEET, c->n->key);
	cJSON_AddStringToObject(o, "maintenance_note", note);
	return o;
}

static cJSON *build(const desired_ctx *c, rf_kind k, bool with_secrets, const char **missing)
{
	static const char *none;
	if (!missing)
		missing = &none;
	*missing = NULL;
	switch (k) {
	case RK_RESOURCE_GROUP:
	case RK_IDENTITY:
		return tracked(c);
	case RK_NSG:
		return build_nsg(c);
	case RK_VNET:
		return build_vnet(c, with_secrets);
	case RK_SUBNET:
		return build_subnet(c);
	case RK_VMSS:
		return build_vmss(c, with_secrets, missing);
	case RK_ROLE_ASSIGNMENT:
		return build_role(c, missing);
	case RK_PUBLIC_IP:
		return build_pip(c);
	case RK_NIC:
		return build_nic(c);
	case RK_VM:
		return build_vm(c, with_secrets, missing);
	case RK_VM_EXTENSION:
		return build_extension(c, with_secrets, missing);
	case RK_RUNNER:
		return build_runner(c, with_secrets);
	default:
		return NULL;
	}
}

cJSON *desired_body(const desired_ctx *c, rf_kind k, const char **missing)
{
	return build(c, k, true, missing);
}

cJSON *desired_view(const desired_ctx *c, rf_kind k, const char **missing)
{
	return build(c, k, false, missing);
}
