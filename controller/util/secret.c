#include "util/secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_MAX 16384

static char *trimmed_copy(const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	return strndup(s, n);
}

int secret_resolve(const spec_secret *ref, char **out, char *err, size_t errcap)
{
	*out = NULL;
	switch (ref->kind) {
	case SPEC_SECRET_ENV: {
		const char *v = getenv(ref->name);
		if (!v || !*v) {
			snprintf(err, errcap, "environment variable %s is not set", ref->name);
			return -1;
		}
		*out = trimmed_copy(v, strlen(v));
		break;
	}
	case SPEC_SECRET_FILE: {
		FILE *f = fopen(ref->name, "re");
		if (!f) {
			snprintf(err, errcap, "cannot read secret file %s: %s", ref->name, strerror(errno));
			return -1;
		}
		char *b = malloc(SECRET_MAX + 1);
		size_t n = b ? fread(b, 1, SECRET_MAX + 1, f) : 0;
		fclose(f);
		if (!b)
			break;
		if (n > SECRET_MAX) {
			memset(b, 0, SECRET_MAX + 1);
			free(b);
			snprintf(err, errcap, "secret file %s is larger than %d bytes", ref->name, SECRET_MAX);
			return -1;
		}
		*out = trimmed_copy(b, n);
		memset(b, 0, n);
		free(b);
		if (*out && !**out) {
			secret_free(*out);
			*out = NULL;
			snprintf(err, errcap, "secret file %s is empty", ref->name);
			return -1;
		}
		break;
	}
	case SPEC_SECRET_REF:
		snprintf(err, errcap, "secretRef %s/%s is read only in Kubernetes mode (run --kubernetes)", ref->name,
			 ref->key ? ref->key : "");
		return -1;
	default:
		snprintf(err, errcap, "no secret given");
		return -1;
	}
	if (!*out) {
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	return 0;
}

void secret_free(char *s)
{
	if (!s)
		return;
	memset(s, 0, strlen(s));
	free(s);
}
