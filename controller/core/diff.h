/* diff — the semantic comparison behind "writes only on a real difference".
 * `want` holds only the fields runnerfleet owns; `have` is what the API
 * returned, with its defaults and read-only additions. `want` matches when
 * every field it names is present and equal in `have`:
 *  - objects: keys looked up case-insensitively (ARM ids are keys too);
 *  - arrays: same length, element by element; a key named tag_list or tags
 *    holding strings compares as a set;
 *  - strings: ARM ids and locations case-insensitively (locations also
 *    ignoring blanks), a role definition id with or without its
 *    subscription prefix; everything else exactly;
 *  - numbers and booleans exactly. */
#ifndef RF_DIFF_H
#define RF_DIFF_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* Returns the number of differing fields; describes up to `max_report` of
 * them into `out` (may be NULL) as "path: have -> want" lines. `want` must
 * never hold a secret: its values are printed. */
int diff_json(const cJSON *want, const cJSON *have, buf *out, int max_report);

/* Azure region names: "West Europe" and "westeurope" are one region. */
bool diff_same_location(const char *a, const char *b);

#endif
