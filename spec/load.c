/* Reading spec files and folders: the only I/O of spec/. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spec/spec_int.h"

typedef struct loader {
	spec_report *rep;
	spec_set *set;
} loader;

static int on_document(void *arg, const spec_node *root, spec_pos doc_pos, int doc_index)
{
	loader *l = arg;

	return spec_document_load(l->rep, l->set, root, doc_pos, doc_index);
}

static void report_too_large(spec_diags *diags, const char *file)
{
	spec_report rep = {diags, file, 0, false, false};
	spec_pos top = {0, 0};

	spec_report_add(&rep, top, "", "file is larger than %d bytes; refusing to read it",
	                SPEC_MAX_FILE_BYTES);
}

/* Returns 0; -1 when the input was refused (reported); -ENOMEM. */
static int load_bytes(spec_set *set, spec_diags *diags, const char *file, const char *buf, size_t len)
{
	spec_report rep = {diags, file, 0, false, false};
	loader l = {&rep, set};

	if (len > SPEC_MAX_FILE_BYTES) {
		report_too_large(diags, file);
		return -1;
	}
	if (len == 0)
		return 0;
	if (spec_yaml_parse(&rep, buf, len, on_document, &l) < 0) {
		/* best effort: callers that only read diagnostics should see it too */
		spec_pos top = {0, 0};

		(void)spec_diags_push(diags, file, top, "", "out of memory; the file was not fully read");
		return -ENOMEM;
	}
	return 0;
}

int spec_load_buffer(spec_set *set, spec_diags *diags, const char *file, const char *buf, size_t len)
{
	if (!set || !diags || (!buf && len))
		return -1;
	return load_bytes(set, diags, file ? file : "<input>", buf, len) < 0 ? -1 : 0;
}

static void report_errno(spec_diags *diags, const char *path, const char *what, int err)
{
	spec_report rep = {diags, path, 0, false, false};
	spec_pos top = {0, 0};

	spec_report_add(&rep, top, "", "%s: %s", what, strerror(err));
}

/* Reads at most SPEC_MAX_FILE_BYTES + 1 bytes, so a larger file (or one that
 * grows while read, or a pipe) is refused without reading it all. Returns 0;
 * -1 when refused or unreadable (reported); -ENOMEM. */
static int read_file(spec_diags *diags, const char *path, char **out, size_t *out_len)
{
	const size_t cap = SPEC_MAX_FILE_BYTES + 1;
	struct stat st;
	size_t len = 0;
	char *buf = NULL;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		report_errno(diags, path, "cannot open", errno);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		report_errno(diags, path, "cannot stat", errno);
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode)) {
		report_errno(diags, path, "cannot read", EISDIR);
		goto cleanup;
	}
	if (S_ISREG(st.st_mode) && st.st_size > (off_t)SPEC_MAX_FILE_BYTES) {
		report_too_large(diags, path);
		goto cleanup;
	}
	if (!(buf = malloc(cap))) {
		rc = -ENOMEM;
		goto cleanup;
	}
	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			report_errno(diags, path, "cannot read", errno);
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > SPEC_MAX_FILE_BYTES) {
		report_too_large(diags, path);
		goto cleanup;
	}
	*out = buf;
	*out_len = len;
	buf = NULL;
	rc = 0;
cleanup:
	close(fd);
	free(buf);
	return rc;
}

static int load_file(spec_set *set, spec_diags *diags, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = read_file(diags, path, &buf, &len);

	if (rc == 0)
		rc = load_bytes(set, diags, path, buf, len);
	free(buf);
	return rc;
}

typedef struct path_list {
	char **items;
	size_t n, cap;
} path_list;

static void path_list_free(path_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
}

static int path_list_add(path_list *l, char *p)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		char **items = realloc(l->items, ncap * sizeof(*items));

		if (!items)
			return -1;
		l->items = items;
		l->cap = ncap;
	}
	l->items[l->n++] = p;
	return 0;
}

static bool is_yaml_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) || (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static char *path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), cap = dl + strlen(name) + 2;
	char *p = malloc(cap);
	int n;

	if (!p)
		return NULL;
	n = snprintf(p, cap, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", name);
	if (n < 0 || (size_t)n >= cap) {
		free(p);
		return NULL;
	}
	return p;
}

/* Deep enough for any GitOps layout; bounds recursion on odd trees. */
#define MAX_DIR_DEPTH 32

/* Collects *.yaml / *.yml below `dir`. Hidden entries are skipped (that also
 * skips Kubernetes' ..data folders of mounted ConfigMaps, whose visible files
 * are symlinks, which are followed); symlinked folders are not followed, so
 * no loop can form. Returns 0, or -1 when out of memory. */
static int collect(spec_diags *diags, const char *dir, int depth, path_list *out)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (depth > MAX_DIR_DEPTH) {
		report_errno(diags, dir, "not read, folders nested too deep", ELOOP);
		return 0;
	}
	if (!(d = opendir(dir))) {
		report_errno(diags, dir, "cannot open folder", errno);
		return 0;
	}
	for (;;) {
		struct stat lst, st;
		char *p;

		errno = 0;
		if (!(de = readdir(d))) {
			if (errno)
				report_errno(diags, dir, "cannot list folder", errno);
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		if (!(p = path_join(dir, de->d_name))) {
			rc = -1;
			break;
		}
		if (lstat(p, &lst) < 0) {
			report_errno(diags, p, "cannot stat", errno);
			free(p);
			continue;
		}
		if (stat(p, &st) < 0) {
			/* a dangling link matters only where a spec was meant */
			if (!S_ISLNK(lst.st_mode) || is_yaml_name(de->d_name))
				report_errno(diags, p, "cannot stat", errno);
			free(p);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (!S_ISLNK(lst.st_mode))
				rc = collect(diags, p, depth + 1, out);
			free(p);
		} else if (S_ISREG(st.st_mode) && is_yaml_name(de->d_name)) {
			if ((rc = path_list_add(out, p)) < 0)
				free(p); /* else the list owns it */
		} else {
			free(p);
		}
		if (rc < 0)
			break;
	}
	closedir(d);
	return rc;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int spec_load_path(spec_set *set, spec_diags *diags, const char *path)
{
	struct stat st;
	path_list files = {0};
	int rc = 0;

	if (!set || !diags || !path)
		return -1;
	if (stat(path, &st) < 0) {
		report_errno(diags, path, "cannot read", errno);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return load_file(set, diags, path) < 0 ? -1 : 0;

	if (collect(diags, path, 0, &files) < 0) {
		rc = -1;
		goto cleanup;
	}
	if (files.n)
		qsort(files.items, files.n, sizeof(*files.items), cmp_path);
	for (size_t i = 0; i < files.n; i++) {
		/* a file that cannot be read is reported; the others still load */
		if (load_file(set, diags, files.items[i]) == -ENOMEM) {
			rc = -1;
			break;
		}
	}
cleanup:
	path_list_free(&files);
	return rc;
}
