/* gitlab — GitLab REST v4 client for runner registrations. Authenticates
 * with a token (PRIVATE-TOKEN), parses every error shape GitLab uses
 * ({"message": string|object} or {"error", "error_description"}). */
#ifndef RF_GITLAB_H
#define RF_GITLAB_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "http/http.h"

typedef struct gl_client gl_client;

/* `base_url` is the instance (https://gitlab.example.com); `token` is
 * copied and wiped on free. */
int gl_client_new(gl_client **out, http_engine *http, const char *base_url, const char *token);
void gl_client_free(gl_client *c);

typedef struct gl_result {
	long status;           /* 0 when no answer */
	bool ok;               /* 2xx */
	const cJSON *body;     /* parsed JSON body, may be NULL */
	const char *message;   /* error text, "" when ok */
	const char *next_page; /* X-Next-Page, "" on the last page */
	double seconds;
} gl_result;

typedef void (*gl_done_fn)(const gl_result *r, void *arg);

/* `path` is below /api/v4 (e.g. "/runners/42"). `retryable` marks an
 * idempotent call. Returns 0 when started (callback later), -1 otherwise. */
int gl_request(gl_client *c, const char *method, const char *path, const cJSON *body, bool retryable,
	       gl_done_fn done, void *arg);

#endif
