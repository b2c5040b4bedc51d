/* runnerfleet — the command line. Parses arguments, loads specs, wires the
 * event loop, HTTP engine and clients together, runs passes and prints
 * results. The only place that exits. */
#include <cjson/cJSON.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/render.h"
#include "core/resource.h"
#include "http/http.h"
#include "reconcile.h"
#include "spec/spec.h"
#include "util/log.h"
#include "util/state.h"

#ifndef RF_VERSION
#define RF_VERSION "dev"
#endif

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_CHANGES = 2, EXIT_USAGE = 64 };

typedef struct cli_opts {
	const char *command;
	const char *paths[256];
	int n_paths;
	const char *state_dir;
	const char *ca_file;
	const char *fleet; /* render: which fleet */
	bool json;
	bool detailed_exitcode;
	bool help;
	log_level level;
	log_format format;
} cli_opts;

static const char *usage_main =
	"runnerfleet " RF_VERSION " — keeps GitLab runner fleets on Azure true to their RunnerFleet specs\n"
	"\n"
	"Usage: runnerfleet COMMAND [options] PATH...\n"
	"\n"
	"Commands:\n"
	"  validate PATH...   check specs statically (no secret read, no API called)\n"
	"  plan PATH...       show what apply would change (--json, --detailed-exitcode)\n"
	"  apply PATH...      converge every fleet once, then exit\n"
	"  delete PATH...     delete everything the fleets own, in reverse order\n"
	"  render PATH        print the manager's config.toml and install script, secrets redacted\n"
	"  version            print the version\n"
	"\n"
	"PATH is a spec file or a folder (searched recursively for *.yaml and *.yml).\n"
	"\n"
	"Options:\n"
	"  --state-dir DIR    where runner tokens are kept (default $RUNNERFLEET_STATE_DIR,\n"
	"                     else $XDG_STATE_HOME/runnerfleet, else ~/.local/state/runnerfleet)\n"
	"  --ca-file FILE     extra CA bundle to trust (default $RUNNERFLEET_CA_FILE)\n"
	"  --log-level LEVEL  debug, info, warn or error (default info)\n"
	"  --log-format FMT   json, text or auto (default auto: text on a terminal)\n"
	"  -h, --help         help for a command: runnerfleet COMMAND --help\n"
	"\n"
	"Environment: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE,\n"
	"AZURE_SUBSCRIPTION_ID, AZURE_ARM_ENDPOINT, AZURE_AUTHORITY_HOST; RUNNERFLEET_GITLAB_URL overrides\n"
	"every fleet's spec.gitlab.url (for tests against simulators).\n";

static const char *command_help(const char *cmd)
{
	if (strcmp(cmd, "validate") == 0)
		return "Usage: runnerfleet validate [--json] PATH...\n\n"
		       "Reads every RunnerFleet document under PATH and reports each problem as\n"
		       "file:line:column: error: field: message. Documents of other kinds are skipped.\n"
		       "Static: reads no secret and calls no API. Exit 0 when all are valid, 1 otherwise.\n"
		       "  --json   the diagnostics as a JSON array on stdout\n";
	if (strcmp(cmd, "plan") == 0)
		return "Usage: runnerfleet plan [--json] [--detailed-exitcode] PATH...\n\n"
		       "Observes what exists in Azure and GitLab and shows, per fleet, what apply would\n"
		       "create (+), update (~) or delete (-), and what it refuses to touch (!). Writes nothing.\n"
		       "  --json                the plan as JSON on stdout\n"
		       "  --detailed-exitcode   exit 0: no changes, 1: error, 2: changes to apply\n";
	if (strcmp(cmd, "apply") == 0)
		return "Usage: runnerfleet apply PATH...\n\n"
		       "Converges every fleet once: observe, plan, run every ready action in parallel along\n"
		       "the dependency graph, observe again until nothing is left to do, then exit.\n"
		       "A bad spec or a failing fleet never stops the others; the exit code is 1 if any failed.\n";
	if (strcmp(cmd, "delete") == 0)
		return "Usage: runnerfleet delete PATH...\n\n"
		       "Deletes everything the fleets own, in reverse dependency order, waiting for each\n"
		       "deletion, and removes the runner registration runnerfleet created (apiToken) from\n"
		       "GitLab; a runner made in GitLab's UI (runnerToken) is left to its owner. A resource\n"
		       "group is deleted only when it holds nothing else. Deleting twice is a no-op.\n";
	if (strcmp(cmd, "render") == 0)
		return "Usage: runnerfleet render [--fleet NAME] PATH\n\n"
		       "Prints the manager's config.toml and the install script its extension runs, exactly\n"
		       "as applied but with secrets redacted. With a folder, --fleet picks the fleet\n"
		       "(metadata.name, or namespace/name).\n";
	if (strcmp(cmd, "version") == 0)
		return "Usage: runnerfleet version\n";
	return NULL;
}

static int parse_args(int argc, char **argv, cli_opts *o)
{
	memset(o, 0, sizeof *o);
	o->level = LOG_INFO;
	o->format = LOG_FORMAT_AUTO;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                                                 \
	do {                                                                                                         \
		if (!next) {                                                                                         \
			fprintf(stderr, "runnerfleet: %s needs a value\n", a);                                       \
			return -1;                                                                                   \
		}                                                                                                    \
		i++;                                                                                                 \
	} while (0)
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "help") == 0) {
			o->help = true;
		} else if (strcmp(a, "--json") == 0) {
			o->json = true;
		} else if (strcmp(a, "--detailed-exitcode") == 0) {
			o->detailed_exitcode = true;
		} else if (strcmp(a, "--state-dir") == 0) {
			NEED_VALUE();
			o->state_dir = next;
		} else if (strcmp(a, "--ca-file") == 0) {
			NEED_VALUE();
			o->ca_file = next;
		} else if (strcmp(a, "--fleet") == 0) {
			NEED_VALUE();
			o->fleet = next;
		} else if (strcmp(a, "--log-level") == 0) {
			NEED_VALUE();
			if (log_parse_level(next, &o->level) != 0) {
				fprintf(stderr, "runnerfleet: --log-level takes debug, info, warn or error, not %s\n", next);
				return -1;
			}
		} else if (strcmp(a, "--log-format") == 0) {
			NEED_VALUE();
			if (log_parse_format(next, &o->format) != 0) {
				fprintf(stderr, "runnerfleet: --log-format takes json, text or auto, not %s\n", next);
				return -1;
			}
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "runnerfleet: unknown option %s (see runnerfleet --help)\n", a);
			return -1;
		} else if (!o->command) {
			o->command = a;
		} else if (o->n_paths < (int)(sizeof o->paths / sizeof o->paths[0])) {
			o->paths[o->n_paths++] = a;
		} else {
			fprintf(stderr, "runnerfleet: too many paths\n");
			return -1;
		}
#undef NEED_VALUE
	}
	return 0;
}

/* ---- spec loading --------------------------------------------------------- */

static int load_specs(const cli_opts *o, spec_set *set, spec_diags *diags)
{
	int rc = 0;
	for (int i = 0; i < o->n_paths; i++)
		if (spec_load_path(set, diags, o->paths[i]) != 0)
			rc = -1; /* a diagnostic says why */
	spec_check_set(set, diags);
	return diags->n || rc ? -1 : 0;
}

static void print_diags(const spec_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		char *s = spec_diag_format(&d->items[i]);
		if (s)
			fprintf(stderr, "%s\n", s);
		free(s);
	}
}

/* A fleet named in a cross-file diagnostic is reported and not acted on. */
static bool fleet_has_diag(const spec_fleet *f, const spec_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->items[i].file && strcmp(d->items[i].file, f->file) == 0 && d->items[i].pos.line == f->pos.line)
			return true;
	return false;
}

static int cmd_validate(const cli_opts *o)
{
	spec_set set = {0};
	spec_diags diags = {0};
	load_specs(o, &set, &diags);
	if (o->json) {
		cJSON *arr = cJSON_CreateArray();
		for (size_t i = 0; arr && i < diags.n; i++) {
			const spec_diag *d = &diags.items[i];
			cJSON *e = cJSON_CreateObject();
			if (!e)
				break;
			cJSON_AddStringToObject(e, "file", d->file ? d->file : "");
			cJSON_AddNumberToObject(e, "line", d->pos.line);
			cJSON_AddNumberToObject(e, "column", d->pos.col);
			cJSON_AddStringToObject(e, "field", d->field ? d->field : "");
			cJSON_AddStringToObject(e, "message", d->message ? d->message : "");
			cJSON_AddStringToObject(e, "severity", "error");
			cJSON_AddItemToArray(arr, e);
		}
		char *s = cJSON_Print(arr);
		if (s)
			printf("%s\n", s);
		cJSON_free(s);
		cJSON_Delete(arr);
	} else {
		print_diags(&diags);
		if (!diags.n)
			printf("%zu fleet(s) valid\n", set.n);
	}
	int rc = diags.n ? EXIT_ERROR : EXIT_OK;
	spec_set_free(&set);
	spec_diags_free(&diags);
	return rc;
}

/* ---- passes --------------------------------------------------------------- */

typedef struct run_ctx {
	struct ev_loop *loop;
	int outstanding;
} run_ctx;

static void on_pass_done(fleet_pass *p, void *arg)
{
	(void)p;
	run_ctx *rc = arg;
	if (--rc->outstanding == 0)
		ev_break(rc->loop, EVBREAK_ALL);
}

static void on_http_attempt(void *arg, const char *service, const char *method, const char *url, long status,
			    double seconds)
{
	(void)arg;
	log_debug(NULL, "%s %s %s -> %ld (%.3fs)", service, method, url, status, seconds);
}

static void print_plan_text(fleet_pass **passes, size_t n, const char *verb)
{
	int creates = 0, updates = 0, deletes = 0, conflicts = 0, errors = 0;
	for (size_t i = 0; i < n; i++) {
		const plan *pl = fleet_pass_plan(passes[i]);
		const spec_fleet *f = fleet_pass_fleet(passes[i]);
		char key[RF_NAME_MAX];
		spec_fleet_key(f, key, sizeof key);
		if (!pl || fleet_pass_failed(passes[i]))
			errors++;
		if (!pl) {
			printf("fleet %s (%s): error: %s\n\n", key, f->file, fleet_pass_error(passes[i]));
			continue;
		}
		if (pl->changes == 0 && pl->conflicts == 0) {
			printf("fleet %s (%s): no changes\n\n", key, f->file);
			continue;
		}
		printf("fleet %s (%s):\n", key, f->file);
		for (int k = 0; k < RK_COUNT; k++) {
			const plan_item *it = &pl->items[k];
			if (it->op == PLAN_NOOP)
				continue;
			creates += it->op == PLAN_CREATE;
			updates += it->op == PLAN_UPDATE;
			deletes += it->op == PLAN_DELETE;
			conflicts += it->op == PLAN_CONFLICT;
			printf("  %s %-26s %s\n", plan_op_symbol(it->op), rf_kind_name((rf_kind)k),
			       fleet_pass_name(passes[i], (rf_kind)k));
			if (it->detail) {
				/* indent each line of the detail */
				const char *s = it->detail;
				while (*s) {
					const char *e = strchr(s, '\n');
					int len = e ? (int)(e - s) : (int)strlen(s);
					if (len)
						printf("        %.*s\n", len, s);
					s += len + (e ? 1 : 0);
				}
			}
		}
		printf("\n");
	}
	if (errors)
		printf("%s: %d fleet(s) could not be planned; see the errors above.\n", verb, errors);
	if (creates + updates + deletes + conflicts == 0 && !errors)
		printf("No changes. Every fleet matches its spec.\n");
	else if (creates + updates + deletes + conflicts > 0)
		printf("%s: %d to create, %d to update, %d to delete, %d conflict(s).\n", verb, creates, updates, deletes,
		       conflicts);
}

static void print_plan_json(fleet_pass **passes, size_t n)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(root, "fleets");
	int changes = 0, conflicts = 0;
	for (size_t i = 0; arr && i < n; i++) {
		const plan *pl = fleet_pass_plan(passes[i]);
		const spec_fleet *f = fleet_pass_fleet(passes[i]);
		char key[RF_NAME_MAX];
		spec_fleet_key(f, key, sizeof key);
		cJSON *fo = cJSON_CreateObject();
		if (!fo)
			break;
		cJSON_AddItemToArray(arr, fo);
		cJSON_AddStringToObject(fo, "fleet", key);
		cJSON_AddStringToObject(fo, "file", f->file);
		if (fleet_pass_failed(passes[i]))
			cJSON_AddStringToObject(fo, "error", fleet_pass_error(passes[i]));
		cJSON *acts = cJSON_AddArrayToObject(fo, "actions");
		for (int k = 0; pl && acts && k < RK_COUNT; k++) {
			const plan_item *it = &pl->items[k];
			if (it->op == PLAN_NOOP)
				continue;
			changes += it->op != PLAN_CONFLICT;
			conflicts += it->op == PLAN_CONFLICT;
			cJSON *a = cJSON_CreateObject();
			if (!a)
				break;
			cJSON_AddStringToObject(a, "action", plan_op_verb(it->op));
			cJSON_AddStringToObject(a, "kind", rf_kind_name((rf_kind)k));
			cJSON_AddStringToObject(a, "type", rf_kind_arm_type((rf_kind)k));
			cJSON_AddStringToObject(a, "name", fleet_pass_name(passes[i], (rf_kind)k));
			if (*fleet_pass_id(passes[i], (rf_kind)k))
				cJSON_AddStringToObject(a, "id", fleet_pass_id(passes[i], (rf_kind)k));
			if (it->detail)
				cJSON_AddStringToObject(a, "detail", it->detail);
			cJSON_AddItemToArray(acts, a);
		}
	}
	cJSON *sum = cJSON_AddObjectToObject(root, "summary");
	if (sum) {
		cJSON_AddNumberToObject(sum, "changes", changes);
		cJSON_AddNumberToObject(sum, "conflicts", conflicts);
	}
	char *s = cJSON_Print(root);
	if (s)
		printf("%s\n", s);
	cJSON_free(s);
	cJSON_Delete(root);
}

static int cmd_passes(const cli_opts *o, pass_kind kind)
{
	int rc = EXIT_OK;
	spec_set set = {0};
	spec_diags diags = {0};
	http_engine *http = NULL;
	arm_client *arm = NULL;
	fleet_pass **passes = NULL;
	size_t n_passes = 0;

	if (load_specs(o, &set, &diags) != 0) {
		print_diags(&diags);
		rc = EXIT_ERROR; /* the valid fleets still go ahead */
	}
	if (set.n == 0) {
		if (diags.n == 0)
			fprintf(stderr, "runnerfleet: no RunnerFleet found in the given paths\n");
		rc = EXIT_ERROR;
		goto cleanup;
	}

	char state_dir[4096];
	if (state_dir_resolve(state_dir, sizeof state_dir, o->state_dir) != 0) {
		fprintf(stderr, "runnerfleet: no state folder: pass --state-dir or set RUNNERFLEET_STATE_DIR\n");
		rc = EXIT_ERROR;
		goto cleanup;
	}

	struct ev_loop *loop = ev_default_loop(0);
	http_engine_opts hopts = {0};
	hopts.ca_file = o->ca_file ? o->ca_file : getenv("RUNNERFLEET_CA_FILE");
	hopts.on_attempt = on_http_attempt;
	if (http_engine_new(&http, loop, &hopts) != 0) {
		fprintf(stderr, "runnerfleet: cannot start the HTTP engine\n");
		rc = EXIT_ERROR;
		goto cleanup;
	}
	arm_config acfg;
	arm_config_from_env(&acfg);
	char arm_err[512] = "";
	if (arm_client_new(&arm, loop, http, &acfg, arm_err, sizeof arm_err) != 0)
		arm = NULL;

	rf_env env = {
		.loop = loop,
		.http = http,
		.arm = arm,
		.arm_error = arm_err,
		.state_dir = state_dir,
		.gitlab_url_override = getenv("RUNNERFLEET_GITLAB_URL"),
		.default_subscription = getenv("AZURE_SUBSCRIPTION_ID"),
	};
	if (env.gitlab_url_override && !*env.gitlab_url_override)
		env.gitlab_url_override = NULL;
	if (env.gitlab_url_override)
		log_warn(NULL, "RUNNERFLEET_GITLAB_URL is set: every fleet talks to %s instead of its spec.gitlab.url",
			 env.gitlab_url_override);

	passes = calloc(set.n, sizeof *passes);
	if (!passes) {
		rc = EXIT_ERROR;
		goto cleanup;
	}
	run_ctx run = {loop, 0};
	for (size_t i = 0; i < set.n; i++) {
		if (fleet_has_diag(set.fleets[i], &diags))
			continue;
		fleet_pass *p = NULL;
		run.outstanding++;
		if (fleet_pass_start(&p, &env, set.fleets[i], kind, on_pass_done, &run) != 0) {
			run.outstanding--;
			fprintf(stderr, "runnerfleet: cannot start fleet %s\n", set.fleets[i]->name);
			rc = EXIT_ERROR;
			continue;
		}
		passes[n_passes++] = p;
	}
	if (run.outstanding > 0)
		ev_run(loop, 0);

	bool any_failed = false, any_changes = false;
	for (size_t i = 0; i < n_passes; i++) {
		any_failed |= fleet_pass_failed(passes[i]);
		const plan *pl = fleet_pass_plan(passes[i]);
		any_changes |= pl && pl->changes > 0;
	}
	if (kind == PASS_PLAN) {
		if (o->json)
			print_plan_json(passes, n_passes);
		else
			print_plan_text(passes, n_passes, "Plan");
	} else {
		int writes = 0, ok = 0;
		for (size_t i = 0; i < n_passes; i++) {
			writes += fleet_pass_writes(passes[i]);
			ok += !fleet_pass_failed(passes[i]);
		}
		printf("%s: %d of %zu fleet(s) %s, %d change(s) made.\n", kind == PASS_DELETE ? "Delete" : "Apply", ok,
		       n_passes, kind == PASS_DELETE ? "deleted" : "converged", writes);
		for (size_t i = 0; i < n_passes; i++) {
			if (!fleet_pass_failed(passes[i]))
				continue;
			char key[RF_NAME_MAX];
			spec_fleet_key(fleet_pass_fleet(passes[i]), key, sizeof key);
			printf("  %s: %s\n", key, fleet_pass_error(passes[i]));
		}
	}
	if (any_failed)
		rc = EXIT_ERROR;
	else if (kind == PASS_PLAN && o->detailed_exitcode && any_changes && rc == EXIT_OK)
		rc = EXIT_CHANGES;

cleanup:
	for (size_t i = 0; i < n_passes; i++)
		fleet_pass_free(passes[i]);
	free(passes);
	arm_client_free(arm);
	http_engine_free(http);
	spec_set_free(&set);
	spec_diags_free(&diags);
	return rc;
}

static int cmd_render(const cli_opts *o)
{
	spec_set set = {0};
	spec_diags diags = {0};
	int rc = EXIT_ERROR;
	if (load_specs(o, &set, &diags) != 0)
		print_diags(&diags);
	const spec_fleet *pick = NULL;
	for (size_t i = 0; i < set.n; i++) {
		char key[RF_NAME_MAX];
		spec_fleet_key(set.fleets[i], key, sizeof key);
		if (!o->fleet || strcmp(o->fleet, set.fleets[i]->name) == 0 || strcmp(o->fleet, key) == 0) {
			if (pick) {
				fprintf(stderr, "runnerfleet: several fleets found; pick one with --fleet NAME\n");
				goto out;
			}
			pick = set.fleets[i];
		}
	}
	if (!pick) {
		fprintf(stderr, "runnerfleet: no fleet%s%s found\n", o->fleet ? " " : "", o->fleet ? o->fleet : "");
		goto out;
	}
	if (pick->autoscaler.mode != SPEC_MODE_MANAGER) {
		fprintf(stderr, "runnerfleet: fleet %s runs in controller mode: there is no manager to configure\n",
			pick->name);
		goto out;
	}
	const char *sub = pick->azure.subscription_id ? pick->azure.subscription_id : getenv("AZURE_SUBSCRIPTION_ID");
	fleet_names names;
	if (fleet_names_resolve(&names, pick, sub ? sub : "00000000-0000-0000-0000-000000000000") != 0)
		goto out;
	const char *url = getenv("RUNNERFLEET_GITLAB_URL");
	render_input in = {pick, &names, url && *url ? url : pick->gitlab.url, NULL, NULL};
	char *script = render_manager_script(&in, true);
	if (!script)
		goto out;
	fputs(script, stdout);
	free(script);
	rc = EXIT_OK;
out:
	spec_set_free(&set);
	spec_diags_free(&diags);
	return rc;
}

int main(int argc, char **argv)
{
	cli_opts o;
	if (parse_args(argc, argv, &o) != 0)
		return EXIT_USAGE;
	if (!o.command) {
		fputs(usage_main, o.help ? stdout : stderr);
		return o.help ? EXIT_OK : EXIT_USAGE;
	}
	if (o.help) {
		const char *h = command_help(o.command);
		fputs(h ? h : usage_main, stdout);
		return EXIT_OK;
	}
	log_init(o.level, o.format);
	if (strcmp(o.command, "version") == 0) {
		printf("runnerfleet %s\n", RF_VERSION);
		return EXIT_OK;
	}
	if (!command_help(o.command)) {
		fprintf(stderr, "runnerfleet: unknown command %s (see runnerfleet --help)\n", o.command);
		return EXIT_USAGE;
	}
	if (o.n_paths == 0) {
		fprintf(stderr, "runnerfleet %s: give at least one spec file or folder\n", o.command);
		return EXIT_USAGE;
	}
	if (strcmp(o.command, "validate") == 0)
		return cmd_validate(&o);
	if (strcmp(o.command, "render") == 0)
		return cmd_render(&o);
	if (strcmp(o.command, "plan") == 0)
		return cmd_passes(&o, PASS_PLAN);
	if (strcmp(o.command, "apply") == 0)
		return cmd_passes(&o, PASS_APPLY);
	return cmd_passes(&o, PASS_DELETE);
}
