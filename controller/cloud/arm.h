/* arm — Azure Resource Manager client: Entra sign-in (client secret or
 * workload identity) with token caching, and GET/PUT/PATCH/DELETE/POST on
 * resource ids that complete long-running operations (Azure-AsyncOperation,
 * Location, provisioningState) on timers honouring Retry-After. The caller
 * sees one callback with the final outcome. */
#ifndef RF_ARM_H
#define RF_ARM_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "http/http.h"

struct ev_loop;

typedef struct arm_client arm_client;

typedef struct arm_config {
	const char *endpoint;  /* AZURE_ARM_ENDPOINT, default https://management.azure.com */
	const char *authority; /* AZURE_AUTHORITY_HOST, default https://login.microsoftonline.com/ */
	const char *tenant_id;
	const char *client_id;
	const char *client_secret;        /* secret; copied */
	const char *federated_token_file; /* workload identity; read on every sign-in */
	long poll_default_ms;             /* when no Retry-After: default 5000 */
	long poll_min_ms;                 /* floor, default 200 */
	long operation_timeout_ms;        /* whole LRO, default 30 min */
} arm_config;

/* Fills cfg from the environment (pointers into the environment). */
void arm_config_from_env(arm_config *cfg);

/* Returns 0, or -1 with a message in err (e.g. no credentials found). */
int arm_client_new(arm_client **out, struct ev_loop *loop, http_engine *http, const arm_config *cfg, char *err,
		   size_t errcap);
void arm_client_free(arm_client *c); /* cancels nothing: free after all callbacks ran */

typedef struct arm_result {
	long status;         /* final HTTP status; 0 when no answer; 404 = absent */
	bool ok;             /* the operation succeeded (DELETE of a missing resource counts) */
	const cJSON *body;   /* the final resource for GET/PUT/PATCH; may be NULL */
	const char *code;    /* ARM error code, "" when none */
	const char *message; /* ARM error message or transport error, "" when none */
	const char *request_id;
	double seconds;      /* wall time including polling */
	int requests;        /* HTTP requests it took */
} arm_result;

typedef void (*arm_done_fn)(const arm_result *r, void *arg);

/* All return 0 when started (the callback will run exactly once, later), or
 * -1 when nothing was started (no callback). `body` is copied. */
int arm_get(arm_client *c, const char *id, const char *api_version, arm_done_fn done, void *arg);
int arm_put(arm_client *c, const char *id, const char *api_version, const cJSON *body, arm_done_fn done, void *arg);
int arm_patch(arm_client *c, const char *id, const char *api_version, const cJSON *body, arm_done_fn done,
	      void *arg);
int arm_delete(arm_client *c, const char *id, const char *api_version, arm_done_fn done, void *arg);
/* POST {id}/{action}, e.g. "delete" with {"instanceIds":[...]}. */
int arm_post_action(arm_client *c, const char *id, const char *action, const char *api_version, const cJSON *body,
		    arm_done_fn done, void *arg);

#endif
