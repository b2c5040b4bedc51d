#include "core/resource.h"

#include <stdio.h>
#include <string.h>

#include "util/sha256.h"

#define BIT(k) (1u << (k))

static const struct {
	const char *name;
	const char *type;
	const char *api;
	unsigned deps;
} kinds[RK_COUNT] = {
	[RK_RESOURCE_GROUP] = {"resource group", "Microsoft.Resources/resourceGroups", "2021-04-01", 0},
	[RK_NSG] = {"network security group", "Microsoft.Network/networkSecurityGroups", "2024-05-01",
		    BIT(RK_RESOURCE_GROUP)},
	[RK_VNET] = {"virtual network", "Microsoft.Network/virtualNetworks", "2024-05-01",
		     BIT(RK_RESOURCE_GROUP) | BIT(RK_NSG)},
	[RK_SUBNET] = {"subnet", "Microsoft.Network/virtualNetworks/subnets", "2024-05-01",
		       BIT(RK_VNET) | BIT(RK_NSG)},
	[RK_IDENTITY] = {"managed identity", "Microsoft.ManagedIdentity/userAssignedIdentities", "2023-01-31",
			 BIT(RK_RESOURCE_GROUP)},
	[RK_VMSS] = {"scale set", "Microsoft.Compute/virtualMachineScaleSets", "2024-07-01",
		     BIT(RK_SUBNET) | BIT(RK_NSG) | BIT(RK_RUNNER)},
	[RK_ROLE_ASSIGNMENT] = {"role assignment", "Microsoft.Authorization/roleAssignments", "2022-04-01",
				BIT(RK_VMSS) | BIT(RK_IDENTITY)},
	[RK_PUBLIC_IP] = {"public IP", "Microsoft.Network/publicIPAddresses", "2024-05-01", BIT(RK_RESOURCE_GROUP)},
	[RK_NIC] = {"network interface", "Microsoft.Network/networkInterfaces", "2024-05-01",
		    BIT(RK_SUBNET) | BIT(RK_NSG) | BIT(RK_PUBLIC_IP)},
	[RK_VM] = {"manager VM", "Microsoft.Compute/virtualMachines", "2024-07-01", BIT(RK_NIC) | BIT(RK_IDENTITY) | BIT(RK_RUNNER)},
	[RK_VM_EXTENSION] = {"manager config extension", "Microsoft.Compute/virtualMachines/extensions", "2024-07-01",
			     BIT(RK_VM) | BIT(RK_RUNNER) | BIT(RK_ROLE_ASSIGNMENT)},
	[RK_RUNNER] = {"runner registration", "GitLab runner", "v4", 0},
};

const char *rf_kind_name(rf_kind k)
{
	return k < RK_COUNT ? kinds[k].name : "?";
}

const char *rf_kind_arm_type(rf_kind k)
{
	return k < RK_COUNT ? kinds[k].type : "?";
}

const char *rf_kind_api_version(rf_kind k)
{
	return k < RK_COUNT ? kinds[k].api : "";
}

unsigned rf_kind_deps(rf_kind k)
{
	return k < RK_COUNT ? kinds[k].deps : 0;
}

bool rf_kind_is_arm(rf_kind k)
{
	return k < RK_RUNNER;
}

bool fleet_has_kind(const fleet_names *n, const spec_fleet *f, rf_kind k)
{
	switch (k) {
	case RK_VNET:
	case RK_SUBNET:
		return !n->existing_network;
	case RK_IDENTITY:
	case RK_ROLE_ASSIGNMENT:
	case RK_NIC:
	case RK_VM:
	case RK_VM_EXTENSION:
		return n->has_manager;
	case RK_PUBLIC_IP:
		return n->has_manager && f->manager.public_ip;
	default:
		return true;
	}
}

#define PUT(dst, ...)                                                                                                \
	do {                                                                                                         \
		int n_ = snprintf(dst, sizeof(dst), __VA_ARGS__);                                                    \
		if (n_ < 0 || (size_t)n_ >= sizeof(dst))                                                             \
			return -1;                                                                                   \
	} while (0)

int fleet_names_resolve(fleet_names *out, const spec_fleet *f, const char *subscription)
{
	memset(out, 0, sizeof *out);
	const char *app = f->app_name;
	char rgbuf[RF_NAME_MAX];
	if (!spec_name_resource_group(f, rgbuf, sizeof rgbuf))
		return -1;
	PUT(out->key, "%s/%s", f->namespace, f->name);
	PUT(out->subscription, "%s", subscription);
	out->existing_network = f->network.existing_subnet_id != NULL;
	out->has_manager = f->autoscaler.mode == SPEC_MODE_MANAGER;

	PUT(out->name[RK_RESOURCE_GROUP], "%s", rgbuf);
	PUT(out->name[RK_NSG], "nsg-%s", app);
	PUT(out->name[RK_VNET], "vnet-%s", app);
	PUT(out->name[RK_SUBNET], "snet-%s", app);
	PUT(out->name[RK_IDENTITY], "id-%s", app);
	PUT(out->name[RK_VMSS], "vmss-%s", app);
	PUT(out->name[RK_PUBLIC_IP], "pip-%s-mgr", app);
	PUT(out->name[RK_NIC], "nic-%s-mgr", app);
	PUT(out->name[RK_VM], "vm-%s-mgr", app);
	PUT(out->name[RK_VM_EXTENSION], "%s", RF_EXTENSION_NAME);
	PUT(out->name[RK_RUNNER], "azure-vmss-runner-%s", app);

	char rg[RF_ID_MAX];
	PUT(rg, "/subscriptions/%s/resourceGroups/%s", subscription, rgbuf);
	PUT(out->id[RK_RESOURCE_GROUP], "%s", rg);
	PUT(out->id[RK_NSG], "%s/providers/Microsoft.Network/networkSecurityGroups/%s", rg, out->name[RK_NSG]);
	PUT(out->id[RK_VNET], "%s/providers/Microsoft.Network/virtualNetworks/%s", rg, out->name[RK_VNET]);
	PUT(out->id[RK_SUBNET], "%s/subnets/%s", out->id[RK_VNET], out->name[RK_SUBNET]);
	PUT(out->id[RK_IDENTITY], "%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/%s", rg,
	    out->name[RK_IDENTITY]);
	PUT(out->id[RK_VMSS], "%s/providers/Microsoft.Compute/virtualMachineScaleSets/%s", rg, out->name[RK_VMSS]);
	PUT(out->id[RK_PUBLIC_IP], "%s/providers/Microsoft.Network/publicIPAddresses/%s", rg,
	    out->name[RK_PUBLIC_IP]);
	PUT(out->id[RK_NIC], "%s/providers/Microsoft.Network/networkInterfaces/%s", rg, out->name[RK_NIC]);
	PUT(out->id[RK_VM], "%s/providers/Microsoft.Compute/virtualMachines/%s", rg, out->name[RK_VM]);
	PUT(out->id[RK_VM_EXTENSION], "%s/extensions/%s", out->id[RK_VM], RF_EXTENSION_NAME);

	/* The role assignment's name is a GUID derived from what it grants, so a
	 * retried PUT after a crash lands on the same assignment. */
	char seed[3 * RF_ID_MAX];
	PUT(seed, "%s|%s|%s", out->id[RK_VMSS], out->id[RK_IDENTITY], RF_ROLE_VM_CONTRIBUTOR);
	sha256_guid(seed, out->name[RK_ROLE_ASSIGNMENT]);
	PUT(out->id[RK_ROLE_ASSIGNMENT], "%s/providers/Microsoft.Authorization/roleAssignments/%s", out->id[RK_VMSS],
	    out->name[RK_ROLE_ASSIGNMENT]);

	if (out->existing_network) {
		PUT(out->subnet_id, "%s", f->network.existing_subnet_id);
		PUT(out->vnet_id, "%s", f->network.existing_vnet_id ? f->network.existing_vnet_id : "");
	} else {
		PUT(out->subnet_id, "%s", out->id[RK_SUBNET]);
		PUT(out->vnet_id, "%s", out->id[RK_VNET]);
	}
	return 0;
}
