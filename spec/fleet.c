/* Fleets, sets and diagnostics: ownership and formatting. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/spec_int.h"

static void *field_at(spec_fleet *f, const spec_field *fd)
{
	return (char *)f + fd->offset;
}

static void secret_clear(spec_secret *s)
{
	free(s->name);
	free(s->key);
	memset(s, 0, sizeof(*s));
}

static void string_list_clear(spec_string_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* Every heap value of a fleet is described by the field table, so freeing
 * follows it; only `file` lives outside. */
void spec_fleet_free(spec_fleet *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < spec_fields_count; i++) {
		const spec_field *fd = &spec_fields[i];

		if (!fd->size)
			continue;
		switch (fd->type) {
		case SPEC_FIELD_STRING:
			free(*(char **)field_at(f, fd));
			break;
		case SPEC_FIELD_STRING_LIST:
			string_list_clear(field_at(f, fd));
			break;
		case SPEC_FIELD_SECRET:
			secret_clear(field_at(f, fd));
			break;
		default:
			break;
		}
	}
	free(f->file);
	free(f);
}

void spec_set_free(spec_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		spec_fleet_free(set->fleets[i]);
	free(set->fleets);
	set->fleets = NULL;
	set->n = set->cap = 0;
}

void spec_diags_free(spec_diags *diags)
{
	if (!diags)
		return;
	for (size_t i = 0; i < diags->n; i++) {
		free(diags->items[i].file);
		free(diags->items[i].field);
		free(diags->items[i].message);
	}
	free(diags->items);
	diags->items = NULL;
	diags->n = diags->cap = 0;
}

static int grow(void **items, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap > SIZE_MAX / size)
		return -1;
	p = realloc(*items, ncap * size);
	if (!p)
		return -1;
	*items = p;
	*cap = ncap;
	return 0;
}

int spec_diags_push(spec_diags *diags, const char *file, spec_pos pos, const char *field, const char *message)
{
	spec_diag d = {0};
	void *items = diags->items;

	if (grow(&items, &diags->cap, diags->n, sizeof(spec_diag)) < 0)
		return -1;
	diags->items = items;
	d.pos = pos;
	d.file = strdup(file ? file : "");
	d.field = strdup(field ? field : "");
	d.message = strdup(message ? message : "");
	if (!d.file || !d.field || !d.message) {
		free(d.file);
		free(d.field);
		free(d.message);
		return -1;
	}
	diags->items[diags->n++] = d;
	return 0;
}

int spec_set_add(spec_set *set, spec_fleet *f)
{
	void *items = set->fleets;

	if (grow(&items, &set->cap, set->n, sizeof(spec_fleet *)) < 0)
		return -1;
	set->fleets = items;
	set->fleets[set->n++] = f;
	return 0;
}

void spec_report_vadd(spec_report *r, spec_pos pos, const char *field, const char *fmt, va_list ap)
{
	char msg[1024];
	int n;

	if (r->full || r->oom)
		return;
	if (r->added + 1 == SPEC_MAX_DIAGS_PER_FILE) {
		r->full = true;
		if (spec_diags_push(r->diags, r->file, pos, "",
		                    "too many errors; the rest of this file is not read") < 0)
			r->oom = true;
		return;
	}
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		spec_bprintf(msg, sizeof(msg), "(message could not be formatted)");
	else if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4); /* messages are bounded; say so */
	if (spec_diags_push(r->diags, r->file, pos, field, msg) < 0)
		r->oom = true;
	else
		r->added++;
}

void spec_report_add(spec_report *r, spec_pos pos, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spec_report_vadd(r, pos, field, fmt, ap);
	va_end(ap);
}

char *spec_diag_format(const spec_diag *d)
{
	char loc[64] = "";
	const char *field = d->field && *d->field ? d->field : NULL;
	const char *file = d->file ? d->file : "";
	const char *message = d->message ? d->message : "";
	size_t cap;
	char *out;
	int n;

	if (d->pos.line > 0 &&
	    snprintf(loc, sizeof(loc), ":%d:%d", d->pos.line, d->pos.col) >= (int)sizeof(loc))
		return NULL;
	cap = strlen(file) + strlen(loc) + (field ? strlen(field) + 2 : 0) + strlen(message) +
	      sizeof(": error: ");
	if (!(out = malloc(cap)))
		return NULL;
	n = snprintf(out, cap, "%s%s: error: %s%s%s", file, loc, field ? field : "", field ? ": " : "",
	             message);
	if (n < 0 || (size_t)n >= cap) {
		free(out);
		return NULL;
	}
	return out;
}

const char *spec_name_resource_group(const spec_fleet *f, char *buf, size_t cap)
{
	int n;

	if (!f || !buf)
		return NULL;
	if (f->azure.resource_group)
		n = snprintf(buf, cap, "%s", f->azure.resource_group);
	else if (f->app_name)
		n = snprintf(buf, cap, "rg-%s", f->app_name);
	else
		return NULL;
	return n < 0 || (size_t)n >= cap ? NULL : buf;
}

const char *spec_fleet_key(const spec_fleet *f, char *buf, size_t cap)
{
	int n;

	if (!f || !buf || !f->name)
		return NULL;
	n = snprintf(buf, cap, "%s/%s", f->namespace ? f->namespace : "default", f->name);
	return n < 0 || (size_t)n >= cap ? NULL : buf;
}
