#include "core/render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/sha256.h"

#define REDACTED "[REDACTED]"
#define RENDER_MAX (256 * 1024)

const char *render_go_duration(long s, char *out, size_t cap)
{
	long h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
	if (h > 0)
		snprintf(out, cap, "%ldh%ldm%lds", h, m, sec);
	else if (m > 0)
		snprintf(out, cap, "%ldm%lds", m, sec);
	else
		snprintf(out, cap, "%lds", sec);
	return out;
}

void render_worker_password(const char *runner_token, const char *fleet_key, char out[40])
{
	uint8_t mac[32];
	char msg[256];
	snprintf(msg, sizeof msg, "runnerfleet worker password v1|%s", fleet_key);
	hmac_sha256(runner_token, strlen(runner_token), msg, strlen(msg), mac);
	/* Upper, lower, digit and symbol classes: Azure wants three of four. */
	memcpy(out, "Rf-", 3);
	for (int i = 0; i < 16; i++)
		snprintf(out + 3 + 2 * i, 3, "%02x", mac[i]);
	memcpy(out + 35, "!9", 3);
}

/* TOML basic string escaping for values we did not write ourselves. */
static void toml_str(buf *b, const char *s)
{
	buf_puts(b, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_printf(b, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			buf_printf(b, "\\u%04x", (unsigned char)*s);
		else
			buf_append(b, s, 1);
	}
	buf_puts(b, "\"");
}

char *render_manager_config(const render_input *in, bool redact)
{
	const spec_fleet *f = in->f;
	const fleet_names *n = in->n;
	const bool windows = f->runner_type == SPEC_RUNNER_WINDOWS;
	char dur[32];
	buf b;
	buf_init(&b, RENDER_MAX);
	buf_puts(&b, "# Rendered by runnerfleet from RunnerFleet ");
	buf_puts(&b, n->key);
	buf_puts(&b, ". Do not edit: the next apply rewrites it.\n");
	buf_printf(&b, "concurrent = %d\n", f->autoscaler.max_instances * f->autoscaler.capacity_per_instance);
	buf_puts(&b, "check_interval = 3\nshutdown_timeout = 30\nlog_format = \"json\"\n\n");
	buf_puts(&b, "[[runners]]\n  name = ");
	toml_str(&b, n->name[RK_RUNNER]);
	buf_puts(&b, "\n  url = ");
	toml_str(&b, in->gitlab_url);
	buf_puts(&b, "\n  token = ");
	toml_str(&b, redact || !in->runner_token ? REDACTED : in->runner_token);
	buf_puts(&b, "\n  executor = \"instance\"\n");
	buf_printf(&b, "  shell = \"%s\"\n", windows ? "pwsh" : "bash");
	buf_puts(&b, "  [runners.autoscaler]\n");
	buf_printf(&b, "    plugin = \"%s\"\n", RF_FLEETING_PLUGIN);
	buf_printf(&b, "    capacity_per_instance = %d\n", f->autoscaler.capacity_per_instance);
	buf_puts(&b, "    max_use_count = 1\n");
	buf_printf(&b, "    max_instances = %d\n", f->autoscaler.max_instances);
	buf_puts(&b, "    [runners.autoscaler.plugin_config]\n      name = ");
	toml_str(&b, n->name[RK_VMSS]);
	buf_puts(&b, "\n      subscription_id = ");
	toml_str(&b, n->subscription);
	buf_puts(&b, "\n      resource_group_name = ");
	toml_str(&b, n->name[RK_RESOURCE_GROUP]);
	buf_puts(&b, "\n    [runners.autoscaler.connector_config]\n");
	buf_printf(&b, "      os = \"%s\"\n      protocol = \"%s\"\n", windows ? "windows" : "linux",
		   windows ? "winrm" : "ssh");
	buf_printf(&b, "      username = \"%s\"\n      password = ", RF_ADMIN_USER);
	toml_str(&b, redact || !in->worker_password ? REDACTED : in->worker_password);
	buf_puts(&b, "\n      use_static_credentials = true\n      timeout = \"10m0s\"\n"
		     "      use_external_addr = false\n");
	buf_puts(&b, "    [[runners.autoscaler.policy]]\n");
	buf_printf(&b, "      idle_count = %d\n      idle_time = \"%s\"\n", f->autoscaler.idle_count,
		   render_go_duration(f->autoscaler.idle_time_s, dur, sizeof dur));
	return buf_detach(&b);
}

char *render_manager_script(const render_input *in, bool redact)
{
	char *config = render_manager_config(in, redact);
	if (!config)
		return NULL;
	buf b;
	buf_init(&b, RENDER_MAX);
	buf_puts(&b, "#!/bin/bash\n"
		     "# Configures the runnerfleet manager VM: gitlab-runner with the instance executor\n"
		     "# and the pinned fleeting Azure plugin. Idempotent: runs again on every config change.\n"
		     "set -euo pipefail\n"
		     "export HOME=/root DEBIAN_FRONTEND=noninteractive\n"
		     "export FLEETING_PLUGIN_PATH=/opt/runnerfleet/fleeting\n"
		     "if ! command -v gitlab-runner >/dev/null; then\n"
		     "  apt-get update -y\n"
		     "  apt-get install -y curl ca-certificates\n"
		     "  curl -fsSL https://packages.gitlab.com/install/repositories/runner/gitlab-runner/script.deb.sh | bash\n"
		     "  apt-get install -y gitlab-runner\n"
		     "fi\n"
		     "install -d -m 0700 /etc/gitlab-runner \"$FLEETING_PLUGIN_PATH\"\n"
		     "umask 077\n"
		     "# The token is written here and only here: never `gitlab-runner register` on top.\n"
		     "cat > /etc/gitlab-runner/config.toml.new <<'RUNNERFLEET_CONFIG_EOF'\n");
	buf_puts(&b, config);
	buf_puts(&b, "RUNNERFLEET_CONFIG_EOF\n"
		     "mv /etc/gitlab-runner/config.toml.new /etc/gitlab-runner/config.toml\n"
		     "install -d /etc/systemd/system/gitlab-runner.service.d\n"
		     "printf '[Service]\\nEnvironment=FLEETING_PLUGIN_PATH=%s\\n' \"$FLEETING_PLUGIN_PATH\" \\\n"
		     "  > /etc/systemd/system/gitlab-runner.service.d/fleeting.conf\n"
		     "gitlab-runner fleeting -c /etc/gitlab-runner/config.toml install\n"
		     "systemctl daemon-reload\n"
		     "systemctl restart gitlab-runner\n");
	free(config);
	return buf_detach(&b);
}

char *render_worker_cloud_init(const render_input *in)
{
	buf b;
	buf_init(&b, RENDER_MAX);
	if (in->f->runner_type == SPEC_RUNNER_WINDOWS) {
		/* Windows reads customData as a file; the instance executor needs git
		 * and gitlab-runner on PATH. */
		buf_puts(&b, "# runnerfleet worker bootstrap (Windows): see docs/architecture.md\n");
		return buf_detach(&b);
	}
	buf_puts(&b, "#cloud-config\n"
		     "# runnerfleet worker: the instance executor needs git and the gitlab-runner\n"
		     "# binary (for artifacts and caches). The service stays off: workers never\n"
		     "# register themselves; the manager drives them over SSH.\n"
		     "package_update: true\n"
		     "packages: [git, curl, ca-certificates]\n"
		     "runcmd:\n"
		     "  - curl -fsSL https://packages.gitlab.com/install/repositories/runner/gitlab-runner/script.deb.sh | bash\n"
		     "  - DEBIAN_FRONTEND=noninteractive apt-get install -y gitlab-runner\n"
		     "  - systemctl disable --now gitlab-runner\n");
	return buf_detach(&b);
}
