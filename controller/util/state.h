/* state — the little runnerfleet keeps that cannot be observed: the runner
 * token GitLab shows once. One folder per fleet under the state folder;
 * files are 0600, written to a temporary name, fsync'd and renamed into
 * place so a crash leaves the old or the new content, never half. */
#ifndef RF_STATE_H
#define RF_STATE_H

#include <stddef.h>

/* --state-dir, else $RUNNERFLEET_STATE_DIR, else $XDG_STATE_HOME/runnerfleet,
 * else ~/.local/state/runnerfleet. Returns 0, or -1 when nothing fits. */
int state_dir_resolve(char *buf, size_t cap, const char *flag_value);

/* Writes `data` to {dir}/{namespace}/{name}/{file}, creating folders 0700. */
int state_write(const char *dir, const char *fleet_ns, const char *fleet_name, const char *file, const char *data,
		size_t len);

/* Reads the file into a new NUL-terminated buffer (caller frees). Returns 0,
 * -ENOENT when absent, another negative errno on failure. Caps at 64 KiB. */
int state_read(const char *dir, const char *fleet_ns, const char *fleet_name, const char *file, char **out);

/* Creates the fleet's folder and proves a file can be written there. */
int state_check_writable(const char *dir, const char *fleet_ns, const char *fleet_name);

/* Removes the file, then the fleet folder if it became empty. Absent is fine. */
int state_remove(const char *dir, const char *fleet_ns, const char *fleet_name, const char *file);

#endif
