/* The planner: desired × observed → operations, table by table. Observed
 * resources are built the way ARM returns them: our owned fields plus the
 * defaults and read-only fields the service adds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/desired.h"
#include "core/diff.h"
#include "core/plan.h"
#include "core/resource.h"
#include "spec/spec.h"

#define SUB "3f2c5a8e-1d4b-4c6e-9a7f-2b8d0e1f4a55"

static const char *fleet_api = "apiVersion: runnerfleet.dev/v1alpha1\n"
			       "kind: RunnerFleet\n"
			       "metadata: {name: team-a, namespace: ci}\n"
			       "spec:\n"
			       "  appName: team-a\n"
			       "  location: westeurope\n"
			       "  gitlab:\n"
			       "    url: https://gitlab.example.com\n"
			       "    apiToken: {env: GITLAB_API_TOKEN}\n"
			       "    runner: {scope: project, projectId: 12345, tags: [azure]}\n";

static const char *fleet_existing_net =
	"apiVersion: runnerfleet.dev/v1alpha1\n"
	"kind: RunnerFleet\n"
	"metadata: {name: team-b}\n"
	"spec:\n"
	"  appName: team-b\n"
	"  location: westeurope\n"
	"  gitlab: {url: https://gitlab.example.com, runnerToken: {env: GITLAB_RUNNER_TOKEN}}\n"
	"  network:\n"
	"    existingVnetId: /subscriptions/" SUB "/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v\n"
	"    existingSubnetId: /subscriptions/" SUB
	"/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/s\n";

typedef struct world {
	spec_set set;
	spec_diags diags;
	fleet_names names;
	desired_ctx ctx;
	plan_input in;
	cJSON *obs[RK_COUNT];
	plan p;
} world;

static world *world_new(const char *yaml)
{
	world *w = calloc(1, sizeof *w);
	assert_non_null(w);
	spec_load_buffer(&w->set, &w->diags, "test.yaml", yaml, strlen(yaml));
	if (w->diags.n) {
		char *s = spec_diag_format(&w->diags.items[0]);
		print_error("unexpected diagnostic: %s\n", s);
		free(s);
	}
	assert_int_equal(w->diags.n, 0);
	assert_int_equal(w->set.n, 1);
	assert_int_equal(fleet_names_resolve(&w->names, w->set.fleets[0], SUB), 0);
	w->ctx.f = w->set.fleets[0];
	w->ctx.n = &w->names;
	w->ctx.gitlab_url = "https://gitlab.example.com";
	w->ctx.runner_token = "glrt-test-token";
	w->in.runner_managed = w->set.fleets[0]->gitlab.api_token.kind != SPEC_SECRET_NONE;
	w->in.runner_token_known = true;
	return w;
}

static void world_sync(world *w)
{
	for (int k = 0; k < RK_COUNT; k++)
		w->ctx.observed[k] = w->obs[k];
}

static void world_plan(world *w, plan_mode mode)
{
	world_sync(w);
	plan_free(&w->p);
	assert_int_equal(plan_compute(&w->p, &w->ctx, &w->in, mode), 0);
}

static void world_free(world *w)
{
	plan_free(&w->p);
	for (int k = 0; k < RK_COUNT; k++)
		cJSON_Delete(w->obs[k]);
	spec_set_free(&w->set);
	spec_diags_free(&w->diags);
	free(w);
}

/* What ARM would return after our PUT: the readable fields, plus what the
 * service adds. */
static cJSON *as_observed(world *w, rf_kind k)
{
	world_sync(w);
	cJSON *o = desired_view(&w->ctx, k, NULL);
	assert_non_null(o);
	cJSON_AddStringToObject(o, "id", w->names.id[k]);
	cJSON_AddStringToObject(o, "name", w->names.name[k]);
	cJSON *props = cJSON_GetObjectItem(o, "properties");
	if (!props)
		props = cJSON_AddObjectToObject(o, "properties");
	cJSON_AddStringToObject(props, "provisioningState", "Succeeded");
	cJSON_AddStringToObject(props, "resourceGuid", "0a1b2c3d-0000-0000-0000-000000000000");
	if (k == RK_IDENTITY)
		cJSON_AddStringToObject(props, "principalId", "25cc773c-7f05-40fc-a104-32d2300754ad");
	if (k == RK_RUNNER) {
		cJSON_DeleteItemFromObject(o, "properties");
		cJSON_AddNumberToObject(o, "id", 4211);
		cJSON_AddStringToObject(o, "status", "online");
	}
	return o;
}

static void observe_all(world *w)
{
	/* In dependency order, so the role assignment sees the identity. */
	for (int k = 0; k < RK_COUNT; k++) {
		cJSON_Delete(w->obs[k]);
		w->obs[k] = NULL;
	}
	for (int k = 0; k < RK_COUNT; k++)
		if (fleet_has_kind(&w->names, w->ctx.f, (rf_kind)k))
			w->obs[k] = as_observed(w, (rf_kind)k);
}

static void test_empty_world_creates_everything_in_the_fleet(void **state)
{
	(void)state;
	world *w = world_new(fleet_api);
	world_plan(w, PLAN_MODE_APPLY);
	static const struct {
		rf_kind k;
		plan_op op;
	} want[] = {
		{RK_RESOURCE_GROUP, PLAN_CREATE}, {RK_NSG, PLAN_CREATE},       {RK_VNET, PLAN_CREATE},
		{RK_SUBNET, PLAN_CREATE},         {RK_IDENTITY, PLAN_CREATE},  {RK_VMSS, PLAN_CREATE},
		{RK_ROLE_ASSIGNMENT, PLAN_CREATE}, {RK_PUBLIC_IP, PLAN_NOOP},   {RK_NIC, PLAN_CREATE},
		{RK_VM, PLAN_CREATE},             {RK_VM_EXTENSION, PLAN_CREATE}, {RK_RUNNER, PLAN_CREATE},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		if (w->p.items[want[i].k].op != want[i].op)
			print_error("%s: got %s\n", rf_kind_name(want[i].k), plan_op_verb(w->p.items[want[i].k].op));
		assert_int_equal(w->p.items[want[i].k].op, want[i].op);
	}
	assert_int_equal(w->p.changes, 11);
	assert_int_equal(w->p.conflicts, 0);
	world_free(w);
}

static void test_observed_as_desired_plans_nothing(void **state)
{
	(void)state;
	world *w = world_new(fleet_api);
	observe_all(w);
	world_plan(w, PLAN_MODE_APPLY);
	for (int k = 0; k < RK_COUNT; k++) {
		if (w->p.items[k].op != PLAN_NOOP)
			print_error("%s: %s %s\n", rf_kind_name((rf_kind)k), plan_op_verb(w->p.items[k].op),
				    w->p.items[k].detail ? w->p.items[k].detail : "");
		assert_int_equal(w->p.items[k].op, PLAN_NOOP);
	}
	assert_int_equal(w->p.changes, 0);
	world_free(w);
}

/* A mutation of the observed world and the operation it must cause. */
typedef struct drift_case {
	const char *name;
	rf_kind kind;
	void (*mutate)(cJSON *o);
	plan_op want;
	const char *detail_has;
} drift_case;

static void drop_our_tags(cJSON *o)
{
	cJSON_DeleteItemFromObject(o, "tags");
}
static void other_fleet_tag(cJSON *o)
{
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(o, "tags"), "runnerfleet-fleet", cJSON_CreateString("ci/other"));
}
static void change_sku(cJSON *o)
{
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(o, "sku"), "name", cJSON_CreateString("Standard_B2s"));
}
static void other_location(cJSON *o)
{
	cJSON_ReplaceItemInObject(o, "location", cJSON_CreateString("northeurope"));
}
static void pretty_location(cJSON *o)
{
	cJSON_ReplaceItemInObject(o, "location", cJSON_CreateString("West Europe"));
}
static void failed_state(cJSON *o)
{
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(o, "properties"), "provisioningState",
				  cJSON_CreateString("Failed"));
}
static void add_default_rules(cJSON *o)
{
	cJSON *p = cJSON_GetObjectItem(o, "properties");
	cJSON *rules = cJSON_AddArrayToObject(p, "defaultSecurityRules");
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "name", "AllowVnetInBound");
	cJSON_AddItemToArray(rules, r);
	cJSON *subnets = cJSON_AddArrayToObject(p, "subnets");
	cJSON_AddItemToArray(subnets, cJSON_CreateObject());
}
static void short_role_definition(cJSON *o)
{
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(o, "properties"), "roleDefinitionId",
				  cJSON_CreateString("/providers/Microsoft.Authorization/roleDefinitions/"
						     "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"));
}
static void detach_nsg(cJSON *o)
{
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(o, "properties"), "networkSecurityGroup");
}
static void new_force_update_tag(cJSON *o)
{
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(o, "properties"), "forceUpdateTag", cJSON_CreateString("0ld"));
}
static void runner_paused_in_ui(cJSON *o)
{
	cJSON_ReplaceItemInObject(o, "paused", cJSON_CreateTrue());
}
static void runner_tags_reordered(cJSON *o)
{
	cJSON_ReplaceItemInObject(o, "tag_list", cJSON_CreateStringArray((const char *[]){"azure"}, 1));
}
static void lowercase_ids(cJSON *o)
{
	cJSON *p = cJSON_GetObjectItem(o, "properties");
	cJSON *nsg = cJSON_GetObjectItem(p, "networkSecurityGroup");
	cJSON *id = cJSON_GetObjectItem(nsg, "id");
	for (char *c = id->valuestring; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
}

static const drift_case drift_cases[] = {
	{"untagged resource group is not ours", RK_RESOURCE_GROUP, drop_our_tags, PLAN_CONFLICT, "not ours"},
	{"NSG of another fleet", RK_NSG, other_fleet_tag, PLAN_CONFLICT, "ci/other"},
	{"scale set SKU changed behind our back", RK_VMSS, change_sku, PLAN_UPDATE, "sku.name"},
	{"location cannot change in place", RK_VNET, other_location, PLAN_CONFLICT, "location"},
	{"location spelled as the portal does", RK_VNET, pretty_location, PLAN_NOOP, NULL},
	{"failed provisioning is repaired", RK_VM, failed_state, PLAN_UPDATE, "Failed"},
	{"defaults ARM adds cause no write", RK_NSG, add_default_rules, PLAN_NOOP, NULL},
	{"role definition id without subscription", RK_ROLE_ASSIGNMENT, short_role_definition, PLAN_NOOP, NULL},
	{"NSG detached from the subnet", RK_SUBNET, detach_nsg, PLAN_UPDATE, "networkSecurityGroup"},
	{"config change re-runs the extension", RK_VM_EXTENSION, new_force_update_tag, PLAN_UPDATE,
	 "forceUpdateTag"},
	{"runner paused in the UI", RK_RUNNER, runner_paused_in_ui, PLAN_UPDATE, "paused"},
	{"runner tags compare as a set", RK_RUNNER, runner_tags_reordered, PLAN_NOOP, NULL},
	{"ids compare case-insensitively", RK_SUBNET, lowercase_ids, PLAN_NOOP, NULL},
};

static void test_drift_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof drift_cases / sizeof drift_cases[0]; i++) {
		const drift_case *c = &drift_cases[i];
		world *w = world_new(fleet_api);
		observe_all(w);
		c->mutate(w->obs[c->kind]);
		world_plan(w, PLAN_MODE_APPLY);
		const plan_item *it = &w->p.items[c->kind];
		if (it->op != c->want || (c->detail_has && (!it->detail || !strstr(it->detail, c->detail_has))))
			print_error("case \"%s\": got %s (%s)\n", c->name, plan_op_verb(it->op),
				    it->detail ? it->detail : "");
		assert_int_equal(it->op, c->want);
		if (c->detail_has)
			assert_non_null(strstr(it->detail, c->detail_has));
		/* Nothing else moves. */
		for (int k = 0; k < RK_COUNT; k++)
			if (k != (int)c->kind)
				assert_int_equal(w->p.items[k].op, PLAN_NOOP);
		world_free(w);
	}
}

static void test_existing_network_is_never_planned(void **state)
{
	(void)state;
	world *w = world_new(fleet_existing_net);
	world_plan(w, PLAN_MODE_APPLY);
	assert_int_equal(w->p.items[RK_VNET].op, PLAN_NOOP);
	assert_int_equal(w->p.items[RK_SUBNET].op, PLAN_NOOP);
	assert_int_equal(w->p.items[RK_VMSS].op, PLAN_CREATE);
	/* a runner token made in the UI: no registration of ours to manage */
	assert_int_equal(w->p.items[RK_RUNNER].op, PLAN_NOOP);
	world_plan(w, PLAN_MODE_DELETE);
	assert_int_equal(w->p.changes, 0);
	world_free(w);
}

static void test_runner_cases(void **state)
{
	(void)state;
	world *w = world_new(fleet_api);
	observe_all(w);
	w->in.runner_token_known = false;
	world_plan(w, PLAN_MODE_APPLY);
	assert_int_equal(w->p.items[RK_RUNNER].op, PLAN_UPDATE);
	assert_non_null(strstr(w->p.items[RK_RUNNER].detail, "token"));

	w->in.runner_token_known = true;
	w->in.runner_duplicates = 2;
	world_plan(w, PLAN_MODE_APPLY);
	assert_int_equal(w->p.items[RK_RUNNER].op, PLAN_UPDATE);
	assert_non_null(strstr(w->p.items[RK_RUNNER].detail, "2 duplicate"));

	w->in.runner_duplicates = 0;
	cJSON_Delete(w->obs[RK_RUNNER]);
	w->obs[RK_RUNNER] = NULL;
	w->in.runner_foreign = true;
	world_plan(w, PLAN_MODE_APPLY);
	assert_int_equal(w->p.items[RK_RUNNER].op, PLAN_CONFLICT);
	world_free(w);
}

static void test_delete_plans_only_what_is_ours(void **state)
{
	(void)state;
	world *w = world_new(fleet_api);
	observe_all(w);
	drop_our_tags(w->obs[RK_RESOURCE_GROUP]);
	world_plan(w, PLAN_MODE_DELETE);
	assert_int_equal(w->p.items[RK_RESOURCE_GROUP].op, PLAN_CONFLICT);
	assert_int_equal(w->p.items[RK_VMSS].op, PLAN_DELETE);
	assert_int_equal(w->p.items[RK_RUNNER].op, PLAN_DELETE);
	assert_int_equal(w->p.items[RK_PUBLIC_IP].op, PLAN_NOOP);
	assert_int_equal(w->p.changes, 10);
	world_free(w);
}

static void test_unknown_principal_is_known_after_apply(void **state)
{
	(void)state;
	world *w = world_new(fleet_api);
	observe_all(w);
	cJSON_Delete(w->obs[RK_IDENTITY]);
	w->obs[RK_IDENTITY] = NULL;
	world_plan(w, PLAN_MODE_APPLY);
	assert_int_equal(w->p.items[RK_IDENTITY].op, PLAN_CREATE);
	assert_int_equal(w->p.items[RK_ROLE_ASSIGNMENT].op, PLAN_UPDATE);
	assert_non_null(strstr(w->p.items[RK_ROLE_ASSIGNMENT].detail, "known after apply"));
	world_free(w);
}

static void test_secrets_stay_out_of_views(void **state)
{
	(void)state;
	world *w = world_new(fleet_api);
	observe_all(w);
	world_sync(w);
	for (int k = 0; k < RK_COUNT; k++) {
		cJSON *v = desired_view(&w->ctx, (rf_kind)k, NULL);
		char *s = v ? cJSON_PrintUnformatted(v) : NULL;
		if (s) {
			assert_null(strstr(s, "glrt-test-token"));
			assert_null(strstr(s, "adminPassword"));
			assert_null(strstr(s, "protectedSettings"));
		}
		cJSON_free(s);
		cJSON_Delete(v);
	}
	/* ...while the bodies sent carry them where ARM needs them. */
	cJSON *ext = desired_body(&w->ctx, RK_VM_EXTENSION, NULL);
	char *s = cJSON_PrintUnformatted(ext);
	assert_non_null(strstr(s, "protectedSettings"));
	assert_null(strstr(s, "glrt-test-token")); /* inside, base64-encoded */
	cJSON_free(s);
	cJSON_Delete(ext);
	world_free(w);
}

static void test_role_assignment_name_is_stable(void **state)
{
	(void)state;
	world *a = world_new(fleet_api), *b = world_new(fleet_api);
	assert_string_equal(a->names.name[RK_ROLE_ASSIGNMENT], b->names.name[RK_ROLE_ASSIGNMENT]);
	assert_int_equal(strlen(a->names.name[RK_ROLE_ASSIGNMENT]), 36);
	world *c = world_new(fleet_existing_net);
	assert_string_not_equal(a->names.name[RK_ROLE_ASSIGNMENT], c->names.name[RK_ROLE_ASSIGNMENT]);
	world_free(a);
	world_free(b);
	world_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_world_creates_everything_in_the_fleet),
		cmocka_unit_test(test_observed_as_desired_plans_nothing),
		cmocka_unit_test(test_drift_table),
		cmocka_unit_test(test_existing_network_is_never_planned),
		cmocka_unit_test(test_runner_cases),
		cmocka_unit_test(test_delete_plans_only_what_is_ours),
		cmocka_unit_test(test_unknown_principal_is_known_after_apply),
		cmocka_unit_test(test_secrets_stay_out_of_views),
		cmocka_unit_test(test_role_assignment_name_is_stable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
