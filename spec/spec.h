/* spec — the RunnerFleet model: YAML in, typed and defaulted fleets out. No I/O
 * beyond reading the spec files themselves; never reads a secret, never calls
 * an API. */
#ifndef RF_SPEC_H
#define RF_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#define SPEC_API_GROUP "runnerfleet.dev"
#define SPEC_API_VERSION "runnerfleet.dev/v1alpha1"
#define SPEC_KIND "RunnerFleet"

/* Hard bounds on untrusted input. */
#define SPEC_MAX_FILE_BYTES (1024 * 1024)
#define SPEC_MAX_DEPTH 64
#define SPEC_MAX_ALIASES 1000
/* Nodes that aliases may add to one document if it were expanded (billion
 * laughs stays a few hundred bytes of input but would expand to 10^9). */
#define SPEC_MAX_ALIAS_EXPANSION 100000
/* Diagnostics kept per file; the last one says the rest was not read. */
#define SPEC_MAX_DIAGS_PER_FILE 200

typedef enum { SPEC_SECRET_NONE = 0, SPEC_SECRET_ENV, SPEC_SECRET_FILE, SPEC_SECRET_REF } spec_secret_kind;

/* A reference to a secret; the value itself is never in a spec. */
typedef struct spec_secret {
	spec_secret_kind kind;
	char *name; /* env: variable name; file: path; secretRef: Secret name */
	char *key;  /* secretRef only */
} spec_secret;

typedef enum { SPEC_RUNNER_LINUX = 0, SPEC_RUNNER_WINDOWS } spec_runner_type;
typedef enum { SPEC_SCOPE_PROJECT = 0, SPEC_SCOPE_GROUP, SPEC_SCOPE_INSTANCE } spec_runner_scope;
typedef enum { SPEC_MODE_MANAGER = 0, SPEC_MODE_CONTROLLER } spec_autoscaler_mode;

typedef struct spec_string_list {
	char **items;
	size_t n;
} spec_string_list;

/* Position of a value in its file, for messages. */
typedef struct spec_pos {
	int line; /* 1-based; 0 when unknown */
	int col;  /* 1-based */
} spec_pos;

typedef struct spec_fleet {
	char *file;    /* the file the document came from */
	spec_pos pos;  /* where the document starts */
	int doc_index; /* 0-based document number in the file */

	char *name;      /* metadata.name */
	char *namespace; /* metadata.namespace, default "default" */

	char *app_name;
	char *location;
	spec_runner_type runner_type;
	spec_pos location_pos; /* for plan errors on immutable fields */

	struct {
		char *url;
		spec_secret runner_token; /* exactly one of runner_token / api_token */
		spec_secret api_token;
		struct {
			spec_runner_scope scope;
			long project_id; /* 0 = unset */
			long group_id;   /* 0 = unset */
			spec_string_list tags;
			bool run_untagged;
			bool locked;
			bool paused;
			long maximum_timeout; /* 0 = unset */
		} runner;
	} gitlab;

	struct {
		char *subscription_id; /* NULL: take AZURE_SUBSCRIPTION_ID at run time */
		char *resource_group;  /* defaulted to rg-{appName} */
	} azure;

	struct {
		char *vnet_address_space;   /* default 10.0.0.0/16 */
		char *subnet_address_space; /* default 10.0.1.0/24 */
		char *existing_vnet_id;     /* NULL unless given */
		char *existing_subnet_id;
	} network;

	struct {
		char *vm_size; /* default Standard_D2s_v3 */
		bool public_ip;
		spec_string_list ssh_source_ranges;
	} manager;

	struct {
		char *vm_size; /* default Standard_D2s_v5 */
	} workers;

	struct {
		spec_autoscaler_mode mode;
		int max_instances;  /* default 10 */
		int idle_count;     /* default 1 */
		char *idle_time;    /* as written, default "20m" */
		long idle_time_s;   /* parsed */
		int capacity_per_instance; /* default 1 */
	} autoscaler;
} spec_fleet;

/* One problem found in the input. */
typedef struct spec_diag {
	char *file;
	spec_pos pos;
	char *field;   /* dotted path, e.g. spec.autoscaler.maxInstances; may be "" */
	char *message; /* what was expected and what was found */
} spec_diag;

typedef struct spec_diags {
	spec_diag *items;
	size_t n;
	size_t cap;
} spec_diags;

/* The fleets read from one or more paths. Owns every fleet. */
typedef struct spec_set {
	spec_fleet **fleets;
	size_t n;
	size_t cap;
} spec_set;

/* Reads a file, or every *.yaml / *.yml file under a folder (recursively,
 * sorted by path), appending valid fleets to `set` and problems to `diags`.
 * A document with errors adds diagnostics and no fleet; the other documents
 * still load. Returns 0 when the path could be read at all, -1 otherwise
 * (with a diagnostic). A file of a folder that cannot be read is reported and
 * the others still load. Hidden entries are skipped; links to files are
 * followed, links to folders are not. Out of memory: -1 (with a diagnostic
 * when one can still be made). */
int spec_load_path(spec_set *set, spec_diags *diags, const char *path);

/* Parses one YAML buffer (as if read from `file`). Same contract as above. */
int spec_load_buffer(spec_set *set, spec_diags *diags, const char *file, const char *buf, size_t len);

/* Cross-fleet rules (e.g. two fleets claiming one resource group + scale set).
 * Adds diagnostics; returns the number added. */
size_t spec_check_set(const spec_set *set, spec_diags *diags);

void spec_set_free(spec_set *set);     /* frees the fleets; the struct itself is the caller's */
void spec_diags_free(spec_diags *diags);
void spec_fleet_free(spec_fleet *f);

/* "file:line:col: error: field: message" — caller frees. */
char *spec_diag_format(const spec_diag *d);

/* Derived names (DESIGN.md §1). Write into buf; return buf, or NULL when it
 * does not fit. */
const char *spec_name_resource_group(const spec_fleet *f, char *buf, size_t cap);

/* "namespace/name" */
const char *spec_fleet_key(const spec_fleet *f, char *buf, size_t cap);

/* Parses a Go duration ("20m", "1h30m", "90s", "20m0s") into seconds.
 * Returns 0 on success, -1 when malformed. */
int spec_parse_duration(const char *s, long *seconds);

#endif
