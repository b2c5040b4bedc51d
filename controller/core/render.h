/* render — the text runnerfleet hands to machines: the manager's
 * config.toml and the script its configuration extension runs, and the
 * workers' cloud-init. Pure functions of the spec and two secrets (the
 * runner token and the worker password derived from it); with `redact` set,
 * every secret is written as "[REDACTED]" so the output can be shown. */
#ifndef RF_RENDER_H
#define RF_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/resource.h"
#include "spec/spec.h"

/* The fleeting plugin version the manager installs (pinned, DESIGN.md §1). */
#define RF_FLEETING_PLUGIN "azure:1.0.0"
#define RF_ADMIN_USER "rfadmin"

typedef struct render_input {
	const spec_fleet *f;
	const fleet_names *n;
	const char *gitlab_url;
	const char *runner_token;    /* NULL: not known yet */
	const char *worker_password; /* NULL: not known yet */
} render_input;

char *render_manager_config(const render_input *in, bool redact); /* caller frees; NULL on failure */
char *render_manager_script(const render_input *in, bool redact);
char *render_worker_cloud_init(const render_input *in);

/* Go's time.Duration.String() for whole seconds: 1200 -> "20m0s". */
const char *render_go_duration(long seconds, char *out, size_t cap);

/* Worker admin password derived from the runner token (HMAC-SHA-256), so it
 * needs no state of its own and changes when the token is rotated. Meets
 * Azure's complexity rules. out must hold 40 bytes. */
void render_worker_password(const char *runner_token, const char *fleet_key, char out[40]);

#endif
