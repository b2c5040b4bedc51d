/* resource — what a fleet is made of: the kinds of resources, their
 * deterministic names and ids, the api-versions we speak, and the
 * dependency graph between them (DESIGN.md §1). Pure; no I/O. */
#ifndef RF_RESOURCE_H
#define RF_RESOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "spec/spec.h"

typedef enum {
	RK_RESOURCE_GROUP = 0,
	RK_NSG,
	RK_VNET,
	RK_SUBNET,
	RK_IDENTITY,
	RK_VMSS,
	RK_ROLE_ASSIGNMENT,
	RK_PUBLIC_IP,
	RK_NIC,
	RK_VM,
	RK_VM_EXTENSION,
	RK_RUNNER, /* the GitLab runner registration */
	RK_COUNT
} rf_kind;

#define RF_ID_MAX 512
#define RF_NAME_MAX 128

/* Built-in role "Virtual Machine Contributor". */
#define RF_ROLE_VM_CONTRIBUTOR "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"
#define RF_TAG_MANAGED_BY "managed-by"
#define RF_TAG_MANAGED_BY_VALUE "runnerfleet"
#define RF_TAG_FLEET "runnerfleet-fleet"
#define RF_EXTENSION_NAME "runnerfleet-manager-config"

/* Everything about a fleet that is derived, not observed. */
typedef struct fleet_names {
	char key[RF_NAME_MAX];          /* namespace/name */
	char subscription[64];
	char name[RK_COUNT][RF_NAME_MAX]; /* short names; the runner's is its description */
	char id[RK_COUNT][RF_ID_MAX];     /* full ARM ids; empty for the runner */
	char subnet_id[RF_ID_MAX];        /* ours or the existing one */
	char vnet_id[RF_ID_MAX];
	bool existing_network;
	bool has_manager; /* manager mode */
} fleet_names;

/* Fills `out` from the spec and the subscription to use. Returns 0, or -1
 * when a derived name does not fit. */
int fleet_names_resolve(fleet_names *out, const spec_fleet *f, const char *subscription);

/* Does this fleet have this kind at all? (No VNet with an existing network,
 * no manager resources in controller mode, no public IP unless asked.) */
bool fleet_has_kind(const fleet_names *n, const spec_fleet *f, rf_kind k);

/* Kinds that must exist before `k` can be created (bit i = kind i). */
unsigned rf_kind_deps(rf_kind k);

const char *rf_kind_name(rf_kind k);     /* "resource group" */
const char *rf_kind_arm_type(rf_kind k); /* "Microsoft.Network/networkSecurityGroups" */
const char *rf_kind_api_version(rf_kind k);

/* Whether ARM answers PUT/DELETE of this kind as a long-running operation. */
bool rf_kind_is_arm(rf_kind k);

#endif
