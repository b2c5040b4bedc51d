/* http — see http.h.
 *
 * One curl multi handle per engine, driven by the caller's libev loop:
 *   curl says which sockets to watch  (socket callback -> one ev_io per socket)
 *   curl says when to wake it up      (timer callback  -> one ev_timer)
 *   we tell curl what happened        (curl_multi_socket_action)
 *   we collect finished transfers     (curl_multi_info_read) and retry or deliver.
 * A request waiting for a retry sits on its own ev_timer, never in a sleep.
 *
 * User code (done callbacks, the on_attempt hook) only ever runs from
 * check_multi_info() or retry_fire(), both bracketed by engine_enter/leave, so
 * that a callback may send more requests, free its own context, or even free
 * the engine: the real teardown is then deferred until the outermost frame
 * unwinds. */
#include "http/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>

#ifndef RF_VERSION
#define RF_VERSION "dev"
#endif

#define HTTP_USER_AGENT "runnerfleet/" RF_VERSION
/* Responses are read into memory; nothing we call legitimately returns more. */
#define HTTP_BODY_MAX ((size_t)16 * 1024 * 1024)
/* Bounds the header array a hostile or broken server can make us grow. */
#define HTTP_HEADERS_MAX 256
/* A Retry-After longer than this is not slept on inside the engine: the
 * response goes back to the caller, whose work queue can reschedule the whole
 * operation instead of parking one request for an unbounded time. */
#define HTTP_RETRY_AFTER_MAX_MS 300000L

static const char too_large[] = "response too large";

struct http_sock {
	ev_io io; /* io.data points back here */
	curl_socket_t fd;
	http_engine *e;
	struct http_sock *prev, *next;
};

struct http_xfer {
	struct http_xfer *prev, *next;
	http_engine *e;
	int linked;   /* on e->xfers: in flight or waiting for a retry */
	int in_multi; /* added to e->multi */
	CURL *easy;   /* lives as long as the request: re-added for each attempt */
	struct curl_slist *headers;
	char *service, *method, *url, *redacted_url, *body;
	size_t body_len;
	unsigned flags;
	http_done_fn done;
	void *arg;
	ev_timer retry; /* retry.data points back here */
	int attempts;
	double started, attempt_started;
	/* The current attempt's response. */
	char *resp;
	size_t resp_len, resp_cap;
	char **hdrs;
	size_t n_hdrs, hdrs_cap;
	const char *abort_reason; /* set when our own callback stopped the transfer */
	int permanent;            /* this failure will not go away by retrying */
	char errbuf[CURL_ERROR_SIZE];
	char error[256];
	char empty[1]; /* body of an empty response, so resp->body is never NULL */
};

struct http_engine {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer; /* curl's timeout */
	http_engine_opts opts;
	char *ca_file;
	struct http_xfer *xfers;
	struct http_sock *socks;
	size_t n_pending;
	uint64_t rng;
	int depth; /* frames of ours on the stack that may run user code */
	int dead;  /* http_engine_free was called from inside a callback */
};

/* ---- small helpers ------------------------------------------------------ */

static char *dup_mem(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static char *dup_str(const char *s)
{
	return dup_mem(s, strlen(s));
}

/* Error texts are informative only: truncating a long one is acceptable. */
static void set_text(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* xorshift64*: jitter only needs to decorrelate clients, not be secret. */
static double rng_unit(http_engine *e)
{
	uint64_t x = e->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	e->rng = x;
	return (double)((x * UINT64_C(2685821657736338717)) >> 11) / 9007199254740992.0;
}

/* ---- URL helpers -------------------------------------------------------- */

static int host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
		return 1;
	if (host[0] == '[') {
		char buf[64];
		size_t n = strcspn(host + 1, "]%"); /* drop brackets and any zone id */
		if (n == 0 || n >= sizeof(buf))
			return 0;
		memcpy(buf, host + 1, n);
		buf[n] = '\0';
		return inet_pton(AF_INET6, buf, &a6) == 1 && memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
	}
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return 0;
}

/* Parses with curl's own URL parser so that we judge the very host curl will
 * connect to. Returns 0, -EINVAL (unparsable) or -ENOMEM. */
static int url_scheme_host(const char *url, char **scheme, char **host)
{
	CURLU *u = curl_url();
	CURLUcode rc;
	int ret = -EINVAL;

	*scheme = NULL;
	*host = NULL;
	if (!u)
		return -ENOMEM;
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc == CURLUE_OUT_OF_MEMORY)
		ret = -ENOMEM;
	if (rc != CURLUE_OK)
		goto out;
	rc = curl_url_get(u, CURLUPART_SCHEME, scheme, 0);
	if (rc == CURLUE_OK)
		rc = curl_url_get(u, CURLUPART_HOST, host, 0);
	if (rc == CURLUE_OUT_OF_MEMORY)
		ret = -ENOMEM;
	if (rc != CURLUE_OK) {
		curl_free(*scheme);
		curl_free(*host);
		*scheme = NULL;
		*host = NULL;
		goto out;
	}
	ret = 0;
out:
	curl_url_cleanup(u);
	return ret;
}

int http_url_is_loopback(const char *url)
{
	char *scheme, *host;
	int yes;

	if (!url || url_scheme_host(url, &scheme, &host) != 0)
		return 0;
	yes = host_is_loopback(host);
	curl_free(scheme);
	curl_free(host);
	return yes;
}

char *http_urlencode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n, i, j = 0;
	char *out;

	if (!s) {
		errno = EINVAL;
		return NULL;
	}
	n = strlen(s);
	if (n > (SIZE_MAX - 1) / 3) {
		errno = ENOMEM;
		return NULL;
	}
	out = malloc(3 * n + 1);
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			out[j++] = (char)c;
		} else {
			out[j++] = '%';
			out[j++] = hex[c >> 4];
			out[j++] = hex[c & 15];
		}
	}
	out[j] = '\0';
	return out;
}

/* Bounded writer for http_redact_url: on overflow it keeps a prefix, which is
 * safe because every secret is replaced before anything after it is written. */
struct out {
	char *buf;
	size_t cap, len;
};

static void out_put(struct out *o, const char *s, size_t n)
{
	size_t room = o->cap - 1 - o->len;
	if (n > room)
		n = room;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static int name_is_secret(const char *name, size_t len)
{
	static const char *const words[] = {"token", "secret", "password",  "key", "signature",
	                                    "sig",   "code",   "assertion", NULL};
	size_t i, k;

	for (k = 0; words[k]; k++) {
		size_t wl = strlen(words[k]);
		for (i = 0; i + wl <= len; i++)
			if (strncasecmp(name + i, words[k], wl) == 0)
				return 1;
	}
	return 0;
}

const char *http_redact_url(const char *url, char *buf, size_t cap)
{
	struct out o = {buf, cap, 0};
	const char *p, *sep;
	size_t n;

	if (!buf || cap == 0)
		return buf;
	buf[0] = '\0';
	if (!url)
		return buf;
	p = url;
	sep = strstr(url, "://");
	if (sep) {
		const char *auth = sep + 3, *at = NULL;
		size_t i, alen = strcspn(auth, "/?#");
		for (i = 0; i < alen; i++)
			if (auth[i] == '@')
				at = auth + i; /* the last '@' ends the userinfo */
		if (at) {
			out_put(&o, url, (size_t)(auth - url));
			out_put(&o, "REDACTED", 8);
			p = at;
		}
	}
	n = strcspn(p, "?#");
	out_put(&o, p, n);
	p += n;
	/* Query and fragment: '&'-separated name=value pairs (OAuth puts tokens
	 * in fragments too). */
	while (*p) {
		const char *eq;
		out_put(&o, p, 1);
		p++;
		n = strcspn(p, "&#");
		eq = memchr(p, '=', n);
		if (eq && name_is_secret(p, (size_t)(eq - p))) {
			out_put(&o, p, (size_t)(eq - p) + 1);
			out_put(&o, "REDACTED", 8);
		} else {
			out_put(&o, p, n);
		}
		p += n;
	}
	return buf;
}

/* ---- response helpers --------------------------------------------------- */

const char *http_response_header(const http_response *resp, const char *name)
{
	size_t i, nl;

	if (!resp || !name || !resp->headers)
		return NULL;
	nl = strlen(name);
	for (i = 0; i < resp->n_headers; i++) {
		const char *h = resp->headers[i];
		if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
			h += nl + 1;
			while (*h == ' ' || *h == '\t')
				h++;
			return h; /* trailing blanks were stripped when stored */
		}
	}
	return NULL;
}

long http_response_retry_after_ms(const http_response *resp)
{
	const char *v = http_response_header(resp, "Retry-After");
	time_t t, now;

	if (!v || !*v)
		return -1;
	if (isdigit((unsigned char)*v)) {
		long secs = 0;
		for (; isdigit((unsigned char)*v); v++) {
			if (secs > (LONG_MAX / 1000 - 9) / 10)
				secs = LONG_MAX / 1000; /* absurd values saturate */
			else
				secs = secs * 10 + (*v - '0');
		}
		while (*v == ' ' || *v == '\t')
			v++;
		return *v ? -1 : secs * 1000;
	}
	/* HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT"): starts with a day name.
	 * curl_getdate understands all three formats RFC 9110 allows. */
	if (!isalpha((unsigned char)*v))
		return -1;
	t = curl_getdate(v, NULL);
	if (t == -1)
		return -1;
	now = time(NULL);
	if (t <= now)
		return 0;
	if ((double)(t - now) > (double)(LONG_MAX / 1000))
		return LONG_MAX / 1000 * 1000;
	return (long)(t - now) * 1000;
}

/* ---- per-transfer state ------------------------------------------------- */

static void xfer_reset_response(struct http_xfer *x)
{
	size_t i;

	for (i = 0; i < x->n_hdrs; i++)
		free(x->hdrs[i]);
	x->n_hdrs = 0;
	x->resp_len = 0;
	if (x->resp)
		x->resp[0] = '\0';
	x->abort_reason = NULL;
	x->permanent = 0;
	x->errbuf[0] = '\0';
	x->error[0] = '\0';
}

static void xfer_link(http_engine *e, struct http_xfer *x)
{
	x->prev = NULL;
	x->next = e->xfers;
	if (e->xfers)
		e->xfers->prev = x;
	e->xfers = x;
	x->linked = 1;
	e->n_pending++;
}

static void xfer_unlink(http_engine *e, struct http_xfer *x)
{
	if (!x->linked)
		return;
	if (x->prev)
		x->prev->next = x->next;
	else
		e->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
	x->linked = 0;
	e->n_pending--;
}

/* Frees an unlinked transfer. Removing the easy handle may call our socket
 * callback, which only needs the engine. */
static void xfer_free(http_engine *e, struct http_xfer *x)
{
	if (!x)
		return;
	ev_timer_stop(e->loop, &x->retry);
	if (x->in_multi)
		curl_multi_remove_handle(e->multi, x->easy);
	if (x->easy)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	xfer_reset_response(x);
	free(x->hdrs);
	free(x->resp);
	free(x->service);
	free(x->method);
	free(x->url);
	free(x->redacted_url);
	free(x->body);
	free(x);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct http_xfer *x = ud;
	size_t n = size * nmemb;

	if (n > HTTP_BODY_MAX - x->resp_len) {
		x->abort_reason = too_large;
		x->permanent = 1;
		return 0; /* makes curl stop the transfer */
	}
	if (x->resp_len + n + 1 > x->resp_cap) {
		size_t cap = x->resp_cap ? x->resp_cap : 4096;
		char *p;
		while (cap < x->resp_len + n + 1)
			cap *= 2;
		if (cap > HTTP_BODY_MAX + 1)
			cap = HTTP_BODY_MAX + 1;
		p = realloc(x->resp, cap);
		if (!p) {
			x->abort_reason = "out of memory";
			return 0;
		}
		x->resp = p;
		x->resp_cap = cap;
	}
	memcpy(x->resp + x->resp_len, data, n);
	x->resp_len += n;
	x->resp[x->resp_len] = '\0';
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct http_xfer *x = ud;
	size_t total = size * nmemb, n = total;
	char *line;

	/* A status line starts a new response (after 100 Continue, a proxy's
	 * CONNECT reply, ...): only the final response's headers count. */
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		size_t i;
		for (i = 0; i < x->n_hdrs; i++)
			free(x->hdrs[i]);
		x->n_hdrs = 0;
		return total;
	}
	while (n > 0 &&
	       (data[n - 1] == '\r' || data[n - 1] == '\n' || data[n - 1] == ' ' || data[n - 1] == '\t'))
		n--;
	if (n == 0)
		return total;
	if (x->n_hdrs == x->hdrs_cap) {
		size_t cap = x->hdrs_cap ? x->hdrs_cap * 2 : 16;
		char **p;
		if (x->n_hdrs >= HTTP_HEADERS_MAX) {
			x->abort_reason = "too many response headers";
			x->permanent = 1;
			return 0;
		}
		p = realloc(x->hdrs, cap * sizeof(*p));
		if (!p) {
			x->abort_reason = "out of memory";
			return 0;
		}
		x->hdrs = p;
		x->hdrs_cap = cap;
	}
	line = dup_mem(data, n);
	if (!line) {
		x->abort_reason = "out of memory";
		return 0;
	}
	x->hdrs[x->n_hdrs++] = line;
	return total;
}

/* ---- engine plumbing ---------------------------------------------------- */

static void engine_destroy(http_engine *e);
static void check_multi_info(http_engine *e);

static void engine_enter(http_engine *e)
{
	e->depth++;
}

static void engine_leave(http_engine *e)
{
	if (--e->depth == 0 && e->dead)
		engine_destroy(e);
}

static void cancel_all(http_engine *e)
{
	while (e->xfers) {
		struct http_xfer *x = e->xfers;
		xfer_unlink(e, x);
		xfer_free(e, x);
	}
}

static void on_socket_ready(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http_sock *s = w->data;
	http_engine *e = s->e;
	int action = 0, running;

	(void)loop;
	if (revents & EV_READ)
		action |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	if (revents & EV_ERROR)
		action |= CURL_CSELECT_ERR;
	engine_enter(e);
	/* May free `s` through the socket callback: not touched afterwards. */
	curl_multi_socket_action(e->multi, s->fd, action, &running);
	check_multi_info(e);
	engine_leave(e);
}

static void on_curl_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	http_engine *e = w->data;
	int running;

	(void)loop;
	(void)revents;
	engine_enter(e);
	curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_multi_info(e);
	engine_leave(e);
}

static void sock_free(http_engine *e, struct http_sock *s)
{
	ev_io_stop(e->loop, &s->io);
	if (s->prev)
		s->prev->next = s->next;
	else
		e->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s);
}

/* CURLMOPT_SOCKETFUNCTION: keep one ev_io per socket in step with what curl
 * wants to wait for. */
static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	http_engine *e = userp;
	struct http_sock *s = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_free(e, s);
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1; /* curl fails the transfer(s) on this socket */
		s->fd = fd;
		s->e = e;
		s->next = e->socks;
		if (e->socks)
			e->socks->prev = s;
		e->socks = s;
		ev_init(&s->io, on_socket_ready);
		s->io.data = s;
		curl_multi_assign(e->multi, fd, s);
	} else {
		ev_io_stop(e->loop, &s->io);
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	ev_io_set(&s->io, fd, events);
	if (events)
		ev_io_start(e->loop, &s->io);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: curl may not be called from here, only scheduled. */
static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	http_engine *e = userp;

	(void)multi;
	ev_timer_stop(e->loop, &e->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&e->timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(e->loop, &e->timer);
	}
	return 0;
}

/* ---- attempts, retries, delivery ---------------------------------------- */

static int start_attempt(http_engine *e, struct http_xfer *x)
{
	xfer_reset_response(x);
	x->attempts++;
	x->attempt_started = ev_time();
	/* Adding only arms curl's timer (timeout 0): the transfer starts from
	 * the loop, so no callback can run inside http_engine_send. */
	if (curl_multi_add_handle(e->multi, x->easy) != CURLM_OK)
		return -1;
	x->in_multi = 1;
	return 0;
}

/* Hands the final result to the caller and frees the (unlinked) transfer. */
static void deliver(http_engine *e, struct http_xfer *x, long status, int curl_code)
{
	http_response r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.curl_code = curl_code;
	set_text(r.error, sizeof(r.error), x->error);
	r.body = x->resp ? x->resp : x->empty;
	r.body_len = x->resp_len;
	r.headers = x->hdrs;
	r.n_headers = x->n_hdrs;
	r.attempts = x->attempts;
	r.seconds = ev_time() - x->started;
	x->done(&r, x->arg);
	xfer_free(e, x);
}

static void retry_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http_xfer *x = w->data;
	http_engine *e = x->e;

	(void)loop;
	(void)revents;
	engine_enter(e);
	if (start_attempt(e, x) != 0) {
		xfer_unlink(e, x);
		set_text(x->error, sizeof(x->error), "cannot restart transfer");
		deliver(e, x, 0, CURLE_OUT_OF_MEMORY);
	}
	engine_leave(e);
}

static int status_is_retryable(long status, const char *body)
{
	switch (status) {
	case 0:
	case 429:
	case 500:
	case 502:
	case 503:
	case 504:
		return 1;
	case 409: /* ARM: the resource is busy with another operation */
		return body && strstr(body, "AnotherOperationInProgress") != NULL;
	default:
		return 0;
	}
}

/* Transport failures that another attempt cannot fix. */
static int curl_code_is_permanent(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_TOO_MANY_REDIRECTS:
		return 1;
	default:
		return 0;
	}
}

/* Milliseconds to wait before the next attempt, or -1: do not retry. */
static long retry_wait_ms(http_engine *e, struct http_xfer *x, long status)
{
	long cap;
	int i;

	if (!(x->flags & HTTP_RETRYABLE) || x->attempts >= e->opts.max_attempts || x->permanent ||
	    !status_is_retryable(status, x->resp))
		return -1;
	if (status != 0) {
		http_response r = {.headers = x->hdrs, .n_headers = x->n_hdrs};
		long ra = http_response_retry_after_ms(&r);
		if (ra > HTTP_RETRY_AFTER_MAX_MS)
			return -1;
		if (ra >= 0)
			return ra;
	}
	/* Full jitter: min(max, base * 2^(attempt-1)) * [0.5, 1). */
	cap = e->opts.backoff_base_ms;
	for (i = 1; i < x->attempts && cap < e->opts.backoff_max_ms; i++)
		cap *= 2;
	if (cap > e->opts.backoff_max_ms)
		cap = e->opts.backoff_max_ms;
	return (long)((double)cap * (0.5 + 0.5 * rng_unit(e)));
}

/* One attempt of `x` finished with `rc`: report it, then retry or deliver. */
static void attempt_done(http_engine *e, struct http_xfer *x, CURLcode rc)
{
	double secs = ev_time() - x->attempt_started;
	long status = 0, wait;
	int code = (int)rc;

	xfer_unlink(e, x); /* not pending while user code sees it */
	if (rc == CURLE_OK) {
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status < 100 || status > 999) {
			status = 0;
			code = CURLE_WEIRD_SERVER_REPLY;
			set_text(x->error, sizeof(x->error), "no HTTP status in response");
		}
	} else {
		if (x->abort_reason)
			set_text(x->error, sizeof(x->error), x->abort_reason);
		else if (rc == CURLE_FILESIZE_EXCEEDED) /* Content-Length over the cap */
			set_text(x->error, sizeof(x->error), too_large);
		else
			set_text(x->error, sizeof(x->error),
			         x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
		if (x->abort_reason == too_large)
			code = CURLE_FILESIZE_EXCEEDED;
		if (curl_code_is_permanent(rc))
			x->permanent = 1;
	}
	if (status == 0) {
		/* No usable response: nothing partial leaks to the caller. */
		size_t i;
		for (i = 0; i < x->n_hdrs; i++)
			free(x->hdrs[i]);
		x->n_hdrs = 0;
		x->resp_len = 0;
		if (x->resp)
			x->resp[0] = '\0';
	}
	if (e->opts.on_attempt)
		e->opts.on_attempt(e->opts.on_attempt_arg, x->service, x->method, x->redacted_url, status,
		                   secs);
	if (e->dead) { /* the hook freed the engine */
		xfer_free(e, x);
		return;
	}
	wait = retry_wait_ms(e, x, status);
	if (wait >= 0) {
		xfer_link(e, x);
		ev_timer_set(&x->retry, (double)wait / 1000.0, 0.);
		ev_timer_start(e->loop, &x->retry);
		return;
	}
	deliver(e, x, status, code);
}

static void check_multi_info(http_engine *e)
{
	CURLMsg *msg;
	int left;

	while (!e->dead && (msg = curl_multi_info_read(e->multi, &left)) != NULL) {
		CURL *easy = msg->easy_handle;
		CURLcode rc = msg->data.result;
		char *priv = NULL;
		struct http_xfer *x;

		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg dies with remove_handle: everything needed is copied above. */
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		x = (struct http_xfer *)(void *)priv;
		curl_multi_remove_handle(e->multi, easy);
		x->in_multi = 0;
		attempt_done(e, x, rc);
	}
}

/* ---- public API --------------------------------------------------------- */

static void engine_destroy(http_engine *e)
{
	cancel_all(e);
	if (e->multi)
		curl_multi_cleanup(e->multi); /* may still call our socket/timer callbacks */
	ev_timer_stop(e->loop, &e->timer);
	while (e->socks)
		sock_free(e, e->socks);
	free(e->ca_file);
	free(e);
	curl_global_cleanup();
}

int http_engine_new(http_engine **out, struct ev_loop *loop, const http_engine_opts *opts)
{
	http_engine *e;

	if (out)
		*out = NULL;
	if (!out || !loop) {
		errno = EINVAL;
		return -1;
	}
	if (opts && opts->ca_file && access(opts->ca_file, R_OK) != 0)
		return -1; /* errno from access(): fail at startup, not on every call */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		errno = ENOMEM;
		return -1;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		curl_global_cleanup();
		errno = ENOMEM;
		return -1;
	}
	e->loop = loop;
	if (opts)
		e->opts = *opts;
	e->opts.ca_file = NULL;
	if (e->opts.connect_timeout_ms <= 0)
		e->opts.connect_timeout_ms = 10000;
	if (e->opts.timeout_ms <= 0)
		e->opts.timeout_ms = 60000;
	if (e->opts.max_attempts <= 0)
		e->opts.max_attempts = 5;
	if (e->opts.backoff_base_ms <= 0)
		e->opts.backoff_base_ms = 200;
	if (e->opts.backoff_max_ms <= 0)
		e->opts.backoff_max_ms = 30000;
	if (e->opts.backoff_max_ms < e->opts.backoff_base_ms)
		e->opts.backoff_max_ms = e->opts.backoff_base_ms;
	ev_init(&e->timer, on_curl_timeout);
	e->timer.data = e;
	e->rng = ((uint64_t)(ev_time() * 1e6) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)e) | 1;
	if (opts && opts->ca_file && !(e->ca_file = dup_str(opts->ca_file)))
		goto nomem;
	e->multi = curl_multi_init();
	if (!e->multi)
		goto nomem;
	if (curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e) != CURLM_OK ||
	    curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e) != CURLM_OK)
		goto nomem;
	*out = e;
	return 0;
nomem:
	engine_destroy(e);
	errno = ENOMEM;
	return -1;
}

void http_engine_free(http_engine *e)
{
	if (!e || e->dead)
		return;
	cancel_all(e);
	if (e->depth > 0) {
		/* Called from a callback: our frames below still use `e`. */
		e->dead = 1;
		return;
	}
	engine_destroy(e);
}

size_t http_engine_pending(const http_engine *e)
{
	return e ? e->n_pending : 0;
}

/* Methods are case-sensitive tokens; we only send the standard upper-case ones. */
static int method_is_valid(const char *m)
{
	size_t i;

	for (i = 0; m[i]; i++)
		if (m[i] < 'A' || m[i] > 'Z' || i >= 16)
			return 0;
	return i > 0;
}

#define TRY(call)                                                                                            \
	do {                                                                                                 \
		CURLcode rc_ = (call);                                                                       \
		if (rc_ != CURLE_OK)                                                                         \
			return rc_;                                                                          \
	} while (0)

static CURLcode configure_easy(http_engine *e, struct http_xfer *x, long timeout_ms, int loopback)
{
	CURL *c = x->easy;

	TRY(curl_easy_setopt(c, CURLOPT_PRIVATE, (void *)x));
	TRY(curl_easy_setopt(c, CURLOPT_URL, x->url));
#if LIBCURL_VERSION_NUM >= 0x075500
	TRY(curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https"));
	TRY(curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
#else
	TRY(curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)));
	TRY(curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)));
#endif
	/* A Location header is data for the caller (ARM LROs), never followed. */
	TRY(curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L));
	TRY(curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L));
	TRY(curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L));
	TRY(curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L));
	TRY(curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2));
	/* With OpenSSL and a default CA path (Debian's libcurl), the system
	 * store stays trusted through CAPATH: ca_file adds to it. */
	if (e->ca_file)
		TRY(curl_easy_setopt(c, CURLOPT_CAINFO, e->ca_file));
	/* A proxy from the environment must not see plain-http traffic that
	 * we only allow because it stays on this machine. */
	if (loopback)
		TRY(curl_easy_setopt(c, CURLOPT_PROXY, ""));
	TRY(curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1));
	TRY(curl_easy_setopt(c, CURLOPT_USERAGENT, HTTP_USER_AGENT));
	TRY(curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""));
	TRY(curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L));
	TRY(curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, e->opts.connect_timeout_ms));
	TRY(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms));
	TRY(curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_BODY_MAX));
	TRY(curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf));
	TRY(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body));
	TRY(curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)x));
	TRY(curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header));
	TRY(curl_easy_setopt(c, CURLOPT_HEADERDATA, (void *)x));
	TRY(curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->headers));
	if (strcmp(x->method, "GET") == 0 && !x->body) {
		TRY(curl_easy_setopt(c, CURLOPT_HTTPGET, 1L));
	} else if (strcmp(x->method, "HEAD") == 0 && !x->body) {
		TRY(curl_easy_setopt(c, CURLOPT_NOBODY, 1L));
	} else {
		/* Writes always carry a Content-Length, even when empty: some
		 * servers answer 411 otherwise. */
		if (x->body || !strcmp(x->method, "POST") || !strcmp(x->method, "PUT") ||
		    !strcmp(x->method, "PATCH")) {
			TRY(curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len));
			TRY(curl_easy_setopt(c, CURLOPT_POSTFIELDS, x->body ? x->body : x->empty));
		}
		TRY(curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, x->method));
	}
	return CURLE_OK;
}

#undef TRY

/* Copies the caller's headers; rejects CR/LF (header injection). Adds an empty
 * "Expect:" so curl does not stall large bodies waiting for 100 Continue. */
static int build_headers(struct http_xfer *x, const char *const *headers)
{
	struct curl_slist *l;
	int have_expect = 0;
	size_t i;

	for (i = 0; headers && headers[i]; i++) {
		if (strpbrk(headers[i], "\r\n") || !strpbrk(headers[i], ":;"))
			return -EINVAL;
		if (strncasecmp(headers[i], "Expect:", 7) == 0)
			have_expect = 1;
		l = curl_slist_append(x->headers, headers[i]);
		if (!l)
			return -ENOMEM;
		x->headers = l;
	}
	if (!have_expect) {
		l = curl_slist_append(x->headers, "Expect:");
		if (!l)
			return -ENOMEM;
		x->headers = l;
	}
	return 0;
}

int http_engine_send(http_engine *e, const http_request *req, http_done_fn done, void *arg)
{
	struct http_xfer *x = NULL;
	char *scheme = NULL, *host = NULL;
	int rc, loopback, err = ENOMEM;
	size_t rlen;

	if (!e || e->dead || !req || !done || !req->method || !req->url || !method_is_valid(req->method) ||
	    (req->body_len > 0 && !req->body) || req->timeout_ms < 0) {
		errno = EINVAL;
		return -1;
	}
	rc = url_scheme_host(req->url, &scheme, &host);
	if (rc != 0) {
		errno = -rc;
		return -1;
	}
	loopback = host_is_loopback(host);
	rc = strcasecmp(scheme, "https") == 0 || (strcasecmp(scheme, "http") == 0 && loopback);
	curl_free(scheme);
	curl_free(host);
	if (!rc) {
		errno = EINVAL; /* TLS for everything that leaves the machine */
		return -1;
	}

	x = calloc(1, sizeof(*x));
	if (!x)
		goto fail;
	x->e = e;
	x->flags = req->flags;
	x->done = done;
	x->arg = arg;
	ev_init(&x->retry, retry_fire);
	x->retry.data = x;
	x->service = dup_str(req->service ? req->service : "http");
	x->method = dup_str(req->method);
	x->url = dup_str(req->url);
	/* Worst case every 3 bytes ("&k=") gain an 8-byte "REDACTED". */
	rlen = strlen(req->url);
	rlen = rlen < SIZE_MAX / 4 - 32 ? 4 * rlen + 32 : 0;
	x->redacted_url = rlen ? malloc(rlen) : NULL;
	if (!x->service || !x->method || !x->url || !x->redacted_url)
		goto fail;
	http_redact_url(req->url, x->redacted_url, rlen);
	if (req->body) {
		x->body = dup_mem(req->body, req->body_len);
		if (!x->body)
			goto fail;
		x->body_len = req->body_len;
	}
	rc = build_headers(x, req->headers);
	if (rc != 0) {
		err = -rc;
		goto fail;
	}
	x->easy = curl_easy_init();
	if (!x->easy)
		goto fail;
	if (configure_easy(e, x, req->timeout_ms > 0 ? req->timeout_ms : e->opts.timeout_ms, loopback) !=
	    CURLE_OK)
		goto fail;
	x->started = ev_time();
	if (start_attempt(e, x) != 0)
		goto fail;
	xfer_link(e, x);
	return 0;
fail:
	if (x)
		xfer_free(e, x);
	errno = err;
	return -1;
}
