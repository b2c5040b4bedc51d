/* Rules across fields of one fleet, and across fleets. Per-field rules
 * (types, ranges, formats, required) live in the field table. A rule runs
 * only when the fields it reads are valid, so one mistake is reported once. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spec/spec_int.h"

typedef struct spec_rule_ctx ctx;

/* The field and the objects holding it have no error, and no unknown key
 * that might have been meant as one of the fields a rule reads. */
static bool ok(const ctx *c, spec_field_id id)
{
	for (int i = (int)id; i >= 0; i = spec_field_parent(i))
		if (c->state[i] & (SPEC_ST_BAD | SPEC_ST_UNKNOWN))
			return false;
	return true;
}

/* The runner rules read apiToken's registration; with both tokens given we
 * do not know which one is meant (gitlab-token reports that). */
static bool uses_api_token(const ctx *c)
{
	return c->fleet->gitlab.api_token.kind != SPEC_SECRET_NONE &&
	       c->fleet->gitlab.runner_token.kind == SPEC_SECRET_NONE;
}

static bool given(const ctx *c, spec_field_id id)
{
	return (c->state[id] & SPEC_ST_SEEN) && (c->state[id] & SPEC_ST_SET);
}

static void fail(ctx *c, spec_field_id id, const char *fmt, ...) SPEC_PRINTF(3, 4);

static void fail(ctx *c, spec_field_id id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spec_vfail(c, spec_field_pos(c, id), spec_fields[id].path, fmt, ap);
	va_end(ap);
}

static void rule_gitlab_token(ctx *c)
{
	const spec_fleet *f = c->fleet;
	bool rt, at;

	if (!given(c, SPEC_F_GITLAB) || !ok(c, SPEC_F_GITLAB_RUNNER_TOKEN) || !ok(c, SPEC_F_GITLAB_API_TOKEN))
		return;
	rt = f->gitlab.runner_token.kind != SPEC_SECRET_NONE;
	at = f->gitlab.api_token.kind != SPEC_SECRET_NONE;
	if (!rt && !at)
		fail(c, SPEC_F_GITLAB,
		     "expected exactly one of runnerToken (a runner made in the GitLab UI) or apiToken "
		     "(runnerfleet registers the runner), found neither");
	else if (rt && at)
		fail(c, SPEC_F_GITLAB_API_TOKEN,
		     "expected exactly one of runnerToken or apiToken, found both; drop one of them");
}

static void rule_runner_scope(ctx *c)
{
	const char *const *scope_names = spec_fields[SPEC_F_RUNNER_SCOPE].enum_values;
	const spec_fleet *f = c->fleet;
	spec_runner_scope scope = f->gitlab.runner.scope;
	bool want_project = scope == SPEC_SCOPE_PROJECT, want_group = scope == SPEC_SCOPE_GROUP;

	if (!uses_api_token(c) || !ok(c, SPEC_F_RUNNER_SCOPE) || !ok(c, SPEC_F_RUNNER_PROJECT_ID) ||
	    !ok(c, SPEC_F_RUNNER_GROUP_ID))
		return;
	if (want_project && !f->gitlab.runner.project_id)
		fail(c, SPEC_F_RUNNER_PROJECT_ID,
		     "required with apiToken and scope project: the project to register the runner in");
	if (want_group && !f->gitlab.runner.group_id)
		fail(c, SPEC_F_RUNNER_GROUP_ID,
		     "required with apiToken and scope group: the group to register the runner in");
	if (!want_project && f->gitlab.runner.project_id)
		fail(c, SPEC_F_RUNNER_PROJECT_ID, "only used with scope project, found scope %s",
		     scope_names[scope]);
	if (!want_group && f->gitlab.runner.group_id)
		fail(c, SPEC_F_RUNNER_GROUP_ID, "only used with scope group, found scope %s",
		     scope_names[scope]);
}

static void rule_runner_tags(ctx *c)
{
	const spec_fleet *f = c->fleet;

	if (!uses_api_token(c) || !ok(c, SPEC_F_RUNNER_TAGS) || !ok(c, SPEC_F_RUNNER_RUN_UNTAGGED))
		return;
	if (!f->gitlab.runner.run_untagged && f->gitlab.runner.tags.n == 0)
		fail(c, SPEC_F_RUNNER_TAGS,
		     "required when runUntagged is false, or the runner picks up no job; "
		     "add tags or set runUntagged: true");
}

static void rule_existing_network(ctx *c)
{
	const char *vnet = c->fleet->network.existing_vnet_id, *subnet = c->fleet->network.existing_subnet_id;
	size_t n;

	if (!ok(c, SPEC_F_NETWORK_EXISTING_VNET_ID) || !ok(c, SPEC_F_NETWORK_EXISTING_SUBNET_ID))
		return;
	if (vnet && !subnet) {
		fail(c, SPEC_F_NETWORK_EXISTING_VNET_ID,
		     "given without existingSubnetId; give both or neither");
		return;
	}
	if (subnet && !vnet) {
		fail(c, SPEC_F_NETWORK_EXISTING_SUBNET_ID,
		     "given without existingVnetId; give both or neither");
		return;
	}
	if (!vnet)
		return;
	n = strlen(vnet);
	if (strncasecmp(subnet, vnet, n) != 0 || strncasecmp(subnet + n, "/subnets/", 9) != 0)
		fail(c, SPEC_F_NETWORK_EXISTING_SUBNET_ID,
		     "expected a subnet of existingVnetId, found one of another network");
}

static bool own_network(const ctx *c)
{
	return !c->fleet->network.existing_vnet_id && !c->fleet->network.existing_subnet_id &&
	       ok(c, SPEC_F_NETWORK_EXISTING_VNET_ID) && ok(c, SPEC_F_NETWORK_EXISTING_SUBNET_ID);
}

static void rule_subnet_in_vnet(ctx *c)
{
	uint32_t vnet, subnet;
	int vp, sp;

	if (!own_network(c) || !ok(c, SPEC_F_NETWORK_VNET_ADDRESS_SPACE) ||
	    !ok(c, SPEC_F_NETWORK_SUBNET_ADDRESS_SPACE))
		return;
	if (spec_cidr_parse(c->fleet->network.vnet_address_space, &vnet, &vp) < 0 ||
	    spec_cidr_parse(c->fleet->network.subnet_address_space, &subnet, &sp) < 0)
		return;
	if (sp < vp || ((subnet ^ vnet) & (vp ? 0xffffffffu << (32 - vp) : 0)))
		fail(c, SPEC_F_NETWORK_SUBNET_ADDRESS_SPACE,
		     "expected a range inside vnetAddressSpace %s, found %s",
		     c->fleet->network.vnet_address_space, c->fleet->network.subnet_address_space);
}

/* Azure keeps 5 addresses of every subnet. */
static void rule_subnet_size(ctx *c)
{
	const spec_fleet *f = c->fleet;
	uint32_t subnet;
	int sp;
	uint64_t size, need;

	if (!own_network(c) || !ok(c, SPEC_F_NETWORK_SUBNET_ADDRESS_SPACE) ||
	    !ok(c, SPEC_F_AUTOSCALER_MAX_INSTANCES) || !ok(c, SPEC_F_AUTOSCALER_MODE))
		return;
	if (spec_cidr_parse(f->network.subnet_address_space, &subnet, &sp) < 0)
		return;
	size = (uint64_t)1 << (32 - sp);
	need = (uint64_t)f->autoscaler.max_instances + (f->autoscaler.mode == SPEC_MODE_MANAGER ? 1 : 0) + 5;
	if (size < need)
		fail(c, SPEC_F_NETWORK_SUBNET_ADDRESS_SPACE,
		     "expected a subnet of at least %llu addresses (maxInstances %d%s + 5 reserved by "
		     "Azure), "
		     "found %s with %llu",
		     (unsigned long long)need, f->autoscaler.max_instances,
		     f->autoscaler.mode == SPEC_MODE_MANAGER ? " + the manager VM" : "",
		     f->network.subnet_address_space, (unsigned long long)size);
}

static void rule_idle_count(ctx *c)
{
	const spec_fleet *f = c->fleet;
	long slots = (long)f->autoscaler.max_instances * f->autoscaler.capacity_per_instance;

	if (!ok(c, SPEC_F_AUTOSCALER_IDLE_COUNT) || !ok(c, SPEC_F_AUTOSCALER_MAX_INSTANCES) ||
	    !ok(c, SPEC_F_AUTOSCALER_CAPACITY))
		return;
	if (f->autoscaler.idle_count > slots)
		fail(c, SPEC_F_AUTOSCALER_IDLE_COUNT,
		     "expected at most maxInstances x capacityPerInstance = %ld idle slots, found %d", slots,
		     f->autoscaler.idle_count);
}

const spec_rule spec_rules[] = {
        {"gitlab-token", "Exactly one of spec.gitlab.runnerToken and spec.gitlab.apiToken is given.",
         rule_gitlab_token},
        {"runner-scope",
         "With apiToken, scope project needs projectId and scope group needs groupId; neither is given for "
         "another scope.",
         rule_runner_scope},
        {"runner-tags", "With apiToken and runUntagged false, tags are given.", rule_runner_tags},
        {"existing-network",
         "existingVnetId and existingSubnetId are given together, and the subnet belongs to the VNet.",
         rule_existing_network},
        {"subnet-in-vnet", "subnetAddressSpace lies inside vnetAddressSpace (when we create the network).",
         rule_subnet_in_vnet},
        {"subnet-size",
         "The subnet holds maxInstances workers, the manager VM (mode manager) and Azure's 5 reserved "
         "addresses.",
         rule_subnet_size},
        {"idle-count", "idleCount is at most maxInstances x capacityPerInstance.", rule_idle_count},
        {"unique-name", "No two fleets share namespace and name.", NULL},
        {"unique-scale-set",
         "No two fleets share subscription, resource group and appName (they would claim one scale set).",
         NULL},
};

const size_t spec_rules_count = sizeof(spec_rules) / sizeof(spec_rules[0]);

void spec_rules_check(ctx *c)
{
	for (size_t i = 0; i < spec_rules_count && !c->rep->oom; i++)
		if (spec_rules[i].check)
			spec_rules[i].check(c);
}

/* ---- Across fleets. */

typedef struct entry {
	const spec_fleet *f;
	char key[256]; /* the identity compared, lowercased where Azure ignores case */
} entry;

static int entry_cmp(const void *a, const void *b)
{
	const entry *x = a, *y = b;
	int r = strcmp(x->key, y->key);

	if (r)
		return r;
	/* ties in load order, so messages come out stable */
	return x->f < y->f ? -1 : x->f > y->f;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

typedef int (*key_fn)(const spec_fleet *f, char *buf, size_t cap);

static int key_name(const spec_fleet *f, char *buf, size_t cap)
{
	return spec_fleet_key(f, buf, cap) ? 0 : -1;
}

static int key_scale_set(const spec_fleet *f, char *buf, size_t cap)
{
	char rg[128];
	int n;

	if (!f->app_name || !spec_name_resource_group(f, rg, sizeof(rg)))
		return -1;
	n = snprintf(buf, cap, "%s/%s/%s", f->azure.subscription_id ? f->azure.subscription_id : "", rg,
	             f->app_name);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	lower(buf);
	return 0;
}

/* Reports that `f` clashes with `other`. Returns 0, or -1 when out of memory. */
static int report_clash(spec_diags *diags, const spec_fleet *f, const spec_fleet *other, bool scale_set)
{
	char msg[1024], fk[160], ok_[160], rg[128];

	if (!spec_fleet_key(f, fk, sizeof(fk)) || !spec_fleet_key(other, ok_, sizeof(ok_)))
		return 0;
	if (scale_set)
		spec_bprintf(
		        msg, sizeof(msg),
		        "fleets %s and %s (%s:%d) claim the same scale set vmss-%s in resource group %s; "
		        "give each fleet its own appName or resourceGroup",
		        fk, ok_, other->file, other->pos.line, f->app_name,
		        spec_name_resource_group(f, rg, sizeof(rg)) ? rg : "?");
	else
		spec_bprintf(msg, sizeof(msg), "fleet %s is defined more than once (also at %s:%d)", fk,
		             other->file, other->pos.line);
	return spec_diags_push(diags, f->file, f->pos, scale_set ? "spec.appName" : "metadata.name", msg);
}

/* Without memory for sorting: compare every pair, so a clash is never missed
 * for want of a buffer. */
static size_t report_clashes_pairwise(const spec_set *set, spec_diags *diags, key_fn key, bool scale_set)
{
	size_t added = 0;

	for (size_t i = 0; i < set->n; i++) {
		char a[sizeof(((entry *)0)->key)], b[sizeof(a)];

		if (key(set->fleets[i], a, sizeof(a)) < 0)
			continue;
		for (size_t j = 0; j < set->n; j++) {
			if (j == i || key(set->fleets[j], b, sizeof(b)) < 0 || strcmp(a, b) != 0)
				continue;
			if (report_clash(diags, set->fleets[i], set->fleets[j], scale_set) < 0)
				return added;
			added++;
			break;
		}
	}
	return added;
}

/* Groups fleets with equal keys and reports each member of a group, naming
 * another member. Returns the number of diagnostics added. */
static size_t report_clashes(const spec_set *set, spec_diags *diags, key_fn key, bool scale_set)
{
	entry *e;
	size_t n = 0, added = 0;

	if (!set->n)
		return 0;
	if (!(e = calloc(set->n, sizeof(*e))))
		return report_clashes_pairwise(set, diags, key, scale_set);
	for (size_t i = 0; i < set->n; i++) {
		e[n].f = set->fleets[i];
		if (key(set->fleets[i], e[n].key, sizeof(e[n].key)) == 0)
			n++;
	}
	qsort(e, n, sizeof(*e), entry_cmp);
	for (size_t i = 0; i < n; i++) {
		const spec_fleet *other;

		if (i + 1 < n && strcmp(e[i].key, e[i + 1].key) == 0)
			other = e[i + 1].f;
		else if (i > 0 && strcmp(e[i].key, e[i - 1].key) == 0)
			other = e[i - 1].f;
		else
			continue;
		if (report_clash(diags, e[i].f, other, scale_set) < 0)
			break;
		added++;
	}
	free(e);
	return added;
}

size_t spec_check_set(const spec_set *set, spec_diags *diags)
{
	if (!set || !diags)
		return 0;
	return report_clashes(set, diags, key_name, false) + report_clashes(set, diags, key_scale_set, true);
}
