/* plan — the pure heart: desired (spec) × observed → one operation per
 * resource kind, with the reason in words. No I/O. The executor
 * (controller/reconcile.c) runs the operations along rf_kind_deps(). */
#ifndef RF_PLAN_H
#define RF_PLAN_H

#include <stdbool.h>

#include "core/desired.h"
#include "core/resource.h"

typedef enum { PLAN_NOOP = 0, PLAN_CREATE, PLAN_UPDATE, PLAN_DELETE, PLAN_CONFLICT } plan_op;

typedef struct plan_item {
	plan_op op;
	char *detail; /* why, in words (a diff, or the conflict); never a secret; owned */
} plan_item;

typedef struct plan {
	plan_item items[RK_COUNT];
	int changes;   /* items that would write */
	int conflicts; /* items we refuse to touch */
} plan;

typedef enum { PLAN_MODE_APPLY = 0, PLAN_MODE_DELETE } plan_mode;

/* Inputs beyond desired_ctx that only the planner needs. */
typedef struct plan_input {
	bool runner_managed;  /* apiToken: we create and keep the registration */
	bool runner_token_known;
	int runner_duplicates; /* registrations with our marker beyond the one we keep */
	bool runner_foreign;   /* one with our description but without our marker exists */
} plan_input;

/* Computes the plan. `c->observed[k]` NULL means absent. Returns 0, or -1
 * on allocation failure. */
int plan_compute(plan *out, const desired_ctx *c, const plan_input *in, plan_mode mode);

/* Whether `k` needs to write for its own fields now (used again by the
 * executor right before a write, when late inputs are known). Sets *detail
 * (owned by caller, may be NULL). */
int plan_item_compute(plan_item *out, const desired_ctx *c, const plan_input *in, plan_mode mode, rf_kind k);

void plan_free(plan *p);

const char *plan_op_verb(plan_op op); /* "create", "update", ... */
const char *plan_op_symbol(plan_op op); /* "+", "~", "-", "!" */

#endif
