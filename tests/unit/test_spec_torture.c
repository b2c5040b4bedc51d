/* spec under allocation failure (curl's torture idea): fail the 1st, 2nd, ...
 * allocation of a load in turn; every run must end cleanly, report -1, and
 * leave no allocation behind. Allocations are counted by replacing glibc's
 * malloc family (a documented glibc feature); under a sanitizer, which owns
 * malloc itself, or valgrind, the test notices it is not in control and
 * skips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spec/spec.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define RF_NO_MALLOC_HOOK 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define RF_NO_MALLOC_HOOK 1
#endif

static long fail_at = -1; /* the allocation number that fails; -1: none */
static long seen;         /* allocations since arming */
static bool failed;       /* fail_at was reached */
static long live;         /* allocations not yet freed */

#if defined(__GLIBC__) && !defined(RF_NO_MALLOC_HOOK)
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);
void free(void *p);

static bool should_fail(void)
{
	if (fail_at < 0)
		return false;
	if (seen++ == fail_at) {
		failed = true;
		return true;
	}
	return false;
}

void *malloc(size_t n)
{
	void *p = should_fail() ? NULL : __libc_malloc(n);

	if (p)
		live++;
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = should_fail() ? NULL : __libc_calloc(n, size);

	if (p)
		live++;
	return p;
}

void *realloc(void *p, size_t n)
{
	void *q;

	if (p && n == 0) {
		live--;
		return __libc_realloc(p, n);
	}
	if (should_fail())
		return NULL;
	q = __libc_realloc(p, n);
	if (q && !p)
		live++;
	return q;
}

void free(void *p)
{
	if (p)
		live--;
	__libc_free(p);
}
#endif

#define DOC                                                                                                  \
	"apiVersion: runnerfleet.dev/v1alpha1\nkind: RunnerFleet\nmetadata:\n  name: team-a\n  labels: {a: " \
	"b}\n"                                                                                               \
	"spec:\n  appName: team-a\n  location: westeurope\n  gitlab:\n    url: https://gitlab.com\n"         \
	"    apiToken: {secretRef: {name: gitlab, key: token}}\n    runner: {projectId: 1, tags: [a, b]}\n"  \
	"  manager: {vmSize: &s Standard_D2s_v5, sshSourceRanges: [10.0.0.0/8]}\n  workers: {vmSize: *s}\n"

static const char *const inputs[] = {
        DOC "---\n" DOC,
        DOC "  autoscaler: {maxInstances: \"10\", idleTime: soon}\n  extra: 1\n", /* errors: diagnostics */
        DOC "---\nkey: value\n  bad: x\n",                                        /* a YAML error */
};

/* Fails each allocation of one load in turn. Returns how many runs failed
 * an allocation. */
static long torture(const char *text)
{
	long n;

	for (n = 0;; n++) {
		spec_set set = {0};
		spec_diags d = {0};
		long before = live;
		int rc;

		seen = 0;
		failed = false;
		fail_at = n;
		rc = spec_load_buffer(&set, &d, "t.yaml", text, strlen(text));
		fail_at = -1;
		if (failed)
			assert_int_equal(rc, -1);
		spec_set_free(&set);
		spec_diags_free(&d);
		assert_int_equal(live, before); /* nothing leaked on this path */
		if (!failed)
			return n;
	}
}

static void test_every_allocation_failure_is_handled(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		long runs = torture(inputs[i]);

		if (runs == 0) {
			print_message("  malloc is not ours to fail here (sanitizer or valgrind): skipped\n");
			skip();
		}
		print_message("  input %zu: %ld allocations failed in turn\n", i, runs);
	}
}

static void test_check_set_survives_allocation_failure(void **state)
{
	const char *text = DOC "---\n" DOC;
	spec_set set = {0};
	spec_diags d = {0};
	long n;

	(void)state;
	assert_int_equal(spec_load_buffer(&set, &d, "t.yaml", text, strlen(text)), 0);
	assert_int_equal(set.n, 2);
	for (n = 0;; n++) {
		spec_diags cd = {0};
		long before = live;
		size_t added;

		seen = 0;
		failed = false;
		fail_at = n;
		added = spec_check_set(&set, &cd);
		fail_at = -1;
		/* one name clash and one scale-set clash, reported on both fleets; a
		 * failed sort buffer falls back to pairwise comparison */
		assert_int_equal(added, cd.n);
		if (!failed)
			assert_int_equal(added, 4);
		spec_diags_free(&cd);
		assert_int_equal(live, before);
		if (!failed)
			break;
	}
	spec_set_free(&set);
	if (n == 0)
		skip();
}

static void test_folder_load_survives_allocation_failure(void **state)
{
	const char *src = getenv("RF_SOURCE_DIR");
	char path[4096];
	long n;

	(void)state;
	assert_true(snprintf(path, sizeof(path), "%s/tests/unit/specs/folder", src ? src : ".") <
	            (int)sizeof(path));
	for (n = 0;; n++) {
		spec_set set = {0};
		spec_diags d = {0};
		long before = live;

		seen = 0;
		failed = false;
		fail_at = n;
		/* a failed opendir is a reported folder problem, not -1: only cleanliness is checked */
		(void)spec_load_path(&set, &d, path);
		fail_at = -1;
		spec_set_free(&set);
		spec_diags_free(&d);
		assert_int_equal(live, before);
		if (!failed)
			break;
	}
	if (n == 0)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_allocation_failure_is_handled),
	        cmocka_unit_test(test_check_set_survives_allocation_failure),
	        cmocka_unit_test(test_folder_load_survives_allocation_failure),
	};

	return cmocka_run_group_tests_name("spec_torture", tests, NULL, NULL) ? 1 : 0;
}
