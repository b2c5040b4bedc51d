/* desired — what each resource of a fleet should look like, as the JSON we
 * send (`desired_body`) and as the subset of fields we own and can read back
 * (`desired_view`, compared by diff_json against what the API returns).
 * Pure functions of the spec, the derived names, the runner token and a few
 * observed values that cannot be known in advance (the identity's principal
 * id, the scale set's current capacity, subnets of our VNet we do not own). */
#ifndef RF_DESIRED_H
#define RF_DESIRED_H

#include <cjson/cJSON.h>

#include "core/resource.h"
#include "spec/spec.h"

typedef struct desired_ctx {
	const spec_fleet *f;
	const fleet_names *n;
	const char *gitlab_url;
	const char *runner_token;        /* secret; NULL when not known yet */
	const cJSON *observed[RK_COUNT]; /* borrowed; NULL when absent */
} desired_ctx;

/* The request body for creating or updating `k`. May contain secrets: never
 * log it. Returns NULL when an input is not known yet; then *missing names
 * it ("the identity's principal id"). Caller frees with cJSON_Delete. */
cJSON *desired_body(const desired_ctx *c, rf_kind k, const char **missing);

/* The owned, readable fields of `k`; never contains a secret. */
cJSON *desired_view(const desired_ctx *c, rf_kind k, const char **missing);

/* The tag value that marks a resource as this fleet's ("namespace/name"). */
const char *desired_owner_tag(const cJSON *resource);

#endif
