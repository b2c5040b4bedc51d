/* http — every outbound HTTP call of runnerfleet goes through here: libcurl's
 * multi-socket interface driven by one libev loop. Many transfers run at once
 * on one thread. Timeouts on every call, TLS verification always on, plain
 * http only to loopback, and the one place requests are logged (with secrets
 * redacted). Retries (429, 5xx, connection errors) with jittered exponential
 * backoff honouring Retry-After, for requests marked retryable only. */
#ifndef RF_HTTP_H
#define RF_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;

typedef struct http_engine http_engine;

typedef struct http_engine_opts {
	const char *ca_file;     /* extra CA bundle (RUNNERFLEET_CA_FILE); NULL: system store */
	long connect_timeout_ms; /* default 10000 */
	long timeout_ms;         /* default per request, 60000 */
	int max_attempts;        /* retryable requests: total tries, default 5 */
	long backoff_base_ms;    /* default 200 */
	long backoff_max_ms;     /* default 30000 */
	/* Called for each finished attempt (for logs/metrics). Optional. The
	 * url is already redacted. */
	void (*on_attempt)(void *arg, const char *service, const char *method, const char *url, long status,
			   double seconds);
	void *on_attempt_arg;
} http_engine_opts;

enum {
	HTTP_RETRYABLE = 1u << 0, /* idempotent: may be sent again on 429/5xx/transport error */
};

typedef struct http_request {
	const char *service; /* "arm", "gitlab", "entra": for logs and metrics */
	const char *method;  /* "GET", "PUT", ... */
	const char *url;
	const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
	const char *body;           /* may be NULL */
	size_t body_len;
	long timeout_ms; /* 0: engine default */
	unsigned flags;
} http_request;

typedef struct http_response {
	long status;       /* HTTP status; 0 when no response arrived */
	int curl_code;     /* CURLcode; 0 on success */
	char error[256];   /* transport error text when status == 0 */
	char *body;        /* NUL-terminated, may be empty; owned by the engine */
	size_t body_len;
	char **headers;    /* "name: value" as received, owned by the engine */
	size_t n_headers;
	int attempts;      /* how many times it was sent */
	double seconds;    /* wall time of all attempts */
} http_response;

/* Done callback. `resp` is valid only during the call. Never called from
 * inside http_engine_send (a synchronous failure returns an error instead). */
typedef void (*http_done_fn)(const http_response *resp, void *arg);

int http_engine_new(http_engine **out, struct ev_loop *loop, const http_engine_opts *opts);
/* Cancels transfers still in flight without calling their callbacks. NULL is a no-op.
 * May be called from a callback. Call it before destroying the loop. */
void http_engine_free(http_engine *e);

/* Copies everything it needs from `req`. Returns 0, or -1 with errno-like
 * meaning (EINVAL: plain http to a non-loopback host, or bad arguments;
 * ENOMEM). */
int http_engine_send(http_engine *e, const http_request *req, http_done_fn done, void *arg);

/* Number of transfers in flight or waiting for a retry. */
size_t http_engine_pending(const http_engine *e);

/* Case-insensitive header lookup in a response; value without leading
 * blanks, or NULL. The pointer lives as long as `resp`. */
const char *http_response_header(const http_response *resp, const char *name);

/* Retry-After in milliseconds (delta-seconds or HTTP-date form; a date in the
 * past gives 0), or -1 when absent or unparsable. The engine itself sleeps on
 * at most 5 minutes of Retry-After; a longer one ends the retries and the
 * response goes to the caller. */
long http_response_retry_after_ms(const http_response *resp);

/* Writes `url` into buf with the values of secret-looking query parameters
 * replaced by "REDACTED". Returns buf. */
const char *http_redact_url(const char *url, char *buf, size_t cap);

/* Is the URL's host a loopback address (127.0.0.0/8, ::1, localhost)? */
int http_url_is_loopback(const char *url);

/* Percent-encodes `s` for a query string or form body. Caller frees. */
char *http_urlencode(const char *s);

#endif
