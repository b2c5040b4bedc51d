#include "core/diff.h"

#include <ctype.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PATH 512

typedef struct diff_state {
	buf *out;
	int max_report;
	int count;
} diff_state;

static bool is_arm_id(const char *s)
{
	return strncasecmp(s, "/subscriptions/", 15) == 0 || strncasecmp(s, "/providers/", 11) == 0;
}

bool diff_same_location(const char *a, const char *b)
{
	for (;;) {
		while (*a == ' ')
			a++;
		while (*b == ' ')
			b++;
		if (!*a || !*b)
			return !*a && !*b;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		a++;
		b++;
	}
}

/* "/subscriptions/S/providers/Microsoft.Authorization/roleDefinitions/G" and
 * "/providers/Microsoft.Authorization/roleDefinitions/G" name the same role. */
static bool eq_arm_id(const char *a, const char *b)
{
	if (strcasecmp(a, b) == 0)
		return true;
	const char *pa = strncasecmp(a, "/providers/", 11) == 0 ? a : NULL;
	const char *pb = strncasecmp(b, "/providers/", 11) == 0 ? b : NULL;
	if (pa && !pb) {
		size_t la = strlen(a), lb = strlen(b);
		return lb > la && strcasecmp(b + lb - la, a) == 0;
	}
	if (pb && !pa) {
		size_t la = strlen(a), lb = strlen(b);
		return la > lb && strcasecmp(a + la - lb, b) == 0;
	}
	return false;
}

static bool eq_string(const char *key, const char *want, const char *have)
{
	if (key && strcasecmp(key, "location") == 0)
		return diff_same_location(want, have);
	if (is_arm_id(want) || is_arm_id(have))
		return eq_arm_id(want, have);
	return strcmp(want, have) == 0;
}

static void report(diff_state *st, const char *path, const cJSON *want, const cJSON *have)
{
	st->count++;
	if (!st->out || st->count > st->max_report)
		return;
	char *w = want ? cJSON_PrintUnformatted(want) : NULL;
	char *h = have ? cJSON_PrintUnformatted(have) : NULL;
	const size_t cap = 120; /* keep plan lines readable */
	buf_printf(st->out, "%s: %.*s%s -> %.*s%s\n", path, (int)cap, h ? h : "(absent)",
		   h && strlen(h) > cap ? "..." : "", (int)cap, w ? w : "(absent)", w && strlen(w) > cap ? "..." : "");
	cJSON_free(w);
	cJSON_free(h);
}

static bool string_set_equal(const cJSON *a, const cJSON *b)
{
	if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
		return false;
	const cJSON *x;
	cJSON_ArrayForEach(x, a)
	{
		if (!cJSON_IsString(x))
			return false;
		bool found = false;
		const cJSON *y;
		cJSON_ArrayForEach(y, b)
		{
			if (cJSON_IsString(y) && strcmp(x->valuestring, y->valuestring) == 0) {
				found = true;
				break;
			}
		}
		if (!found)
			return false;
	}
	return true;
}

static void walk(diff_state *st, const char *key, const char *path, const cJSON *want, const cJSON *have)
{
	if (!have || cJSON_IsNull(have)) {
		if (!cJSON_IsNull(want))
			report(st, path, want, NULL);
		return;
	}
	if (cJSON_IsObject(want)) {
		if (!cJSON_IsObject(have)) {
			report(st, path, want, have);
			return;
		}
		const cJSON *w;
		cJSON_ArrayForEach(w, want)
		{
			char sub[MAX_PATH];
			snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", w->string);
			walk(st, w->string, sub, w, cJSON_GetObjectItem(have, w->string));
		}
		return;
	}
	if (cJSON_IsArray(want)) {
		if (!cJSON_IsArray(have)) {
			report(st, path, want, have);
			return;
		}
		if (key && (strcmp(key, "tag_list") == 0 || strcmp(key, "tags") == 0)) {
			if (!string_set_equal(want, have))
				report(st, path, want, have);
			return;
		}
		int n = cJSON_GetArraySize(want);
		if (n != cJSON_GetArraySize(have)) {
			report(st, path, want, have);
			return;
		}
		for (int i = 0; i < n; i++) {
			char sub[MAX_PATH];
			snprintf(sub, sizeof sub, "%s[%d]", path, i);
			walk(st, key, sub, cJSON_GetArrayItem(want, i), cJSON_GetArrayItem(have, i));
		}
		return;
	}
	if (cJSON_IsString(want)) {
		if (!cJSON_IsString(have) || !eq_string(key, want->valuestring, have->valuestring))
			report(st, path, want, have);
		return;
	}
	if (cJSON_IsNumber(want)) {
		if (!cJSON_IsNumber(have) || want->valuedouble != have->valuedouble)
			report(st, path, want, have);
		return;
	}
	if (cJSON_IsBool(want)) {
		if (!cJSON_IsBool(have) || cJSON_IsTrue(want) != cJSON_IsTrue(have))
			report(st, path, want, have);
		return;
	}
	if (cJSON_IsNull(want) && !cJSON_IsNull(have))
		report(st, path, want, have);
}

int diff_json(const cJSON *want, const cJSON *have, buf *out, int max_report)
{
	diff_state st = {out, max_report, 0};
	walk(&st, NULL, "", want, have);
	if (out && st.count > max_report)
		buf_printf(out, "... and %d more\n", st.count - max_report);
	return st.count;
}
