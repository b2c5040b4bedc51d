/* Private to spec/: the YAML tree, the per-file reporter, the field ids and
 * the context the cross-field rules read. Not for other modules. */
#ifndef RF_SPEC_INT_H
#define RF_SPEC_INT_H

#include <stdarg.h>
#include <stdint.h>

#include "spec/fields.h"
#include "spec/spec.h"

#if defined(__GNUC__)
#define SPEC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SPEC_PRINTF(f, a)
#endif

/* Field ids: the index of each field in spec_fields, in table order (depth
 * first). fields.c uses designated initializers, so the two cannot drift. */
typedef enum {
	SPEC_F_API_VERSION = 0,
	SPEC_F_KIND,
	SPEC_F_METADATA,
	SPEC_F_METADATA_NAME,
	SPEC_F_METADATA_NAMESPACE,
	SPEC_F_METADATA_LABELS,
	SPEC_F_METADATA_ANNOTATIONS,
	SPEC_F_METADATA_UID,
	SPEC_F_METADATA_RESOURCE_VERSION,
	SPEC_F_METADATA_GENERATION,
	SPEC_F_METADATA_CREATION_TIMESTAMP,
	SPEC_F_METADATA_DELETION_TIMESTAMP,
	SPEC_F_METADATA_DELETION_GRACE,
	SPEC_F_METADATA_FINALIZERS,
	SPEC_F_METADATA_MANAGED_FIELDS,
	SPEC_F_METADATA_OWNER_REFERENCES,
	SPEC_F_METADATA_SELF_LINK,
	SPEC_F_SPEC,
	SPEC_F_APP_NAME,
	SPEC_F_LOCATION,
	SPEC_F_RUNNER_TYPE,
	SPEC_F_GITLAB,
	SPEC_F_GITLAB_URL,
	SPEC_F_GITLAB_RUNNER_TOKEN,
	SPEC_F_GITLAB_API_TOKEN,
	SPEC_F_RUNNER,
	SPEC_F_RUNNER_SCOPE,
	SPEC_F_RUNNER_PROJECT_ID,
	SPEC_F_RUNNER_GROUP_ID,
	SPEC_F_RUNNER_TAGS,
	SPEC_F_RUNNER_RUN_UNTAGGED,
	SPEC_F_RUNNER_LOCKED,
	SPEC_F_RUNNER_PAUSED,
	SPEC_F_RUNNER_MAXIMUM_TIMEOUT,
	SPEC_F_AZURE,
	SPEC_F_AZURE_SUBSCRIPTION_ID,
	SPEC_F_AZURE_RESOURCE_GROUP,
	SPEC_F_NETWORK,
	SPEC_F_NETWORK_VNET_ADDRESS_SPACE,
	SPEC_F_NETWORK_SUBNET_ADDRESS_SPACE,
	SPEC_F_NETWORK_EXISTING_VNET_ID,
	SPEC_F_NETWORK_EXISTING_SUBNET_ID,
	SPEC_F_MANAGER,
	SPEC_F_MANAGER_VM_SIZE,
	SPEC_F_MANAGER_PUBLIC_IP,
	SPEC_F_MANAGER_SSH_SOURCE_RANGES,
	SPEC_F_WORKERS,
	SPEC_F_WORKERS_VM_SIZE,
	SPEC_F_AUTOSCALER,
	SPEC_F_AUTOSCALER_MODE,
	SPEC_F_AUTOSCALER_MAX_INSTANCES,
	SPEC_F_AUTOSCALER_IDLE_COUNT,
	SPEC_F_AUTOSCALER_IDLE_TIME,
	SPEC_F_AUTOSCALER_CAPACITY,
	SPEC_F_STATUS,
	SPEC_F_COUNT
} spec_field_id;

/* Secret sub-field ids, indexes into spec_secret_fields. */
enum { SPEC_SF_ENV = 0, SPEC_SF_FILE, SPEC_SF_REF, SPEC_SF_REF_NAME, SPEC_SF_REF_KEY, SPEC_SF_COUNT };

/* ---- YAML tree: built from libyaml events, one document at a time, in an
 * arena that is dropped as a whole. Aliases are references, never copies. */

typedef struct spec_arena_chunk spec_arena_chunk;
typedef struct spec_arena {
	spec_arena_chunk *head;
} spec_arena;

void *spec_arena_alloc(spec_arena *a, size_t n);
void spec_arena_reset(spec_arena *a); /* keeps one chunk for the next document */
void spec_arena_free(spec_arena *a);

typedef enum { SPEC_NODE_SCALAR, SPEC_NODE_SEQ, SPEC_NODE_MAP, SPEC_NODE_ALIAS } spec_node_kind;

typedef struct spec_node spec_node;
struct spec_node {
	spec_node_kind kind;
	bool plain; /* scalar whose type comes from its text (untagged, unquoted) */
	spec_pos pos;
	spec_node *next; /* next sibling; in a mapping: key, value, key, value ... */
	const char *str; /* scalar text, NUL-terminated (may hold NULs: use len) */
	size_t len;
	spec_node *first, *last; /* collection items */
	size_t n;
	const spec_node *target; /* alias: the anchored node */
	size_t weight;           /* nodes it would count with aliases expanded (saturating) */
};

/* Follows an alias to the node it names. */
static inline const spec_node *spec_node_deref(const spec_node *n)
{
	return n && n->kind == SPEC_NODE_ALIAS ? n->target : n;
}

/* What a plain scalar reads as. Quoted and !!str scalars are always strings. */
typedef enum {
	SPEC_SCALAR_STRING,
	SPEC_SCALAR_NULL,
	SPEC_SCALAR_BOOL,      /* true, false */
	SPEC_SCALAR_BOOLISH,   /* True, yes, off, ...: booleans to YAML 1.1 tools, refused as either */
	SPEC_SCALAR_INT,       /* [-+]?[0-9]+ without leading zeros */
	SPEC_SCALAR_INT_OTHER, /* 0x1f, 0o17, 017 */
	SPEC_SCALAR_FLOAT,
} spec_scalar_kind;

spec_scalar_kind spec_scalar_classify(const spec_node *n);

/* ---- Reporting: diagnostics of one file, capped. */

typedef struct spec_report {
	spec_diags *diags;
	const char *file;
	size_t added; /* diagnostics added for this file */
	bool full;    /* the cap was reached: stop reading the file */
	bool oom;     /* an allocation failed: stop, and fail the call */
} spec_report;

/* Appends a diagnostic; marks the report full or oom instead of failing. */
void spec_report_add(spec_report *r, spec_pos pos, const char *field, const char *fmt, ...) SPEC_PRINTF(4, 5);
void spec_report_vadd(spec_report *r, spec_pos pos, const char *field, const char *fmt, va_list ap)
        SPEC_PRINTF(4, 0);

int spec_diags_push(spec_diags *diags, const char *file, spec_pos pos, const char *field,
                    const char *message);

/* Takes ownership of `f` on success. */
int spec_set_add(spec_set *set, spec_fleet *f);

/* Called for every document of a stream, in order. Returns 0, or -1 to stop. */
typedef int (*spec_doc_fn)(void *arg, const spec_node *root, spec_pos doc_pos, int doc_index);

/* Parses a YAML stream, bounded by SPEC_MAX_DEPTH, SPEC_MAX_ALIASES and
 * SPEC_MAX_ALIAS_EXPANSION, and
 * calls `fn` for each document. YAML errors and bound violations are
 * reported and end the stream (documents before them were delivered). Returns
 * 0, or -1 when out of memory or when `fn` said stop. */
int spec_yaml_parse(spec_report *r, const char *buf, size_t len, spec_doc_fn fn, void *arg);

/* ---- The per-document state that field walking fills and rules read. */

enum {
	SPEC_ST_SEEN = 1 << 0,    /* the key was present */
	SPEC_ST_SET = 1 << 1,     /* a valid, non-null value was stored (or the object was walked) */
	SPEC_ST_BAD = 1 << 2,     /* the value was wrong (reported) */
	SPEC_ST_UNKNOWN = 1 << 3, /* an object holding an unknown key, which may be a misspelt field */
};

struct spec_rule_ctx {
	spec_report *rep;
	spec_fleet *fleet;
	spec_pos doc_pos;
	size_t errors; /* errors reported in this document */
	unsigned char state[SPEC_F_COUNT];
	spec_pos key_pos[SPEC_F_COUNT];
	spec_pos val_pos[SPEC_F_COUNT];
};

/* Reports an error of the current document. */
void spec_fail(struct spec_rule_ctx *c, spec_pos pos, const char *field, const char *fmt, ...)
        SPEC_PRINTF(4, 5);
void spec_vfail(struct spec_rule_ctx *c, spec_pos pos, const char *field, const char *fmt, va_list ap)
        SPEC_PRINTF(4, 0);

/* Where to point for a field: its value, else its key, else the nearest
 * present ancestor, else the document. */
spec_pos spec_field_pos(const struct spec_rule_ctx *c, spec_field_id id);

/* Runs every cross-field rule of spec_rules over a walked fleet. */
void spec_rules_check(struct spec_rule_ctx *c);

/* Appends one document to the set, or reports why not. Used by the loader for
 * each document. Returns 0, or -1 when out of memory. */
int spec_document_load(spec_report *r, spec_set *set, const spec_node *root, spec_pos doc_pos, int doc_index);

/* The field of `parent` (-1: document root) named s[0..len), or -1. */
int spec_field_child(int parent, const char *s, size_t len);

/* The object holding field `id`, or -1 at the document root. */
int spec_field_parent(int id);

/* ---- Small helpers shared inside spec/. */

/* Writes a printable, truncated, quoted copy of a value for a message, or a
 * placeholder when it looks like a credential. Always NUL-terminates. */
void spec_echo(char *dst, size_t cap, const char *s, size_t len);

/* Parses "a.b.c.d/n" strictly (no leading zeros, prefix 0..32). */
int spec_cidr_parse(const char *s, uint32_t *addr, int *prefix);

/* True for text that must never be repeated: GitLab tokens, URLs with user
 * information. */
bool spec_value_is_sensitive(const char *s, size_t len);

char *spec_strndup(const char *s, size_t n);

/* snprintf for bounded text (messages, paths): a cut is marked with "..."
 * rather than failing. Always NUL-terminates when cap > 0. */
void spec_bprintf(char *dst, size_t cap, const char *fmt, ...) SPEC_PRINTF(3, 4);

#endif
