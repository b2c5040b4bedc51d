/* The RunnerFleet schema table (see fields.h). Add a field here, to the id
 * list in spec_int.h, and — when it is stored — to spec_fleet; parsing,
 * defaulting and freeing follow from the table. */
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "spec/spec_int.h"

_Static_assert(sizeof(spec_runner_type) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(spec_runner_scope) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(spec_autoscaler_mode) == sizeof(int), "enums are stored as int");

#define AT(member) .offset = offsetof(spec_fleet, member), .size = sizeof(((spec_fleet *)0)->member)
#define RANGE(lo, hi) .has_min = true, .min = (lo), .has_max = true, .max = (hi)
#define MIN(lo) .has_min = true, .min = (lo)

static const char *const runner_types[] = {"Linux", "Windows", NULL};
static const char *const runner_scopes[] = {"project", "group", "instance", NULL};
static const char *const autoscaler_modes[] = {"manager", "controller", NULL};

_Static_assert(SPEC_RUNNER_WINDOWS == 1 && SPEC_SCOPE_INSTANCE == 2 && SPEC_MODE_CONTROLLER == 1,
               "enum_values follow the C enums");

const spec_field spec_fields[SPEC_F_COUNT] = {
        [SPEC_F_API_VERSION] = {"apiVersion", "apiVersion", SPEC_FIELD_STRING, .required = true,
                                .example = SPEC_API_VERSION, .doc = "Always " SPEC_API_VERSION "."},
        [SPEC_F_KIND] = {"kind", "kind", SPEC_FIELD_STRING, .required = true, .example = SPEC_KIND,
                         .doc = "Always " SPEC_KIND "."},
        [SPEC_F_METADATA] = {"metadata", "metadata", SPEC_FIELD_OBJECT, .required = true,
                             .doc = "Standard Kubernetes object metadata."},
        [SPEC_F_METADATA_NAME] = {"metadata.name", "name", SPEC_FIELD_STRING, SPEC_FORMAT_DNS_LABEL,
                                  .required = true, .example = "team-a",
                                  .doc = "Name of the fleet, unique in its namespace.", AT(name)},
        [SPEC_F_METADATA_NAMESPACE] = {"metadata.namespace", "namespace", SPEC_FIELD_STRING,
                                       SPEC_FORMAT_DNS_LABEL, .default_value = "default", .example = "ci",
                                       .doc = "Namespace of the fleet.", AT(namespace)},
        [SPEC_F_METADATA_LABELS] = {"metadata.labels", "labels", SPEC_FIELD_STRING_MAP,
                                    .doc = "Kubernetes labels; not used by runnerfleet."},
        [SPEC_F_METADATA_ANNOTATIONS] = {"metadata.annotations", "annotations", SPEC_FIELD_STRING_MAP,
                                         .doc = "Kubernetes annotations; not used by runnerfleet."},
        [SPEC_F_METADATA_UID] = {"metadata.uid", "uid", SPEC_FIELD_IGNORED, .doc = "Set by the API server."},
        [SPEC_F_METADATA_RESOURCE_VERSION] = {"metadata.resourceVersion", "resourceVersion",
                                              SPEC_FIELD_IGNORED, .doc = "Set by the API server."},
        [SPEC_F_METADATA_GENERATION] = {"metadata.generation", "generation", SPEC_FIELD_IGNORED,
                                        .doc = "Set by the API server."},
        [SPEC_F_METADATA_CREATION_TIMESTAMP] = {"metadata.creationTimestamp", "creationTimestamp",
                                                SPEC_FIELD_IGNORED, .doc = "Set by the API server."},
        [SPEC_F_METADATA_DELETION_TIMESTAMP] = {"metadata.deletionTimestamp", "deletionTimestamp",
                                                SPEC_FIELD_IGNORED, .doc = "Set by the API server."},
        [SPEC_F_METADATA_DELETION_GRACE] = {"metadata.deletionGracePeriodSeconds",
                                            "deletionGracePeriodSeconds", SPEC_FIELD_IGNORED,
                                            .doc = "Set by the API server."},
        [SPEC_F_METADATA_FINALIZERS] = {"metadata.finalizers", "finalizers", SPEC_FIELD_IGNORED,
                                        .doc = "Managed by the controller (runnerfleet.dev/cleanup)."},
        [SPEC_F_METADATA_MANAGED_FIELDS] = {"metadata.managedFields", "managedFields", SPEC_FIELD_IGNORED,
                                            .doc = "Set by the API server."},
        [SPEC_F_METADATA_OWNER_REFERENCES] = {"metadata.ownerReferences", "ownerReferences",
                                              SPEC_FIELD_IGNORED,
                                              .doc = "Kubernetes owner references; not used by runnerfleet."},
        [SPEC_F_METADATA_SELF_LINK] = {"metadata.selfLink", "selfLink", SPEC_FIELD_IGNORED,
                                       .doc = "Set by old API servers."},

        [SPEC_F_SPEC] = {"spec", "spec", SPEC_FIELD_OBJECT, .required = true, .doc = "The desired fleet."},
        [SPEC_F_APP_NAME] = {"spec.appName", "appName", SPEC_FIELD_STRING, SPEC_FORMAT_APP_NAME,
                             .required = true, .example = "team-a",
                             .doc = "Base of every Azure resource name (vmss-{appName}, ...).", AT(app_name)},
        [SPEC_F_LOCATION] = {"spec.location", "location", SPEC_FIELD_STRING, SPEC_FORMAT_REGION,
                             .required = true, .example = "westeurope",
                             .doc = "Azure region of every resource.", AT(location)},
        [SPEC_F_RUNNER_TYPE] = {"spec.runnerType", "runnerType", SPEC_FIELD_ENUM, .default_value = "Linux",
                                .enum_values = runner_types, .doc = "Operating system of the workers.",
                                AT(runner_type)},

        [SPEC_F_GITLAB] = {"spec.gitlab", "gitlab", SPEC_FIELD_OBJECT, .required = true,
                           .doc = "The GitLab instance and the runner registration."},
        [SPEC_F_GITLAB_URL] = {"spec.gitlab.url", "url", SPEC_FIELD_STRING, SPEC_FORMAT_GITLAB_URL,
                               .required = true, .example = "https://gitlab.com",
                               .doc = "GitLab base URL: https, or plain http to a loopback host.",
                               AT(gitlab.url)},
        [SPEC_F_GITLAB_RUNNER_TOKEN] =
                {"spec.gitlab.runnerToken", "runnerToken", SPEC_FIELD_SECRET,
                 .example = "GITLAB_RUNNER_TOKEN",
                 .doc = "Authentication token (glrt-) of a runner made in the GitLab UI.",
                 AT(gitlab.runner_token)},
        [SPEC_F_GITLAB_API_TOKEN] =
                {"spec.gitlab.apiToken", "apiToken", SPEC_FIELD_SECRET, .example = "GITLAB_API_TOKEN",
                 .doc = "Token with the create_runner scope; runnerfleet registers the runner.",
                 AT(gitlab.api_token)},
        [SPEC_F_RUNNER] = {"spec.gitlab.runner", "runner", SPEC_FIELD_OBJECT,
                           .doc = "The runner registration kept true (with apiToken)."},
        [SPEC_F_RUNNER_SCOPE] = {"spec.gitlab.runner.scope", "scope", SPEC_FIELD_ENUM,
                                 .default_value = "project", .enum_values = runner_scopes,
                                 .doc = "Runner type: project, group or instance.", AT(gitlab.runner.scope)},
        [SPEC_F_RUNNER_PROJECT_ID] = {"spec.gitlab.runner.projectId", "projectId", SPEC_FIELD_INT,
                                      RANGE(1, LONG_MAX), .example = "12345",
                                      .doc = "Project of a project runner.", AT(gitlab.runner.project_id)},
        [SPEC_F_RUNNER_GROUP_ID] = {"spec.gitlab.runner.groupId", "groupId", SPEC_FIELD_INT,
                                    RANGE(1, LONG_MAX), .example = "678", .doc = "Group of a group runner.",
                                    AT(gitlab.runner.group_id)},
        [SPEC_F_RUNNER_TAGS] = {"spec.gitlab.runner.tags", "tags", SPEC_FIELD_STRING_LIST,
                                SPEC_FORMAT_RUNNER_TAG, .example = "[azure, vmss]",
                                .doc = "Job tags the runner picks up.", AT(gitlab.runner.tags)},
        [SPEC_F_RUNNER_RUN_UNTAGGED] = {"spec.gitlab.runner.runUntagged", "runUntagged", SPEC_FIELD_BOOL,
                                        .default_value = "false", .doc = "Also pick up jobs without tags.",
                                        AT(gitlab.runner.run_untagged)},
        [SPEC_F_RUNNER_LOCKED] = {"spec.gitlab.runner.locked", "locked", SPEC_FIELD_BOOL,
                                  .default_value = "true", .doc = "Lock a project runner to its project.",
                                  AT(gitlab.runner.locked)},
        [SPEC_F_RUNNER_PAUSED] = {"spec.gitlab.runner.paused", "paused", SPEC_FIELD_BOOL,
                                  .default_value = "false", .doc = "Register the runner paused.",
                                  AT(gitlab.runner.paused)},
        [SPEC_F_RUNNER_MAXIMUM_TIMEOUT] = {"spec.gitlab.runner.maximumTimeout", "maximumTimeout",
                                           SPEC_FIELD_INT, RANGE(600, INT_MAX), .example = "3600",
                                           .doc = "Longest job the runner accepts, in seconds.",
                                           AT(gitlab.runner.maximum_timeout)},

        [SPEC_F_AZURE] = {"spec.azure", "azure", SPEC_FIELD_OBJECT, .doc = "Where the fleet lives in Azure."},
        [SPEC_F_AZURE_SUBSCRIPTION_ID] =
                {"spec.azure.subscriptionId", "subscriptionId", SPEC_FIELD_STRING, SPEC_FORMAT_GUID,
                 .example = "00000000-0000-0000-0000-000000000000",
                 .doc =
                         "Subscription; default: AZURE_SUBSCRIPTION_ID of the controller.",
                 AT(azure.subscription_id)},
        [SPEC_F_AZURE_RESOURCE_GROUP] = {"spec.azure.resourceGroup", "resourceGroup", SPEC_FIELD_STRING,
                                         SPEC_FORMAT_RESOURCE_GROUP, .default_value = "rg-{appName}",
                                         .doc = "Resource group holding every resource of the fleet.",
                                         AT(azure.resource_group)},

        [SPEC_F_NETWORK] = {"spec.network", "network", SPEC_FIELD_OBJECT, .doc = "The fleet's network."},
        [SPEC_F_NETWORK_VNET_ADDRESS_SPACE] = {"spec.network.vnetAddressSpace", "vnetAddressSpace",
                                               SPEC_FIELD_STRING, SPEC_FORMAT_CIDR,
                                               .default_value = "10.0.0.0/16",
                                               .doc = "Address space of the VNet we create.",
                                               AT(network.vnet_address_space)},
        [SPEC_F_NETWORK_SUBNET_ADDRESS_SPACE] =
                {"spec.network.subnetAddressSpace", "subnetAddressSpace", SPEC_FIELD_STRING, SPEC_FORMAT_CIDR,
                 .default_value = "10.0.1.0/24",
                 .doc =
                         "Address range of the subnet we create, inside the VNet.",
                 AT(network.subnet_address_space)},
        [SPEC_F_NETWORK_EXISTING_VNET_ID] =
                {"spec.network.existingVnetId", "existingVnetId", SPEC_FIELD_STRING,
                 SPEC_FORMAT_VNET_ID, .doc = "Use this VNet instead of creating one (with existingSubnetId).",
                 AT(network.existing_vnet_id)},
        [SPEC_F_NETWORK_EXISTING_SUBNET_ID] =
                {"spec.network.existingSubnetId", "existingSubnetId", SPEC_FIELD_STRING,
                 SPEC_FORMAT_SUBNET_ID, .doc = "Use this subnet of existingVnetId instead of creating one.",
                 AT(network.existing_subnet_id)},

        [SPEC_F_MANAGER] = {"spec.manager", "manager", SPEC_FIELD_OBJECT,
                            .doc = "The manager VM (autoscaler mode manager)."},
        [SPEC_F_MANAGER_VM_SIZE] = {"spec.manager.vmSize", "vmSize", SPEC_FIELD_STRING, SPEC_FORMAT_VM_SIZE,
                                    .default_value = "Standard_D2s_v3", .doc = "Size of the manager VM.",
                                    AT(manager.vm_size)},
        [SPEC_F_MANAGER_PUBLIC_IP] = {"spec.manager.publicIp", "publicIp", SPEC_FIELD_BOOL,
                                      .default_value = "false",
                                      .doc = "Give the manager VM a public IP address.",
                                      AT(manager.public_ip)},
        [SPEC_F_MANAGER_SSH_SOURCE_RANGES] = {"spec.manager.sshSourceRanges", "sshSourceRanges",
                                              SPEC_FIELD_STRING_LIST, SPEC_FORMAT_ADDRESS_PREFIX,
                                              .example = "[203.0.113.0/24]",
                                              .doc = "Addresses allowed to SSH to the manager's public IP.",
                                              AT(manager.ssh_source_ranges)},

        [SPEC_F_WORKERS] = {"spec.workers", "workers", SPEC_FIELD_OBJECT, .doc = "The worker scale set."},
        [SPEC_F_WORKERS_VM_SIZE] = {"spec.workers.vmSize", "vmSize", SPEC_FIELD_STRING, SPEC_FORMAT_VM_SIZE,
                                    .default_value = "Standard_D2s_v5", .doc = "Size of each worker VM.",
                                    AT(workers.vm_size)},

        [SPEC_F_AUTOSCALER] = {"spec.autoscaler", "autoscaler", SPEC_FIELD_OBJECT,
                               .doc = "How the scale set grows and shrinks."},
        [SPEC_F_AUTOSCALER_MODE] =
                {"spec.autoscaler.mode", "mode", SPEC_FIELD_ENUM, .default_value = "manager",
                 .enum_values = autoscaler_modes,
                 .doc =
                         "manager: gitlab-runner's fleeting plugin scales; controller: runnerfleet does.",
                 AT(autoscaler.mode)},
        [SPEC_F_AUTOSCALER_MAX_INSTANCES] = {"spec.autoscaler.maxInstances", "maxInstances", SPEC_FIELD_INT,
                                             RANGE(1, 1000), .default_value = "10",
                                             .doc = "Most worker VMs at once.", AT(autoscaler.max_instances)},
        [SPEC_F_AUTOSCALER_IDLE_COUNT] = {"spec.autoscaler.idleCount", "idleCount", SPEC_FIELD_INT,
                                          RANGE(0, 1000000), .default_value = "1",
                                          .doc = "Idle job slots kept ready.", AT(autoscaler.idle_count)},
        [SPEC_F_AUTOSCALER_IDLE_TIME] = {"spec.autoscaler.idleTime", "idleTime", SPEC_FIELD_STRING,
                                         SPEC_FORMAT_DURATION, .default_value = "20m",
                                         .doc = "How long an idle worker is kept (Go duration).",
                                         AT(autoscaler.idle_time)},
        [SPEC_F_AUTOSCALER_CAPACITY] = {"spec.autoscaler.capacityPerInstance", "capacityPerInstance",
                                        SPEC_FIELD_INT, RANGE(1, 1000), .default_value = "1",
                                        .doc = "Jobs one worker runs at once.",
                                        AT(autoscaler.capacity_per_instance)},

        [SPEC_F_STATUS] = {"status", "status", SPEC_FIELD_IGNORED,
                           .doc = "Written by the controller; ignored when read."},
};

const size_t spec_fields_count = SPEC_F_COUNT;

const spec_field spec_secret_fields[SPEC_SF_COUNT] = {
        [SPEC_SF_ENV] = {"env", "env", SPEC_FIELD_STRING, SPEC_FORMAT_ENV_NAME,
                         .example = "GITLAB_RUNNER_TOKEN",
                         .doc = "Read the secret from this environment variable of the controller."},
        [SPEC_SF_FILE] = {"file", "file", SPEC_FIELD_STRING, SPEC_FORMAT_FILE_PATH,
                          .example = "/run/secrets/gitlab-token", .doc = "Read the secret from this file."},
        [SPEC_SF_REF] = {"secretRef", "secretRef", SPEC_FIELD_OBJECT,
                         .doc = "Read the secret from a Kubernetes Secret in the fleet's namespace."},
        [SPEC_SF_REF_NAME] = {"secretRef.name", "name", SPEC_FIELD_STRING, SPEC_FORMAT_DNS_SUBDOMAIN,
                              .required = true, .example = "gitlab", .doc = "Name of the Secret."},
        [SPEC_SF_REF_KEY] = {"secretRef.key", "key", SPEC_FIELD_STRING, SPEC_FORMAT_SECRET_KEY,
                             .required = true, .example = "token", .doc = "Key in the Secret's data."},
};

const size_t spec_secret_fields_count = SPEC_SF_COUNT;

const spec_field *spec_field_find(const char *path)
{
	if (!path)
		return NULL;
	for (size_t i = 0; i < spec_fields_count; i++)
		if (strcmp(spec_fields[i].path, path) == 0)
			return &spec_fields[i];
	return NULL;
}

/* Children of an object follow it directly (depth-first order), so the scan
 * stops at the first entry outside the parent's subtree. */
int spec_field_child(int parent, const char *s, size_t len)
{
	const char *ppath = parent < 0 ? "" : spec_fields[parent].path;
	size_t plen = strlen(ppath);
	size_t start = parent < 0 ? 0 : (size_t)parent + 1;

	for (size_t i = start; i < spec_fields_count; i++) {
		const spec_field *f = &spec_fields[i];
		const char *rest;

		if (plen) {
			if (strncmp(f->path, ppath, plen) != 0 || f->path[plen] != '.')
				break;
			rest = f->path + plen + 1;
		} else {
			rest = f->path;
		}
		if (strchr(rest, '.'))
			continue; /* a grandchild */
		if (strlen(f->name) == len && memcmp(f->name, s, len) == 0)
			return (int)i;
	}
	return -1;
}

int spec_field_parent(int id)
{
	const char *path = spec_fields[id].path;
	const char *dot = strrchr(path, '.');
	size_t n = dot ? (size_t)(dot - path) : 0;

	if (!dot)
		return -1;
	for (int i = id - 1; i >= 0; i--)
		if (strlen(spec_fields[i].path) == n && strncmp(spec_fields[i].path, path, n) == 0)
			return i;
	return -1;
}

const char *spec_field_type_name(spec_field_type type)
{
	switch (type) {
	case SPEC_FIELD_OBJECT:
		return "object";
	case SPEC_FIELD_STRING:
		return "string";
	case SPEC_FIELD_INT:
		return "integer";
	case SPEC_FIELD_BOOL:
		return "boolean";
	case SPEC_FIELD_ENUM:
		return "enum";
	case SPEC_FIELD_STRING_LIST:
		return "string-list";
	case SPEC_FIELD_STRING_MAP:
		return "string-map";
	case SPEC_FIELD_SECRET:
		return "secret";
	case SPEC_FIELD_IGNORED:
		return "ignored";
	}
	return "unknown";
}
