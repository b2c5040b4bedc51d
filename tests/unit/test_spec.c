/* spec: YAML in, fleets and diagnostics out. Most behaviour is one table row
 * each: a document, and either "valid" or the error it must produce (a
 * substring of the message and the exact field path). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "spec/spec.h"

/* ---- Building blocks of the documents below. HEAD is 4 lines, SPEC 3 and
 * GL_RT 3, so a line added after MIN is line 11. */
#define HEAD "apiVersion: runnerfleet.dev/v1alpha1\nkind: RunnerFleet\nmetadata:\n  name: team-a\n"
#define SPEC "spec:\n  appName: team-a\n  location: westeurope\n"
#define GL_RT "  gitlab:\n    url: https://gitlab.com\n    runnerToken: {env: GITLAB_RUNNER_TOKEN}\n"
#define GL_API "  gitlab:\n    url: https://gitlab.com\n    apiToken: {env: GITLAB_API_TOKEN}\n    runner:\n"
#define MIN HEAD SPEC GL_RT
#define META(body) "apiVersion: runnerfleet.dev/v1alpha1\nkind: RunnerFleet\nmetadata:\n" body SPEC GL_RT
#define APP(app, loc) HEAD "spec:\n  appName: " app "\n  location: " loc "\n" GL_RT
#define URL(u) HEAD SPEC "  gitlab:\n    url: " u "\n    runnerToken: {env: T}\n"
#define TOKEN(t) HEAD SPEC "  gitlab:\n    url: https://gitlab.com\n    runnerToken: " t "\n"
#define AUTOSCALER(body) MIN "  autoscaler:\n" body
#define NETWORK(body) MIN "  network:\n" body
#define MANAGER(body) MIN "  manager:\n" body
#define RUNNER(body) HEAD SPEC GL_API body
#define VNET_ID                                                                                              \
	"/subscriptions/8f7c2d1e-0a4b-4c6d-9e8f-1a2b3c4d5e6f/resourceGroups/net/providers/"                  \
	"Microsoft.Network/virtualNetworks/hub"

typedef struct row {
	const char *name;
	const char *yaml;
	const char *error; /* NULL: valid, one fleet and no diagnostic */
	const char *field; /* path of the diagnostic carrying `error` */
} row;

static const row rows[] = {
        /* well-formed input */
        {"minimal spec is valid", MIN, NULL, NULL},
        {"quoted strings are strings", HEAD "spec:\n  appName: \"team-a\"\n  location: 'westeurope'\n" GL_RT,
         NULL, NULL},
        {"JSON input is valid",
         "{\"apiVersion\": \"runnerfleet.dev/v1alpha1\", \"kind\": \"RunnerFleet\",\n"
         " \"metadata\": {\"name\": \"j\"},\n"
         " \"spec\": {\"appName\": \"j\", \"location\": \"westeurope\",\n"
         "  \"autoscaler\": {\"maxInstances\": 3},\n"
         "  \"gitlab\": {\"url\": \"https://gitlab.com\", \"runnerToken\": {\"env\": \"T\"}}}}\n",
         NULL, NULL},
        {"null optional object is absent", MIN "  workers:\n  autoscaler: ~\n", NULL, NULL},
        {"labels and annotations are maps of strings",
         META("  name: team-a\n  labels: {team: a, tier: \"1\"}\n"
              "  annotations:\n    note: |\n      two\n      lines\n"),
         NULL, NULL},
        {"anchors and aliases may share values",
         MIN "  manager:\n    vmSize: &size Standard_D4s_v5\n  workers:\n    vmSize: *size\n", NULL, NULL},
        {"!!str makes a string", APP("!!str team-a", "westeurope"), NULL, NULL},

        /* required fields */
        {"metadata is required", "apiVersion: runnerfleet.dev/v1alpha1\nkind: RunnerFleet\n" SPEC GL_RT,
         "missing required field \"metadata\"", "metadata"},
        {"metadata.name is required", META("  namespace: ci\n"), "missing required field \"name\"",
         "metadata.name"},
        {"spec is required", HEAD, "missing required field \"spec\"", "spec"},
        {"appName is required", HEAD "spec:\n  location: westeurope\n" GL_RT,
         "missing required field \"appName\"", "spec.appName"},
        {"location is required", HEAD "spec:\n  appName: team-a\n" GL_RT,
         "missing required field \"location\"", "spec.location"},
        {"gitlab is required", HEAD SPEC, "missing required field \"gitlab\"", "spec.gitlab"},
        {"gitlab.url is required", HEAD SPEC "  gitlab:\n    runnerToken: {env: T}\n",
         "missing required field \"url\"", "spec.gitlab.url"},
        {"null for a required field is an error", APP("~", "westeurope"), "required, found null",
         "spec.appName"},
        {"kind is required in runnerfleet.dev documents",
         "apiVersion: runnerfleet.dev/v1alpha1\nmetadata:\n  name: team-a\n" SPEC GL_RT,
         "missing required field \"kind\"", "kind"},
        {"apiVersion is required with kind RunnerFleet",
         "kind: RunnerFleet\nmetadata:\n  name: team-a\n" SPEC GL_RT, "missing required field \"apiVersion\"",
         "apiVersion"},

        /* apiVersion and kind */
        {"unknown version of runnerfleet.dev is an error",
         "apiVersion: runnerfleet.dev/v2\nkind: RunnerFleet\nmetadata:\n  name: team-a\n" SPEC GL_RT,
         "unsupported apiVersion \"runnerfleet.dev/v2\"; expected runnerfleet.dev/v1alpha1", "apiVersion"},
        {"unknown kind of runnerfleet.dev is an error",
         "apiVersion: runnerfleet.dev/v1alpha1\nkind: RunnerPool\n", "unknown kind \"RunnerPool\"", "kind"},
        {"kind RunnerFleet under another group is an error",
         "apiVersion: example.com/v1\nkind: RunnerFleet\n", "unsupported apiVersion", "apiVersion"},

        /* unknown fields */
        {"unknown field suggests the nearest name", AUTOSCALER("    maxInstance: 5\n"),
         "unknown field \"maxInstance\"; did you mean \"maxInstances\"?", "spec.autoscaler.maxInstance"},
        {"unknown top-level field is an error", MIN "extra: 1\n", "unknown field \"extra\"", "extra"},
        {"unknown metadata field suggests", META("  name: team-a\n  nmae: x\n"), "did you mean \"name\"?",
         "metadata.nmae"},
        {"unknown field deep in runner suggests", RUNNER("      projectId: 1\n      tag: [a]\n"),
         "did you mean \"tags\"?", "spec.gitlab.runner.tag"},
        {"field at the wrong level names its place", MIN "  maxInstances: 5\n",
         "did you mean spec.autoscaler.maxInstances?", "spec.maxInstances"},
        {"case-only typo is suggested", MIN "  Workers:\n    vmSize: Standard_D2s_v5\n",
         "did you mean \"workers\"?", "spec.Workers"},
        {"merge keys are refused", AUTOSCALER("    <<: {maxInstances: 3}\n"),
         "merge keys (<<) are not supported", "spec.autoscaler.<<"},

        /* duplicate keys */
        {"duplicate key is an error",
         HEAD "spec:\n  appName: team-a\n  appName: team-b\n  location: westeurope\n" GL_RT,
         "duplicate key \"appName\" (first at line 6)", "spec.appName"},
        {"duplicate nested key is an error", AUTOSCALER("    idleCount: 1\n    idleCount: 2\n"),
         "duplicate key \"idleCount\"", "spec.autoscaler.idleCount"},
        {"duplicate label is an error", META("  name: team-a\n  labels: {a: one, b: two, a: three}\n"),
         "duplicate key \"a\"", "metadata.labels.a"},
        {"duplicate key in a secret reference is an error", TOKEN("{env: A, env: B}"),
         "duplicate key \"env\"", "spec.gitlab.runnerToken.env"},

        /* integers */
        {"maxInstances quoted is not an integer", AUTOSCALER("    maxInstances: \"10\"\n"),
         "expected an integer from 1 to 1000, found the quoted string \"10\"",
         "spec.autoscaler.maxInstances"},
        {"maxInstances 10.5 is not an integer", AUTOSCALER("    maxInstances: 10.5\n"),
         "found the number 10.5", "spec.autoscaler.maxInstances"},
        {"maxInstances in hex is refused", AUTOSCALER("    maxInstances: 0x10\n"),
         "write it in plain decimal", "spec.autoscaler.maxInstances"},
        {"maxInstances with a leading zero is refused", AUTOSCALER("    maxInstances: 010\n"),
         "write it in plain decimal", "spec.autoscaler.maxInstances"},
        {"maxInstances true is refused", AUTOSCALER("    maxInstances: true\n"), "found the boolean true",
         "spec.autoscaler.maxInstances"},
        {"maxInstances 0 is below the range", AUTOSCALER("    maxInstances: 0\n"),
         "expected an integer from 1 to 1000, found 0", "spec.autoscaler.maxInstances"},
        {"maxInstances 1001 is above the range", AUTOSCALER("    maxInstances: 1001\n"), "found 1001",
         "spec.autoscaler.maxInstances"},
        {"maxInstances beyond long is out of range",
         AUTOSCALER("    maxInstances: 99999999999999999999999\n"), "expected an integer from 1 to 1000",
         "spec.autoscaler.maxInstances"},
        {"maxInstances 1 is valid", AUTOSCALER("    maxInstances: 1\n"), NULL, NULL},
        {"maxInstances 1000 with a large subnet is valid",
         MIN "  network:\n    subnetAddressSpace: 10.0.0.0/22\n  autoscaler:\n    maxInstances: 1000\n", NULL,
         NULL},
        {"capacityPerInstance 0 is refused", AUTOSCALER("    capacityPerInstance: 0\n"),
         "expected an integer from 1 to 1000", "spec.autoscaler.capacityPerInstance"},
        {"capacityPerInstance 4 is valid", AUTOSCALER("    capacityPerInstance: 4\n"), NULL, NULL},
        {"idleCount -1 is refused", AUTOSCALER("    idleCount: -1\n"), "expected an integer from 0 to",
         "spec.autoscaler.idleCount"},
        {"idleCount 0 is valid", AUTOSCALER("    idleCount: 0\n"), NULL, NULL},
        {"maximumTimeout below 600 is refused",
         RUNNER("      projectId: 1\n      tags: [a]\n      maximumTimeout: 599\n"),
         "expected an integer of at least 600, found 599", "spec.gitlab.runner.maximumTimeout"},
        {"maximumTimeout 600 is valid",
         RUNNER("      projectId: 1\n      tags: [a]\n      maximumTimeout: 600\n"), NULL, NULL},
        {"projectId 0 is refused", RUNNER("      projectId: 0\n      tags: [a]\n"),
         "expected an integer of at least 1", "spec.gitlab.runner.projectId"},

        /* booleans */
        {"yes is not a boolean", MANAGER("    publicIp: yes\n"), "expected true or false, found yes",
         "spec.manager.publicIp"},
        {"quoted true is not a boolean", MANAGER("    publicIp: \"true\"\n"),
         "found the quoted string \"true\"", "spec.manager.publicIp"},
        {"True is not a boolean", MANAGER("    publicIp: True\n"), "expected true or false",
         "spec.manager.publicIp"},
        {"publicIp true is valid", MANAGER("    publicIp: true\n"), NULL, NULL},

        /* enums */
        {"runnerType is case sensitive and suggests", HEAD SPEC "  runnerType: linux\n" GL_RT,
         "expected one of Linux, Windows, found the string \"linux\"; did you mean \"Linux\"?",
         "spec.runnerType"},
        {"runnerType Windows is valid", HEAD SPEC "  runnerType: Windows\n" GL_RT, NULL, NULL},
        {"mode must be manager or controller", AUTOSCALER("    mode: kubernetes\n"),
         "expected one of manager, controller", "spec.autoscaler.mode"},
        {"mode controller is valid", AUTOSCALER("    mode: controller\n"), NULL, NULL},
        {"scope must be project, group or instance", RUNNER("      scope: organization\n      tags: [a]\n"),
         "expected one of project, group, instance", "spec.gitlab.runner.scope"},

        /* strings, objects, lists */
        {"a number is not a string", APP("123", "westeurope"),
         "found the number 123 (quote it if it is meant as text)", "spec.appName"},
        {"no is not a string", APP("team-a", "no"), "which YAML 1.1 tools read as a boolean",
         "spec.location"},
        {"a mapping is not a string", APP("team-a", "{name: westeurope}"), "found a mapping",
         "spec.location"},
        {"a scalar is not an object", MIN "  autoscaler: 5\n", "expected a mapping, found the number 5",
         "spec.autoscaler"},
        {"a scalar is not a list", RUNNER("      projectId: 1\n      tags: azure\n"), "expected a list of",
         "spec.gitlab.runner.tags"},
        {"label values are strings", META("  name: team-a\n  labels: {a: 1}\n"), "found the number 1",
         "metadata.labels.a"},
        {"unsupported YAML tags are refused", APP("!custom team-a", "westeurope"), "unsupported YAML tag",
         ""},
        {"an alias must name an anchor", MIN "  workers:\n    vmSize: *nope\n", "names no anchor", ""},

        /* durations */
        {"idleTime 1h30m is valid", AUTOSCALER("    idleTime: 1h30m\n"), NULL, NULL},
        {"idleTime 20m0s is valid", AUTOSCALER("    idleTime: 20m0s\n"), NULL, NULL},
        {"idleTime with an unknown unit is refused", AUTOSCALER("    idleTime: 5x\n"), "expected a duration",
         "spec.autoscaler.idleTime"},
        {"idleTime negative is refused", AUTOSCALER("    idleTime: -5m\n"), "expected a duration",
         "spec.autoscaler.idleTime"},
        {"idleTime without a unit is refused", AUTOSCALER("    idleTime: \"30\"\n"), "expected a duration",
         "spec.autoscaler.idleTime"},
        {"idleTime as a bare number is refused", AUTOSCALER("    idleTime: 30\n"), "found the number 30",
         "spec.autoscaler.idleTime"},
        {"idleTime empty is refused", AUTOSCALER("    idleTime: \"\"\n"), "expected a duration",
         "spec.autoscaler.idleTime"},

        /* names */
        {"metadata.name must be a DNS-1123 label", META("  name: Team_A\n"), "expected a DNS-1123 label",
         "metadata.name"},
        {"metadata.name may not end with a hyphen", META("  name: team-\n"), "expected a DNS-1123 label",
         "metadata.name"},
        {"metadata.name of 64 characters is too long",
         META("  name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"), "(at most 63)",
         "metadata.name"},
        {"metadata.name of 63 characters is valid",
         META("  name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"), NULL, NULL},
        {"namespace must be a DNS-1123 label", META("  name: team-a\n  namespace: CI\n"),
         "expected a DNS-1123 label", "metadata.namespace"},
        {"appName must start with a letter", APP("1team", "westeurope"), "expected an app name",
         "spec.appName"},
        {"appName may not hold capitals", APP("Team-a", "westeurope"), "expected an app name",
         "spec.appName"},
        {"appName may not hold underscores", APP("team_a", "westeurope"), "expected an app name",
         "spec.appName"},
        {"appName may not end with a hyphen", APP("team-", "westeurope"), "expected an app name",
         "spec.appName"},
        {"appName of 24 characters is valid", APP("abcdefghijklmnopqrstuvwx", "westeurope"), NULL, NULL},
        {"appName of 25 characters is refused", APP("abcdefghijklmnopqrstuvwxy", "westeurope"),
         "(at most 24)", "spec.appName"},
        {"location must be a region name", APP("team-a", "West Europe"), "expected an Azure region name",
         "spec.location"},

        /* GitLab tokens */
        {"a token is required", HEAD SPEC "  gitlab:\n    url: https://gitlab.com\n", "found neither",
         "spec.gitlab"},
        {"two tokens are refused", MIN "    apiToken: {env: B}\n", "found both", "spec.gitlab.apiToken"},
        {"an inline token is refused", TOKEN("glrt-abc"), "a secret is never written inline",
         "spec.gitlab.runnerToken"},
        {"an inline token error suggests env", TOKEN("glrt-abc"), "{env: GITLAB_RUNNER_TOKEN}",
         "spec.gitlab.runnerToken"},
        {"a secret reference names a source", TOKEN("{}"), "found none", "spec.gitlab.runnerToken"},
        {"a secret reference names one source", TOKEN("{env: A, file: /a}"), "found more than one",
         "spec.gitlab.runnerToken"},
        {"a secret reference has no other keys", TOKEN("{value: x}"),
         "unknown field (not shown); expected env, file or secretRef", "spec.gitlab.runnerToken"},
        {"env must be a variable name", TOKEN("{env: 1X}"), "expected an environment variable name",
         "spec.gitlab.runnerToken.env"},
        {"file must be absolute", TOKEN("{file: token.txt}"), "expected an absolute file path",
         "spec.gitlab.runnerToken.file"},
        {"file token is valid", TOKEN("{file: /run/secrets/token}"), NULL, NULL},
        {"secretRef needs a key", TOKEN("{secretRef: {name: gitlab}}"), "missing required field \"key\"",
         "spec.gitlab.runnerToken.secretRef"},
        {"secretRef name is a DNS subdomain", TOKEN("{secretRef: {name: Gitlab_Token, key: t}}"),
         "expected a DNS-1123 subdomain", "spec.gitlab.runnerToken.secretRef.name"},
        {"secretRef token is valid", TOKEN("{secretRef: {name: gitlab.runner, key: token}}"), NULL, NULL},

        /* the registration made with apiToken */
        {"apiToken with scope project needs projectId", RUNNER("      tags: [a]\n"),
         "required with apiToken and scope project", "spec.gitlab.runner.projectId"},
        {"apiToken with a project runner is valid",
         RUNNER("      scope: project\n      projectId: 12345\n      tags: [azure]\n"), NULL, NULL},
        {"scope group needs groupId", RUNNER("      scope: group\n      tags: [a]\n"),
         "required with apiToken and scope group", "spec.gitlab.runner.groupId"},
        {"scope group with groupId is valid",
         RUNNER("      scope: group\n      groupId: 4\n      tags: [a]\n"), NULL, NULL},
        {"projectId is only for scope project",
         RUNNER("      scope: group\n      groupId: 4\n      projectId: 5\n      tags: [a]\n"),
         "only used with scope project, found scope group", "spec.gitlab.runner.projectId"},
        {"scope instance needs no id", RUNNER("      scope: instance\n      tags: [a]\n"), NULL, NULL},
        {"apiToken without tags picks up no job", RUNNER("      projectId: 1\n"),
         "required when runUntagged is false", "spec.gitlab.runner.tags"},
        {"an empty tags list counts as none", RUNNER("      projectId: 1\n      tags: []\n"),
         "required when runUntagged is false", "spec.gitlab.runner.tags"},
        {"runUntagged true needs no tags", RUNNER("      projectId: 1\n      runUntagged: true\n"), NULL,
         NULL},
        {"a tag with a comma is refused", RUNNER("      projectId: 1\n      tags: [ok, \"a,b\"]\n"),
         "expected a runner tag", "spec.gitlab.runner.tags[1]"},

        /* GitLab URL */
        {"plain http to a remote host is refused", URL("http://gitlab.example.com"),
         "plain http is allowed only to a loopback host", "spec.gitlab.url"},
        {"http to 127.0.0.1 is valid", URL("http://127.0.0.1:8443"), NULL, NULL},
        {"http to 127.10.0.3 is valid", URL("http://127.10.0.3/"), NULL, NULL},
        {"http to localhost is valid", URL("http://localhost:3000/gitlab"), NULL, NULL},
        {"http to [::1] is valid", URL("http://[::1]:8080"), NULL, NULL},
        {"http to 128.0.0.1 is refused", URL("http://128.0.0.1"),
         "plain http is allowed only to a loopback host", "spec.gitlab.url"},
        {"http to a localhost subdomain is refused", URL("http://localhost.example.com"),
         "plain http is allowed only to a loopback host", "spec.gitlab.url"},
        {"ftp is refused", URL("ftp://gitlab.com"), "the scheme must be https://", "spec.gitlab.url"},
        {"a URL needs a host", URL("https://"), "the host is missing", "spec.gitlab.url"},
        {"a URL port is a number", URL("https://gitlab.com:99999"), "the port must be", "spec.gitlab.url"},
        {"credentials in the URL are refused", URL("https://user:hunter2@gitlab.com"),
         "credentials must not be written into the URL", "spec.gitlab.url"},
        {"https with port and path is valid", URL("https://gitlab.example.com:8443/gitlab"), NULL, NULL},

        /* Azure */
        {"subscriptionId must be a GUID", MIN "  azure:\n    subscriptionId: my-subscription\n",
         "expected a GUID", "spec.azure.subscriptionId"},
        {"subscriptionId GUID is valid",
         MIN "  azure:\n    subscriptionId: 8f7c2d1e-0a4b-4c6d-9e8f-1a2b3c4d5e6f\n", NULL, NULL},
        {"resourceGroup may not end with a dot", MIN "  azure:\n    resourceGroup: rg-team.\n",
         "expected a resource group name", "spec.azure.resourceGroup"},
        {"resourceGroup override is valid", MIN "  azure:\n    resourceGroup: RG_Team-A(1)\n", NULL, NULL},
        {"vmSize with a space is refused", MANAGER("    vmSize: Standard D2\n"), "expected an Azure VM size",
         "spec.manager.vmSize"},

        /* network */
        {"CIDR with host bits is refused", NETWORK("    vnetAddressSpace: 10.0.0.1/16\n"),
         "host bits are set; the network is 10.0.0.0/16", "spec.network.vnetAddressSpace"},
        {"CIDR prefix above 32 is refused", NETWORK("    vnetAddressSpace: 10.0.0.0/33\n"),
         "expected an IPv4 CIDR", "spec.network.vnetAddressSpace"},
        {"CIDR with three octets is refused", NETWORK("    vnetAddressSpace: 10.0.0/16\n"),
         "expected an IPv4 CIDR", "spec.network.vnetAddressSpace"},
        {"CIDR with a leading zero is refused", NETWORK("    subnetAddressSpace: 10.0.01.0/24\n"),
         "expected an IPv4 CIDR", "spec.network.subnetAddressSpace"},
        {"subnet outside the VNet is refused",
         NETWORK("    vnetAddressSpace: 10.0.0.0/16\n    subnetAddressSpace: 10.1.0.0/24\n"),
         "expected a range inside vnetAddressSpace 10.0.0.0/16, found 10.1.0.0/24",
         "spec.network.subnetAddressSpace"},
        {"subnet larger than the VNet is refused",
         NETWORK("    vnetAddressSpace: 10.0.0.0/24\n    subnetAddressSpace: 10.0.0.0/16\n"),
         "expected a range inside vnetAddressSpace", "spec.network.subnetAddressSpace"},
        {"subnet equal to the VNet is valid",
         NETWORK("    vnetAddressSpace: 10.0.0.0/24\n    subnetAddressSpace: 10.0.0.0/24\n"), NULL, NULL},
        {"subnet too small for the fleet is refused", NETWORK("    subnetAddressSpace: 10.0.1.0/29\n"),
         "expected a subnet of at least 16 addresses", "spec.network.subnetAddressSpace"},
        {"subnet just large enough is valid", NETWORK("    subnetAddressSpace: 10.0.1.0/28\n"), NULL, NULL},
        {"existingVnetId alone is refused", NETWORK("    existingVnetId: " VNET_ID "\n"),
         "given without existingSubnetId", "spec.network.existingVnetId"},
        {"existingSubnetId alone is refused", NETWORK("    existingSubnetId: " VNET_ID "/subnets/ci\n"),
         "given without existingVnetId", "spec.network.existingSubnetId"},
        {"existing subnet of another VNet is refused",
         NETWORK("    existingVnetId: " VNET_ID "\n    existingSubnetId: " VNET_ID "2/subnets/ci\n"),
         "expected a subnet of existingVnetId", "spec.network.existingSubnetId"},
        {"existing VNet and subnet are valid",
         NETWORK("    existingVnetId: " VNET_ID "\n    existingSubnetId: " VNET_ID "/subnets/ci\n"), NULL,
         NULL},
        {"malformed existingVnetId is refused",
         NETWORK("    existingVnetId: /subscriptions/x/resourceGroups/net\n"),
         "expected a virtual network id", "spec.network.existingVnetId"},
        {"sshSourceRanges with host bits are refused",
         MANAGER("    publicIp: true\n    sshSourceRanges: [203.0.113.7/24]\n"), "host bits are set",
         "spec.manager.sshSourceRanges[0]"},
        {"sshSourceRanges take addresses and CIDRs",
         MANAGER("    publicIp: true\n    sshSourceRanges: [203.0.113.7, 198.51.100.0/24]\n"), NULL, NULL},

        /* autoscaler arithmetic */
        {"idleCount above the slots is refused",
         AUTOSCALER("    maxInstances: 2\n    capacityPerInstance: 3\n    idleCount: 7\n"),
         "expected at most maxInstances x capacityPerInstance = 6 idle slots, found 7",
         "spec.autoscaler.idleCount"},
        {"idleCount equal to the slots is valid",
         AUTOSCALER("    maxInstances: 2\n    capacityPerInstance: 3\n    idleCount: 6\n"), NULL, NULL},
        {"idleCount above the default slots is refused", AUTOSCALER("    idleCount: 11\n"), "= 10 idle slots",
         "spec.autoscaler.idleCount"},
};

static void print_diags(const spec_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		char *s = spec_diag_format(&d->items[i]);

		print_message("  diag: %s\n", s ? s : "(null)");
		free(s);
	}
}

static void load_text(spec_set *set, spec_diags *diags, const char *yaml)
{
	assert_int_equal(spec_load_buffer(set, diags, "t.yaml", yaml, strlen(yaml)), 0);
}

static void test_row(void **state)
{
	const row *r = *state;
	spec_set set = {0};
	spec_diags d = {0};
	bool found = false;

	load_text(&set, &d, r->yaml);
	if (!r->error) {
		if (d.n || set.n != 1)
			print_diags(&d);
		assert_int_equal(d.n, 0);
		assert_int_equal(set.n, 1);
	} else {
		assert_int_equal(set.n, 0);
		/* one mistake, one message: no cascade */
		if (d.n != 1)
			print_diags(&d);
		assert_int_equal(d.n, 1);
		for (size_t i = 0; i < d.n; i++) {
			const spec_diag *g = &d.items[i];

			assert_true(g->pos.line > 0);
			assert_true(g->pos.col > 0);
			assert_string_equal(g->file, "t.yaml");
			if (strstr(g->message, r->error) && strcmp(g->field, r->field) == 0)
				found = true;
		}
		if (!found) {
			print_message("  wanted %s: ...%s...\n", r->field, r->error);
			print_diags(&d);
		}
		assert_true(found);
	}
	spec_set_free(&set);
	spec_diags_free(&d);
}

/* ---- Documents that are not fleets: no fleet, no diagnostic. */

typedef struct skip_row {
	const char *name;
	const char *yaml;
} skip_row;

static const skip_row skip_rows[] = {
        {"an empty file holds no fleet", ""},
        {"a file of comments holds no fleet", "# nothing here\n\n# at all\n"},
        {"empty documents are skipped", "---\n---\n...\n"},
        {"a Secret is skipped",
         "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {token: x}\n"},
        {"a ConfigMap is skipped", "apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n"},
        {"another group's kind is skipped", "apiVersion: apps/v1\nkind: Deployment\nspec: {replicas: 1}\n"},
        {"a document without apiVersion or kind is skipped", "values:\n  replicas: 3\n"},
        {"a scalar document is skipped", "just text\n"},
        {"a list document is skipped", "- a\n- b\n"},
};

static void test_skip_row(void **state)
{
	const skip_row *r = *state;
	spec_set set = {0};
	spec_diags d = {0};

	load_text(&set, &d, r->yaml);
	if (d.n)
		print_diags(&d);
	assert_int_equal(d.n, 0);
	assert_int_equal(set.n, 0);
	spec_diags_free(&d);
}

/* ---- Whole-file behaviour. */

static void test_defaults_are_applied(void **state)
{
	spec_set set = {0};
	spec_diags d = {0};
	const spec_fleet *f;
	char buf[64];

	(void)state;
	load_text(&set, &d, MIN);
	assert_int_equal(set.n, 1);
	f = set.fleets[0];
	assert_string_equal(f->name, "team-a");
	assert_string_equal(f->namespace, "default");
	assert_string_equal(f->app_name, "team-a");
	assert_string_equal(f->location, "westeurope");
	assert_int_equal(f->runner_type, SPEC_RUNNER_LINUX);
	assert_string_equal(f->gitlab.url, "https://gitlab.com");
	assert_int_equal(f->gitlab.runner_token.kind, SPEC_SECRET_ENV);
	assert_string_equal(f->gitlab.runner_token.name, "GITLAB_RUNNER_TOKEN");
	assert_null(f->gitlab.runner_token.key);
	assert_int_equal(f->gitlab.api_token.kind, SPEC_SECRET_NONE);
	assert_int_equal(f->gitlab.runner.scope, SPEC_SCOPE_PROJECT);
	assert_int_equal(f->gitlab.runner.project_id, 0);
	assert_int_equal(f->gitlab.runner.group_id, 0);
	assert_int_equal(f->gitlab.runner.tags.n, 0);
	assert_false(f->gitlab.runner.run_untagged);
	assert_true(f->gitlab.runner.locked);
	assert_false(f->gitlab.runner.paused);
	assert_int_equal(f->gitlab.runner.maximum_timeout, 0);
	assert_null(f->azure.subscription_id);
	assert_string_equal(f->azure.resource_group, "rg-team-a");
	assert_string_equal(f->network.vnet_address_space, "10.0.0.0/16");
	assert_string_equal(f->network.subnet_address_space, "10.0.1.0/24");
	assert_null(f->network.existing_vnet_id);
	assert_null(f->network.existing_subnet_id);
	assert_string_equal(f->manager.vm_size, "Standard_D2s_v3");
	assert_false(f->manager.public_ip);
	assert_int_equal(f->manager.ssh_source_ranges.n, 0);
	assert_string_equal(f->workers.vm_size, "Standard_D2s_v5");
	assert_int_equal(f->autoscaler.mode, SPEC_MODE_MANAGER);
	assert_int_equal(f->autoscaler.max_instances, 10);
	assert_int_equal(f->autoscaler.idle_count, 1);
	assert_string_equal(f->autoscaler.idle_time, "20m");
	assert_int_equal(f->autoscaler.idle_time_s, 1200);
	assert_int_equal(f->autoscaler.capacity_per_instance, 1);
	assert_string_equal(f->file, "t.yaml");
	assert_int_equal(f->doc_index, 0);
	assert_int_equal(f->pos.line, 1);
	assert_int_equal(f->location_pos.line, 7);
	assert_int_equal(f->location_pos.col, 13);
	assert_string_equal(spec_fleet_key(f, buf, sizeof(buf)), "default/team-a");
	assert_string_equal(spec_name_resource_group(f, buf, sizeof(buf)), "rg-team-a");
	spec_set_free(&set);
}

static void test_given_values_are_kept(void **state)
{
	const char *yaml =
	        HEAD "  namespace: ci\nspec:\n  appName: team-a\n  location: westeurope\n  runnerType: "
	             "Windows\n" GL_API "      scope: group\n      groupId: 678\n      tags: [azure, vmss]\n"
	             "      runUntagged: true\n      locked: false\n      paused: true\n      "
	             "maximumTimeout: 3600\n"
	             "  azure:\n    subscriptionId: 8f7c2d1e-0a4b-4c6d-9e8f-1a2b3c4d5e6f\n    resourceGroup: "
	             "rg-ci\n"
	             "  manager:\n    vmSize: Standard_D4s_v5\n    publicIp: true\n    sshSourceRanges: "
	             "[203.0.113.0/24]\n"
	             "  workers:\n    vmSize: Standard_D8s_v5\n"
	             "  autoscaler:\n    mode: controller\n    maxInstances: 20\n    idleCount: 3\n"
	             "    idleTime: 1h30m\n    capacityPerInstance: 2\n";
	spec_set set = {0};
	spec_diags d = {0};
	const spec_fleet *f;

	(void)state;
	load_text(&set, &d, yaml);
	print_diags(&d);
	assert_int_equal(set.n, 1);
	f = set.fleets[0];
	assert_string_equal(f->namespace, "ci");
	assert_int_equal(f->runner_type, SPEC_RUNNER_WINDOWS);
	assert_int_equal(f->gitlab.api_token.kind, SPEC_SECRET_ENV);
	assert_string_equal(f->gitlab.api_token.name, "GITLAB_API_TOKEN");
	assert_int_equal(f->gitlab.runner.scope, SPEC_SCOPE_GROUP);
	assert_int_equal(f->gitlab.runner.group_id, 678);
	assert_int_equal(f->gitlab.runner.tags.n, 2);
	assert_string_equal(f->gitlab.runner.tags.items[0], "azure");
	assert_string_equal(f->gitlab.runner.tags.items[1], "vmss");
	assert_true(f->gitlab.runner.run_untagged);
	assert_false(f->gitlab.runner.locked);
	assert_true(f->gitlab.runner.paused);
	assert_int_equal(f->gitlab.runner.maximum_timeout, 3600);
	assert_string_equal(f->azure.subscription_id, "8f7c2d1e-0a4b-4c6d-9e8f-1a2b3c4d5e6f");
	assert_string_equal(f->azure.resource_group, "rg-ci");
	assert_string_equal(f->manager.vm_size, "Standard_D4s_v5");
	assert_true(f->manager.public_ip);
	assert_int_equal(f->manager.ssh_source_ranges.n, 1);
	assert_string_equal(f->manager.ssh_source_ranges.items[0], "203.0.113.0/24");
	assert_string_equal(f->workers.vm_size, "Standard_D8s_v5");
	assert_int_equal(f->autoscaler.mode, SPEC_MODE_CONTROLLER);
	assert_int_equal(f->autoscaler.max_instances, 20);
	assert_int_equal(f->autoscaler.idle_count, 3);
	assert_string_equal(f->autoscaler.idle_time, "1h30m");
	assert_int_equal(f->autoscaler.idle_time_s, 5400);
	assert_int_equal(f->autoscaler.capacity_per_instance, 2);
	spec_set_free(&set);
}

static void test_api_token_alone_needs_a_registration(void **state)
{
	const char *yaml = HEAD SPEC "  gitlab:\n    url: https://gitlab.com\n    apiToken: {env: A}\n";
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	load_text(&set, &d, yaml);
	assert_int_equal(set.n, 0);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.items[0].field, "spec.gitlab.runner.projectId");
	assert_string_equal(d.items[1].field, "spec.gitlab.runner.tags");
	/* no runner block: both point at the gitlab key */
	assert_int_equal(d.items[0].pos.line, 8);
	assert_int_equal(d.items[0].pos.col, 3);
	spec_diags_free(&d);
}

static void test_typo_silences_rules_that_may_depend_on_it(void **state)
{
	/* "idlecount" may be meant as idleCount: the slots rule would judge a
	 * default, so only the typo is reported */
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	load_text(&set, &d, AUTOSCALER("    maxInstances: 1\n    idleCount: 2\n    idlecount: 1\n"));
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.items[0].message, "did you mean \"idleCount\"?"));
	spec_diags_free(&d);
}

static void test_secret_ref_is_kept(void **state)
{
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	load_text(&set, &d, TOKEN("{secretRef: {name: gitlab, key: token}}"));
	assert_int_equal(set.n, 1);
	assert_int_equal(set.fleets[0]->gitlab.runner_token.kind, SPEC_SECRET_REF);
	assert_string_equal(set.fleets[0]->gitlab.runner_token.name, "gitlab");
	assert_string_equal(set.fleets[0]->gitlab.runner_token.key, "token");
	spec_set_free(&set);
	spec_diags_free(&d);
}

static void test_multi_document_file_skips_other_kinds(void **state)
{
	const char *yaml =
	        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: gitlab\nstringData:\n  token: x\n"
	        "---\n" MIN "---\n---\n"
	        "apiVersion: runnerfleet.dev/v1alpha1\nkind: RunnerFleet\nmetadata:\n  name: team-b\n"
	        "spec:\n  appName: team-b\n  location: westeurope\n" GL_RT;
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	load_text(&set, &d, yaml);
	print_diags(&d);
	assert_int_equal(d.n, 0);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.fleets[0]->name, "team-a");
	assert_int_equal(set.fleets[0]->doc_index, 1);
	assert_int_equal(set.fleets[0]->pos.line, 7);
	assert_string_equal(set.fleets[1]->name, "team-b");
	assert_int_equal(set.fleets[1]->doc_index, 3);
	assert_int_equal(set.fleets[1]->pos.line, 19);
	spec_set_free(&set);
}

static void test_bad_document_beside_good_one(void **state)
{
	const char *yaml = AUTOSCALER("    maxInstances: \"10\"\n") "---\n" APP("team-b", "westeurope");
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	load_text(&set, &d, yaml);
	assert_int_equal(set.n, 1);
	assert_string_equal(set.fleets[0]->app_name, "team-b");
	assert_int_equal(set.fleets[0]->doc_index, 1);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.items[0].field, "spec.autoscaler.maxInstances");
	spec_set_free(&set);
	spec_diags_free(&d);
}

static void test_syntax_error_keeps_earlier_documents(void **state)
{
	const char *yaml = MIN "---\nkey: value\n  bad: x\n";
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	load_text(&set, &d, yaml);
	assert_int_equal(set.n, 1);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.items[0].pos.line, 13);
	assert_int_equal(d.items[0].pos.col, 6);
	assert_non_null(strstr(d.items[0].message, "invalid YAML: mapping values are not allowed"));
	spec_set_free(&set);
	spec_diags_free(&d);
}

static void test_all_errors_of_a_document_are_reported(void **state)
{
	const char *yaml = HEAD "spec:\n  appName: Team\n  location: westeurope\n"
	                        "  gitlab:\n    url: http://example.com\n    runnerToken: {env: T}\n"
	                        "  autoscaler:\n    maxInstances: 0\n    idleTime: soon\n"
	                        "  extra: 1\n";
	static const char *const fields[] = {"spec.appName", "spec.gitlab.url",
	                                     "spec.autoscaler.maxInstances", "spec.autoscaler.idleTime",
	                                     "spec.extra"};
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	load_text(&set, &d, yaml);
	assert_int_equal(set.n, 0);
	if (d.n != 5)
		print_diags(&d);
	assert_int_equal(d.n, 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(d.items[i].field, fields[i]);
	spec_diags_free(&d);
}

/* Exact positions: 1-based line and column of the key or value at fault. */
typedef struct pos_row {
	const char *yaml;
	int line, col;
	const char *field;
} pos_row;

static void test_error_positions(void **state)
{
	static const pos_row cases[] = {
	        {AUTOSCALER("    maxInstance: 5\n"), 12, 5, "spec.autoscaler.maxInstance"}, /* the key */
	        {AUTOSCALER("    maxInstances: \"10\"\n"), 12, 19,
	         "spec.autoscaler.maxInstances"}, /* the value */
	        {HEAD SPEC, 5, 1, "spec.gitlab"}, /* the parent's key */
	        {HEAD "spec:\n  appName: a\n  appName: b\n  location: westeurope\n" GL_RT, 7, 3,
	         "spec.appName"},
	        {AUTOSCALER("    idleCount: 11\n"), 12, 16,
	         "spec.autoscaler.idleCount"}, /* rule: the value */
	        {NETWORK("    vnetAddressSpace: 10.1.0.0/16\n"), 11, 3,
	         "spec.network.subnetAddressSpace"},        /* defaulted: its object */
	        {"apiVersion: v1\nkind: \xff\n", 2, 7, ""}, /* invalid UTF-8 */
	        {"a: [1, 2\nb: 3\n", 2, 2, ""},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		spec_set set = {0};
		spec_diags d = {0};

		load_text(&set, &d, cases[i].yaml);
		if (d.n != 1)
			print_diags(&d);
		assert_int_equal(d.n, 1);
		assert_string_equal(d.items[0].field, cases[i].field);
		assert_int_equal(d.items[0].pos.line, cases[i].line);
		assert_int_equal(d.items[0].pos.col, cases[i].col);
		spec_set_free(&set);
		spec_diags_free(&d);
	}
}

static void test_diag_format(void **state)
{
	spec_set set = {0};
	spec_diags d = {0};
	spec_diag nopos = {"x.yaml", {0, 0}, "", "cannot read"};
	char *s;

	(void)state;
	load_text(&set, &d, AUTOSCALER("    maxInstance: 5\n"));
	assert_int_equal(d.n, 1);
	s = spec_diag_format(&d.items[0]);
	assert_string_equal(
	        s, "t.yaml:12:5: error: spec.autoscaler.maxInstance: unknown field \"maxInstance\"; did "
	           "you mean \"maxInstances\"?");
	free(s);
	s = spec_diag_format(&nopos);
	assert_string_equal(s, "x.yaml: error: cannot read");
	free(s);
	spec_diags_free(&d);
}

/* A token pasted anywhere must never come back in a message. */
static void test_secrets_never_appear_in_messages(void **state)
{
	static const char *const cases[] = {
	        TOKEN("glrt-SuperSecret42"),
	        TOKEN("\"glrt-SuperSecret42\""),
	        HEAD SPEC "  gitlab:\n    url: https://gitlab.com\n    apiToken: glpat-SuperSecret42\n",
	        TOKEN("{env: glrt-SuperSecret42}"),
	        TOKEN("{file: glrt-SuperSecret42}"),
	        TOKEN("{glrt-SuperSecret42: x}"),
	        TOKEN("{env: A, value: glrt-SuperSecret42}"),
	        TOKEN("{secretRef: {name: glrt-SuperSecret42, key: \"k/\"}}"),
	        TOKEN("{secretRef: {name: n, key: \"SuperSecret42 \"}}"),
	        TOKEN("[glrt-SuperSecret42]"),
	        URL("https://oauth2:SuperSecret42@gitlab.com"),
	        URL("http://oauth2:SuperSecret42@gitlab.com"),
	        APP("team-a", "glrt-SuperSecret42"),
	        AUTOSCALER("    maxInstances: glrt-SuperSecret42\n"),
	        HEAD SPEC "  gitlab:\n    url: https://gitlab.com\n    token: glrt-SuperSecret42\n    "
	                  "runnerToken: {env: T}\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		spec_set set = {0};
		spec_diags d = {0};

		load_text(&set, &d, cases[i]);
		assert_int_equal(set.n, 0);
		assert_true(d.n > 0);
		for (size_t j = 0; j < d.n; j++) {
			char *s = spec_diag_format(&d.items[j]);

			assert_non_null(s);
			if (strstr(s, "SuperSecret42"))
				print_message("  case %zu leaks: %s\n", i, s);
			assert_null(strstr(s, "SuperSecret42"));
			free(s);
		}
		spec_diags_free(&d);
	}
}

static void test_kubectl_list_output_is_valid(void **state)
{
	const char *yaml =
	        "apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:\n"
	        "- apiVersion: runnerfleet.dev/v1alpha1\n  kind: RunnerFleet\n  metadata: {name: a, uid: x}\n"
	        "  spec: {appName: a, location: westeurope, gitlab: {url: \"https://g.example\", "
	        "runnerToken: {env: T}}}\n"
	        "  status: {observedGeneration: 1}\n"
	        "- apiVersion: runnerfleet.dev/v1alpha1\n  kind: RunnerFleet\n  metadata: {name: b}\n"
	        "  spec: {appName: b, location: westeurope, gitlab: {url: \"https://g.example\", "
	        "runnerToken: {env: T}}}\n";
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	load_text(&set, &d, yaml);
	print_diags(&d);
	assert_int_equal(d.n, 0);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.fleets[1]->name, "b");
	assert_int_equal(set.fleets[1]->pos.line, 11);
	spec_set_free(&set);
}

/* ---- Files and folders (fixtures in tests/unit/specs). */

static char *fixture(const char *rel)
{
	const char *src = getenv("RF_SOURCE_DIR");
	size_t n;
	char *p;

	if (!src)
		src = ".";
	n = strlen(src) + strlen(rel) + 32;
	p = malloc(n);
	assert_non_null(p);
	assert_true(snprintf(p, n, "%s/tests/unit/specs/%s", src, rel) < (int)n);
	return p;
}

static void test_design_example_is_valid(void **state)
{
	char *path = fixture("design-example.yaml");
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	assert_int_equal(spec_load_path(&set, &d, path), 0);
	print_diags(&d);
	assert_int_equal(d.n, 0);
	assert_int_equal(set.n, 1);
	assert_string_equal(set.fleets[0]->namespace, "ci");
	assert_int_equal(set.fleets[0]->gitlab.runner.project_id, 12345);
	spec_set_free(&set);
	free(path);
}

static void test_kubectl_get_output_is_valid(void **state)
{
	char *path = fixture("kubectl-get.yaml");
	spec_set set = {0};
	spec_diags d = {0};
	const spec_fleet *f;

	(void)state;
	assert_int_equal(spec_load_path(&set, &d, path), 0);
	print_diags(&d);
	assert_int_equal(d.n, 0);
	assert_int_equal(set.n, 1);
	f = set.fleets[0];
	assert_string_equal(f->name, "team-a");
	assert_string_equal(f->namespace, "ci");
	assert_int_equal(f->gitlab.runner_token.kind, SPEC_SECRET_REF);
	assert_string_equal(f->gitlab.runner_token.name, "gitlab-runner");
	assert_string_equal(f->gitlab.runner_token.key, "token");
	spec_set_free(&set);
	free(path);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_folder_loads_sorted_and_skips_hidden(void **state)
{
	static const char *const names[] = {"a-team", "mixed-good", "b-team", "z-last"};
	char *path = fixture("folder");
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	assert_int_equal(spec_load_path(&set, &d, path), 0);
	if (d.n != 1)
		print_diags(&d);
	assert_int_equal(set.n, 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(set.fleets[i]->name, names[i]);
	assert_true(ends_with(set.fleets[2]->file, "folder/nested/b-team.yaml"));
	assert_int_equal(set.fleets[2]->doc_index, 1);
	assert_int_equal(d.n, 1);
	assert_true(ends_with(d.items[0].file, "folder/mixed.yaml"));
	assert_string_equal(d.items[0].field, "spec.autoscaler.maxInstances");
	assert_int_equal(spec_check_set(&set, &d), 0);
	spec_set_free(&set);
	spec_diags_free(&d);
	free(path);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	assert_non_null(p);
	assert_true(snprintf(p, n, "%s/%s", dir, name) < (int)n);
	return p;
}

/* A mounted ConfigMap: files are links into a hidden ..data folder. Links
 * to files are followed, links to folders are not (no loops), a dangling
 * link named *.yaml is reported. */
static void test_folder_follows_file_links_not_folder_links(void **state)
{
	char dir[] = "/tmp/rf-spec-dir-XXXXXX";
	char *data, *real, *link, *loop, *dangling;
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	assert_non_null(mkdtemp(dir));
	data = join(dir, "..data");
	real = join(data, "fleet.yaml");
	link = join(dir, "fleet.yaml");
	loop = join(dir, "loop");
	dangling = join(dir, "gone.yaml");
	assert_int_equal(mkdir(data, 0700), 0);
	write_file(real, MIN);
	assert_int_equal(symlink("..data/fleet.yaml", link), 0);
	assert_int_equal(symlink(".", loop), 0);
	assert_int_equal(symlink("nowhere.yaml", dangling), 0);

	assert_int_equal(spec_load_path(&set, &d, dir), 0);
	assert_int_equal(set.n, 1);
	assert_true(ends_with(set.fleets[0]->file, "/fleet.yaml"));
	assert_int_equal(d.n, 1);
	assert_true(ends_with(d.items[0].file, "gone.yaml"));

	unlink(dangling);
	unlink(loop);
	unlink(link);
	unlink(real);
	rmdir(data);
	rmdir(dir);
	free(dangling);
	free(loop);
	free(link);
	free(real);
	free(data);
	spec_set_free(&set);
	spec_diags_free(&d);
}

static void test_file_with_bad_and_good_document(void **state)
{
	char *path = fixture("folder/mixed.yaml");
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	assert_int_equal(spec_load_path(&set, &d, path), 0);
	assert_int_equal(set.n, 1);
	assert_string_equal(set.fleets[0]->name, "mixed-good");
	assert_int_equal(d.n, 1);
	assert_int_equal(d.items[0].pos.line, 13);
	spec_set_free(&set);
	spec_diags_free(&d);
	free(path);
}

static void test_missing_path_is_reported(void **state)
{
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	assert_int_equal(spec_load_path(&set, &d, "/nonexistent/runnerfleet/specs"), -1);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.items[0].message, "cannot read"));
	spec_diags_free(&d);
}

/* ---- Hostile input: each is refused quickly, without exhausting memory. */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void expect_refusal(const char *yaml, size_t len, const char *message)
{
	spec_set set = {0};
	spec_diags d = {0};
	double t0 = now();
	bool found = false;

	spec_load_buffer(&set, &d, "hostile.yaml", yaml, len);
	assert_true(now() - t0 < 2.0);
	assert_int_equal(set.n, 0);
	for (size_t i = 0; i < d.n; i++)
		if (strstr(d.items[i].message, message))
			found = true;
	if (!found)
		print_diags(&d);
	assert_true(found);
	spec_diags_free(&d);
}

static char *grow_text(char *buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		buf = realloc(buf, *cap);
		assert_non_null(buf);
	}
	memcpy(buf + *len, s, n + 1);
	*len += n;
	return buf;
}

static void test_billion_laughs_is_refused(void **state)
{
	char *buf = NULL, line[256];
	size_t len = 0, cap = 0;

	(void)state;
	/* the classic: ten levels of nine aliases each, 10^9 nodes expanded */
	buf = grow_text(buf, &len, &cap, "apiVersion: runnerfleet.dev/v1alpha1\nkind: RunnerFleet\nx:\n");
	buf = grow_text(buf, &len, &cap, "  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (int i = 1; i < 10; i++) {
		int n = snprintf(line, sizeof(line),
		                 "  l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i,
		                 i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);

		assert_true(n > 0 && (size_t)n < sizeof(line));
		buf = grow_text(buf, &len, &cap, line);
	}
	buf = grow_text(buf, &len, &cap, "metadata:\n  labels: *l9\n");
	expect_refusal(buf, len, "aliases would expand this document by more than");
	free(buf);
}

static void test_too_many_aliases_are_refused(void **state)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;

	(void)state;
	buf = grow_text(buf, &len, &cap,
	                "apiVersion: runnerfleet.dev/v1alpha1\nkind: RunnerFleet\na: &a x\nb: [");
	for (int i = 0; i < SPEC_MAX_ALIASES + 10; i++)
		buf = grow_text(buf, &len, &cap, "*a, ");
	buf = grow_text(buf, &len, &cap, "*a]\n");
	expect_refusal(buf, len, "more than 1000 aliases");
	free(buf);
}

static void test_deep_nesting_is_refused(void **state)
{
	size_t n = 10000;
	char *buf = malloc(n + 4);

	(void)state;
	assert_non_null(buf);
	memcpy(buf, "a: ", 3);
	memset(buf + 3, '[', n);
	buf[n + 3] = '\0';
	expect_refusal(buf, n + 3, "nesting deeper than 64 levels");
	free(buf);
}

static void test_deep_block_nesting_is_refused(void **state)
{
	char *buf = NULL, line[256];
	size_t len = 0, cap = 0;

	(void)state;
	for (int i = 0; i < 100; i++) {
		int n = snprintf(line, sizeof(line), "%*sk%d:\n", i, "", i);

		assert_true(n > 0 && (size_t)n < sizeof(line));
		buf = grow_text(buf, &len, &cap, line);
	}
	expect_refusal(buf, len, "nesting deeper than 64 levels");
	free(buf);
}

static void test_oversized_file_is_refused(void **state)
{
	char path[] = "/tmp/rf-spec-big-XXXXXX";
	int fd = mkstemp(path);
	char block[65536];
	spec_set set = {0};
	spec_diags d = {0};
	double t0;

	(void)state;
	assert_true(fd >= 0);
	memset(block, '#', sizeof(block));
	for (int i = 0; i < 5 * 16; i++)
		assert_int_equal(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
	close(fd);
	t0 = now();
	assert_int_equal(spec_load_path(&set, &d, path), -1);
	assert_true(now() - t0 < 1.0);
	unlink(path);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.items[0].message, "larger than 1048576 bytes"));
	assert_int_equal(set.n, 0);
	spec_diags_free(&d);
}

static void test_oversized_buffer_is_refused(void **state)
{
	size_t n = SPEC_MAX_FILE_BYTES + 1;
	char *buf = malloc(n);
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	assert_non_null(buf);
	memset(buf, '#', n);
	assert_int_equal(spec_load_buffer(&set, &d, "big.yaml", buf, n), -1);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.items[0].message, "larger than"));
	free(buf);
	spec_diags_free(&d);
}

static void test_diagnostics_per_file_are_capped(void **state)
{
	char *buf = NULL, line[64];
	size_t len = 0, cap = 0;
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	buf = grow_text(buf, &len, &cap, MIN);
	for (int i = 0; i < 500; i++) {
		snprintf(line, sizeof(line), "  junk%d: 1\n", i);
		buf = grow_text(buf, &len, &cap, line);
	}
	load_text(&set, &d, buf);
	assert_int_equal(d.n, SPEC_MAX_DIAGS_PER_FILE);
	assert_non_null(strstr(d.items[d.n - 1].message, "too many errors"));
	spec_diags_free(&d);
	free(buf);
}

/* ---- Across fleets. */

static void test_check_set_same_name(void **state)
{
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	load_text(&set, &d, MIN);
	assert_int_equal(spec_load_buffer(&set, &d, "other.yaml", APP("team-b", "westeurope"),
	                                  strlen(APP("team-b", "westeurope"))),
	                 0);
	assert_int_equal(set.n, 2);
	assert_int_equal(spec_check_set(&set, &d), 2);
	assert_string_equal(d.items[0].field, "metadata.name");
	assert_string_equal(d.items[1].field, "metadata.name");
	assert_non_null(strstr(d.items[0].message, "fleet default/team-a is defined more than once"));
	/* one diagnostic in each file */
	assert_true(strcmp(d.items[0].file, d.items[1].file) != 0);
	spec_set_free(&set);
	spec_diags_free(&d);
}

static void test_check_set_same_scale_set(void **state)
{
	const char *a = META("  name: one\n  namespace: x\n");
	const char *b = "apiVersion: runnerfleet.dev/v1alpha1\nkind: RunnerFleet\nmetadata:\n  name: two\n"
	                "spec:\n  appName: team-a\n  location: westeurope\n  azure: {resourceGroup: "
	                "RG-TEAM-A}\n" GL_RT;
	const char *c = "apiVersion: runnerfleet.dev/v1alpha1\nkind: RunnerFleet\nmetadata:\n  name: three\n"
	                "spec:\n  appName: team-a\n  location: westeurope\n  azure: {resourceGroup: "
	                "rg-other}\n" GL_RT;
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	load_text(&set, &d, a);
	load_text(&set, &d, b);
	load_text(&set, &d, c);
	assert_int_equal(set.n, 3);
	assert_int_equal(spec_check_set(&set, &d), 2);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(d.items[i].field, "spec.appName");
		assert_non_null(strstr(d.items[i].message, "claim the same scale set vmss-team-a"));
	}
	assert_non_null(strstr(d.items[0].message, "x/one"));
	assert_non_null(strstr(d.items[1].message, "default/two"));
	spec_set_free(&set);
	spec_diags_free(&d);
}

static void test_check_set_distinct_fleets(void **state)
{
	spec_set set = {0};
	spec_diags d = {0};

	(void)state;
	load_text(&set, &d, MIN);
	load_text(&set, &d,
	          META("  name: team-a\n  namespace: other\n") "  azure:\n    subscriptionId: "
	                                                       "8f7c2d1e-0a4b-4c6d-9e8f-1a2b3c4d5e6f\n");
	assert_int_equal(set.n, 2);
	assert_int_equal(spec_check_set(&set, &d), 0);
	spec_set_free(&set);
}

static void test_names(void **state)
{
	spec_fleet f = {0};
	char buf[64], small[8];

	(void)state;
	f.name = "team-a";
	f.namespace = "ci";
	f.app_name = "team-a";
	assert_string_equal(spec_fleet_key(&f, buf, sizeof(buf)), "ci/team-a");
	assert_null(spec_fleet_key(&f, small, sizeof(small)));
	assert_string_equal(spec_name_resource_group(&f, buf, sizeof(buf)), "rg-team-a");
	assert_null(spec_name_resource_group(&f, small, sizeof(small)));
	f.azure.resource_group = "shared-ci";
	assert_string_equal(spec_name_resource_group(&f, buf, sizeof(buf)), "shared-ci");
}

static void test_free_null_is_a_noop(void **state)
{
	(void)state;
	spec_fleet_free(NULL);
	spec_set_free(NULL);
	spec_diags_free(NULL);
}

/* Not a pass/fail bound (sanitizers and valgrind are slow): prints the rate. */
static void test_parse_rate(void **state)
{
	const char *doc = "---\n" AUTOSCALER("    maxInstances: 5\n    idleTime: 30m\n");
	size_t n = 2000, len = 0, cap = 0;
	char *buf = NULL;
	spec_set set = {0};
	spec_diags d = {0};
	double t0, dt;

	(void)state;
	for (size_t i = 0; i < n; i++)
		buf = grow_text(buf, &len, &cap, doc);
	t0 = now();
	load_text(&set, &d, buf);
	dt = now() - t0;
	assert_int_equal(set.n, n);
	print_message("  parsed %zu specs in %.3f s (%.0f specs/s)\n", n, dt, dt > 0 ? (double)n / dt : 0.0);
	spec_set_free(&set);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest fixed[] = {
	        cmocka_unit_test(test_defaults_are_applied),
	        cmocka_unit_test(test_given_values_are_kept),
	        cmocka_unit_test(test_secret_ref_is_kept),
	        cmocka_unit_test(test_api_token_alone_needs_a_registration),
	        cmocka_unit_test(test_typo_silences_rules_that_may_depend_on_it),
	        cmocka_unit_test(test_multi_document_file_skips_other_kinds),
	        cmocka_unit_test(test_bad_document_beside_good_one),
	        cmocka_unit_test(test_syntax_error_keeps_earlier_documents),
	        cmocka_unit_test(test_all_errors_of_a_document_are_reported),
	        cmocka_unit_test(test_error_positions),
	        cmocka_unit_test(test_diag_format),
	        cmocka_unit_test(test_secrets_never_appear_in_messages),
	        cmocka_unit_test(test_kubectl_list_output_is_valid),
	        cmocka_unit_test(test_design_example_is_valid),
	        cmocka_unit_test(test_kubectl_get_output_is_valid),
	        cmocka_unit_test(test_folder_loads_sorted_and_skips_hidden),
	        cmocka_unit_test(test_folder_follows_file_links_not_folder_links),
	        cmocka_unit_test(test_file_with_bad_and_good_document),
	        cmocka_unit_test(test_missing_path_is_reported),
	        cmocka_unit_test(test_billion_laughs_is_refused),
	        cmocka_unit_test(test_too_many_aliases_are_refused),
	        cmocka_unit_test(test_deep_nesting_is_refused),
	        cmocka_unit_test(test_deep_block_nesting_is_refused),
	        cmocka_unit_test(test_oversized_file_is_refused),
	        cmocka_unit_test(test_oversized_buffer_is_refused),
	        cmocka_unit_test(test_diagnostics_per_file_are_capped),
	        cmocka_unit_test(test_check_set_same_name),
	        cmocka_unit_test(test_check_set_same_scale_set),
	        cmocka_unit_test(test_check_set_distinct_fleets),
	        cmocka_unit_test(test_names),
	        cmocka_unit_test(test_free_null_is_a_noop),
	        cmocka_unit_test(test_parse_rate),
	};
	const size_t n_rows = sizeof(rows) / sizeof(rows[0]),
	             n_skip = sizeof(skip_rows) / sizeof(skip_rows[0]);
	struct CMUnitTest *table = calloc(n_rows + n_skip, sizeof(*table));
	int failed;

	if (!table)
		return 1;
	for (size_t i = 0; i < n_rows; i++) {
		table[i].name = rows[i].name;
		table[i].test_func = test_row;
		table[i].initial_state = (void *)&rows[i];
	}
	for (size_t i = 0; i < n_skip; i++) {
		table[n_rows + i].name = skip_rows[i].name;
		table[n_rows + i].test_func = test_skip_row;
		table[n_rows + i].initial_state = (void *)&skip_rows[i];
	}
	failed = _cmocka_run_group_tests("spec_rows", table, n_rows + n_skip, NULL, NULL);
	failed += cmocka_run_group_tests_name("spec", fixed, NULL, NULL);
	free(table);
	return failed ? 1 : 0;
}
