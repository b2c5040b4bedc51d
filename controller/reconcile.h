/* reconcile — one pass over one fleet, level-triggered: observe everything
 * the fleet owns, plan (core/plan.c), run every ready action in parallel
 * along the dependency graph, observe again, until the plan is empty. All
 * I/O is asynchronous on the shared event loop, so many fleets converge at
 * once on one thread. */
#ifndef RF_RECONCILE_H
#define RF_RECONCILE_H

#include <stdbool.h>

#include "cloud/arm.h"
#include "core/plan.h"
#include "http/http.h"
#include "spec/spec.h"

struct ev_loop;

/* What all passes share; owned by the caller (main or the daemon). */
typedef struct rf_env {
	struct ev_loop *loop;
	http_engine *http;
	arm_client *arm; /* NULL when Azure credentials are missing: passes fail with arm_error */
	const char *arm_error;
	const char *state_dir;
	const char *gitlab_url_override; /* RUNNERFLEET_GITLAB_URL, or NULL */
	const char *default_subscription; /* AZURE_SUBSCRIPTION_ID, or NULL */
	int max_iterations;               /* observe→act rounds before giving up; default 5 */
} rf_env;

typedef enum { PASS_PLAN = 0, PASS_APPLY, PASS_DELETE } pass_kind;

typedef struct fleet_pass fleet_pass;

typedef void (*pass_done_fn)(fleet_pass *p, void *arg);

/* Starts a pass. `f` is borrowed and must outlive the pass. Returns 0 (the
 * callback runs later, exactly once) or -1 (no callback). */
int fleet_pass_start(fleet_pass **out, rf_env *env, const spec_fleet *f, pass_kind kind, pass_done_fn done,
		     void *arg);
void fleet_pass_free(fleet_pass *p);

/* Results, valid after the callback and until fleet_pass_free. */
bool fleet_pass_failed(const fleet_pass *p);
const char *fleet_pass_error(const fleet_pass *p); /* "" when none */
const plan *fleet_pass_plan(const fleet_pass *p);   /* the first plan computed (what would change) */
const spec_fleet *fleet_pass_fleet(const fleet_pass *p);
const char *fleet_pass_name(const fleet_pass *p, rf_kind k); /* derived resource name */
const char *fleet_pass_id(const fleet_pass *p, rf_kind k);   /* ARM id, "" for the runner */
int fleet_pass_writes(const fleet_pass *p);                   /* actions that wrote */

#endif
