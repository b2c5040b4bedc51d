/* fields — the schema of a RunnerFleet, written once. The parser walks YAML
 * guided by this table, defaults come from it, fleets are freed by it, and the
 * CRD and the reference docs are meant to be generated from it. Everything
 * here is static, read-only data. */
#ifndef RF_SPEC_FIELDS_H
#define RF_SPEC_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
	SPEC_FIELD_OBJECT = 0,  /* a mapping of the fields listed after it */
	SPEC_FIELD_STRING,      /* a string scalar; plain scalars that read as numbers/booleans are refused */
	SPEC_FIELD_INT,         /* a plain decimal integer */
	SPEC_FIELD_BOOL,        /* plain true or false */
	SPEC_FIELD_ENUM,        /* one of enum_values (a string) */
	SPEC_FIELD_STRING_LIST, /* a sequence of strings, each checked against format */
	SPEC_FIELD_STRING_MAP,  /* a mapping of string to string (labels, annotations) */
	SPEC_FIELD_SECRET,      /* a reference to a secret: see spec_secret_fields */
	SPEC_FIELD_IGNORED,     /* accepted and not inspected (server-set metadata, status) */
} spec_field_type;

/* Value formats beyond the scalar type. Each has a human description and,
 * where one exists, an OpenAPI/ERE pattern that every accepted value matches
 * (the check itself may be stricter, e.g. CIDR host bits). */
typedef enum {
	SPEC_FORMAT_NONE = 0,
	SPEC_FORMAT_DNS_LABEL,     /* RFC 1123 label: metadata.name, namespace */
	SPEC_FORMAT_DNS_SUBDOMAIN, /* RFC 1123 subdomain: Kubernetes Secret names */
	SPEC_FORMAT_APP_NAME,      /* the base of every Azure name we derive */
	SPEC_FORMAT_REGION,        /* Azure region name, e.g. westeurope */
	SPEC_FORMAT_GITLAB_URL,    /* https, or http to a loopback host */
	SPEC_FORMAT_GUID,
	SPEC_FORMAT_RESOURCE_GROUP,
	SPEC_FORMAT_CIDR,           /* IPv4 a.b.c.d/n without host bits */
	SPEC_FORMAT_ADDRESS_PREFIX, /* IPv4 address or CIDR (NSG source prefixes) */
	SPEC_FORMAT_VNET_ID,        /* ARM id of a virtual network */
	SPEC_FORMAT_SUBNET_ID,      /* ARM id of a subnet */
	SPEC_FORMAT_VM_SIZE,
	SPEC_FORMAT_DURATION, /* Go duration: 20m, 1h30m, 20m0s */
	SPEC_FORMAT_RUNNER_TAG,
	SPEC_FORMAT_ENV_NAME, /* environment variable name */
	SPEC_FORMAT_FILE_PATH,
	SPEC_FORMAT_SECRET_KEY, /* key inside a Kubernetes Secret */
	SPEC_FORMAT_COUNT
} spec_field_format;

typedef struct spec_format_info {
	const char *name;        /* short identifier, e.g. "dns-label" */
	const char *description; /* completes "expected ...", e.g. "a DNS-1123 label (...)" */
	const char *pattern;     /* ERE/ECMA regex every valid value matches; NULL: none */
	size_t max_length;       /* 0: no limit */
} spec_format_info;

typedef struct spec_field {
	const char *path; /* dotted path from the document root, e.g. "spec.autoscaler.maxInstances" */
	const char *name; /* the YAML key: the last segment of path */
	spec_field_type type;
	spec_field_format format; /* for strings and string-list items */
	bool required;
	const char *default_value; /* as written in YAML; may name {appName}; NULL: none */
	bool has_min, has_max;     /* integer bounds */
	long min, max;
	const char *const *enum_values; /* NULL-terminated; index = the C enum value */
	const char *example;            /* a value for docs; for secrets the suggested env variable */
	const char *doc;                /* one line */
	/* Where the value lives in spec_fleet; size 0: not stored. */
	size_t offset;
	size_t size;
} spec_field;

/* The fields, depth first: an object's fields follow it directly. */
extern const spec_field spec_fields[];
extern const size_t spec_fields_count;

/* The shape of every SPEC_FIELD_SECRET value, paths relative to the secret
 * field ("env", "file", "secretRef", "secretRef.name", "secretRef.key").
 * Exactly one of the three top-level entries is given. */
extern const spec_field spec_secret_fields[];
extern const size_t spec_secret_fields_count;

/* Rules that involve more than one field (or more than one fleet), for docs
 * and the CRD's CEL rules. */
struct spec_rule_ctx;
typedef struct spec_rule {
	const char *id;  /* stable identifier, e.g. "subnet-in-vnet" */
	const char *doc; /* one line */
	/* Checks one fleet (private context); NULL for rules across fleets,
	 * which spec_check_set applies. */
	void (*check)(struct spec_rule_ctx *ctx);
} spec_rule;

extern const spec_rule spec_rules[];
extern const size_t spec_rules_count;

/* The field at a dotted path, or NULL. */
const spec_field *spec_field_find(const char *path);

/* "object", "string", "integer", ... (OpenAPI-ish names). */
const char *spec_field_type_name(spec_field_type type);

/* Never NULL for a valid format. */
const spec_format_info *spec_format_info_get(spec_field_format format);

/* Checks `s` (NUL-terminated) against a format. Returns 0 when valid, -1
 * otherwise, with an optional hint written to `hint` (may be empty). The hint
 * never repeats the value. */
int spec_format_check(spec_field_format format, const char *s, char *hint, size_t hint_cap);

#endif
