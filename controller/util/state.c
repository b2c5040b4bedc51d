#include "util/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_MAX_FILE (64 * 1024)

int state_dir_resolve(char *buf, size_t cap, const char *flag_value)
{
	const char *v = flag_value && *flag_value ? flag_value : getenv("RUNNERFLEET_STATE_DIR");
	int n;
	if (v && *v) {
		n = snprintf(buf, cap, "%s", v);
	} else if ((v = getenv("XDG_STATE_HOME")) && *v) {
		n = snprintf(buf, cap, "%s/runnerfleet", v);
	} else if ((v = getenv("HOME")) && *v) {
		n = snprintf(buf, cap, "%s/.local/state/runnerfleet", v);
	} else {
		return -1;
	}
	return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

static int mkdir_p(const char *path)
{
	char tmp[4096];
	int n = snprintf(tmp, sizeof tmp, "%s", path);
	if (n < 0 || (size_t)n >= sizeof tmp)
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int fleet_path(char *buf, size_t cap, const char *dir, const char *ns, const char *name, const char *file)
{
	int n = file ? snprintf(buf, cap, "%s/%s/%s/%s", dir, ns, name, file)
		     : snprintf(buf, cap, "%s/%s/%s", dir, ns, name);
	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

int state_write(const char *dir, const char *ns, const char *name, const char *file, const char *data, size_t len)
{
	char folder[4096], path[4096], tmp[4200];
	int rc = fleet_path(folder, sizeof folder, dir, ns, name, NULL);
	if (rc == 0)
		rc = fleet_path(path, sizeof path, dir, ns, name, file);
	if (rc != 0)
		return rc;
	if ((rc = mkdir_p(folder)) != 0)
		return rc;
	int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof tmp)
		return -ENAMETOOLONG;

	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0) {
		rc = -errno;
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = -errno;
		goto fail;
	}
	/* Make the rename itself durable. */
	int dfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

int state_read(const char *dir, const char *ns, const char *name, const char *file, char **out)
{
	char path[4096];
	int rc = fleet_path(path, sizeof path, dir, ns, name, file);
	if (rc != 0)
		return rc;
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char *buf = malloc(STATE_MAX_FILE + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, buf + len, STATE_MAX_FILE - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == STATE_MAX_FILE) {
			rc = -EFBIG;
			break;
		}
	}
	close(fd);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

int state_remove(const char *dir, const char *ns, const char *name, const char *file)
{
	char path[4096], folder[4096];
	int rc = fleet_path(path, sizeof path, dir, ns, name, file);
	if (rc == 0)
		rc = fleet_path(folder, sizeof folder, dir, ns, name, NULL);
	if (rc != 0)
		return rc;
	if (unlink(path) != 0 && errno != ENOENT)
		return -errno;
	rmdir(folder); /* only succeeds when empty, which is the point */
	return 0;
}

int state_check_writable(const char *dir, const char *ns, const char *name)
{
	int rc = state_write(dir, ns, name, ".probe", "", 0);
	if (rc != 0)
		return rc;
	char path[4096];
	if (fleet_path(path, sizeof path, dir, ns, name, ".probe") == 0)
		unlink(path);
	return 0;
}
