/* sha256 — FIPS 180-4 SHA-256, for content hashes (forceUpdateTag) and
 * name-based GUIDs (role assignment names). Not used for secrecy. */
#ifndef RF_SHA256_H
#define RF_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t used;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t out[32]);
void sha256(const void *data, size_t len, uint8_t out[32]);

/* Lower-case hex of the first `nbytes` of the digest of `data`; out must
 * hold 2*nbytes+1. */
void sha256_hex(const void *data, size_t len, size_t nbytes, char *out);

/* A stable GUID (version 5 layout, SHA-256 based) derived from `name`:
 * "xxxxxxxx-xxxx-5xxx-yxxx-xxxxxxxxxxxx". out must hold 37 bytes. */
void sha256_guid(const char *name, char out[37]);

/* HMAC-SHA-256. */
void hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len, uint8_t out[32]);

#endif
