/* One document to one fleet: the YAML tree is walked guided by the field
 * table, every problem of the document is reported, defaults are applied and
 * the cross-field rules run. A document with any error yields no fleet. */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spec/spec_int.h"

typedef struct spec_rule_ctx walk;

#define PATH_CAP 320
#define SHOWN_CAP 160

void spec_vfail(walk *c, spec_pos pos, const char *field, const char *fmt, va_list ap)
{
	spec_report_vadd(c->rep, pos, field, fmt, ap);
	c->errors++;
}

void spec_fail(walk *c, spec_pos pos, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spec_vfail(c, pos, field, fmt, ap);
	va_end(ap);
}

spec_pos spec_field_pos(const walk *c, spec_field_id id)
{
	for (int i = (int)id; i >= 0; i = spec_field_parent(i))
		if (c->state[i] & SPEC_ST_SEEN)
			return i == (int)id ? c->val_pos[i] : c->key_pos[i];
	return c->doc_pos;
}

static void *field_at(spec_fleet *f, const spec_field *fd)
{
	return (char *)f + fd->offset;
}

/* A key as it may appear in a path or a message: printable, bounded, and
 * withheld when it looks like a token pasted in the wrong place. */
static void key_text(char *dst, size_t cap, const char *s, size_t len)
{
	size_t o = 0;

	if (spec_value_is_sensitive(s, len)) {
		spec_bprintf(dst, cap, "(not shown)");
		return;
	}

	for (size_t i = 0; i < len && o + 1 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (o == 64) {
			size_t dots = cap - 1 - o < 3 ? cap - 1 - o : 3;

			memset(dst + o, '.', dots);
			o += dots;
			break;
		}
		dst[o++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	dst[o] = '\0';
}

static void path_join(char *dst, size_t cap, const char *parent, const char *key, size_t len)
{
	char k[80];

	key_text(k, sizeof(k), key, len);
	spec_bprintf(dst, cap, "%s%s%s", parent, *parent ? "." : "", k);
}

static void describe(char *buf, size_t cap, const spec_node *n, bool hide)
{
	char shown[SHOWN_CAP];

	n = spec_node_deref(n);
	if (n->kind == SPEC_NODE_MAP) {
		spec_bprintf(buf, cap, "a mapping");
		return;
	}
	if (n->kind == SPEC_NODE_SEQ) {
		spec_bprintf(buf, cap, "a list");
		return;
	}
	if (hide) {
		spec_bprintf(buf, cap, "a scalar (not shown: secrets are never repeated)");
		return;
	}
	spec_echo(shown, sizeof(shown), n->str, n->len);
	/* numbers and booleans are shown bare: their text is known to be tame */
	switch (spec_scalar_classify(n)) {
	case SPEC_SCALAR_NULL:
		spec_bprintf(buf, cap, "null");
		break;
	case SPEC_SCALAR_BOOL:
		spec_bprintf(buf, cap, "the boolean %s", n->str);
		break;
	case SPEC_SCALAR_BOOLISH:
		spec_bprintf(buf, cap, "%s, which YAML 1.1 tools read as a boolean", n->str);
		break;
	case SPEC_SCALAR_INT:
	case SPEC_SCALAR_INT_OTHER:
	case SPEC_SCALAR_FLOAT:
		spec_bprintf(buf, cap, "the number %.*s%s", n->len > 40 ? 40 : (int)n->len, n->str,
		             n->len > 40 ? "..." : "");
		break;
	case SPEC_SCALAR_STRING:
		spec_bprintf(buf, cap, "%s %s", n->plain ? "the string" : "the quoted string", shown);
		break;
	}
}

/* "expected <want>, found <what v is><suffix>", at v. */
static void fail_found(walk *c, const char *path, const spec_node *v, bool hide, const char *want,
                       const char *suffix)
{
	char found[256];

	describe(found, sizeof(found), v, hide);
	spec_fail(c, spec_node_deref(v)->pos, path, "expected %s, found %s%s", want, found, suffix);
}

static size_t levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost =
			        tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
			size_t best = diag + cost;

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The candidate closest to `s`, when it is close enough to be a typo. */
static const char *nearest(const char *s, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	for (size_t i = 0; i < n; i++) {
		size_t d = levenshtein(s, cands[i]);
		size_t len = strlen(cands[i]);
		size_t limit = len < 4 ? 1 : len < 9 ? 2 : 3;

		if (d <= limit && d < best_d) {
			best = cands[i];
			best_d = d;
		}
	}
	return best;
}

static void unknown_field(walk *c, int parent, const char *ppath, const spec_node *key)
{
	const char *cands[SPEC_F_COUNT];
	size_t n = 0;
	char k[80], path[PATH_CAP];
	const char *near = NULL, *elsewhere = NULL;

	key_text(k, sizeof(k), key->str, key->len);
	path_join(path, sizeof(path), ppath, key->str, key->len);
	for (size_t i = 0; i < spec_fields_count; i++) {
		const spec_field *f = &spec_fields[i];

		if (spec_field_child(parent, f->name, strlen(f->name)) == (int)i)
			cands[n++] = f->name;
		else if (!elsewhere && strlen(f->name) == key->len &&
		         memcmp(f->name, key->str, key->len) == 0)
			elsewhere = f->path;
	}
	if (key->len == strlen(k))
		near = nearest(k, cands, n);
	if (near)
		spec_fail(c, key->pos, path, "unknown field \"%s\"; did you mean \"%s\"?", k, near);
	else if (elsewhere)
		spec_fail(c, key->pos, path, "unknown field \"%s\" here; did you mean %s?", k, elsewhere);
	else
		spec_fail(c, key->pos, path, "unknown field \"%s\"", k);
}

/* A string scalar's text, or NULL after reporting why not. */
static const char *want_string(walk *c, const char *path, const spec_field *fd, const spec_node *v, bool hide)
{
	const spec_format_info *fi = spec_format_info_get(fd->format);
	char hint[256];

	if (v->kind != SPEC_NODE_SCALAR || spec_scalar_classify(v) != SPEC_SCALAR_STRING) {
		fail_found(c, path, v, hide, fi->description,
		           v->kind == SPEC_NODE_SCALAR ? " (quote it if it is meant as text)" : "");
		return NULL;
	}
	/* free text (annotations) may hold newlines, never a NUL */
	for (size_t i = 0; i < v->len; i++) {
		unsigned char ch = (unsigned char)v->str[i];

		if (ch == 0 || (fd->format != SPEC_FORMAT_NONE && (ch < 0x20 || ch == 0x7f))) {
			spec_fail(c, v->pos, path, "expected %s, found a string with control characters",
			          fi->description);
			return NULL;
		}
	}
	if (fi->max_length && v->len > fi->max_length) {
		spec_fail(c, v->pos, path, "expected %s, found a string of %zu bytes (at most %zu)",
		          fi->description, v->len, fi->max_length);
		return NULL;
	}
	if (spec_format_check(fd->format, v->str, hint, sizeof(hint)) < 0) {
		char suffix[260];

		spec_bprintf(suffix, sizeof(suffix), "%s%s", *hint ? ": " : "", hint);
		fail_found(c, path, v, hide || spec_value_is_sensitive(v->str, v->len), fi->description,
		           suffix);
		return NULL;
	}
	return v->str;
}

static int parse_long(const char *s, long *out)
{
	long v = 0;
	bool neg = false;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; *s; s++) {
		int d = *s - '0';

		if (v > (LONG_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = neg ? -v : v;
	return 0;
}

static void range_text(char *buf, size_t cap, const spec_field *fd)
{
	if (fd->has_min && fd->has_max && fd->max != LONG_MAX && fd->max != INT_MAX)
		spec_bprintf(buf, cap, "an integer from %ld to %ld", fd->min, fd->max);
	else if (fd->has_min)
		spec_bprintf(buf, cap, "an integer of at least %ld", fd->min);
	else
		spec_bprintf(buf, cap, "an integer");
}

/* Scalars are copied only into a slot of their own size: a table mistake
 * cannot write past a member (the table test catches it first). */
static void store(walk *c, const spec_field *fd, const void *v, size_t n)
{
	if (fd->size == n)
		memcpy(field_at(c->fleet, fd), v, n);
}

static void store_int(walk *c, const spec_field *fd, long v)
{
	int i = (int)v;

	if (fd->size == sizeof(int))
		store(c, fd, &i, sizeof(i));
	else
		store(c, fd, &v, sizeof(v));
}

static int walk_int(walk *c, const spec_field *fd, const spec_node *v)
{
	char want[96];
	spec_scalar_kind kind = spec_scalar_classify(v);
	long n;

	range_text(want, sizeof(want), fd);
	if (v->kind != SPEC_NODE_SCALAR || kind != SPEC_SCALAR_INT) {
		fail_found(c, fd->path, v, false, want,
		           kind == SPEC_SCALAR_INT_OTHER              ? " (write it in plain decimal)"
		           : v->kind == SPEC_NODE_SCALAR && !v->plain ? " (write it without quotes)"
		                                                      : "");
		return -1;
	}
	if (parse_long(v->str, &n) < 0 || (fd->has_min && n < fd->min) || (fd->has_max && n > fd->max) ||
	    (fd->size == sizeof(int) && (n < INT_MIN || n > INT_MAX))) {
		spec_fail(c, v->pos, fd->path, "expected %s, found %.*s", want, (int)v->len, v->str);
		return -1;
	}
	store_int(c, fd, n);
	return 0;
}

static int walk_bool(walk *c, const spec_field *fd, const spec_node *v)
{
	bool b;

	if (v->kind != SPEC_NODE_SCALAR || spec_scalar_classify(v) != SPEC_SCALAR_BOOL) {
		fail_found(c, fd->path, v, false, "true or false", "");
		return -1;
	}
	b = v->str[0] == 't';
	store(c, fd, &b, sizeof(b));
	return 0;
}

static int enum_index(const spec_field *fd, const char *s)
{
	for (int i = 0; fd->enum_values[i]; i++)
		if (strcmp(fd->enum_values[i], s) == 0)
			return i;
	return -1;
}

static int walk_enum(walk *c, const spec_field *fd, const spec_node *v)
{
	char want[128] = "one of", suffix[96] = "";
	const char *near = NULL;
	size_t n = 0, o = strlen(want);
	int idx = -1;

	for (; fd->enum_values[n]; n++) {
		spec_bprintf(want + o, sizeof(want) - o, "%s %s", n ? "," : "", fd->enum_values[n]);
		o += strlen(want + o);
	}
	if (v->kind == SPEC_NODE_SCALAR && spec_scalar_classify(v) == SPEC_SCALAR_STRING &&
	    strlen(v->str) == v->len)
		idx = enum_index(fd, v->str);
	if (idx >= 0) {
		store(c, fd, &idx, sizeof(idx));
		return 0;
	}
	if (v->kind == SPEC_NODE_SCALAR && strlen(v->str) == v->len)
		near = nearest(v->str, fd->enum_values, n);
	if (near)
		spec_bprintf(suffix, sizeof(suffix), "; did you mean \"%s\"?", near);
	fail_found(c, fd->path, v, false, want, suffix);
	return -1;
}

static int walk_string(walk *c, const spec_field *fd, const spec_node *v)
{
	const char *s = want_string(c, fd->path, fd, v, false);
	char *copy;

	if (!s)
		return -1;
	if (!fd->size)
		return 0; /* checked, not kept (apiVersion, kind) */
	if (!(copy = spec_strndup(s, v->len))) {
		c->rep->oom = true;
		return -1;
	}
	*(char **)field_at(c->fleet, fd) = copy;
	return 0;
}

static int walk_string_list(walk *c, const spec_field *fd, const spec_node *v)
{
	spec_string_list *list = field_at(c->fleet, fd);
	char path[PATH_CAP];
	size_t i = 0;
	int rc = 0;

	if (v->kind != SPEC_NODE_SEQ) {
		char want[256];

		spec_bprintf(want, sizeof(want), "a list of %s",
		             spec_format_info_get(fd->format)->description);
		fail_found(c, fd->path, v, false, want, "");
		return -1;
	}
	if (v->n && !(list->items = calloc(v->n, sizeof(char *)))) {
		c->rep->oom = true;
		return -1;
	}
	for (const spec_node *it = v->first; it; it = it->next, i++) {
		const spec_node *item = spec_node_deref(it);
		const char *s;

		spec_bprintf(path, sizeof(path), "%s[%zu]", fd->path, i);
		if (!(s = want_string(c, path, fd, item, false))) {
			rc = -1;
			continue;
		}
		if (!(list->items[list->n] = spec_strndup(s, item->len))) {
			c->rep->oom = true;
			return -1;
		}
		list->n++;
	}
	return rc;
}

static int node_text_cmp(const void *a, const void *b)
{
	const spec_node *x = *(const spec_node *const *)a, *y = *(const spec_node *const *)b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->str, y->str, n);

	if (r)
		return r;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	/* equal keys: keep document order, so the later one is reported */
	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	return x->pos.col < y->pos.col ? -1 : x->pos.col > y->pos.col;
}

/* labels and annotations: string to string, no duplicate keys. Not stored. */
static int walk_string_map(walk *c, const spec_field *fd, const spec_node *v)
{
	static const spec_field any = {.path = "", .name = "", .type = SPEC_FIELD_STRING};
	const spec_node **keys;
	char path[PATH_CAP];
	size_t n = 0;
	int rc = 0;

	if (v->kind != SPEC_NODE_MAP) {
		fail_found(c, fd->path, v, false, "a mapping of strings to strings", "");
		return -1;
	}
	if (!v->n)
		return 0;
	if (!(keys = malloc(v->n / 2 * sizeof(*keys)))) {
		c->rep->oom = true;
		return -1;
	}
	for (const spec_node *kn = v->first; kn; kn = kn->next->next) {
		const spec_node *key = spec_node_deref(kn), *val = spec_node_deref(kn->next);

		if (key->kind != SPEC_NODE_SCALAR || spec_scalar_classify(key) != SPEC_SCALAR_STRING) {
			fail_found(c, fd->path, key, false, "string keys", "");
			rc = -1;
			continue;
		}
		keys[n++] = key;
		path_join(path, sizeof(path), fd->path, key->str, key->len);
		if (!want_string(c, path, &any, val, false))
			rc = -1;
	}
	qsort(keys, n, sizeof(*keys), node_text_cmp);
	for (size_t i = 1; i < n; i++) {
		if (keys[i]->len == keys[i - 1]->len &&
		    memcmp(keys[i]->str, keys[i - 1]->str, keys[i]->len) == 0) {
			char k[80];

			key_text(k, sizeof(k), keys[i]->str, keys[i]->len);
			path_join(path, sizeof(path), fd->path, keys[i]->str, keys[i]->len);
			spec_fail(c, keys[i]->pos, path, "duplicate key \"%s\" (first at line %d)", k,
			          keys[i - 1]->pos.line);
			rc = -1;
		}
	}
	free(keys);
	return rc;
}

static bool is_null(const spec_node *v)
{
	return v->kind == SPEC_NODE_SCALAR && spec_scalar_classify(v) == SPEC_SCALAR_NULL;
}

/* The entry of spec_secret_fields[first..last] named by `key`, or -1. */
static int secret_field(const spec_node *key, int first, int last)
{
	for (int i = first; i <= last; i++)
		if (key->kind == SPEC_NODE_SCALAR && strlen(spec_secret_fields[i].name) == key->len &&
		    memcmp(spec_secret_fields[i].name, key->str, key->len) == 0)
			return i;
	return -1;
}

/* One mapping of a secret reference: the reference itself (keys env, file,
 * secretRef) or its secretRef (name, key). Keys met go to given[], strings
 * to values[], both indexed like spec_secret_fields. Returns 0 or -1. */
static int walk_secret_map(walk *c, const char *path, const spec_node *map, int first, int last,
                           const spec_node **given, const char **values)
{
	int rc = 0;

	for (const spec_node *kn = map->first; kn; kn = kn->next->next) {
		const spec_node *key = spec_node_deref(kn), *val = spec_node_deref(kn->next);
		int id = secret_field(key, first, last);
		char sub[PATH_CAP];

		if (id < 0) {
			/* the key may be the token itself */
			spec_fail(c, key->pos, path, "unknown field (not shown); expected %s",
			          first == SPEC_SF_ENV ? "env, file or secretRef" : "name and key");
			rc = -1;
			continue;
		}
		spec_bprintf(sub, sizeof(sub), "%s.%s", path, spec_secret_fields[id].name);
		if (given[id]) {
			spec_fail(c, key->pos, sub, "duplicate key \"%s\" (first at line %d)",
			          spec_secret_fields[id].name, given[id]->pos.line);
			rc = -1;
			continue;
		}
		given[id] = key;
		if (spec_secret_fields[id].type != SPEC_FIELD_OBJECT) {
			if (!(values[id] = want_string(c, sub, &spec_secret_fields[id], val, true)))
				rc = -1;
			continue;
		}
		if (val->kind != SPEC_NODE_MAP) {
			fail_found(c, sub, val, true, "a mapping {name: SECRET, key: KEY}", "");
			rc = -1;
			continue;
		}
		if (walk_secret_map(c, sub, val, SPEC_SF_REF_NAME, SPEC_SF_REF_KEY, given, values) < 0)
			rc = -1;
		for (int i = SPEC_SF_REF_NAME; i <= SPEC_SF_REF_KEY; i++) {
			if (!given[i]) {
				spec_fail(c, val->pos, sub, "missing required field \"%s\"",
				          spec_secret_fields[i].name);
				rc = -1;
			}
		}
	}
	return rc;
}

/* {env: NAME} | {file: PATH} | {secretRef: {name, key}}. Nothing under a
 * secret field is ever repeated in a message: a token pasted in the wrong
 * place must not end up in a log. */
static int walk_secret(walk *c, const spec_field *fd, const spec_node *v)
{
	spec_secret *out = field_at(c->fleet, fd);
	const spec_node *given[SPEC_SF_COUNT] = {NULL};
	const char *values[SPEC_SF_COUNT] = {NULL};
	int count = 0;

	if (v->kind == SPEC_NODE_SCALAR) {
		spec_fail(c, v->pos, fd->path,
		          "a secret is never written inline: keep the token out of the spec and refer to it, "
		          "e.g. %s: {env: %s}, or {file: /path/to/token}, "
		          "or {secretRef: {name: NAME, key: KEY}}",
		          fd->name, fd->example ? fd->example : "NAME");
		return -1;
	}
	if (v->kind != SPEC_NODE_MAP) {
		fail_found(c, fd->path, v, true,
		           "a secret reference {env: NAME}, {file: PATH} or {secretRef: {name, key}}", "");
		return -1;
	}
	if (walk_secret_map(c, fd->path, v, SPEC_SF_ENV, SPEC_SF_REF, given, values) < 0)
		return -1;
	for (int i = SPEC_SF_ENV; i <= SPEC_SF_REF; i++)
		count += given[i] != NULL;
	if (count != 1) {
		spec_fail(c, v->pos, fd->path, "expected exactly one of env, file or secretRef, found %s",
		          count ? "more than one" : "none");
		return -1;
	}
	if (values[SPEC_SF_ENV] || values[SPEC_SF_FILE]) {
		out->kind = values[SPEC_SF_ENV] ? SPEC_SECRET_ENV : SPEC_SECRET_FILE;
		out->name = strdup(values[SPEC_SF_ENV] ? values[SPEC_SF_ENV] : values[SPEC_SF_FILE]);
	} else {
		out->kind = SPEC_SECRET_REF;
		out->name = strdup(values[SPEC_SF_REF_NAME]);
		out->key = strdup(values[SPEC_SF_REF_KEY]);
		if (!out->key)
			c->rep->oom = true;
	}
	if (!out->name)
		c->rep->oom = true;
	return c->rep->oom ? -1 : 0;
}

static void walk_object(walk *c, int parent, const spec_node *map);

static void walk_value(walk *c, int id, const spec_node *v)
{
	const spec_field *fd = &spec_fields[id];
	int rc = 0;

	if (is_null(v)) {
		if (fd->required) {
			spec_fail(c, v->pos, fd->path, "required, found null");
			c->state[id] |= SPEC_ST_BAD;
		}
		return;
	}
	switch (fd->type) {
	case SPEC_FIELD_OBJECT:
		if (v->kind != SPEC_NODE_MAP) {
			fail_found(c, fd->path, v, false, "a mapping", "");
			rc = -1;
			break;
		}
		c->state[id] |= SPEC_ST_SET; /* before the walk: required children are checked against it */
		walk_object(c, id, v);
		return;
	case SPEC_FIELD_IGNORED:
		break;
	case SPEC_FIELD_STRING:
		rc = walk_string(c, fd, v);
		break;
	case SPEC_FIELD_INT:
		rc = walk_int(c, fd, v);
		break;
	case SPEC_FIELD_BOOL:
		rc = walk_bool(c, fd, v);
		break;
	case SPEC_FIELD_ENUM:
		rc = walk_enum(c, fd, v);
		break;
	case SPEC_FIELD_STRING_LIST:
		rc = walk_string_list(c, fd, v);
		break;
	case SPEC_FIELD_STRING_MAP:
		rc = walk_string_map(c, fd, v);
		break;
	case SPEC_FIELD_SECRET:
		rc = walk_secret(c, fd, v);
		break;
	}
	c->state[id] |= rc < 0 ? SPEC_ST_BAD : SPEC_ST_SET;
}

static void walk_object(walk *c, int parent, const spec_node *map)
{
	const char *ppath = parent < 0 ? "" : spec_fields[parent].path;

	for (const spec_node *kn = map->first; kn && !c->rep->oom; kn = kn->next->next) {
		const spec_node *key = spec_node_deref(kn), *val = spec_node_deref(kn->next);
		int id;

		if (key->kind != SPEC_NODE_SCALAR || spec_scalar_classify(key) != SPEC_SCALAR_STRING) {
			fail_found(c, ppath, key, false, "a field name", "");
			continue;
		}
		if (key->plain && key->len == 2 && memcmp(key->str, "<<", 2) == 0) {
			char path[PATH_CAP];

			path_join(path, sizeof(path), ppath, key->str, key->len);
			spec_fail(c, key->pos, path,
			          "YAML merge keys (<<) are not supported; write the fields out");
			continue;
		}
		id = spec_field_child(parent, key->str, key->len);
		if (id < 0) {
			unknown_field(c, parent, ppath, key);
			if (parent >= 0)
				c->state[parent] |= SPEC_ST_UNKNOWN;
			continue;
		}
		if (c->state[id] & SPEC_ST_SEEN) {
			spec_fail(c, key->pos, spec_fields[id].path,
			          "duplicate key \"%s\" (first at line %d)", spec_fields[id].name,
			          c->key_pos[id].line);
			continue;
		}
		c->state[id] |= SPEC_ST_SEEN;
		c->key_pos[id] = key->pos;
		c->val_pos[id] = val->pos;
		walk_value(c, id, val);
	}
}

/* Required fields that are absent, reported once at the outermost level. */
static void check_required(walk *c)
{
	for (size_t i = 0; i < spec_fields_count; i++) {
		const spec_field *fd = &spec_fields[i];
		int parent = spec_field_parent((int)i);

		if (!fd->required || (c->state[i] & SPEC_ST_SEEN))
			continue;
		if (parent >= 0 && !(c->state[parent] & SPEC_ST_SET))
			continue;
		spec_fail(c, parent < 0 ? c->doc_pos : c->key_pos[parent], fd->path,
		          "missing required field \"%s\"", fd->name);
		c->state[i] |= SPEC_ST_BAD;
	}
}

#define APP_NAME_VAR "{appName}"

/* A default with {appName} replaced ("rg-{appName}"). NULL: out of memory. */
static char *expand_default(const char *def, const char *app_name)
{
	const char *at = strstr(def, APP_NAME_VAR);
	size_t n;
	char *out;

	if (!at)
		return strdup(def);
	n = strlen(def) - strlen(APP_NAME_VAR) + strlen(app_name) + 1;
	if (!(out = malloc(n)))
		return NULL;
	if (snprintf(out, n, "%.*s%s%s", (int)(at - def), def, app_name, at + strlen(APP_NAME_VAR)) !=
	    (int)n - 1) {
		free(out);
		return NULL;
	}
	return out;
}

static void apply_defaults(walk *c)
{
	for (size_t i = 0; i < spec_fields_count; i++) {
		const spec_field *fd = &spec_fields[i];
		const char *def = fd->default_value;
		long n = 0;
		int idx;
		bool b;
		char *s;

		if (!def || !fd->size || (c->state[i] & (SPEC_ST_SET | SPEC_ST_BAD)))
			continue;
		switch (fd->type) {
		case SPEC_FIELD_STRING:
			if (strstr(def, APP_NAME_VAR) && !c->fleet->app_name)
				continue; /* appName is missing or wrong, and reported */
			if (!(s = expand_default(def, c->fleet->app_name))) {
				c->rep->oom = true;
				return;
			}
			*(char **)field_at(c->fleet, fd) = s;
			break;
		case SPEC_FIELD_INT:
			(void)parse_long(def, &n); /* the table test proves every default parses */
			store_int(c, fd, n);
			break;
		case SPEC_FIELD_BOOL:
			b = strcmp(def, "true") == 0;
			store(c, fd, &b, sizeof(b));
			break;
		case SPEC_FIELD_ENUM:
			idx = enum_index(fd, def);
			store(c, fd, &idx, sizeof(idx));
			break;
		default:
			continue;
		}
		c->state[i] |= SPEC_ST_SET;
	}
}

/* The first value of `name` in a mapping when it is a non-null string. */
static const spec_node *map_string(const spec_node *map, const char *name)
{
	size_t len = strlen(name);

	for (const spec_node *kn = map->first; kn; kn = kn->next->next) {
		const spec_node *key = spec_node_deref(kn), *val = spec_node_deref(kn->next);

		if (key->kind == SPEC_NODE_SCALAR && key->len == len && memcmp(key->str, name, len) == 0)
			return val->kind == SPEC_NODE_SCALAR &&
			                       spec_scalar_classify(val) == SPEC_SCALAR_STRING &&
			                       strlen(val->str) == val->len
			               ? val
			               : NULL;
	}
	return NULL;
}

static const spec_node *map_get(const spec_node *map, const char *name)
{
	size_t len = strlen(name);

	for (const spec_node *kn = map->first; kn; kn = kn->next->next) {
		const spec_node *key = spec_node_deref(kn);

		if (key->kind == SPEC_NODE_SCALAR && key->len == len && memcmp(key->str, name, len) == 0)
			return spec_node_deref(kn->next);
	}
	return NULL;
}

static bool is_ours(const spec_node *api, const spec_node *kind)
{
	size_t glen = sizeof(SPEC_API_GROUP) - 1;

	if (api && strncmp(api->str, SPEC_API_GROUP, glen) == 0 && (api->str[glen] == '/' || !api->str[glen]))
		return true;
	return kind && strcmp(kind->str, SPEC_KIND) == 0;
}

static int load_object(spec_report *r, spec_set *set, const spec_node *obj, spec_pos doc_pos, int doc_index)
{
	const spec_node *api, *kind;
	char shown[SHOWN_CAP];
	walk *c;
	int rc = 0;

	obj = spec_node_deref(obj);
	if (!obj || obj->kind != SPEC_NODE_MAP)
		return 0;
	api = map_string(obj, "apiVersion");
	kind = map_string(obj, "kind");
	if (!is_ours(api, kind))
		return 0; /* a Secret, a ConfigMap, ...: not ours to judge */
	if (api && strcmp(api->str, SPEC_API_VERSION) != 0) {
		spec_echo(shown, sizeof(shown), api->str, api->len);
		spec_report_add(r, api->pos, "apiVersion", "unsupported apiVersion %s; expected %s", shown,
		                SPEC_API_VERSION);
		return 0;
	}
	if (kind && strcmp(kind->str, SPEC_KIND) != 0) {
		spec_echo(shown, sizeof(shown), kind->str, kind->len);
		spec_report_add(r, kind->pos, "kind", "unknown kind %s in %s; expected %s", shown,
		                SPEC_API_VERSION, SPEC_KIND);
		return 0;
	}

	if (!(c = calloc(1, sizeof(*c))) || !(c->fleet = calloc(1, sizeof(spec_fleet)))) {
		free(c);
		r->oom = true;
		return -1;
	}
	c->rep = r;
	c->doc_pos = doc_pos;
	walk_object(c, -1, obj);
	check_required(c);
	apply_defaults(c);
	if (c->state[SPEC_F_AUTOSCALER_IDLE_TIME] & SPEC_ST_SET)
		(void)spec_parse_duration(c->fleet->autoscaler.idle_time, &c->fleet->autoscaler.idle_time_s);
	c->fleet->location_pos = c->val_pos[SPEC_F_LOCATION];
	if (!r->oom)
		spec_rules_check(c);

	if (r->oom) {
		rc = -1;
	} else if (c->errors == 0) {
		c->fleet->pos = c->doc_pos;
		c->fleet->doc_index = doc_index;
		if (!(c->fleet->file = strdup(r->file ? r->file : "")) || spec_set_add(set, c->fleet) < 0) {
			r->oom = true;
			rc = -1;
		} else {
			c->fleet = NULL; /* the set owns it now */
		}
	}
	spec_fleet_free(c->fleet);
	free(c);
	return rc;
}

int spec_document_load(spec_report *r, spec_set *set, const spec_node *root, spec_pos doc_pos, int doc_index)
{
	const spec_node *api, *kind, *items;

	root = spec_node_deref(root);
	if (!root || root->kind != SPEC_NODE_MAP)
		return 0; /* empty documents and non-objects are not fleets */
	api = map_string(root, "apiVersion");
	kind = map_string(root, "kind");
	/* `kubectl get rf -o yaml` without a name prints a v1 List */
	if (api && kind && strcmp(api->str, "v1") == 0 && strcmp(kind->str, "List") == 0) {
		items = map_get(root, "items");
		if (!items || items->kind != SPEC_NODE_SEQ)
			return 0;
		for (const spec_node *it = items->first; it; it = it->next) {
			const spec_node *obj = spec_node_deref(it);

			if (load_object(r, set, obj, obj->pos, doc_index) < 0)
				return -1;
			if (r->full)
				break;
		}
		return 0;
	}
	return load_object(r, set, root, doc_pos, doc_index);
}
