/* buf — a growable byte buffer with a hard size cap. After any failure
 * (allocation, cap) the buffer is marked failed and further appends are
 * no-ops, so a builder checks once at the end. */
#ifndef RF_BUF_H
#define RF_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct buf {
	char *data; /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	size_t max;
	bool failed;
} buf;

void buf_init(buf *b, size_t max);
void buf_append(buf *b, const char *s, size_t n);
void buf_puts(buf *b, const char *s);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the string (caller frees) or NULL when the buffer failed. */
char *buf_detach(buf *b);
void buf_free(buf *b);

/* Standard base64 of `len` bytes; caller frees; NULL on allocation failure. */
char *base64_encode(const void *data, size_t len);

#endif
