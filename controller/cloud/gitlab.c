#include "cloud/gitlab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

struct gl_client {
	http_engine *http;
	char *base;
	char *token; /* secret */
};

typedef struct gl_call {
	gl_done_fn done;
	void *arg;
} gl_call;

int gl_client_new(gl_client **out, http_engine *http, const char *base_url, const char *token)
{
	*out = NULL;
	gl_client *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	c->http = http;
	c->base = strdup(base_url);
	c->token = token ? strdup(token) : NULL;
	if (!c->base || (token && !c->token)) {
		gl_client_free(c);
		return -1;
	}
	size_t n = strlen(c->base);
	while (n > 0 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	*out = c;
	return 0;
}

void gl_client_free(gl_client *c)
{
	if (!c)
		return;
	free(c->base);
	if (c->token) {
		memset(c->token, 0, strlen(c->token));
		free(c->token);
	}
	free(c);
}

/* GitLab says what went wrong in one of three shapes (reference §3.3). */
static void error_text(const http_response *resp, const cJSON *j, char *out, size_t cap)
{
	if (resp->status == 0) {
		snprintf(out, cap, "no answer from GitLab: %s", resp->error);
		return;
	}
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "error_description");
	if (cJSON_IsString(m)) {
		snprintf(out, cap, "%s", m->valuestring);
	} else if (cJSON_IsObject(m)) {
		char *s = cJSON_PrintUnformatted(m);
		snprintf(out, cap, "%s", s ? s : "validation failed");
		cJSON_free(s);
	} else if (cJSON_IsString(e)) {
		snprintf(out, cap, "%s%s%s", e->valuestring, cJSON_IsString(d) ? ": " : "",
			 cJSON_IsString(d) ? d->valuestring : "");
	} else {
		snprintf(out, cap, "HTTP %ld %.200s", resp->status, resp->body ? resp->body : "");
	}
}

static void call_done(const http_response *resp, void *arg)
{
	gl_call *call = arg;
	cJSON *j = resp->body_len ? cJSON_Parse(resp->body) : NULL;
	char msg[1024] = "";
	bool ok = resp->status >= 200 && resp->status <= 299;
	if (!ok)
		error_text(resp, j, msg, sizeof msg);
	const char *next = http_response_header(resp, "X-Next-Page");
	gl_result r = {
		.status = resp->status,
		.ok = ok,
		.body = j,
		.message = msg,
		.next_page = next ? next : "",
		.seconds = resp->seconds,
	};
	gl_done_fn done = call->done;
	void *darg = call->arg;
	free(call);
	done(&r, darg);
	cJSON_Delete(j);
}

int gl_request(gl_client *c, const char *method, const char *path, const cJSON *body, bool retryable,
	       gl_done_fn done, void *arg)
{
	gl_call *call = calloc(1, sizeof *call);
	if (!call)
		return -1;
	call->done = done;
	call->arg = arg;
	char url[4096], auth[1024];
	int n = snprintf(url, sizeof url, "%s/api/v4%s", c->base, path);
	int m = snprintf(auth, sizeof auth, "PRIVATE-TOKEN: %s", c->token ? c->token : "");
	char *json = body ? cJSON_PrintUnformatted(body) : NULL;
	if (n < 0 || (size_t)n >= sizeof url || m < 0 || (size_t)m >= sizeof auth || (body && !json)) {
		free(call);
		cJSON_free(json);
		return -1;
	}
	const char *headers[] = {auth, "Content-Type: application/json", "Accept: application/json", NULL};
	http_request req = {
		.service = "gitlab",
		.method = method,
		.url = url,
		.headers = c->token ? headers : headers + 1,
		.body = json,
		.body_len = json ? strlen(json) : 0,
		.flags = retryable ? HTTP_RETRYABLE : 0,
	};
	int rc = http_engine_send(c->http, &req, call_done, call);
	memset(auth, 0, sizeof auth);
	cJSON_free(json);
	if (rc != 0)
		free(call);
	return rc;
}
