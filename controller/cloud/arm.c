#include "cloud/arm.h"

#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/log.h"

#define ARM_DEFAULT_ENDPOINT "https://management.azure.com"
#define ARM_DEFAULT_AUTHORITY "https://login.microsoftonline.com/"
#define TOKEN_REFRESH_MARGIN 300.0 /* seconds before expiry we fetch a new one */
#define URL_MAX 8192

typedef enum { OP_WAIT_TOKEN, OP_INITIAL, OP_POLL_ASYNC, OP_POLL_LOCATION, OP_POLL_RESOURCE, OP_FINAL_GET } op_phase;

typedef struct arm_op {
	arm_client *client;
	struct arm_op *next_waiter;
	char *method;
	char *url;  /* resource URL with api-version */
	char *body; /* request body, may be NULL */
	char *poll_url;
	arm_done_fn done;
	void *arg;
	op_phase phase;
	ev_timer timer;
	ev_tstamp started;
	int requests;
	bool is_delete;
	bool is_get;
} arm_op;

struct arm_client {
	struct ev_loop *loop;
	http_engine *http;
	char *endpoint;
	char *authority;
	char *tenant_id;
	char *client_id;
	char *client_secret;
	char *federated_token_file;
	char *scope;
	long poll_default_ms, poll_min_ms, operation_timeout_ms;

	char *token; /* secret */
	ev_tstamp token_expiry;
	bool token_in_flight;
	arm_op *waiters; /* ops waiting for a token */
	char token_error[512];
};

void arm_config_from_env(arm_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->endpoint = getenv("AZURE_ARM_ENDPOINT");
	cfg->authority = getenv("AZURE_AUTHORITY_HOST");
	cfg->tenant_id = getenv("AZURE_TENANT_ID");
	cfg->client_id = getenv("AZURE_CLIENT_ID");
	cfg->client_secret = getenv("AZURE_CLIENT_SECRET");
	cfg->federated_token_file = getenv("AZURE_FEDERATED_TOKEN_FILE");
	const char *p = getenv("RUNNERFLEET_POLL_INTERVAL_MS");
	if (p)
		cfg->poll_default_ms = strtol(p, NULL, 10);
}

static char *strip_trailing_slash(char *s)
{
	size_t n = s ? strlen(s) : 0;
	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

int arm_client_new(arm_client **out, struct ev_loop *loop, http_engine *http, const arm_config *cfg, char *err,
		   size_t errcap)
{
	*out = NULL;
	if (!cfg->tenant_id || !*cfg->tenant_id || !cfg->client_id || !*cfg->client_id) {
		snprintf(err, errcap,
			 "no Azure credentials: set AZURE_TENANT_ID and AZURE_CLIENT_ID with AZURE_CLIENT_SECRET "
			 "(service principal) or AZURE_FEDERATED_TOKEN_FILE (workload identity)");
		return -1;
	}
	if ((!cfg->client_secret || !*cfg->client_secret) &&
	    (!cfg->federated_token_file || !*cfg->federated_token_file)) {
		snprintf(err, errcap,
			 "no Azure credential: set AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE "
			 "(managed identity through IMDS is not supported yet)");
		return -1;
	}
	arm_client *c = calloc(1, sizeof *c);
	if (!c)
		goto oom;
	c->loop = loop;
	c->http = http;
	c->endpoint = strip_trailing_slash(strdup(cfg->endpoint && *cfg->endpoint ? cfg->endpoint : ARM_DEFAULT_ENDPOINT));
	/* The authority host is used with a trailing slash, as the SDKs do. */
	c->authority = strip_trailing_slash(
		strdup(cfg->authority && *cfg->authority ? cfg->authority : ARM_DEFAULT_AUTHORITY));
	c->tenant_id = strdup(cfg->tenant_id);
	c->client_id = strdup(cfg->client_id);
	c->client_secret = cfg->client_secret && *cfg->client_secret ? strdup(cfg->client_secret) : NULL;
	c->federated_token_file = cfg->federated_token_file && *cfg->federated_token_file
					  ? strdup(cfg->federated_token_file)
					  : NULL;
	const char *scope_env = getenv("AZURE_ARM_SCOPE");
	buf s;
	buf_init(&s, 1024);
	if (scope_env && *scope_env)
		buf_puts(&s, scope_env);
	else
		buf_printf(&s, "%s/.default", strcmp(c->endpoint ? c->endpoint : "", ARM_DEFAULT_ENDPOINT) == 0
						      ? ARM_DEFAULT_ENDPOINT
						      : c->endpoint);
	c->scope = buf_detach(&s);
	c->poll_default_ms = cfg->poll_default_ms > 0 ? cfg->poll_default_ms : 5000;
	c->poll_min_ms = cfg->poll_min_ms > 0 ? cfg->poll_min_ms : 200;
	c->operation_timeout_ms = cfg->operation_timeout_ms > 0 ? cfg->operation_timeout_ms : 30 * 60 * 1000;
	if (!c->endpoint || !c->authority || !c->tenant_id || !c->client_id || !c->scope ||
	    (cfg->client_secret && *cfg->client_secret && !c->client_secret))
		goto oom;
	*out = c;
	return 0;
oom:
	arm_client_free(c);
	snprintf(err, errcap, "out of memory");
	return -1;
}

void arm_client_free(arm_client *c)
{
	if (!c)
		return;
	free(c->endpoint);
	free(c->authority);
	free(c->tenant_id);
	free(c->client_id);
	if (c->client_secret) {
		memset(c->client_secret, 0, strlen(c->client_secret));
		free(c->client_secret);
	}
	free(c->federated_token_file);
	free(c->scope);
	if (c->token) {
		memset(c->token, 0, strlen(c->token));
		free(c->token);
	}
	free(c);
}

/* ---- operations ---------------------------------------------------------- */

static void op_free(arm_op *op)
{
	if (!op)
		return;
	ev_timer_stop(op->client->loop, &op->timer);
	free(op->method);
	free(op->url);
	free(op->body);
	free(op->poll_url);
	free(op);
}

static void error_from_body(const char *body, char *code, size_t code_cap, char *msg, size_t msg_cap)
{
	code[0] = msg[0] = '\0';
	cJSON *j = body ? cJSON_Parse(body) : NULL;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (!cJSON_IsObject(e))
		e = j;
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (cJSON_IsString(c))
		snprintf(code, code_cap, "%s", c->valuestring);
	if (cJSON_IsString(m))
		snprintf(msg, msg_cap, "%s", m->valuestring);
	cJSON_Delete(j);
}

static void op_finish(arm_op *op, long status, bool ok, const cJSON *body, const char *code, const char *message,
		      const char *request_id)
{
	arm_result r = {
		.status = status,
		.ok = ok,
		.body = body,
		.code = code ? code : "",
		.message = message ? message : "",
		.request_id = request_id ? request_id : "",
		.seconds = ev_now(op->client->loop) - op->started,
		.requests = op->requests,
	};
	arm_done_fn done = op->done;
	void *arg = op->arg;
	op_free(op);
	done(&r, arg);
}

static void op_fail_response(arm_op *op, const http_response *resp)
{
	char code[128], msg[1024];
	if (resp->status == 0) {
		op_finish(op, 0, false, NULL, "ConnectionError", resp->error, NULL);
		return;
	}
	error_from_body(resp->body, code, sizeof code, msg, sizeof msg);
	if (!msg[0])
		snprintf(msg, sizeof msg, "HTTP %ld", resp->status);
	op_finish(op, resp->status, false, NULL, code, msg, http_response_header(resp, "x-ms-request-id"));
}

static int op_send(arm_op *op, const char *method, const char *url, const char *body);
static void op_http_done(const http_response *resp, void *arg);

static void op_schedule_poll(arm_op *op, const http_response *resp)
{
	long ms = http_response_retry_after_ms(resp);
	if (ms < 0)
		ms = op->client->poll_default_ms;
	if (ms < op->client->poll_min_ms)
		ms = op->client->poll_min_ms;
	if ((ev_now(op->client->loop) - op->started) * 1000.0 + (double)ms > (double)op->client->operation_timeout_ms) {
		op_finish(op, 0, false, NULL, "OperationTimeout", "the operation did not finish in time", NULL);
		return;
	}
	ev_timer_set(&op->timer, (double)ms / 1000.0, 0.0);
	ev_timer_start(op->client->loop, &op->timer);
}

static void op_poll_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	arm_op *op = w->data;
	const char *url = op->phase == OP_POLL_RESOURCE ? op->url : op->poll_url;
	if (op_send(op, "GET", url, NULL) != 0)
		op_finish(op, 0, false, NULL, "ClientError", "could not send the poll request", NULL);
}

static bool is_terminal(const char *state)
{
	return !state || strcasecmp(state, "Succeeded") == 0 || strcasecmp(state, "Failed") == 0 ||
	       strcasecmp(state, "Canceled") == 0;
}

static const char *provisioning_state(const cJSON *j)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "properties"),
							  "provisioningState");
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The first answer to a write: finished already, or an operation to follow. */
static void on_initial(arm_op *op, const http_response *resp)
{
	const char *rid = http_response_header(resp, "x-ms-request-id");
	if (op->is_get) {
		cJSON *j = resp->status == 200 ? cJSON_Parse(resp->body) : NULL;
		if (resp->status == 200 && !j) {
			op_finish(op, resp->status, false, NULL, "InvalidResponse", "ARM returned a body that is not JSON",
				  rid);
			return;
		}
		if (resp->status == 200) {
			op_finish(op, 200, true, j, NULL, NULL, rid);
			cJSON_Delete(j);
			return;
		}
		if (resp->status == 404) {
			char code[128], msg[1024];
			error_from_body(resp->body, code, sizeof code, msg, sizeof msg);
			/* A missing subscription is an error, not an absent resource. */
			bool absent = strcmp(code, "SubscriptionNotFound") != 0;
			op_finish(op, 404, absent, NULL, code, msg, rid);
			return;
		}
		op_fail_response(op, resp);
		return;
	}
	if (op->is_delete && (resp->status == 404 || resp->status == 204)) {
		char code[128], msg[1024];
		error_from_body(resp->body, code, sizeof code, msg, sizeof msg);
		bool gone = resp->status == 204 || strcmp(code, "SubscriptionNotFound") != 0;
		op_finish(op, resp->status, gone, NULL, code, msg, rid);
		return;
	}
	if (resp->status < 200 || resp->status > 299) {
		op_fail_response(op, resp);
		return;
	}
	const char *async = http_response_header(resp, "Azure-AsyncOperation");
	const char *location = http_response_header(resp, "Location");
	if (async && *async) {
		free(op->poll_url);
		op->poll_url = strdup(async);
		op->phase = OP_POLL_ASYNC;
		op_schedule_poll(op, resp);
		return;
	}
	if (location && *location && resp->status == 202) {
		free(op->poll_url);
		op->poll_url = strdup(location);
		op->phase = OP_POLL_LOCATION;
		op_schedule_poll(op, resp);
		return;
	}
	cJSON *j = resp->body_len ? cJSON_Parse(resp->body) : NULL;
	if (!op->is_delete && j && !is_terminal(provisioning_state(j))) {
		cJSON_Delete(j);
		op->phase = OP_POLL_RESOURCE;
		op_schedule_poll(op, resp);
		return;
	}
	op_finish(op, resp->status, true, j, NULL, NULL, rid);
	cJSON_Delete(j);
}

static void on_async_status(arm_op *op, const http_response *resp)
{
	if (resp->status != 200) {
		/* The status read failed, not (necessarily) the operation. */
		op_fail_response(op, resp);
		return;
	}
	cJSON *j = cJSON_Parse(resp->body);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
	const char *state = cJSON_IsString(st) ? st->valuestring : NULL;
	if (!state || !is_terminal(state)) {
		cJSON_Delete(j);
		op_schedule_poll(op, resp);
		return;
	}
	if (strcasecmp(state, "Succeeded") != 0) {
		char code[128] = "", msg[1024] = "";
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
		snprintf(code, sizeof code, "%s", cJSON_IsString(c) ? c->valuestring : state);
		snprintf(msg, sizeof msg, "%s", cJSON_IsString(m) ? m->valuestring : "the operation did not succeed");
		cJSON_Delete(j);
		op_finish(op, 200, false, NULL, code, msg, NULL);
		return;
	}
	cJSON_Delete(j);
	if (op->is_delete || strcmp(op->method, "POST") == 0) {
		op_finish(op, 200, true, NULL, NULL, NULL, NULL);
		return;
	}
	/* final-state-via azure-async-operation: read the resource itself. */
	op->phase = OP_FINAL_GET;
	if (op_send(op, "GET", op->url, NULL) != 0)
		op_finish(op, 0, false, NULL, "ClientError", "could not send the final GET", NULL);
}

static void op_http_done(const http_response *resp, void *arg)
{
	arm_op *op = arg;
	op->requests += resp->attempts;
	switch (op->phase) {
	case OP_INITIAL:
		on_initial(op, resp);
		break;
	case OP_POLL_ASYNC:
		on_async_status(op, resp);
		break;
	case OP_POLL_LOCATION:
		if (resp->status == 202) {
			op_schedule_poll(op, resp);
		} else if (resp->status >= 200 && resp->status <= 299) {
			cJSON *j = resp->body_len ? cJSON_Parse(resp->body) : NULL;
			op_finish(op, resp->status, true, j, NULL, NULL, NULL);
			cJSON_Delete(j);
		} else {
			op_fail_response(op, resp);
		}
		break;
	case OP_POLL_RESOURCE:
	case OP_FINAL_GET: {
		if (resp->status == 404 && op->is_delete) {
			op_finish(op, 404, true, NULL, NULL, NULL, NULL);
			break;
		}
		if (resp->status != 200) {
			op_fail_response(op, resp);
			break;
		}
		cJSON *j = cJSON_Parse(resp->body);
		const char *ps = provisioning_state(j);
		if (op->phase == OP_POLL_RESOURCE && !is_terminal(ps)) {
			cJSON_Delete(j);
			op_schedule_poll(op, resp);
			break;
		}
		if (ps && strcasecmp(ps, "Succeeded") != 0) {
			op_finish(op, 200, false, j, "ProvisioningFailed", "the resource ended in provisioning state Failed",
				  NULL);
		} else {
			op_finish(op, 200, true, j, NULL, NULL, NULL);
		}
		cJSON_Delete(j);
		break;
	}
	case OP_WAIT_TOKEN:
		break;
	}
}

static int op_send(arm_op *op, const char *method, const char *url, const char *body)
{
	arm_client *c = op->client;
	char auth[8192];
	int n = snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
	if (n < 0 || (size_t)n >= sizeof auth)
		return -1;
	const char *headers[] = {auth, "Content-Type: application/json", "Accept: application/json", NULL};
	/* Every ARM call is idempotent at the HTTP level (PUT/PATCH/DELETE of a
	 * named resource, POST actions on named instances), so it may be
	 * retried. */
	http_request req = {
		.service = "arm",
		.method = method,
		.url = url,
		.headers = headers,
		.body = body,
		.body_len = body ? strlen(body) : 0,
		.flags = HTTP_RETRYABLE,
	};
	int rc = http_engine_send(c->http, &req, op_http_done, op);
	memset(auth, 0, sizeof auth);
	return rc;
}

/* ---- tokens -------------------------------------------------------------- */

static void token_fail_waiters(arm_client *c, const char *msg)
{
	arm_op *w = c->waiters;
	c->waiters = NULL;
	while (w) {
		arm_op *next = w->next_waiter;
		op_finish(w, 0, false, NULL, "AuthenticationFailed", msg, NULL);
		w = next;
	}
}

static void token_release_waiters(arm_client *c)
{
	arm_op *w = c->waiters;
	c->waiters = NULL;
	while (w) {
		arm_op *next = w->next_waiter;
		w->phase = OP_INITIAL;
		if (op_send(w, w->method, w->url, w->body) != 0)
			op_finish(w, 0, false, NULL, "ClientError", "could not send the request", NULL);
		w = next;
	}
}

static void token_done(const http_response *resp, void *arg)
{
	arm_client *c = arg;
	c->token_in_flight = false;
	cJSON *j = resp->status ? cJSON_Parse(resp->body) : NULL;
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "access_token");
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
	if (resp->status != 200 || !cJSON_IsString(tok)) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "error_description");
		char msg[1024];
		if (resp->status == 0)
			snprintf(msg, sizeof msg, "cannot reach the Entra token endpoint: %s", resp->error);
		else
			snprintf(msg, sizeof msg, "Entra sign-in failed (HTTP %ld %s): %s", resp->status,
				 cJSON_IsString(e) ? e->valuestring : "", cJSON_IsString(d) ? d->valuestring : "");
		cJSON_Delete(j);
		log_error(NULL, "%s", msg);
		token_fail_waiters(c, msg);
		return;
	}
	double secs = 3599;
	if (cJSON_IsNumber(exp))
		secs = exp->valuedouble;
	else if (cJSON_IsString(exp))
		secs = strtod(exp->valuestring, NULL); /* IMDS sends strings */
	if (c->token) {
		memset(c->token, 0, strlen(c->token));
		free(c->token);
	}
	c->token = strdup(tok->valuestring);
	c->token_expiry = ev_now(c->loop) + secs;
	cJSON_Delete(j);
	if (!c->token) {
		token_fail_waiters(c, "out of memory");
		return;
	}
	token_release_waiters(c);
}

static char *read_small_file(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *b = malloc(65537);
	size_t n = b ? fread(b, 1, 65536, f) : 0;
	fclose(f);
	if (!b)
		return NULL;
	b[n] = '\0';
	while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r'))
		b[--n] = '\0';
	return b;
}

static int token_request(arm_client *c)
{
	buf form;
	buf_init(&form, 1 << 20);
	char *cid = http_urlencode(c->client_id), *scope = http_urlencode(c->scope), *secret = NULL;
	buf_printf(&form, "grant_type=client_credentials&client_id=%s&scope=%s", cid ? cid : "", scope ? scope : "");
	if (c->client_secret) {
		secret = http_urlencode(c->client_secret);
		buf_printf(&form, "&client_secret=%s", secret ? secret : "");
	} else {
		/* Workload identity: the projected token is rotated by the kubelet,
		 * so it is read again for every sign-in. */
		char *assertion = read_small_file(c->federated_token_file);
		if (!assertion) {
			free(cid);
			free(scope);
			buf_free(&form);
			snprintf(c->token_error, sizeof c->token_error, "cannot read AZURE_FEDERATED_TOKEN_FILE %s",
				 c->federated_token_file);
			return -1;
		}
		secret = http_urlencode(assertion);
		memset(assertion, 0, strlen(assertion));
		free(assertion);
		buf_printf(&form,
			   "&client_assertion_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-assertion-type%%3Ajwt-bearer"
			   "&client_assertion=%s",
			   secret ? secret : "");
	}
	free(cid);
	free(scope);
	if (secret) {
		memset(secret, 0, strlen(secret));
		free(secret);
	}
	char *body = buf_detach(&form);
	char url[URL_MAX];
	int n = snprintf(url, sizeof url, "%s/%s/oauth2/v2.0/token", c->authority, c->tenant_id);
	if (!body || n < 0 || (size_t)n >= sizeof url) {
		free(body);
		return -1;
	}
	const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json", NULL};
	http_request req = {
		.service = "entra",
		.method = "POST",
		.url = url,
		.headers = headers,
		.body = body,
		.body_len = strlen(body),
		.flags = HTTP_RETRYABLE, /* asking for a token twice is harmless */
	};
	int rc = http_engine_send(c->http, &req, token_done, c);
	memset(body, 0, strlen(body));
	free(body);
	if (rc == 0)
		c->token_in_flight = true;
	else
		snprintf(c->token_error, sizeof c->token_error, "cannot send the sign-in request to %.400s", url);
	return rc;
}

/* ---- public calls -------------------------------------------------------- */

static int arm_start(arm_client *c, const char *method, const char *id, const char *suffix, const char *api_version,
		     const cJSON *body, arm_done_fn done, void *arg)
{
	arm_op *op = calloc(1, sizeof *op);
	if (!op)
		return -1;
	op->client = c;
	op->done = done;
	op->arg = arg;
	op->method = strdup(method);
	op->is_delete = strcmp(method, "DELETE") == 0;
	op->is_get = strcmp(method, "GET") == 0;
	op->started = ev_now(c->loop);
	ev_init(&op->timer, op_poll_timer);
	op->timer.data = op;
	buf u;
	buf_init(&u, URL_MAX);
	buf_printf(&u, "%s%s%s?api-version=%s", c->endpoint, id, suffix ? suffix : "", api_version);
	op->url = buf_detach(&u);
	if (body) {
		op->body = cJSON_PrintUnformatted(body);
		if (!op->body)
			goto fail;
	}
	if (!op->method || !op->url)
		goto fail;

	if (c->token && ev_now(c->loop) < c->token_expiry - TOKEN_REFRESH_MARGIN) {
		op->phase = OP_INITIAL;
		if (op_send(op, method, op->url, op->body) != 0)
			goto fail;
		return 0;
	}
	op->phase = OP_WAIT_TOKEN;
	if (!c->token_in_flight && token_request(c) != 0) {
		log_error(NULL, "%s", c->token_error);
		goto fail;
	}
	op->next_waiter = c->waiters;
	c->waiters = op;
	return 0;
fail:
	free(op->method);
	free(op->url);
	free(op->body);
	free(op);
	return -1;
}

int arm_get(arm_client *c, const char *id, const char *api_version, arm_done_fn done, void *arg)
{
	return arm_start(c, "GET", id, NULL, api_version, NULL, done, arg);
}

int arm_put(arm_client *c, const char *id, const char *api_version, const cJSON *body, arm_done_fn done, void *arg)
{
	return arm_start(c, "PUT", id, NULL, api_version, body, done, arg);
}

int arm_patch(arm_client *c, const char *id, const char *api_version, const cJSON *body, arm_done_fn done, void *arg)
{
	return arm_start(c, "PATCH", id, NULL, api_version, body, done, arg);
}

int arm_delete(arm_client *c, const char *id, const char *api_version, arm_done_fn done, void *arg)
{
	return arm_start(c, "DELETE", id, NULL, api_version, NULL, done, arg);
}

int arm_post_action(arm_client *c, const char *id, const char *action, const char *api_version, const cJSON *body,
		    arm_done_fn done, void *arg)
{
	char suffix[128];
	int n = snprintf(suffix, sizeof suffix, "/%s", action);
	if (n < 0 || (size_t)n >= sizeof suffix)
		return -1;
	return arm_start(c, "POST", id, suffix, api_version, body, done, arg);
}
