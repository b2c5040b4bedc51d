/* test_http — the HTTP engine against a local Python server
 * (tests/unit/http_test_server.py): plain HTTP, HTTPS with a throw-away CA made
 * here with the openssl command, and HTTPS with a certificate for another host.
 * The pure helpers (redaction, loopback, urlencode, header lookup, Retry-After)
 * are tested table by table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>

#include "http/http.h"

/* ---- fixture: servers and certificates ---------------------------------- */

struct server {
	pid_t pid;
	int port;
};

static struct {
	char dir[64];
	char ca[128];
	struct server plain, tls, wrong_host;
} G;

static void fmt(char *buf, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *buf, size_t cap, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, cap, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "test_http: buffer too small\n");
		abort();
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void script_path(char *buf, size_t cap)
{
	const char *src = getenv("RF_SOURCE_DIR");
	if (src && *src) {
		fmt(buf, cap, "%s/tests/unit/http_test_server.py", src);
	} else {
		/* Built by hand: the script sits next to this file. */
		const char *f = __FILE__, *slash = strrchr(f, '/');
		int dirlen = slash ? (int)(slash - f) : 1;
		fmt(buf, cap, "%.*s/http_test_server.py", dirlen, slash ? f : ".");
	}
}

static int server_start(struct server *s, const char *name, const char *cert, const char *key)
{
	char script[PATH_MAX], portfile[256];
	int i;

	script_path(script, sizeof(script));
	fmt(portfile, sizeof(portfile), "%s/%s.port", G.dir, name);
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		if (cert)
			execlp("python3", "python3", script, portfile, cert, key, (char *)NULL);
		else
			execlp("python3", "python3", script, portfile, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 1500; i++) { /* up to 15 s for python to start */
		FILE *f = fopen(portfile, "r");
		if (f) {
			int ok = fscanf(f, "%d", &s->port) == 1;
			fclose(f);
			if (ok)
				return 0;
		}
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = 0;
			return -1;
		}
		sleep_ms(10);
	}
	return -1;
}

static void server_stop(struct server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

/* A CA, a server certificate for IP:127.0.0.1 and one for DNS:example.invalid. */
static int make_certs(void)
{
	char cmd[4096];

	fmt(cmd, sizeof(cmd),
	    "set -e; cd '%s'; exec >openssl.log 2>&1;"
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
	    " -subj /CN=rf-test-ca -addext basicConstraints=critical,CA:TRUE"
	    " -addext keyUsage=critical,keyCertSign,cRLSign -keyout ca.key -out ca.pem;"
	    "for n in good:IP:127.0.0.1 wrong:DNS:example.invalid; do"
	    "  name=${n%%%%:*}; san=${n#*:};"
	    "  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=$name"
	    "   -keyout $name.key -out $name.csr;"
	    "  printf 'subjectAltName=%%s\\nextendedKeyUsage=serverAuth\\n' \"$san\" > $name.ext;"
	    "  openssl x509 -req -in $name.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
	    "   -extfile $name.ext -out $name.pem;"
	    "done",
	    G.dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
	char cert[128], key[128];

	(void)state;
	/* A proxy from the environment must not matter for loopback URLs;
	 * leave it in place on purpose. */
	fmt(G.dir, sizeof(G.dir), "/tmp/rf_test_http_XXXXXX");
	if (!mkdtemp(G.dir))
		return -1;
	fmt(G.ca, sizeof(G.ca), "%s/ca.pem", G.dir);
	if (make_certs() != 0) {
		fprintf(stderr, "test_http: openssl failed, see %s/openssl.log\n", G.dir);
		return -1;
	}
	if (server_start(&G.plain, "plain", NULL, NULL) != 0)
		return -1;
	fmt(cert, sizeof(cert), "%s/good.pem", G.dir);
	fmt(key, sizeof(key), "%s/good.key", G.dir);
	if (server_start(&G.tls, "tls", cert, key) != 0)
		return -1;
	fmt(cert, sizeof(cert), "%s/wrong.pem", G.dir);
	fmt(key, sizeof(key), "%s/wrong.key", G.dir);
	if (server_start(&G.wrong_host, "wrong", cert, key) != 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	server_stop(&G.plain);
	server_stop(&G.tls);
	server_stop(&G.wrong_host);
	if (G.dir[0]) {
		char cmd[256];
		fmt(cmd, sizeof(cmd), "rm -rf '%s'", G.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "test_http: could not remove %s\n", G.dir);
	}
	return 0;
}

/* ---- per-test harness --------------------------------------------------- */

struct result {
	int called;
	long status;
	int curl_code;
	char error[256];
	char *body;
	size_t body_len;
	char *headers; /* all header lines, '\n'-separated */
	char *x_final, *x_interim, *x_mixed, *x_method;
	int attempts;
	double seconds;
	double at; /* ev_time() when delivered */
};

struct attempt_log {
	int n;
	long status[16];
	char url[16][256];
	char service[32];
};

struct harness {
	struct ev_loop *loop;
	http_engine *e;
	http_engine_opts opts;
	struct attempt_log log;
	int completed;
	ev_timer guard;
	int timed_out;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void record(const http_response *r, struct result *out)
{
	size_t i, len = 0;

	out->called++;
	out->status = r->status;
	out->curl_code = r->curl_code;
	memcpy(out->error, r->error, sizeof(out->error));
	out->body = malloc(r->body_len + 1);
	assert_non_null(out->body);
	memcpy(out->body, r->body, r->body_len + 1); /* includes the engine's NUL */
	out->body_len = r->body_len;
	for (i = 0; i < r->n_headers; i++)
		len += strlen(r->headers[i]) + 1;
	out->headers = calloc(1, len + 1);
	assert_non_null(out->headers);
	for (i = 0, len = 0; i < r->n_headers; i++) {
		size_t n = strlen(r->headers[i]);
		memcpy(out->headers + len, r->headers[i], n);
		out->headers[len + n] = '\n';
		len += n + 1;
	}
	out->x_final = dup_or_null(http_response_header(r, "x-final"));
	out->x_interim = dup_or_null(http_response_header(r, "X-Interim"));
	out->x_mixed = dup_or_null(http_response_header(r, "X-MIXED-CASE"));
	out->x_method = dup_or_null(http_response_header(r, "X-Method"));
	out->attempts = r->attempts;
	out->seconds = r->seconds;
	out->at = ev_time();
}

static void result_clear(struct result *r)
{
	free(r->body);
	free(r->headers);
	free(r->x_final);
	free(r->x_interim);
	free(r->x_mixed);
	free(r->x_method);
	memset(r, 0, sizeof(*r));
}

struct call {
	struct harness *h;
	struct result res;
};

static void on_done(const http_response *r, void *arg)
{
	struct call *c = arg;
	record(r, &c->res);
	c->h->completed++;
}

static void on_attempt(void *arg, const char *service, const char *method, const char *url, long status,
                       double seconds)
{
	struct attempt_log *log = arg;

	(void)method;
	assert_true(seconds >= 0);
	if (log->n < 16) {
		log->status[log->n] = status;
		fmt(log->url[log->n], sizeof(log->url[0]), "%s", url);
	}
	fmt(log->service, sizeof(log->service), "%s", service);
	log->n++;
}

static void on_guard(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct harness *h = w->data;
	(void)revents;
	h->timed_out = 1;
	ev_break(loop, EVBREAK_ALL);
}

static void harness_init(struct harness *h, const http_engine_opts *opts)
{
	memset(h, 0, sizeof(*h));
	h->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(h->loop);
	if (opts)
		h->opts = *opts;
	if (!h->opts.backoff_base_ms)
		h->opts.backoff_base_ms = 5; /* keep the suite fast */
	if (!h->opts.backoff_max_ms)
		h->opts.backoff_max_ms = 50;
	h->opts.on_attempt = on_attempt;
	h->opts.on_attempt_arg = &h->log;
	assert_int_equal(http_engine_new(&h->e, h->loop, &h->opts), 0);
}

static void harness_free(struct harness *h)
{
	http_engine_free(h->e);
	ev_loop_destroy(h->loop);
}

/* Runs the loop until `n` requests completed or `seconds` passed. */
static void run_until(struct harness *h, int n, double seconds)
{
	ev_timer_init(&h->guard, on_guard, seconds, 0.);
	h->guard.data = h;
	h->timed_out = 0;
	ev_timer_start(h->loop, &h->guard);
	while (h->completed < n && !h->timed_out)
		ev_run(h->loop, EVRUN_ONCE);
	ev_timer_stop(h->loop, &h->guard);
	assert_false(h->timed_out);
}

/* Does the loop return on its own, i.e. has nothing been left active on it? */
static int loop_is_idle(struct harness *h)
{
	ev_timer_init(&h->guard, on_guard, 2.0, 0.);
	h->guard.data = h;
	h->timed_out = 0;
	ev_timer_start(h->loop, &h->guard);
	ev_unref(h->loop); /* the guard alone does not keep ev_run going */
	ev_run(h->loop, 0);
	ev_ref(h->loop);
	ev_timer_stop(h->loop, &h->guard);
	return !h->timed_out;
}

/* Runs the loop for `seconds` whatever happens. */
static void run_for(struct harness *h, double seconds)
{
	ev_timer_init(&h->guard, on_guard, seconds, 0.);
	h->guard.data = h;
	h->timed_out = 0;
	ev_timer_start(h->loop, &h->guard);
	while (!h->timed_out)
		ev_run(h->loop, EVRUN_ONCE);
}

static void url_for(char *buf, size_t cap, const struct server *s, const char *scheme, const char *path)
{
	fmt(buf, cap, "%s://127.0.0.1:%d%s", scheme, s->port, path);
}

static int send_req(struct harness *h, struct call *c, const char *method, const char *url, unsigned flags)
{
	http_request req = {.service = "test", .method = method, .url = url, .flags = flags};
	c->h = h;
	return http_engine_send(h->e, &req, on_done, c);
}

/* One request, run to completion. */
static void fetch(struct harness *h, struct call *c, const char *path, unsigned flags)
{
	char url[512];
	int before = h->completed;

	url_for(url, sizeof(url), &G.plain, "http", path);
	assert_int_equal(send_req(h, c, "GET", url, flags), 0);
	run_until(h, before + 1, 30);
	assert_int_equal(c->res.called, 1);
}

/* ---- requests and responses --------------------------------------------- */

static void test_get_returns_status_body_and_headers(void **state)
{
	struct harness h;
	struct call c = {0};

	(void)state;
	harness_init(&h, NULL);
	fetch(&h, &c, "/headers", 0);
	assert_int_equal(c.res.status, 200);
	assert_int_equal(c.res.curl_code, 0);
	assert_string_equal(c.res.error, "");
	assert_string_equal(c.res.body, "h");
	assert_int_equal(c.res.body_len, 1);
	assert_string_equal(c.res.x_mixed, "some value"); /* trimmed both sides */
	assert_non_null(strstr(c.res.headers, "Location: https://example.invalid/op/1\n"));
	assert_null(strstr(c.res.headers, "HTTP/1.1")); /* status line is not a header */
	assert_null(strchr(c.res.headers, '\r'));
	assert_int_equal(c.res.attempts, 1);
	assert_true(c.res.seconds >= 0);
	result_clear(&c.res);
	harness_free(&h);
}

static void test_put_body_round_trips_byte_exact(void **state)
{
	static const char body[] = "{\"a\":1}\0\xff\x01 tail";
	const char *hdrs[] = {"Content-Type: application/octet-stream", NULL};
	struct harness h;
	struct call c = {0};
	char url[256];
	http_request req = {
	        .method = "PUT", .url = url, .headers = hdrs, .body = body, .body_len = sizeof(body) - 1};
	char *copy;

	(void)state;
	harness_init(&h, NULL);
	url_for(url, sizeof(url), &G.plain, "http", "/echo?raw=1");
	/* The engine copies: scribbling over the caller's buffer after send is fine. */
	copy = malloc(sizeof(body));
	assert_non_null(copy);
	memcpy(copy, body, sizeof(body));
	req.body = copy;
	c.h = &h;
	assert_int_equal(http_engine_send(h.e, &req, on_done, &c), 0);
	memset(copy, 'Z', sizeof(body));
	free(copy);
	run_until(&h, 1, 30);
	assert_int_equal(c.res.status, 200);
	assert_string_equal(c.res.x_method, "PUT");
	assert_int_equal(c.res.body_len, sizeof(body) - 1);
	assert_memory_equal(c.res.body, body, sizeof(body) - 1);
	result_clear(&c.res);
	harness_free(&h);
}

static void test_request_headers_user_agent_and_no_expect(void **state)
{
	const char *hdrs[] = {"X-Custom: yes", "Authorization: Bearer not-logged", NULL};
	struct harness h;
	struct call c = {0};
	char url[256];
	/* Big enough that curl would otherwise send "Expect: 100-continue". */
	enum { BIG = 2 * 1024 * 1024 };
	char *big = malloc(BIG);
	http_request req = {.method = "POST", .url = url, .headers = hdrs, .body_len = BIG};

	(void)state;
	assert_non_null(big);
	memset(big, 'b', BIG);
	req.body = big;
	harness_init(&h, NULL);
	url_for(url, sizeof(url), &G.plain, "http", "/echo");
	c.h = &h;
	assert_int_equal(http_engine_send(h.e, &req, on_done, &c), 0);
	run_until(&h, 1, 30);
	assert_int_equal(c.res.status, 200);
	assert_non_null(strstr(c.res.body, "\"method\": \"POST\""));
	assert_non_null(strstr(c.res.body, "\"X-Custom\": \"yes\""));
	assert_non_null(strstr(c.res.body, "\"User-Agent\": \"runnerfleet/"));
	assert_non_null(strstr(c.res.body, "\"Content-Length\": \"2097152\""));
	assert_null(strstr(c.res.body, "\"Expect\""));
	result_clear(&c.res);
	harness_free(&h);
	free(big);
}

static void test_write_without_body_sends_content_length_zero(void **state)
{
	struct harness h;
	struct call c = {0}, d = {0};
	char url[256];

	(void)state;
	harness_init(&h, NULL);
	url_for(url, sizeof(url), &G.plain, "http", "/echo");
	assert_int_equal(send_req(&h, &c, "POST", url, 0), 0);
	assert_int_equal(send_req(&h, &d, "DELETE", url, 0), 0);
	run_until(&h, 2, 30);
	assert_non_null(strstr(c.res.body, "\"Content-Length\": \"0\""));
	assert_non_null(strstr(d.res.body, "\"method\": \"DELETE\""));
	result_clear(&c.res);
	result_clear(&d.res);
	harness_free(&h);
}

static void test_head_request_has_empty_body(void **state)
{
	struct harness h;
	struct call c = {0};
	char url[256];

	(void)state;
	harness_init(&h, NULL);
	url_for(url, sizeof(url), &G.plain, "http", "/status/200");
	assert_int_equal(send_req(&h, &c, "HEAD", url, 0), 0);
	run_until(&h, 1, 30);
	assert_int_equal(c.res.status, 200);
	assert_int_equal(c.res.body_len, 0);
	assert_string_equal(c.res.body, "");
	result_clear(&c.res);
	harness_free(&h);
}

static void test_connection_is_reused(void **state)
{
	struct harness h;
	struct call a = {0}, b = {0};
	const char *pa, *pb;

	(void)state;
	harness_init(&h, NULL);
	fetch(&h, &a, "/echo", 0);
	fetch(&h, &b, "/echo", 0);
	pa = strstr(a.res.body, "\"client_port\": ");
	pb = strstr(b.res.body, "\"client_port\": ");
	assert_non_null(pa);
	assert_non_null(pb);
	assert_int_equal(atoi(pa + 15), atoi(pb + 15));
	result_clear(&a.res);
	result_clear(&b.res);
	harness_free(&h);
}

static void test_hundred_concurrent_requests_on_one_loop(void **state)
{
	enum { N = 100 };
	struct harness h;
	struct call *c = calloc(N, sizeof(*c));
	char url[256];
	double t0;
	int i;

	(void)state;
	assert_non_null(c);
	harness_init(&h, NULL);
	url_for(url, sizeof(url), &G.plain, "http", "/slow/300");
	t0 = ev_time();
	for (i = 0; i < N; i++)
		assert_int_equal(send_req(&h, &c[i], "GET", url, 0), 0);
	assert_int_equal(http_engine_pending(h.e), N);
	assert_int_equal(h.completed, 0); /* never delivered from inside send */
	run_until(&h, N, 60);
	/* One after the other would take 30 s. */
	assert_true(ev_time() - t0 < 10.0);
	for (i = 0; i < N; i++) {
		assert_int_equal(c[i].res.called, 1);
		assert_int_equal(c[i].res.status, 200);
		assert_string_equal(c[i].res.body, "slow");
		result_clear(&c[i].res);
	}
	assert_int_equal(http_engine_pending(h.e), 0);
	harness_free(&h);
	free(c);
}

/* ---- retries ------------------------------------------------------------ */

static void test_retry_on_503_then_success(void **state)
{
	struct harness h;
	struct call c = {0};

	(void)state;
	harness_init(&h, NULL);
	fetch(&h, &c, "/fail/2/503?id=r503&private_token=s3cret", HTTP_RETRYABLE);
	assert_int_equal(c.res.status, 200);
	assert_int_equal(c.res.attempts, 3);
	assert_int_equal(h.log.n, 3);
	assert_int_equal(h.log.status[0], 503);
	assert_int_equal(h.log.status[1], 503);
	assert_int_equal(h.log.status[2], 200);
	assert_string_equal(h.log.service, "test");
	/* The hook sees the redacted URL only. */
	assert_non_null(strstr(h.log.url[0], "private_token=REDACTED"));
	assert_null(strstr(h.log.url[0], "s3cret"));
	result_clear(&c.res);
	harness_free(&h);
}

static void test_no_retry_on_permanent_errors(void **state)
{
	static const long codes[] = {400, 401, 403, 404, 409, 410, 422};
	struct harness h;
	char path[64];
	size_t i;

	(void)state;
	harness_init(&h, NULL);
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct call c = {0};
		fmt(path, sizeof(path), "/status/%ld", codes[i]);
		fetch(&h, &c, path, HTTP_RETRYABLE);
		assert_int_equal(c.res.status, codes[i]);
		assert_int_equal(c.res.attempts, 1);
		result_clear(&c.res);
	}
	harness_free(&h);
}

static void test_no_retry_without_retryable_flag(void **state)
{
	struct harness h;
	struct call c = {0}, hits = {0};

	(void)state;
	harness_init(&h, NULL);
	fetch(&h, &c, "/fail/1/503?id=noflag", 0);
	assert_int_equal(c.res.status, 503);
	assert_int_equal(c.res.attempts, 1);
	fetch(&h, &hits, "/hits?id=noflag", 0);
	assert_string_equal(hits.res.body, "1"); /* the server saw it once */
	result_clear(&c.res);
	result_clear(&hits.res);
	harness_free(&h);
}

static void test_arm_conflict_retried_only_for_another_operation(void **state)
{
	struct harness h;
	struct call busy = {0}, other = {0};

	(void)state;
	harness_init(&h, NULL);
	fetch(&h, &busy, "/fail/1/409?id=aoip&body=%7B%22code%22%3A%22AnotherOperationInProgress%22%7D",
	      HTTP_RETRYABLE);
	assert_int_equal(busy.res.status, 200);
	assert_int_equal(busy.res.attempts, 2);
	fetch(&h, &other, "/fail/1/409?id=conflict&body=Conflict", HTTP_RETRYABLE);
	assert_int_equal(other.res.status, 409);
	assert_int_equal(other.res.attempts, 1);
	assert_string_equal(other.res.body, "Conflict");
	result_clear(&busy.res);
	result_clear(&other.res);
	harness_free(&h);
}

static void test_gives_up_after_max_attempts(void **state)
{
	http_engine_opts o = {.max_attempts = 3};
	struct harness h;
	struct call c = {0};

	(void)state;
	harness_init(&h, &o);
	fetch(&h, &c, "/status/500", HTTP_RETRYABLE);
	assert_int_equal(c.res.status, 500);
	assert_int_equal(c.res.attempts, 3);
	assert_string_equal(c.res.body, "status 500"); /* the final response */
	result_clear(&c.res);
	harness_free(&h);
}

static void test_429_retry_after_is_honoured(void **state)
{
	struct harness h;
	struct call c = {0};
	double t0 = ev_time();

	(void)state;
	harness_init(&h, NULL);
	fetch(&h, &c, "/retry-after/1/429?id=ra1&ra=1", HTTP_RETRYABLE);
	assert_int_equal(c.res.status, 200);
	assert_int_equal(c.res.attempts, 2);
	/* backoff_max is 50 ms here: only Retry-After explains a 1 s wait. */
	assert_true(c.res.at - t0 >= 1.0);
	assert_true(c.res.seconds >= 1.0);
	result_clear(&c.res);
	harness_free(&h);
}

static void test_long_retry_after_goes_back_to_the_caller(void **state)
{
	struct harness h;
	struct call c = {0};

	(void)state;
	harness_init(&h, NULL);
	fetch(&h, &c, "/retry-after/1/503?id=ra600&ra=600", HTTP_RETRYABLE);
	/* Ten minutes is for the work queue to schedule, not for the engine to sit on. */
	assert_int_equal(c.res.status, 503);
	assert_int_equal(c.res.attempts, 1);
	assert_true(c.res.seconds < 5.0);
	result_clear(&c.res);
	harness_free(&h);
}

static void test_backoff_grows_between_attempts(void **state)
{
	http_engine_opts o = {.max_attempts = 4, .backoff_base_ms = 100, .backoff_max_ms = 1000};
	struct harness h;
	struct call c = {0};

	(void)state;
	harness_init(&h, &o);
	fetch(&h, &c, "/status/502", HTTP_RETRYABLE);
	assert_int_equal(c.res.attempts, 4);
	/* waits ≥ 50 + 100 + 200 ms (the low end of [0.5, 1) jitter) */
	assert_true(c.res.seconds >= 0.35);
	assert_true(c.res.seconds < 5.0);
	result_clear(&c.res);
	harness_free(&h);
}

/* ---- transport errors --------------------------------------------------- */

static void test_timeout_gives_status_zero_and_error_text(void **state)
{
	struct harness h;
	struct call c = {0};
	char url[256];
	http_request req = {.method = "GET", .url = url, .timeout_ms = 300};

	(void)state;
	harness_init(&h, NULL);
	url_for(url, sizeof(url), &G.plain, "http", "/slow/3000");
	c.h = &h;
	assert_int_equal(http_engine_send(h.e, &req, on_done, &c), 0);
	run_until(&h, 1, 30);
	assert_int_equal(c.res.status, 0);
	assert_int_equal(c.res.curl_code, CURLE_OPERATION_TIMEDOUT);
	assert_non_null(strstr(c.res.error, "timed out"));
	assert_true(c.res.seconds < 2.5);
	assert_string_equal(c.res.body, "");
	result_clear(&c.res);
	harness_free(&h);
}

static void test_dropped_connection_is_status_zero_and_retried(void **state)
{
	struct harness h;
	struct call once = {0}, retried = {0};

	(void)state;
	harness_init(&h, NULL);
	fetch(&h, &once, "/drop?id=drop-always", 0);
	assert_int_equal(once.res.status, 0);
	assert_int_not_equal(once.res.curl_code, 0);
	assert_true(once.res.error[0] != '\0');
	assert_int_equal(once.res.attempts, 1);
	fetch(&h, &retried, "/drop/2?id=drop-twice", HTTP_RETRYABLE);
	assert_int_equal(retried.res.status, 200);
	assert_int_equal(retried.res.attempts, 3);
	result_clear(&once.res);
	result_clear(&retried.res);
	harness_free(&h);
}

static void test_connection_refused_is_retried_then_reported(void **state)
{
	http_engine_opts o = {.max_attempts = 2};
	struct harness h;
	struct call c = {0};
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	char url[128];
	int fd;

	(void)state;
	/* A port that was free a moment ago. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	fmt(url, sizeof(url), "http://localhost:%d/", ntohs(a.sin_port));
	harness_init(&h, &o);
	assert_int_equal(send_req(&h, &c, "GET", url, HTTP_RETRYABLE), 0);
	run_until(&h, 1, 30);
	assert_int_equal(c.res.status, 0);
	assert_int_equal(c.res.curl_code, CURLE_COULDNT_CONNECT);
	assert_int_equal(c.res.attempts, 2);
	result_clear(&c.res);
	harness_free(&h);
}

static void test_response_too_large_is_transport_error(void **state)
{
	static const char *paths[] = {"/big/17000000", "/bigchunked/17000000"};
	struct harness h;
	struct call ok = {0};
	size_t i;

	(void)state;
	harness_init(&h, NULL);
	for (i = 0; i < 2; i++) {
		struct call c = {0};
		fetch(&h, &c, paths[i], HTTP_RETRYABLE);
		assert_int_equal(c.res.status, 0);
		assert_string_equal(c.res.error, "response too large");
		assert_int_equal(c.res.curl_code, CURLE_FILESIZE_EXCEEDED);
		assert_int_equal(c.res.attempts, 1); /* the same again would not help */
		result_clear(&c.res);
	}
	fetch(&h, &ok, "/bigchunked/1000000", 0);
	assert_int_equal(ok.res.status, 200);
	assert_int_equal(ok.res.body_len, 1000000);
	assert_int_equal(strlen(ok.res.body), 1000000);
	result_clear(&ok.res);
	harness_free(&h);
}

static void test_interim_response_headers_are_dropped(void **state)
{
	struct harness h;
	struct call c = {0};

	(void)state;
	harness_init(&h, NULL);
	fetch(&h, &c, "/continue", 0);
	assert_int_equal(c.res.status, 200);
	assert_string_equal(c.res.body, "final");
	assert_string_equal(c.res.x_final, "yes");
	assert_null(c.res.x_interim);
	result_clear(&c.res);
	harness_free(&h);
}

static void test_environment_proxy_not_used_for_loopback(void **state)
{
	static const char *vars[] = {"http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY"};
	char *saved[4];
	struct harness h;
	struct call c = {0};
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		const char *v = getenv(vars[i]);
		saved[i] = v ? strdup(v) : NULL;
		unsetenv(vars[i]);
	}
	/* A proxy that would fail every request it saw. */
	setenv("http_proxy", "http://127.0.0.1:1", 1);
	harness_init(&h, NULL);
	fetch(&h, &c, "/status/204", 0);
	harness_free(&h);
	for (i = 0; i < 4; i++) {
		unsetenv(vars[i]);
		if (saved[i])
			setenv(vars[i], saved[i], 1);
		free(saved[i]);
	}
	assert_int_equal(c.res.status, 204);
	result_clear(&c.res);
}

/* ---- refusing requests synchronously ------------------------------------- */

static void test_bad_requests_refused_synchronously(void **state)
{
	static const char *urls[] = {
	        "http://example.com/",
	        "http://127.0.0.1.nip.io/",
	        "http://localhost.example.com/",
	        "http://127.0.0.1@example.com/",
	        "http://10.0.0.1/",
	        "ftp://127.0.0.1/",
	        "file:///etc/passwd",
	        "not a url",
	        "",
	};
	const char *crlf[] = {"X-Ok: 1", "X-Evil: a\r\nHost: evil", NULL};
	const char *nocolon[] = {"garbage", NULL};
	struct harness h;
	struct call c = {0};
	http_request req = {.method = "GET"};
	size_t i;

	(void)state;
	harness_init(&h, NULL);
	c.h = &h;
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		req.url = urls[i];
		errno = 0;
		assert_int_equal(http_engine_send(h.e, &req, on_done, &c), -1);
		assert_int_equal(errno, EINVAL);
	}
	req.url = "http://127.0.0.1:1/";
	req.method = "get";
	assert_int_equal(http_engine_send(h.e, &req, on_done, &c), -1);
	req.method = "GET\r\nX: y";
	assert_int_equal(http_engine_send(h.e, &req, on_done, &c), -1);
	req.method = "GET";
	req.headers = crlf;
	errno = 0;
	assert_int_equal(http_engine_send(h.e, &req, on_done, &c), -1);
	assert_int_equal(errno, EINVAL);
	req.headers = nocolon;
	assert_int_equal(http_engine_send(h.e, &req, on_done, &c), -1);
	req.headers = NULL;
	req.body_len = 3; /* with no body */
	assert_int_equal(http_engine_send(h.e, &req, on_done, &c), -1);
	req.body_len = 0;
	assert_int_equal(http_engine_send(h.e, &req, NULL, &c), -1);
	assert_int_equal(http_engine_send(h.e, NULL, on_done, &c), -1);
	assert_int_equal(http_engine_send(NULL, &req, on_done, &c), -1);
	assert_int_equal(http_engine_pending(h.e), 0);
	run_for(&h, 0.1);
	assert_int_equal(c.res.called, 0); /* a refused request never calls back */
	assert_int_equal(h.log.n, 0);
	harness_free(&h);
}

static void test_engine_new_checks_arguments(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	http_engine_opts o = {.ca_file = "/nonexistent/ca.pem"};
	http_engine *e = NULL;

	(void)state;
	assert_int_equal(http_engine_new(&e, NULL, NULL), -1);
	assert_null(e);
	assert_int_equal(http_engine_new(&e, loop, &o), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(http_engine_new(&e, loop, NULL), 0);
	assert_int_equal(http_engine_pending(e), 0);
	http_engine_free(e);
	http_engine_free(NULL);
	assert_int_equal(http_engine_pending(NULL), 0);
	ev_loop_destroy(loop);
}

/* ---- callbacks that do things -------------------------------------------- */

struct chain {
	struct harness *h;
	char url[256];
	int left, done;
	long last_status;
};

static void on_chain(const http_response *r, void *arg)
{
	struct chain *ch = arg;
	http_request req = {.method = "GET", .url = ch->url};

	ch->done++;
	ch->last_status = r->status;
	/* Like LRO polling: the next request goes out from the callback. */
	if (--ch->left > 0)
		assert_int_equal(http_engine_send(ch->h->e, &req, on_chain, ch), 0);
	else
		ch->h->completed++;
}

static void test_callback_may_send_again(void **state)
{
	struct harness h;
	struct chain ch = {.h = &h, .left = 5};
	http_request req = {.method = "GET", .url = ch.url};

	(void)state;
	harness_init(&h, NULL);
	url_for(ch.url, sizeof(ch.url), &G.plain, "http", "/status/202");
	assert_int_equal(http_engine_send(h.e, &req, on_chain, &ch), 0);
	run_until(&h, 1, 30);
	assert_int_equal(ch.done, 5);
	assert_int_equal(ch.last_status, 202);
	assert_int_equal(http_engine_pending(h.e), 0);
	harness_free(&h);
}

struct owned {
	struct harness *h;
};

static void on_free_self(const http_response *r, void *arg)
{
	struct owned *o = arg;
	struct harness *h = o->h;

	assert_int_equal(r->status, 200);
	memset(o, 0xAA, sizeof(*o));
	free(o);
	h->completed++;
}

static void test_callback_may_free_its_context(void **state)
{
	struct harness h;
	char url[256];
	http_request req = {.method = "GET", .url = url, .flags = HTTP_RETRYABLE};
	int i;

	(void)state;
	harness_init(&h, NULL);
	url_for(url, sizeof(url), &G.plain, "http", "/status/200");
	for (i = 0; i < 3; i++) {
		struct owned *o = calloc(1, sizeof(*o));
		assert_non_null(o);
		o->h = &h;
		assert_int_equal(http_engine_send(h.e, &req, on_free_self, o), 0);
	}
	run_until(&h, 3, 30);
	harness_free(&h);
}

static void on_never(const http_response *r, void *arg)
{
	(void)r;
	(void)arg;
	fail_msg("callback of a cancelled request was called");
}

static void test_free_with_transfers_in_flight(void **state)
{
	http_engine_opts o = {.backoff_base_ms = 10000, .backoff_max_ms = 10000};
	struct harness h;
	char slow[256], failing[256];
	http_request a = {.method = "GET", .url = slow};
	http_request b = {
	        .method = "PUT", .url = failing, .body = "x", .body_len = 1, .flags = HTTP_RETRYABLE};
	int i;

	(void)state;
	harness_init(&h, &o);
	url_for(slow, sizeof(slow), &G.plain, "http", "/slow/2000");
	url_for(failing, sizeof(failing), &G.plain, "http", "/status/503");
	for (i = 0; i < 10; i++)
		assert_int_equal(http_engine_send(h.e, &a, on_never, NULL), 0);
	assert_int_equal(http_engine_send(h.e, &b, on_never, NULL), 0);
	run_for(&h, 0.5); /* the 503 is now waiting 5-10 s for its retry */
	assert_int_equal(h.log.n, 1);
	assert_int_equal(http_engine_pending(h.e), 11);
	http_engine_free(h.e);
	h.e = NULL;
	assert_true(loop_is_idle(&h)); /* nothing of the engine is left on the loop */
	harness_free(&h);
}

struct killer {
	struct harness *h;
	int calls;
};

static void on_free_engine(const http_response *r, void *arg)
{
	struct killer *k = arg;

	(void)r;
	k->calls++;
	http_engine_free(k->h->e); /* e.g. shutting down from a callback */
	k->h->e = NULL;
	k->h->completed++;
}

static void test_callback_may_free_the_engine(void **state)
{
	struct harness h;
	struct killer k = {.h = &h};
	char fast[256], slow[256];
	http_request a = {.method = "GET", .url = fast};
	http_request b = {.method = "GET", .url = slow};

	(void)state;
	harness_init(&h, NULL);
	url_for(fast, sizeof(fast), &G.plain, "http", "/status/200");
	url_for(slow, sizeof(slow), &G.plain, "http", "/slow/1000");
	assert_int_equal(http_engine_send(h.e, &b, on_free_engine, &k), 0);
	assert_int_equal(http_engine_send(h.e, &a, on_free_engine, &k), 0);
	run_until(&h, 1, 30);
	run_for(&h, 1.5);
	assert_int_equal(k.calls, 1);
	harness_free(&h);
}

/* ---- TLS ---------------------------------------------------------------- */

static void tls_fetch(const struct server *s, const char *ca_file, struct result *out)
{
	http_engine_opts o = {.ca_file = ca_file};
	struct harness h;
	struct call c = {0};
	char url[256];

	harness_init(&h, &o);
	url_for(url, sizeof(url), s, "https", "/echo");
	assert_int_equal(send_req(&h, &c, "GET", url, 0), 0);
	run_until(&h, 1, 30);
	*out = c.res;
	harness_free(&h);
}

static void test_tls_with_ca_file_succeeds(void **state)
{
	struct result r;

	(void)state;
	tls_fetch(&G.tls, G.ca, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"method\": \"GET\""));
	result_clear(&r);
}

static void test_tls_without_ca_file_fails_on_certificate(void **state)
{
	struct result r;

	(void)state;
	tls_fetch(&G.tls, NULL, &r);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.curl_code, CURLE_PEER_FAILED_VERIFICATION);
	assert_non_null(strstr(r.error, "certificate"));
	result_clear(&r);
}

static void test_tls_certificate_for_other_host_refused(void **state)
{
	struct result r;

	(void)state;
	tls_fetch(&G.wrong_host, G.ca, &r);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.curl_code, CURLE_PEER_FAILED_VERIFICATION);
	assert_non_null(strstr(r.error, "certificate"));
	result_clear(&r);
}

/* ---- pure helpers ------------------------------------------------------- */

static void test_redact_url(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	        {"https://gitlab.example.com/api/v4/runners?private_token=abc&x=1",
	         "https://gitlab.example.com/api/v4/runners?private_token=REDACTED&x=1"},
	        {"https://a.blob.core.windows.net/c/b?sv=2020&Signature=abc%2F&sig=def&se=2030",
	         "https://a.blob.core.windows.net/c/b?sv=2020&Signature=REDACTED&sig=REDACTED&se=2030"},
	        {"https://login.example/t?client_assertion=eyJ.x.y&client_secret=s&CODE=c&api-key=k",
	         "https://login.example/"
	         "t?client_assertion=REDACTED&client_secret=REDACTED&CODE=REDACTED&api-key=REDACTED"},
	        {"https://h/p?Password=&user=bob", "https://h/p?Password=REDACTED&user=bob"},
	        {"https://user:pass@host:8443/path?a=1", "https://REDACTED@host:8443/path?a=1"},
	        {"https://u@p@host/x", "https://REDACTED@host/x"},
	        {"https://host/path/a@b?x=1", "https://host/path/a@b?x=1"},
	        {"https://host/cb#access_token=t0k&state=1", "https://host/cb#access_token=REDACTED&state=1"},
	        {"https://host/p?token", "https://host/p?token"},
	        {"https://host/p?api-version=2023-03-01&$skiptoken=xyz",
	         "https://host/p?api-version=2023-03-01&$skiptoken=REDACTED"},
	        {"https://host/plain", "https://host/plain"},
	        {"", ""},
	};
	char buf[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_ptr_equal(http_redact_url(cases[i].in, buf, sizeof(buf)), buf);
		assert_string_equal(buf, cases[i].out);
	}
	assert_string_equal(http_redact_url(NULL, buf, sizeof(buf)), "");
	assert_null(http_redact_url("x", NULL, 0));
}

static void test_redact_url_truncates_without_leaking(void **state)
{
	const char *in = "https://u:pw@h/p?a=1&token=secretvalue&b=2";
	const char *full = "https://REDACTED@h/p?a=1&token=REDACTED&b=2";
	char buf[128];
	size_t cap;

	(void)state;
	for (cap = 1; cap <= strlen(full) + 1; cap++) {
		http_redact_url(in, buf, cap);
		assert_int_equal(strlen(buf), cap - 1);
		assert_memory_equal(buf, full, cap - 1); /* always a prefix of the redacted URL */
	}
}

static void test_url_is_loopback(void **state)
{
	static const struct {
		const char *url;
		int yes;
	} cases[] = {
	        {"http://127.0.0.1:8080/x", 1},
	        {"http://127.5.6.7/", 1},
	        {"https://localhost/", 1},
	        {"http://LOCALHOST:1/", 1},
	        {"http://[::1]:80/", 1},
	        {"http://[0:0:0:0:0:0:0:1]/", 1},
	        {"http://evil.example@127.0.0.1/", 1},
	        {"http://128.0.0.1/", 0},
	        {"http://127.0.0.1.nip.io/", 0},
	        {"http://localhost.example.com/", 0},
	        {"http://127.0.0.1@example.com/", 0},
	        {"http://[::2]/", 0},
	        {"http://example.com/127.0.0.1", 0},
	        {"not a url", 0},
	        {"", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (http_url_is_loopback(cases[i].url) != cases[i].yes)
			fail_msg("http_url_is_loopback(\"%s\") != %d", cases[i].url, cases[i].yes);
	assert_false(http_url_is_loopback(NULL));
}

static void test_urlencode(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	        {"", ""},
	        {"AZaz09-._~", "AZaz09-._~"},
	        {"a b&c=d/e?f", "a%20b%26c%3Dd%2Fe%3Ff"},
	        {"caf\xc3\xa9+%", "caf%C3%A9%2B%25"},
	        {"https://management.azure.com/.default", "https%3A%2F%2Fmanagement.azure.com%2F.default"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = http_urlencode(cases[i].in);
		assert_non_null(s);
		assert_string_equal(s, cases[i].out);
		free(s);
	}
	assert_null(http_urlencode(NULL));
}

static void test_header_lookup_is_case_insensitive(void **state)
{
	char *lines[] = {"Content-Type: application/json", "x-ms-request-id:\t abc", "Location: https://x/op",
	                 "X-Empty:", "Content-Type-Extra: no"};
	http_response r = {.headers = lines, .n_headers = 5};

	(void)state;
	assert_string_equal(http_response_header(&r, "content-type"), "application/json");
	assert_string_equal(http_response_header(&r, "CONTENT-TYPE"), "application/json");
	assert_string_equal(http_response_header(&r, "X-MS-Request-ID"), "abc");
	assert_string_equal(http_response_header(&r, "location"), "https://x/op");
	assert_string_equal(http_response_header(&r, "X-Empty"), "");
	assert_null(http_response_header(&r, "Content"));
	assert_null(http_response_header(&r, "Missing"));
	assert_null(http_response_header(NULL, "Location"));
	assert_null(http_response_header(&r, NULL));
}

static void test_retry_after_parsing(void **state)
{
	static const struct {
		const char *value;
		long ms;
	} cases[] = {
	        {"Retry-After: 0", 0},
	        {"Retry-After: 5", 5000},
	        {"retry-after: 120", 120000},
	        {"Retry-After: 7  ", 7000},
	        {"Retry-After: -1", -1},
	        {"Retry-After: 5x", -1},
	        {"Retry-After: 1.5", -1},
	        {"Retry-After: soon", -1},
	        {"Retry-After:", -1},
	        {"Retry-After: Wed, 21 Oct 2015 07:28:00 GMT", 0}, /* in the past */
	        {"Other: 5", -1},
	};
	char line[128], *lines[1];
	http_response r = {.headers = lines, .n_headers = 1};
	char date[64];
	time_t later = time(NULL) + 30;
	struct tm tm;
	long ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fmt(line, sizeof(line), "%s", cases[i].value);
		lines[0] = line;
		if (http_response_retry_after_ms(&r) != cases[i].ms)
			fail_msg("\"%s\": got %ld, want %ld", cases[i].value,
			         http_response_retry_after_ms(&r), cases[i].ms);
	}
	fmt(line, sizeof(line), "Retry-After: 99999999999999999999999");
	assert_true(http_response_retry_after_ms(&r) > 1000L * 1000 * 1000);
	/* HTTP-date 30 s from now. */
	assert_non_null(gmtime_r(&later, &tm));
	assert_true(strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0);
	fmt(line, sizeof(line), "Retry-After: %s", date);
	ms = http_response_retry_after_ms(&r);
	assert_true(ms >= 28000 && ms <= 30000);
	r.n_headers = 0;
	assert_int_equal(http_response_retry_after_ms(&r), -1);
	assert_int_equal(http_response_retry_after_ms(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_get_returns_status_body_and_headers),
	        cmocka_unit_test(test_put_body_round_trips_byte_exact),
	        cmocka_unit_test(test_request_headers_user_agent_and_no_expect),
	        cmocka_unit_test(test_write_without_body_sends_content_length_zero),
	        cmocka_unit_test(test_head_request_has_empty_body),
	        cmocka_unit_test(test_connection_is_reused),
	        cmocka_unit_test(test_hundred_concurrent_requests_on_one_loop),
	        cmocka_unit_test(test_retry_on_503_then_success),
	        cmocka_unit_test(test_no_retry_on_permanent_errors),
	        cmocka_unit_test(test_no_retry_without_retryable_flag),
	        cmocka_unit_test(test_arm_conflict_retried_only_for_another_operation),
	        cmocka_unit_test(test_gives_up_after_max_attempts),
	        cmocka_unit_test(test_429_retry_after_is_honoured),
	        cmocka_unit_test(test_long_retry_after_goes_back_to_the_caller),
	        cmocka_unit_test(test_backoff_grows_between_attempts),
	        cmocka_unit_test(test_timeout_gives_status_zero_and_error_text),
	        cmocka_unit_test(test_dropped_connection_is_status_zero_and_retried),
	        cmocka_unit_test(test_connection_refused_is_retried_then_reported),
	        cmocka_unit_test(test_response_too_large_is_transport_error),
	        cmocka_unit_test(test_interim_response_headers_are_dropped),
	        cmocka_unit_test(test_environment_proxy_not_used_for_loopback),
	        cmocka_unit_test(test_bad_requests_refused_synchronously),
	        cmocka_unit_test(test_engine_new_checks_arguments),
	        cmocka_unit_test(test_callback_may_send_again),
	        cmocka_unit_test(test_callback_may_free_its_context),
	        cmocka_unit_test(test_free_with_transfers_in_flight),
	        cmocka_unit_test(test_callback_may_free_the_engine),
	        cmocka_unit_test(test_tls_with_ca_file_succeeds),
	        cmocka_unit_test(test_tls_without_ca_file_fails_on_certificate),
	        cmocka_unit_test(test_tls_certificate_for_other_host_refused),
	        cmocka_unit_test(test_redact_url),
	        cmocka_unit_test(test_redact_url_truncates_without_leaking),
	        cmocka_unit_test(test_url_is_loopback),
	        cmocka_unit_test(test_urlencode),
	        cmocka_unit_test(test_header_lookup_is_case_insensitive),
	        cmocka_unit_test(test_retry_after_parsing),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
