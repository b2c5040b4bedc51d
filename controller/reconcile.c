#include "reconcile.h"

#include <ev.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cloud/gitlab.h"
#include "core/desired.h"
#include "core/diff.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/secret.h"
#include "util/state.h"

#define RUNNER_STATE_FILE "runner.json"
#define MAX_RUNNER_MATCHES 16
#define ERR_MAX 2048

typedef enum { ACT_IDLE = 0, ACT_RUNNING, ACT_DONE, ACT_FAILED, ACT_SKIPPED } act_state;

typedef struct kind_ctx {
	fleet_pass *p;
	rf_kind k;
} kind_ctx;

typedef enum { RSTEP_DUPLICATES = 0, RSTEP_TOKEN, RSTEP_FIELDS, RSTEP_END } runner_step;

struct fleet_pass {
	rf_env *env;
	const spec_fleet *f;
	pass_kind kind;
	pass_done_fn done;
	void *arg;

	fleet_names names;
	char gitlab_url[1024];
	gl_client *gl;
	char *runner_token; /* secret */
	bool runner_managed;
	long stored_runner_id;

	cJSON *obs[RK_COUNT];
	kind_ctx kctx[RK_COUNT];
	int pending; /* observations in flight */
	bool observe_failed;

	/* GitLab runner lookup */
	long candidates[MAX_RUNNER_MATCHES];
	int n_candidates;
	long marked[MAX_RUNNER_MATCHES];
	cJSON *marked_json[MAX_RUNNER_MATCHES];
	int n_marked;
	bool runner_foreign;
	long dups[MAX_RUNNER_MATCHES];
	int n_dups;
	int dup_next;
	runner_step rstep;

	plan first;
	bool have_first;
	plan cur;
	act_state act[RK_COUNT];
	bool keep[RK_COUNT]; /* delete mode: left in place on purpose */
	int running;
	int iteration;
	int writes;

	bool failed;
	char error[ERR_MAX];
	ev_timer later;
	int waits; /* rounds spent waiting for operations in flight */
};

#define MAX_WAITS 600

static long wait_interval_ms(void)
{
	const char *v = getenv("RUNNERFLEET_POLL_INTERVAL_MS");
	long ms = v ? strtol(v, NULL, 10) : 0;
	return ms > 0 ? ms : 2000;
}

static void observe(fleet_pass *p);
static void schedule(fleet_pass *p);

/* ---- small helpers ------------------------------------------------------- */

static void pass_error(fleet_pass *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pass_error(fleet_pass *p, const char *fmt, ...)
{
	p->failed = true;
	if (p->error[0])
		return; /* the first error is the one that explains */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->error, sizeof p->error, fmt, ap);
	va_end(ap);
}

static void set_obs(fleet_pass *p, rf_kind k, const cJSON *v)
{
	cJSON_Delete(p->obs[k]);
	p->obs[k] = v ? cJSON_Duplicate(v, 1) : NULL;
}

static void desired_ctx_fill(fleet_pass *p, desired_ctx *c)
{
	memset(c, 0, sizeof *c);
	c->f = p->f;
	c->n = &p->names;
	c->gitlab_url = p->gitlab_url;
	c->runner_token = p->runner_token;
	for (int k = 0; k < RK_COUNT; k++)
		c->observed[k] = p->obs[k];
}

static void plan_input_fill(fleet_pass *p, plan_input *in)
{
	in->runner_managed = p->runner_managed;
	in->runner_token_known = p->runner_token != NULL;
	in->runner_duplicates = p->n_dups;
	in->runner_foreign = p->runner_foreign;
}

static void finish(fleet_pass *p)
{
	if (p->failed)
		log_error(p->names.key, "%s", p->error);
	p->done(p, p->arg);
}

static const char *past(plan_op op)
{
	return op == PLAN_CREATE ? "created" : op == PLAN_DELETE ? "deleted" : "updated";
}

/* ---- the runner token in the state folder -------------------------------- */

static void runner_state_load(fleet_pass *p)
{
	char *s = NULL;
	if (state_read(p->env->state_dir, p->f->namespace, p->f->name, RUNNER_STATE_FILE, &s) != 0)
		return;
	cJSON *j = cJSON_Parse(s);
	secret_free(s);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "token");
	if (cJSON_IsNumber(id) && cJSON_IsString(tok)) {
		p->stored_runner_id = (long)id->valuedouble;
		p->runner_token = strdup(tok->valuestring);
	}
	if (tok && cJSON_IsString(tok))
		memset(tok->valuestring, 0, strlen(tok->valuestring));
	cJSON_Delete(j);
}

/* Written before anything else uses the token: GitLab shows it once. */
static int runner_state_store(fleet_pass *p, long id, const char *token, const cJSON *expires)
{
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return -1;
	cJSON_AddNumberToObject(j, "id", (double)id);
	cJSON_AddStringToObject(j, "token", token);
	cJSON_AddItemToObject(j, "token_expires_at", expires ? cJSON_Duplicate(expires, 1) : cJSON_CreateNull());
	char *s = cJSON_PrintUnformatted(j);
	cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "token");
	memset(t->valuestring, 0, strlen(t->valuestring));
	cJSON_Delete(j);
	if (!s)
		return -1;
	int rc = state_write(p->env->state_dir, p->f->namespace, p->f->name, RUNNER_STATE_FILE, s, strlen(s));
	secret_free(s);
	if (rc == 0) {
		secret_free(p->runner_token);
		p->runner_token = strdup(token);
		p->stored_runner_id = id;
	}
	return rc == 0 && p->runner_token ? 0 : -1;
}

/* ---- observe ------------------------------------------------------------- */

static void observed_all(fleet_pass *p);

static void observation_done(fleet_pass *p)
{
	if (--p->pending == 0)
		observed_all(p);
}

static void on_observe_arm(const arm_result *r, void *arg)
{
	kind_ctx *kc = arg;
	fleet_pass *p = kc->p;
	if (r->ok) {
		set_obs(p, kc->k, r->status == 200 ? r->body : NULL);
	} else {
		p->observe_failed = true;
		if (strcmp(r->code, "AuthenticationFailed") == 0) /* not about this resource */
			pass_error(p, "Azure sign-in failed: %s", r->message);
		else
			pass_error(p, "reading %s %s failed: %s%s%s", rf_kind_name(kc->k), p->names.name[kc->k], r->code,
				   *r->code ? ": " : "", r->message);
	}
	observation_done(p);
}

static void runner_list_page(fleet_pass *p, const char *page);

static void runner_pick(fleet_pass *p)
{
	/* Keep the registration whose token we hold; otherwise the oldest. The
	 * rest are duplicates from an interrupted create: remove them. */
	int keep = -1;
	for (int i = 0; i < p->n_marked; i++)
		if (p->marked[i] == p->stored_runner_id)
			keep = i;
	for (int i = 0; keep < 0 && i < p->n_marked; i++)
		if (keep < 0 || p->marked[i] < p->marked[keep])
			keep = i;
	p->n_dups = 0;
	for (int i = 0; i < p->n_marked; i++) {
		if (i == keep)
			set_obs(p, RK_RUNNER, p->marked_json[i]);
		else
			p->dups[p->n_dups++] = p->marked[i];
		cJSON_Delete(p->marked_json[i]);
		p->marked_json[i] = NULL;
	}
	/* A token for a registration that no longer exists is useless. */
	if (keep < 0 || p->marked[keep] != p->stored_runner_id) {
		secret_free(p->runner_token);
		p->runner_token = NULL;
	}
	observation_done(p);
}

static void on_runner_detail(const gl_result *r, void *arg)
{
	fleet_pass *p = arg;
	char marker[RF_NAME_MAX + 32];
	snprintf(marker, sizeof marker, "%s=%s", RF_TAG_FLEET, p->names.key);
	if (r->ok) {
		const cJSON *note = cJSON_GetObjectItemCaseSensitive(r->body, "maintenance_note");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(r->body, "id");
		if (cJSON_IsString(note) && strstr(note->valuestring, marker) && cJSON_IsNumber(id) &&
		    p->n_marked < MAX_RUNNER_MATCHES) {
			p->marked[p->n_marked] = (long)id->valuedouble;
			p->marked_json[p->n_marked++] = cJSON_Duplicate(r->body, 1);
		} else {
			p->runner_foreign = true;
		}
	} else if (r->status != 404) {
		p->observe_failed = true;
		pass_error(p, "reading the GitLab runner failed (HTTP %ld): %s", r->status, r->message);
	}
	if (--p->n_candidates == 0)
		runner_pick(p);
}

static void runner_fetch_details(fleet_pass *p)
{
	int n = p->n_candidates;
	if (n == 0) {
		runner_pick(p);
		return;
	}
	for (int i = 0; i < n; i++) {
		char path[64];
		snprintf(path, sizeof path, "/runners/%ld", p->candidates[i]);
		if (gl_request(p->gl, "GET", path, NULL, true, on_runner_detail, p) != 0) {
			p->observe_failed = true;
			pass_error(p, "cannot send a GitLab request");
			/* Account for the ones never sent. */
			p->n_candidates -= n - i;
			if (p->n_candidates == 0)
				runner_pick(p);
			return;
		}
	}
}

static void on_runner_list(const gl_result *r, void *arg)
{
	fleet_pass *p = arg;
	if (!r->ok) {
		p->observe_failed = true;
		pass_error(p, "listing GitLab runners failed (HTTP %ld): %s", r->status, r->message);
		observation_done(p);
		return;
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, r->body)
	{
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(it, "description");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
		/* The list carries no tags or notes: match the description here and
		 * check the marker on the details. */
		if (cJSON_IsString(d) && strcmp(d->valuestring, p->names.name[RK_RUNNER]) == 0 && cJSON_IsNumber(id) &&
		    p->n_candidates < MAX_RUNNER_MATCHES)
			p->candidates[p->n_candidates++] = (long)id->valuedouble;
	}
	if (r->next_page && *r->next_page) {
		char page[32];
		snprintf(page, sizeof page, "%s", r->next_page);
		runner_list_page(p, page);
		return;
	}
	runner_fetch_details(p);
}

static void runner_list_page(fleet_pass *p, const char *page)
{
	char path[256];
	const spec_fleet *f = p->f;
	switch (f->gitlab.runner.scope) {
	case SPEC_SCOPE_PROJECT:
		snprintf(path, sizeof path, "/projects/%ld/runners?type=project_type&per_page=100&page=%s",
			 f->gitlab.runner.project_id, page);
		break;
	case SPEC_SCOPE_GROUP:
		snprintf(path, sizeof path, "/groups/%ld/runners?type=group_type&per_page=100&page=%s",
			 f->gitlab.runner.group_id, page);
		break;
	default:
		snprintf(path, sizeof path, "/runners/all?type=instance_type&per_page=100&page=%s", page);
		break;
	}
	if (gl_request(p->gl, "GET", path, NULL, true, on_runner_list, p) != 0) {
		p->observe_failed = true;
		pass_error(p, "cannot send a GitLab request");
		observation_done(p);
	}
}

static void observe(fleet_pass *p)
{
	p->observe_failed = false;
	p->n_candidates = p->n_marked = p->n_dups = 0;
	p->runner_foreign = false;
	p->pending = 1; /* held until every request below is sent */
	for (int k = 0; k < RK_COUNT; k++) {
		set_obs(p, (rf_kind)k, NULL);
		if (!fleet_has_kind(&p->names, p->f, (rf_kind)k))
			continue;
		if (k == RK_RUNNER) {
			if (!p->runner_managed)
				continue;
			p->pending++;
			runner_list_page(p, "1");
			continue;
		}
		p->pending++;
		if (arm_get(p->env->arm, p->names.id[k], rf_kind_api_version((rf_kind)k), on_observe_arm, &p->kctx[k]) !=
		    0) {
			p->observe_failed = true;
			pass_error(p, "cannot send a request to ARM");
			p->pending--;
		}
	}
	observation_done(p);
}

static void describe_remaining(fleet_pass *p, buf *b)
{
	for (int k = 0; k < RK_COUNT; k++) {
		const plan_item *it = &p->cur.items[k];
		if (it->op == PLAN_NOOP)
			continue;
		buf_printf(b, "%s%s %s %s", b->len ? "; " : "", plan_op_verb(it->op), rf_kind_name((rf_kind)k),
			   p->names.name[k]);
		if (it->detail)
			buf_printf(b, " (%.300s)", it->detail);
	}
}

/* A resource still Creating/Updating/Deleting has an operation in flight
 * (perhaps from a run that was killed): never write over it; wait and look
 * again. */
static const char *operation_in_flight(fleet_pass *p, rf_kind *which)
{
	for (int k = 0; k < RK_RUNNER; k++) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(p->obs[k], "properties"), "provisioningState");
		if (!cJSON_IsString(st))
			continue;
		const char *v = st->valuestring;
		if (strcasecmp(v, "Succeeded") && strcasecmp(v, "Failed") && strcasecmp(v, "Canceled")) {
			*which = (rf_kind)k;
			return v;
		}
	}
	return NULL;
}

static void on_wait_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	observe(w->data);
}

static void observed_all(fleet_pass *p)
{
	if (p->observe_failed) {
		finish(p);
		return;
	}
	rf_kind busy;
	const char *busy_state = p->kind == PASS_PLAN ? NULL : operation_in_flight(p, &busy);
	if (busy_state) {
		if (++p->waits > MAX_WAITS) {
			pass_error(p, "%s %s stayed %s; not writing over an operation in flight", rf_kind_name(busy),
				   p->names.name[busy], busy_state);
			finish(p);
			return;
		}
		if (p->waits == 1)
			log_info(p->names.key, "%s %s is %s: waiting for that operation before writing",
				 rf_kind_name(busy), p->names.name[busy], busy_state);
		ev_timer_init(&p->later, on_wait_timer, (double)wait_interval_ms() / 1000.0, 0.0);
		p->later.data = p;
		ev_timer_start(p->env->loop, &p->later);
		return;
	}
	desired_ctx c;
	plan_input in;
	desired_ctx_fill(p, &c);
	plan_input_fill(p, &in);
	plan_free(&p->cur);
	plan_mode mode = p->kind == PASS_DELETE ? PLAN_MODE_DELETE : PLAN_MODE_APPLY;
	if (plan_compute(&p->cur, &c, &in, mode) != 0) {
		pass_error(p, "out of memory while planning");
		finish(p);
		return;
	}
	for (int k = 0; k < RK_COUNT; k++) {
		if (p->keep[k] && p->cur.items[k].op == PLAN_DELETE) {
			p->cur.items[k].op = PLAN_NOOP;
			p->cur.changes--;
		}
	}
	if (!p->have_first) {
		if (plan_compute(&p->first, &c, &in, mode) != 0) {
			pass_error(p, "out of memory while planning");
			finish(p);
			return;
		}
		p->have_first = true;
	}
	if (p->kind == PASS_PLAN) {
		if (p->cur.conflicts)
			pass_error(p, "%d conflict(s): see the plan", p->cur.conflicts);
		finish(p);
		return;
	}
	if (p->cur.changes == 0) {
		if (p->cur.conflicts) {
			buf b;
			buf_init(&b, ERR_MAX);
			for (int k = 0; k < RK_COUNT; k++)
				if (p->cur.items[k].op == PLAN_CONFLICT)
					buf_printf(&b, "%s%s %s %s", b.len ? "; " : "", rf_kind_name((rf_kind)k),
						   p->names.name[k], p->cur.items[k].detail ? p->cur.items[k].detail : "");
			char *s = buf_detach(&b);
			pass_error(p, "conflict: %s", s ? s : "");
			free(s);
		} else if (p->writes || p->iteration == 0) {
			log_info(p->names.key, "%s", p->kind == PASS_DELETE ? "deleted" : "converged");
		}
		finish(p);
		return;
	}
	if (p->iteration >= p->env->max_iterations) {
		buf b;
		buf_init(&b, ERR_MAX);
		describe_remaining(p, &b);
		char *s = buf_detach(&b);
		pass_error(p, "did not converge after %d rounds; still to do: %s", p->iteration, s ? s : "");
		free(s);
		finish(p);
		return;
	}
	memset(p->act, 0, sizeof p->act);
	schedule(p);
}

/* ---- act ----------------------------------------------------------------- */

static bool wants_write(plan_op op)
{
	return op == PLAN_CREATE || op == PLAN_UPDATE || op == PLAN_DELETE;
}

static void round_done(fleet_pass *p)
{
	if (p->failed) {
		finish(p);
		return;
	}
	p->iteration++;
	observe(p);
}

static void action_done(fleet_pass *p, rf_kind k, bool ok, double seconds, bool wrote)
{
	p->running--;
	p->act[k] = ok ? ACT_DONE : ACT_FAILED;
	if (ok && wrote) {
		p->writes++;
		log_info(p->names.key, "%s %s %s (%.1fs)", past(p->cur.items[k].op), rf_kind_name(k), p->names.name[k],
			 seconds);
	}
	schedule(p);
}

/* The VNet is created with our subnet inline; what ARM returned for it is
 * what a GET of the subnet would. */
static void adopt_inline_subnet(fleet_pass *p, const cJSON *vnet)
{
	const cJSON *subnets =
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(vnet, "properties"), "subnets");
	const cJSON *s;
	cJSON_ArrayForEach(s, subnets)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(s, "name");
		if (cJSON_IsString(name) && strcasecmp(name->valuestring, p->names.name[RK_SUBNET]) == 0) {
			set_obs(p, RK_SUBNET, s);
			return;
		}
	}
}

static void on_action_arm(const arm_result *r, void *arg)
{
	kind_ctx *kc = arg;
	fleet_pass *p = kc->p;
	plan_op op = p->cur.items[kc->k].op;
	if (r->ok) {
		set_obs(p, kc->k, op == PLAN_DELETE ? NULL : r->body);
		if (kc->k == RK_VNET && op != PLAN_DELETE)
			adopt_inline_subnet(p, r->body);
	} else {
		pass_error(p, "%s %s %s failed: %s%s%s%s%s", plan_op_verb(op), rf_kind_name(kc->k), p->names.name[kc->k],
			   r->code, *r->code ? ": " : "", r->message, *r->request_id ? " (request id " : "",
			   *r->request_id ? r->request_id : "");
		if (*r->request_id)
			strncat(p->error, ")", sizeof p->error - strlen(p->error) - 1);
	}
	action_done(p, kc->k, r->ok, r->seconds, r->ok);
}

/* A resource group is deleted only when nothing but ours was in it. */
static void on_rg_contents(const arm_result *r, void *arg)
{
	kind_ctx *kc = arg;
	fleet_pass *p = kc->p;
	if (!r->ok) {
		pass_error(p, "listing resource group %s failed: %s: %s", p->names.name[RK_RESOURCE_GROUP], r->code,
			   r->message);
		action_done(p, kc->k, false, r->seconds, false);
		return;
	}
	int foreign = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r->body, "value")) foreign++;
	if (foreign > 0) {
		log_warn(p->names.key, "resource group %s still holds %d resource(s) runnerfleet did not create: left in place",
			 p->names.name[RK_RESOURCE_GROUP], foreign);
		p->keep[RK_RESOURCE_GROUP] = true;
		action_done(p, kc->k, true, r->seconds, false);
		return;
	}
	if (arm_delete(p->env->arm, p->names.id[RK_RESOURCE_GROUP], rf_kind_api_version(RK_RESOURCE_GROUP),
		       on_action_arm, kc) != 0) {
		pass_error(p, "cannot send a request to ARM");
		action_done(p, kc->k, false, 0, false);
	}
}

static void start_arm_action(fleet_pass *p, rf_kind k)
{
	plan_item *it = &p->cur.items[k];
	kind_ctx *kc = &p->kctx[k];
	desired_ctx c;
	desired_ctx_fill(p, &c);
	if (it->op == PLAN_DELETE) {
		int rc;
		if (k == RK_RESOURCE_GROUP) {
			char id[RF_ID_MAX + 16];
			snprintf(id, sizeof id, "%s/resources", p->names.id[k]);
			rc = arm_get(p->env->arm, id, rf_kind_api_version(k), on_rg_contents, kc);
		} else {
			rc = arm_delete(p->env->arm, p->names.id[k], rf_kind_api_version(k), on_action_arm, kc);
		}
		if (rc != 0) {
			pass_error(p, "cannot send a request to ARM");
			action_done(p, k, false, 0, false);
		}
		return;
	}
	{
		/* Inputs known only now (a principal id, a token, a subnet the VNet
		 * PUT created inline) may show there is nothing to write after all. */
		plan_input in;
		plan_input_fill(p, &in);
		plan_item again;
		if (plan_item_compute(&again, &c, &in, PLAN_MODE_APPLY, k) == 0 && again.op == PLAN_NOOP) {
			free(again.detail);
			action_done(p, k, true, 0, false);
			return;
		}
		free(again.detail);
	}
	const char *missing = NULL;
	cJSON *body = desired_body(&c, k, &missing);
	if (!body) {
		pass_error(p, "cannot %s %s %s: %s is not known", plan_op_verb(it->op), rf_kind_name(k), p->names.name[k],
			   missing ? missing : "memory");
		action_done(p, k, false, 0, false);
		return;
	}
	log_info(p->names.key, "%s %s %s ...", it->op == PLAN_CREATE ? "creating" : "updating", rf_kind_name(k),
		 p->names.name[k]);
	int rc = arm_put(p->env->arm, p->names.id[k], rf_kind_api_version(k), body, on_action_arm, kc);
	cJSON_Delete(body);
	if (rc != 0) {
		pass_error(p, "cannot send a request to ARM");
		action_done(p, k, false, 0, false);
	}
}

/* The runner's update is a short sequence: remove duplicates, recover a
 * lost token, then fix the fields that differ. */
static void runner_continue(fleet_pass *p);

static void on_runner_write(const gl_result *r, void *arg)
{
	fleet_pass *p = arg;
	plan_op op = p->cur.items[RK_RUNNER].op;
	if (!r->ok && !(r->status == 404 && (op == PLAN_DELETE || p->rstep == RSTEP_DUPLICATES))) {
		pass_error(p, "%s runner registration %s failed (HTTP %ld): %s", plan_op_verb(op),
			   p->names.name[RK_RUNNER], r->status, r->message);
		action_done(p, RK_RUNNER, false, r->seconds, false);
		return;
	}
	p->writes++;
	switch (p->rstep) {
	case RSTEP_DUPLICATES:
		log_info(p->names.key, "removed duplicate runner registration %ld", p->dups[p->dup_next]);
		p->dup_next++;
		break;
	case RSTEP_TOKEN: {
		const cJSON *tok = cJSON_GetObjectItemCaseSensitive(r->body, "token");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(p->obs[RK_RUNNER], "id");
		if (!cJSON_IsString(tok) || !cJSON_IsNumber(id) ||
		    runner_state_store(p, (long)id->valuedouble, tok->valuestring,
				       cJSON_GetObjectItemCaseSensitive(r->body, "token_expires_at")) != 0) {
			pass_error(p, "could not store the runner token in the state folder %s", p->env->state_dir);
			action_done(p, RK_RUNNER, false, r->seconds, false);
			return;
		}
		log_info(p->names.key, "reset the token of runner %ld (the state folder had none)",
			 (long)id->valuedouble);
		p->rstep = RSTEP_FIELDS;
		break;
	}
	case RSTEP_FIELDS:
		set_obs(p, RK_RUNNER, r->body);
		log_info(p->names.key, "updated runner registration %s (%.1fs)", p->names.name[RK_RUNNER], r->seconds);
		p->rstep = RSTEP_END;
		break;
	case RSTEP_END:
		break;
	}
	runner_continue(p);
}

static void runner_continue(fleet_pass *p)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(p->obs[RK_RUNNER], "id");
	char path[128];
	if (p->rstep == RSTEP_DUPLICATES) {
		if (p->dup_next < p->n_dups) {
			snprintf(path, sizeof path, "/runners/%ld", p->dups[p->dup_next]);
			if (gl_request(p->gl, "DELETE", path, NULL, true, on_runner_write, p) != 0)
				goto send_failed;
			return;
		}
		p->rstep = RSTEP_TOKEN;
	}
	if (p->rstep == RSTEP_TOKEN) {
		if (!p->runner_token && cJSON_IsNumber(id)) {
			snprintf(path, sizeof path, "/runners/%ld/reset_authentication_token", (long)id->valuedouble);
			/* Not retried blindly: each call makes a new token. */
			if (gl_request(p->gl, "POST", path, NULL, false, on_runner_write, p) != 0)
				goto send_failed;
			return;
		}
		p->rstep = RSTEP_FIELDS;
	}
	if (p->rstep == RSTEP_FIELDS) {
		desired_ctx c;
		desired_ctx_fill(p, &c);
		cJSON *view = desired_view(&c, RK_RUNNER, NULL);
		int n = view && p->obs[RK_RUNNER] ? diff_json(view, p->obs[RK_RUNNER], NULL, 0) : 0;
		if (n > 0 && cJSON_IsNumber(id)) {
			snprintf(path, sizeof path, "/runners/%ld", (long)id->valuedouble);
			int rc = gl_request(p->gl, "PUT", path, view, true, on_runner_write, p);
			cJSON_Delete(view);
			if (rc != 0)
				goto send_failed;
			return;
		}
		cJSON_Delete(view);
		p->rstep = RSTEP_END;
	}
	/* Each step counted and logged its own write. */
	action_done(p, RK_RUNNER, true, 0, false);
	return;
send_failed:
	pass_error(p, "cannot send a GitLab request");
	action_done(p, RK_RUNNER, false, 0, false);
}

static void on_runner_created(const gl_result *r, void *arg)
{
	fleet_pass *p = arg;
	if (!r->ok) {
		pass_error(p, "create runner registration %s failed (HTTP %ld): %s", p->names.name[RK_RUNNER], r->status,
			   r->message);
		action_done(p, RK_RUNNER, false, r->seconds, false);
		return;
	}
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(r->body, "id");
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(r->body, "token");
	if (!cJSON_IsNumber(id) || !cJSON_IsString(tok)) {
		pass_error(p, "GitLab created runner registration %s but sent no id or token", p->names.name[RK_RUNNER]);
		action_done(p, RK_RUNNER, false, r->seconds, false);
		return;
	}
	if (runner_state_store(p, (long)id->valuedouble, tok->valuestring,
			       cJSON_GetObjectItemCaseSensitive(r->body, "token_expires_at")) != 0) {
		/* The registration exists and is marked: the next pass finds it
		 * and resets its token. */
		pass_error(p, "could not store the runner token in the state folder %s", p->env->state_dir);
		action_done(p, RK_RUNNER, false, r->seconds, false);
		return;
	}
	cJSON *o = cJSON_CreateObject();
	if (o)
		cJSON_AddNumberToObject(o, "id", id->valuedouble);
	set_obs(p, RK_RUNNER, o);
	cJSON_Delete(o);
	action_done(p, RK_RUNNER, true, r->seconds, true);
}

static void on_runner_deleted(const gl_result *r, void *arg)
{
	fleet_pass *p = arg;
	if (!r->ok && r->status != 404) {
		pass_error(p, "delete runner registration %s failed (HTTP %ld): %s", p->names.name[RK_RUNNER], r->status,
			   r->message);
		action_done(p, RK_RUNNER, false, r->seconds, false);
		return;
	}
	state_remove(p->env->state_dir, p->f->namespace, p->f->name, RUNNER_STATE_FILE);
	set_obs(p, RK_RUNNER, NULL);
	action_done(p, RK_RUNNER, true, r->seconds, true);
}

static void start_runner_action(fleet_pass *p)
{
	plan_op op = p->cur.items[RK_RUNNER].op;
	desired_ctx c;
	desired_ctx_fill(p, &c);
	int rc = 0;
	if (op == PLAN_CREATE) {
		cJSON *body = desired_body(&c, RK_RUNNER, NULL);
		log_info(p->names.key, "creating runner registration %s ...", p->names.name[RK_RUNNER]);
		/* POST /user/runners is not idempotent: never resent blindly. A
		 * lost answer is recovered by the next pass through the marker. */
		rc = body ? gl_request(p->gl, "POST", "/user/runners", body, false, on_runner_created, p) : -1;
		cJSON_Delete(body);
	} else if (op == PLAN_DELETE) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(p->obs[RK_RUNNER], "id");
		char path[64];
		snprintf(path, sizeof path, "/runners/%ld", cJSON_IsNumber(id) ? (long)id->valuedouble : 0L);
		rc = gl_request(p->gl, "DELETE", path, NULL, true, on_runner_deleted, p);
	} else {
		p->rstep = RSTEP_DUPLICATES;
		p->dup_next = 0;
		runner_continue(p);
		return;
	}
	if (rc != 0) {
		pass_error(p, "cannot send a GitLab request");
		action_done(p, RK_RUNNER, false, 0, false);
	}
}

/* Ready when what it needs exists (apply) or what needs it is gone (delete).
 * Returns 1 ready, 0 wait, -1 blocked for good. */
static int readiness(fleet_pass *p, rf_kind k)
{
	bool wait = false;
	if (p->cur.items[k].op == PLAN_DELETE) {
		for (int j = 0; j < RK_COUNT; j++) {
			if (!(rf_kind_deps((rf_kind)j) & (1u << k)) || p->cur.items[j].op != PLAN_DELETE)
				continue;
			if (p->act[j] == ACT_FAILED || p->act[j] == ACT_SKIPPED)
				return -1;
			if (p->act[j] != ACT_DONE)
				wait = true;
		}
		return wait ? 0 : 1;
	}
	unsigned deps = rf_kind_deps(k);
	for (int d = 0; d < RK_COUNT; d++) {
		if (!(deps & (1u << d)))
			continue;
		plan_op dop = p->cur.items[d].op;
		if (dop == PLAN_CONFLICT || p->act[d] == ACT_FAILED || p->act[d] == ACT_SKIPPED)
			return -1;
		if (wants_write(dop) && p->act[d] != ACT_DONE)
			wait = true;
	}
	return wait ? 0 : 1;
}

/* The first dependency that stops `k` (conflict, failed or skipped). */
static rf_kind blocker(fleet_pass *p, rf_kind k)
{
	for (int d = 0; d < RK_COUNT; d++) {
		bool dep = p->cur.items[k].op == PLAN_DELETE ? (rf_kind_deps((rf_kind)d) & (1u << k)) != 0
							     : (rf_kind_deps(k) & (1u << d)) != 0;
		if (dep && (p->cur.items[d].op == PLAN_CONFLICT || p->act[d] == ACT_FAILED || p->act[d] == ACT_SKIPPED))
			return (rf_kind)d;
	}
	return k;
}

static void schedule(fleet_pass *p)
{
	bool progress = true;
	while (progress) {
		progress = false;
		for (int k = 0; k < RK_COUNT; k++) {
			if (!wants_write(p->cur.items[k].op) || p->act[k] != ACT_IDLE)
				continue;
			int r = readiness(p, (rf_kind)k);
			if (r < 0) {
				p->act[k] = ACT_SKIPPED;
				rf_kind b = blocker(p, (rf_kind)k);
				pass_error(p, "%s %s was not attempted: %s %s %s%s%s", rf_kind_name((rf_kind)k),
					   p->names.name[k], rf_kind_name(b), p->names.name[b],
					   p->cur.items[b].op == PLAN_CONFLICT ? "is in conflict" : "failed",
					   p->cur.items[b].detail ? ": " : "",
					   p->cur.items[b].detail ? p->cur.items[b].detail : "");
				progress = true;
			} else if (r > 0) {
				p->act[k] = ACT_RUNNING;
				p->running++;
				progress = true;
				if (k == RK_RUNNER)
					start_runner_action(p);
				else
					start_arm_action(p, (rf_kind)k);
				/* A synchronous failure above already called schedule(). */
				if (p->act[k] != ACT_RUNNING)
					return;
			}
		}
	}
	if (p->running == 0)
		round_done(p);
}

/* ---- life cycle ---------------------------------------------------------- */

static void on_start_failed(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	finish(w->data);
}

/* Problems found before any call still end through the callback, from the
 * loop, like every other outcome. */
static void fail_later(fleet_pass *p)
{
	ev_timer_init(&p->later, on_start_failed, 0.0, 0.0);
	p->later.data = p;
	ev_timer_start(p->env->loop, &p->later);
}

static int prepare(fleet_pass *p)
{
	const spec_fleet *f = p->f;
	rf_env *env = p->env;
	const char *sub = f->azure.subscription_id ? f->azure.subscription_id : env->default_subscription;
	if (!sub || !*sub) {
		pass_error(p, "%s: spec.azure.subscriptionId is not set and neither is AZURE_SUBSCRIPTION_ID", f->file);
		return -1;
	}
	if (fleet_names_resolve(&p->names, f, sub) != 0) {
		pass_error(p, "%s: a name derived from appName %s is too long", f->file, f->app_name);
		return -1;
	}
	if (!env->arm) {
		pass_error(p, "%s", env->arm_error ? env->arm_error : "no Azure client");
		return -1;
	}
	const char *url = env->gitlab_url_override ? env->gitlab_url_override : f->gitlab.url;
	snprintf(p->gitlab_url, sizeof p->gitlab_url, "%s", url);

	char err[512];
	p->runner_managed = f->gitlab.api_token.kind != SPEC_SECRET_NONE;
	if (p->runner_managed) {
		char *api = NULL;
		if (secret_resolve(&f->gitlab.api_token, &api, err, sizeof err) != 0) {
			pass_error(p, "%s: spec.gitlab.apiToken: %s", f->file, err);
			return -1;
		}
		int rc = gl_client_new(&p->gl, env->http, p->gitlab_url, api);
		secret_free(api);
		if (rc != 0) {
			pass_error(p, "out of memory");
			return -1;
		}
		runner_state_load(p);
	} else if (p->kind != PASS_DELETE) {
		if (secret_resolve(&f->gitlab.runner_token, &p->runner_token, err, sizeof err) != 0) {
			pass_error(p, "%s: spec.gitlab.runnerToken: %s", f->file, err);
			return -1;
		}
	}
	/* Check the state folder before anything could create or reset a token
	 * that would then be lost. */
	if (p->runner_managed && p->kind == PASS_APPLY &&
	    state_check_writable(env->state_dir, f->namespace, f->name) != 0) {
		pass_error(p, "the state folder %s is not writable: runner tokens could not be kept", env->state_dir);
		return -1;
	}
	return 0;
}

int fleet_pass_start(fleet_pass **out, rf_env *env, const spec_fleet *f, pass_kind kind, pass_done_fn done,
		     void *arg)
{
	*out = NULL;
	fleet_pass *p = calloc(1, sizeof *p);
	if (!p)
		return -1;
	p->env = env;
	p->f = f;
	p->kind = kind;
	p->done = done;
	p->arg = arg;
	for (int k = 0; k < RK_COUNT; k++) {
		p->kctx[k].p = p;
		p->kctx[k].k = (rf_kind)k;
	}
	if (env->max_iterations <= 0)
		env->max_iterations = 5;
	spec_fleet_key(f, p->names.key, sizeof p->names.key);
	*out = p;
	if (prepare(p) != 0) {
		fail_later(p);
		return 0;
	}
	observe(p);
	return 0;
}

void fleet_pass_free(fleet_pass *p)
{
	if (!p)
		return;
	ev_timer_stop(p->env->loop, &p->later);
	for (int k = 0; k < RK_COUNT; k++)
		cJSON_Delete(p->obs[k]);
	for (int i = 0; i < MAX_RUNNER_MATCHES; i++)
		cJSON_Delete(p->marked_json[i]);
	plan_free(&p->first);
	plan_free(&p->cur);
	gl_client_free(p->gl);
	secret_free(p->runner_token);
	free(p);
}

bool fleet_pass_failed(const fleet_pass *p)
{
	return p->failed;
}

const char *fleet_pass_error(const fleet_pass *p)
{
	return p->error;
}

const plan *fleet_pass_plan(const fleet_pass *p)
{
	return p->have_first ? &p->first : NULL;
}

const spec_fleet *fleet_pass_fleet(const fleet_pass *p)
{
	return p->f;
}

const char *fleet_pass_name(const fleet_pass *p, rf_kind k)
{
	return p->names.name[k];
}

const char *fleet_pass_id(const fleet_pass *p, rf_kind k)
{
	return p->names.id[k];
}

int fleet_pass_writes(const fleet_pass *p)
{
	return p->writes;
}
