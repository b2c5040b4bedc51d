#include "core/plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/diff.h"
#include "util/buf.h"

#define DETAIL_MAX 8192

const char *plan_op_verb(plan_op op)
{
	static const char *v[] = {"no change", "create", "update", "delete", "conflict"};
	return v[op];
}

const char *plan_op_symbol(plan_op op)
{
	static const char *v[] = {" ", "+", "~", "-", "!"};
	return v[op];
}

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
	char tmp[DETAIL_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : strdup(tmp);
}

/* Resources that carry our tags. Subnets, extensions and role assignments
 * belong to a parent or have a derived name. */
static bool kind_is_tagged(rf_kind k)
{
	return rf_kind_is_arm(k) && k != RK_SUBNET && k != RK_ROLE_ASSIGNMENT;
}

static const char *provisioning_state(const cJSON *o)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "properties"),
							  "provisioningState");
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int compute_apply(plan_item *out, const desired_ctx *c, const plan_input *in, rf_kind k)
{
	const cJSON *have = c->observed[k];
	if (k == RK_RUNNER) {
		if (!in->runner_managed)
			return 0; /* a token made in the UI: nothing of ours to keep in GitLab */
		if (!have && in->runner_foreign) {
			out->op = PLAN_CONFLICT;
			out->detail = xprintf("a runner described \"%s\" exists without the %s marker in its maintenance "
					      "note: it is not ours; rename it or delete it in GitLab",
					      c->n->name[RK_RUNNER], RF_TAG_FLEET);
			return out->detail ? 0 : -1;
		}
		if (!have) {
			out->op = PLAN_CREATE;
			return 0;
		}
		if (in->runner_duplicates > 0) {
			buf t;
			buf_init(&t, DETAIL_MAX);
			buf_printf(&t, "%d duplicate registration(s) carry this fleet's marker: remove them",
				   in->runner_duplicates);
			out->op = PLAN_UPDATE;
			out->detail = buf_detach(&t);
			return out->detail ? 0 : -1;
		}
		if (!in->runner_token_known) {
			out->op = PLAN_UPDATE;
			out->detail = strdup("its token is not in the state folder: reset the token");
			return out->detail ? 0 : -1;
		}
	} else if (!have) {
		out->op = PLAN_CREATE;
		return 0;
	}

	if (kind_is_tagged(k)) {
		const char *owner = desired_owner_tag(have);
		if (!owner || strcmp(owner, c->n->key) != 0) {
			out->op = PLAN_CONFLICT;
			out->detail = owner ? xprintf("exists and belongs to fleet %s; runnerfleet will not touch it", owner)
					    : xprintf("exists without the %s tag: it is not ours, and runnerfleet will not "
						      "touch it",
						      RF_TAG_FLEET);
			return out->detail ? 0 : -1;
		}
		const cJSON *loc = cJSON_GetObjectItemCaseSensitive(have, "location");
		if (cJSON_IsString(loc)) {
			if (!diff_same_location(c->f->location, loc->valuestring)) {
				out->op = PLAN_CONFLICT;
				out->detail = xprintf("is in %s, the spec says %s: location cannot change in place; "
						      "delete the fleet and apply it again to move it",
						      loc->valuestring, c->f->location);
				return out->detail ? 0 : -1;
			}
		}
	}

	const char *ps = provisioning_state(have);
	if (ps && strcasecmp(ps, "Failed") == 0) {
		out->op = PLAN_UPDATE;
		out->detail = strdup("provisioningState is Failed: apply it again");
		return out->detail ? 0 : -1;
	}

	const char *missing = NULL;
	cJSON *view = desired_view(c, k, &missing);
	if (!view) {
		if (!missing)
			return -1;
		out->op = PLAN_UPDATE;
		out->detail = xprintf("(known after apply: depends on %s)", missing);
		return out->detail ? 0 : -1;
	}
	buf d;
	buf_init(&d, DETAIL_MAX);
	int n = diff_json(view, have, &d, 8);
	cJSON_Delete(view);
	if (n > 0) {
		out->op = PLAN_UPDATE;
		out->detail = buf_detach(&d);
		return out->detail ? 0 : -1;
	}
	buf_free(&d);
	return 0;
}

static int compute_delete(plan_item *out, const desired_ctx *c, const plan_input *in, rf_kind k)
{
	const cJSON *have = c->observed[k];
	if (k == RK_RUNNER && !in->runner_managed)
		return 0;
	if (!have)
		return 0;
	if (kind_is_tagged(k)) {
		const char *owner = desired_owner_tag(have);
		if (!owner || strcmp(owner, c->n->key) != 0) {
			out->op = PLAN_CONFLICT;
			out->detail = xprintf("is not ours (%s): left in place", owner ? owner : "no runnerfleet tag");
			return out->detail ? 0 : -1;
		}
	}
	out->op = PLAN_DELETE;
	return 0;
}

int plan_item_compute(plan_item *out, const desired_ctx *c, const plan_input *in, plan_mode mode, rf_kind k)
{
	out->op = PLAN_NOOP;
	out->detail = NULL;
	if (!fleet_has_kind(c->n, c->f, k))
		return 0;
	return mode == PLAN_MODE_DELETE ? compute_delete(out, c, in, k) : compute_apply(out, c, in, k);
}

int plan_compute(plan *out, const desired_ctx *c, const plan_input *in, plan_mode mode)
{
	memset(out, 0, sizeof *out);
	for (int k = 0; k < RK_COUNT; k++) {
		if (plan_item_compute(&out->items[k], c, in, mode, (rf_kind)k) != 0) {
			plan_free(out);
			return -1;
		}
		if (out->items[k].op == PLAN_CONFLICT)
			out->conflicts++;
		else if (out->items[k].op != PLAN_NOOP)
			out->changes++;
	}
	/* A new VNet is created with our subnet inline, in the same request. */
	if (out->items[RK_VNET].op == PLAN_CREATE && out->items[RK_SUBNET].op == PLAN_CREATE &&
	    !out->items[RK_SUBNET].detail)
		out->items[RK_SUBNET].detail = strdup("(created inline by the virtual network's PUT)");
	return 0;
}

void plan_free(plan *p)
{
	for (int k = 0; k < RK_COUNT; k++) {
		free(p->items[k].detail);
		p->items[k].detail = NULL;
	}
}
