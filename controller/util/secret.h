/* secret — turns a spec's secret reference into the value, at the last
 * moment and only where it is used. Values never reach a log. */
#ifndef RF_SECRET_H
#define RF_SECRET_H

#include <stddef.h>

#include "spec/spec.h"

/* Resolves `ref` (env or file; secretRef only in Kubernetes mode). Returns 0
 * with a new string in *out (caller wipes and frees with secret_free), or -1
 * with a message naming the reference (never the value) in err. */
int secret_resolve(const spec_secret *ref, char **out, char *err, size_t errcap);
void secret_free(char *s);

#endif
