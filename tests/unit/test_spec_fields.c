/* spec/fields: the schema table is consistent (the parser, the defaults, the
 * free and the future CRD all trust it), each format accepts and refuses what
 * it says, its published pattern agrees with it, and Go durations parse. */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spec/fields.h"
#include "spec/spec.h"

static const spec_field *parent_of(const spec_field *f)
{
	const char *dot = strrchr(f->path, '.');
	char buf[128];

	if (!dot)
		return NULL;
	assert_true((size_t)(dot - f->path) < sizeof(buf));
	memcpy(buf, f->path, (size_t)(dot - f->path));
	buf[dot - f->path] = '\0';
	return spec_field_find(buf);
}

static void test_every_field_sits_under_an_earlier_object(void **state)
{
	(void)state;
	for (size_t i = 0; i < spec_fields_count; i++) {
		const spec_field *f = &spec_fields[i];
		const char *dot = strrchr(f->path, '.');
		const spec_field *p = parent_of(f);

		assert_non_null(f->path);
		assert_non_null(f->name);
		assert_non_null(f->doc);
		assert_string_equal(dot ? dot + 1 : f->path, f->name);
		assert_ptr_equal(spec_field_find(f->path), f); /* paths are unique */
		if (dot) {
			assert_non_null(p);
			assert_int_equal(p->type, SPEC_FIELD_OBJECT);
			assert_true(p < f);
			/* depth first: everything between the parent and here is in the parent's subtree */
			for (const spec_field *q = p + 1; q < f; q++)
				assert_int_equal(strncmp(q->path, p->path, strlen(p->path)), 0);
		}
		/* an object with a required field must itself be required, so a
		 * missing object is reported once, at the outermost level */
		if (f->required && p)
			assert_true(p->required);
	}
}

static void test_stored_fields_match_their_slots(void **state)
{
	(void)state;
	for (size_t i = 0; i < spec_fields_count; i++) {
		const spec_field *f = &spec_fields[i];
		size_t want = 0;

		switch (f->type) {
		case SPEC_FIELD_STRING:
			want = sizeof(char *);
			break;
		case SPEC_FIELD_INT:
			assert_true(f->size == sizeof(int) || f->size == sizeof(long));
			want = f->size;
			break;
		case SPEC_FIELD_BOOL:
			want = sizeof(bool);
			break;
		case SPEC_FIELD_ENUM:
			want = sizeof(int);
			assert_non_null(f->enum_values);
			break;
		case SPEC_FIELD_STRING_LIST:
			want = sizeof(spec_string_list);
			break;
		case SPEC_FIELD_SECRET:
			want = sizeof(spec_secret);
			assert_non_null(f->example); /* the env variable the inline-token error suggests */
			break;
		default:
			break;
		}
		/* only apiVersion and kind are checked without being kept */
		if (f->size || (strcmp(f->path, "apiVersion") != 0 && strcmp(f->path, "kind") != 0))
			assert_int_equal(f->size, want);
		if (f->size)
			assert_true(f->offset + f->size <= sizeof(spec_fleet));
	}
}

static void test_defaults_pass_their_own_checks(void **state)
{
	(void)state;
	for (size_t i = 0; i < spec_fields_count; i++) {
		const spec_field *f = &spec_fields[i];
		const char *d = f->default_value;
		char hint[128];

		if (!d)
			continue;
		assert_true(f->size > 0);
		assert_false(f->required);
		switch (f->type) {
		case SPEC_FIELD_STRING:
			if (!strstr(d, "{appName}"))
				assert_int_equal(spec_format_check(f->format, d, hint, sizeof(hint)), 0);
			break;
		case SPEC_FIELD_INT: {
			char *end;
			long v = strtol(d, &end, 10);

			assert_int_equal(*end, '\0');
			assert_true(!f->has_min || v >= f->min);
			assert_true(!f->has_max || v <= f->max);
			break;
		}
		case SPEC_FIELD_BOOL:
			assert_true(strcmp(d, "true") == 0 || strcmp(d, "false") == 0);
			break;
		case SPEC_FIELD_ENUM: {
			bool found = false;

			for (size_t j = 0; f->enum_values[j]; j++)
				found |= strcmp(f->enum_values[j], d) == 0;
			assert_true(found);
			break;
		}
		default:
			fail_msg("default on a field of type %s", spec_field_type_name(f->type));
		}
	}
}

static void test_enum_values_follow_the_c_enums(void **state)
{
	(void)state;
	assert_string_equal(spec_field_find("spec.runnerType")->enum_values[SPEC_RUNNER_LINUX], "Linux");
	assert_string_equal(spec_field_find("spec.runnerType")->enum_values[SPEC_RUNNER_WINDOWS], "Windows");
	assert_string_equal(spec_field_find("spec.gitlab.runner.scope")->enum_values[SPEC_SCOPE_PROJECT],
	                    "project");
	assert_string_equal(spec_field_find("spec.gitlab.runner.scope")->enum_values[SPEC_SCOPE_GROUP],
	                    "group");
	assert_string_equal(spec_field_find("spec.gitlab.runner.scope")->enum_values[SPEC_SCOPE_INSTANCE],
	                    "instance");
	assert_string_equal(spec_field_find("spec.autoscaler.mode")->enum_values[SPEC_MODE_MANAGER],
	                    "manager");
	assert_string_equal(spec_field_find("spec.autoscaler.mode")->enum_values[SPEC_MODE_CONTROLLER],
	                    "controller");
	assert_null(spec_field_find("spec.nope"));
	assert_null(spec_field_find(NULL));
}

static void test_secret_shape_and_rules_are_described(void **state)
{
	(void)state;
	assert_int_equal(spec_secret_fields_count, 5);
	for (size_t i = 0; i < spec_secret_fields_count; i++) {
		assert_non_null(spec_secret_fields[i].doc);
		assert_non_null(spec_secret_fields[i].name);
	}
	assert_true(spec_rules_count >= 9);
	for (size_t i = 0; i < spec_rules_count; i++) {
		assert_non_null(spec_rules[i].id);
		assert_non_null(spec_rules[i].doc);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(spec_rules[i].id, spec_rules[j].id);
	}
}

/* ---- Formats: samples each way; every accepted sample matches the pattern
 * the CRD will carry, and the length bound holds. */

typedef struct format_row {
	spec_field_format format;
	const char *value;
	bool valid;
} format_row;

static const format_row format_rows[] = {
        {SPEC_FORMAT_DNS_LABEL, "team-a", true},
        {SPEC_FORMAT_DNS_LABEL, "a", true},
        {SPEC_FORMAT_DNS_LABEL, "0abc", true},
        {SPEC_FORMAT_DNS_LABEL, "", false},
        {SPEC_FORMAT_DNS_LABEL, "-a", false},
        {SPEC_FORMAT_DNS_LABEL, "a.b", false},
        {SPEC_FORMAT_DNS_LABEL, "A", false},
        {SPEC_FORMAT_DNS_SUBDOMAIN, "gitlab.runner", true},
        {SPEC_FORMAT_DNS_SUBDOMAIN, "gitlab..runner", false},
        {SPEC_FORMAT_DNS_SUBDOMAIN, "gitlab.", false},
        {SPEC_FORMAT_APP_NAME, "team-a1", true},
        {SPEC_FORMAT_APP_NAME, "t", true},
        {SPEC_FORMAT_APP_NAME, "1team", false},
        {SPEC_FORMAT_APP_NAME, "team-", false},
        {SPEC_FORMAT_APP_NAME, "abcdefghijklmnopqrstuvwxy", false},
        {SPEC_FORMAT_REGION, "westeurope", true},
        {SPEC_FORMAT_REGION, "eastus2", true},
        {SPEC_FORMAT_REGION, "West Europe", false},
        {SPEC_FORMAT_GITLAB_URL, "https://gitlab.com", true},
        {SPEC_FORMAT_GITLAB_URL, "HTTPS://gitlab.com/", true},
        {SPEC_FORMAT_GITLAB_URL, "https://10.0.0.5:8443/git/lab", true},
        {SPEC_FORMAT_GITLAB_URL, "https://[2001:db8::1]:443", true},
        {SPEC_FORMAT_GITLAB_URL, "http://127.0.0.1", true},
        {SPEC_FORMAT_GITLAB_URL, "http://localhost", true},
        {SPEC_FORMAT_GITLAB_URL, "http://LOCALHOST:80", true},
        {SPEC_FORMAT_GITLAB_URL, "http://[::1]/", true},
        {SPEC_FORMAT_GITLAB_URL, "http://gitlab.com", false},
        {SPEC_FORMAT_GITLAB_URL, "http://127.0.0.1.nip.io", false},
        {SPEC_FORMAT_GITLAB_URL, "http://[::2]", false},
        {SPEC_FORMAT_GITLAB_URL, "gitlab.com", false},
        {SPEC_FORMAT_GITLAB_URL, "https://gitlab.com/?private_token=x", false},
        {SPEC_FORMAT_GITLAB_URL, "https://a b", false},
        {SPEC_FORMAT_GITLAB_URL, "https://u@gitlab.com", false},
        {SPEC_FORMAT_GITLAB_URL, "https://gitlab.com:0", false},
        {SPEC_FORMAT_GITLAB_URL, "https://gitlab.com:", false},
        {SPEC_FORMAT_GITLAB_URL, "https://[::1", false},
        {SPEC_FORMAT_GUID, "8f7c2d1e-0a4b-4c6d-9e8f-1a2b3c4d5e6f", true},
        {SPEC_FORMAT_GUID, "8F7C2D1E-0A4B-4C6D-9E8F-1A2B3C4D5E6F", true},
        {SPEC_FORMAT_GUID, "8f7c2d1e0a4b4c6d9e8f1a2b3c4d5e6f", false},
        {SPEC_FORMAT_GUID, "8f7c2d1e-0a4b-4c6d-9e8f-1a2b3c4d5e6g", false},
        {SPEC_FORMAT_RESOURCE_GROUP, "rg-team_a.(1)", true},
        {SPEC_FORMAT_RESOURCE_GROUP, "rg.", false},
        {SPEC_FORMAT_RESOURCE_GROUP, "rg team", false},
        {SPEC_FORMAT_CIDR, "10.0.0.0/16", true},
        {SPEC_FORMAT_CIDR, "0.0.0.0/0", true},
        {SPEC_FORMAT_CIDR, "192.168.1.128/25", true},
        {SPEC_FORMAT_CIDR, "255.255.255.255/32", true},
        {SPEC_FORMAT_CIDR, "10.0.0.0", false},
        {SPEC_FORMAT_CIDR, "10.0.0.0/", false},
        {SPEC_FORMAT_CIDR, "10.0.0.0/08", false},
        {SPEC_FORMAT_CIDR, "256.0.0.0/8", false},
        {SPEC_FORMAT_CIDR, "10.0.0.0/16 ", false},
        {SPEC_FORMAT_CIDR, "10.0.0.128/24", false},
        {SPEC_FORMAT_ADDRESS_PREFIX, "203.0.113.9", true},
        {SPEC_FORMAT_ADDRESS_PREFIX, "203.0.113.0/24", true},
        {SPEC_FORMAT_ADDRESS_PREFIX, "203.0.113.9/24", false},
        {SPEC_FORMAT_ADDRESS_PREFIX, "Internet", false},
        {SPEC_FORMAT_VNET_ID,
         "/subscriptions/8f7c2d1e-0a4b-4c6d-9e8f-1a2b3c4d5e6f/resourceGroups/net/providers/Microsoft.Network/"
         "virtualNetworks/hub",
         true},
        {SPEC_FORMAT_VNET_ID,
         "/subscriptions/8f7c2d1e-0a4b-4c6d-9e8f-1a2b3c4d5e6f/resourcegroups/net/providers/microsoft.network/"
         "virtualnetworks/hub",
         true},
        {SPEC_FORMAT_VNET_ID,
         "/subscriptions/nope/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/hub", false},
        {SPEC_FORMAT_VNET_ID,
         "/subscriptions/8f7c2d1e-0a4b-4c6d-9e8f-1a2b3c4d5e6f/resourceGroups/net/providers/Microsoft.Network/"
         "virtualNetworks/hub/",
         false},
        {SPEC_FORMAT_VNET_ID,
         "/subscriptions/8f7c2d1e-0a4b-4c6d-9e8f-1a2b3c4d5e6f/resourceGroups//providers/Microsoft.Network/"
         "virtualNetworks/hub",
         false},
        {SPEC_FORMAT_SUBNET_ID,
         "/subscriptions/8f7c2d1e-0a4b-4c6d-9e8f-1a2b3c4d5e6f/resourceGroups/net/providers/Microsoft.Network/"
         "virtualNetworks/hub/subnets/ci",
         true},
        {SPEC_FORMAT_SUBNET_ID,
         "/subscriptions/8f7c2d1e-0a4b-4c6d-9e8f-1a2b3c4d5e6f/resourceGroups/net/providers/Microsoft.Network/"
         "virtualNetworks/hub",
         false},
        {SPEC_FORMAT_VM_SIZE, "Standard_D2s_v5", true},
        {SPEC_FORMAT_VM_SIZE, "Standard_M8-2ms", true},
        {SPEC_FORMAT_VM_SIZE, "Standard D2", false},
        {SPEC_FORMAT_VM_SIZE, "_D2", false},
        {SPEC_FORMAT_DURATION, "20m", true},
        {SPEC_FORMAT_DURATION, "1h30m", true},
        {SPEC_FORMAT_DURATION, "0", true},
        {SPEC_FORMAT_DURATION, "20m0s", true},
        {SPEC_FORMAT_DURATION, "1.5h", true},
        {SPEC_FORMAT_DURATION, "250ms", true},
        {SPEC_FORMAT_DURATION, "20", false},
        {SPEC_FORMAT_DURATION, "-1m", false},
        {SPEC_FORMAT_RUNNER_TAG, "azure", true},
        {SPEC_FORMAT_RUNNER_TAG, "big disk", true},
        {SPEC_FORMAT_RUNNER_TAG, "", false},
        {SPEC_FORMAT_RUNNER_TAG, " azure", false},
        {SPEC_FORMAT_RUNNER_TAG, "a,b", false},
        {SPEC_FORMAT_ENV_NAME, "GITLAB_RUNNER_TOKEN", true},
        {SPEC_FORMAT_ENV_NAME, "_x1", true},
        {SPEC_FORMAT_ENV_NAME, "1X", false},
        {SPEC_FORMAT_ENV_NAME, "GITLAB-TOKEN", false},
        {SPEC_FORMAT_FILE_PATH, "/run/secrets/token", true},
        {SPEC_FORMAT_FILE_PATH, "token", false},
        {SPEC_FORMAT_SECRET_KEY, "runner.token_1-a", true},
        {SPEC_FORMAT_SECRET_KEY, "a/b", false},
};

static void test_formats(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(format_rows) / sizeof(format_rows[0]); i++) {
		const format_row *r = &format_rows[i];
		const spec_format_info *fi = spec_format_info_get(r->format);
		char hint[256];
		int rc = spec_format_check(r->format, r->value, hint, sizeof(hint));

		if ((rc == 0) != r->valid)
			print_message("  %s: \"%s\" should be %s\n", fi->name, r->value,
			              r->valid ? "valid" : "invalid");
		assert_int_equal(rc == 0, r->valid);
		if (r->valid && fi->max_length)
			assert_true(strlen(r->value) <= fi->max_length);
	}
}

static void test_accepted_values_match_the_published_pattern(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(format_rows) / sizeof(format_rows[0]); i++) {
		const format_row *r = &format_rows[i];
		const spec_format_info *fi = spec_format_info_get(r->format);
		regex_t re;

		if (!r->valid || !fi->pattern)
			continue;
		assert_int_equal(regcomp(&re, fi->pattern, REG_EXTENDED | REG_NOSUB), 0);
		if (regexec(&re, r->value, 0, NULL, 0) != 0)
			print_message("  %s: \"%s\" does not match %s\n", fi->name, r->value, fi->pattern);
		assert_int_equal(regexec(&re, r->value, 0, NULL, 0), 0);
		regfree(&re);
	}
}

static void test_every_format_is_described(void **state)
{
	(void)state;
	for (int f = 0; f < SPEC_FORMAT_COUNT; f++) {
		const spec_format_info *fi = spec_format_info_get((spec_field_format)f);

		assert_non_null(fi->name);
		assert_non_null(fi->description);
	}
}

static void test_cidr_hint_names_the_network(void **state)
{
	char hint[128];

	(void)state;
	assert_int_equal(spec_format_check(SPEC_FORMAT_CIDR, "10.0.5.7/16", hint, sizeof(hint)), -1);
	assert_string_equal(hint, "host bits are set; the network is 10.0.0.0/16");
}

/* ---- Go durations. */

typedef struct duration_row {
	const char *text;
	int rc;
	long seconds;
} duration_row;

static void test_parse_duration(void **state)
{
	static const duration_row cases[] = {
	        {"20m", 0, 1200},
	        {"1h30m", 0, 5400},
	        {"90s", 0, 90},
	        {"20m0s", 0, 1200},
	        {"2h0m0s", 0, 7200},
	        {"1.5h", 0, 5400},
	        {".5m", 0, 30},
	        {"1.h", 0, 3600},
	        {"1500ms", 0, 1},
	        {"500ms", 0, 0},
	        {"1h1ms", 0, 3600},
	        {"0", 0, 0},
	        {"0s", 0, 0},
	        {"", -1, 0},
	        {"-5m", -1, 0},
	        {"+5m", -1, 0},
	        {"5", -1, 0},
	        {"5x", -1, 0},
	        {"1d", -1, 0},
	        {"5ns", -1, 0},
	        {"5us", -1, 0},
	        {"1h-30m", -1, 0},
	        {"m", -1, 0},
	        {".m", -1, 0},
	        {"1 h", -1, 0},
	        {"1h ", -1, 0},
	        {"1H", -1, 0},
	        {"99999999999999999999h", -1, 0},
	        {"9999999999999999h", -1, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long s = -7;
		int rc = spec_parse_duration(cases[i].text, &s);

		if (rc != cases[i].rc)
			print_message("  \"%s\": rc %d\n", cases[i].text, rc);
		assert_int_equal(rc, cases[i].rc);
		if (rc == 0)
			assert_int_equal(s, cases[i].seconds);
	}
	assert_int_equal(spec_parse_duration(NULL, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_field_sits_under_an_earlier_object),
	        cmocka_unit_test(test_stored_fields_match_their_slots),
	        cmocka_unit_test(test_defaults_pass_their_own_checks),
	        cmocka_unit_test(test_enum_values_follow_the_c_enums),
	        cmocka_unit_test(test_secret_shape_and_rules_are_described),
	        cmocka_unit_test(test_formats),
	        cmocka_unit_test(test_accepted_values_match_the_published_pattern),
	        cmocka_unit_test(test_every_format_is_described),
	        cmocka_unit_test(test_cidr_hint_names_the_network),
	        cmocka_unit_test(test_parse_duration),
	};

	return cmocka_run_group_tests_name("spec_fields", tests, NULL, NULL) ? 1 : 0;
}
