// SPDX-License-Identifier: GPL-2.0
/*
 * The network devices of the config: "net": [{"tap": ..., "queues": ...,
 * "mac": ...}] in the JSON file and --net tap=NAME[,queues=N][,mac=M] on
 * the command line. File devices come first, --net ones are appended in
 * order. Each is a virtio-net device on the host tap interface NAME. Both
 * are parsed through one table of fields (vmm/config_keys.h).
 */
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/parse.h"
#include "vmm/config.h"
#include "vmm/config_keys.h"

#define NET_IFNAME_MAX		15	/* IFNAMSIZ - 1 */

static void net_free(struct config_net *n)
{
	free(n->tap);
	memset(n, 0, sizeof(*n));
}

void config_nets_free(struct config *c)
{
	unsigned i;

	for (i = 0; i < c->nr_nets; i++)
		net_free(&c->nets[i]);
	free(c->nets);
	c->nets = NULL;
	c->nr_nets = 0;
}

/* A new, zeroed device at the end of the list. */
static struct config_net *net_add(struct config *c)
{
	struct config_net *n;

	n = realloc(c->nets, (c->nr_nets + 1) * sizeof(*n));
	if (!n)
		return NULL;
	c->nets = n;
	n = &c->nets[c->nr_nets++];
	memset(n, 0, sizeof(*n));
	n->vhost = -1;
	return n;
}

int config_parse_mac(const char *s, u8 mac[6])
{
	unsigned i;

	for (i = 0; i < 6; i++) {
		char *end;
		unsigned long v;

		if (!((s[0] >= '0' && s[0] <= '9') ||
		      (s[0] >= 'a' && s[0] <= 'f') ||
		      (s[0] >= 'A' && s[0] <= 'F')))
			return -EINVAL;
		v = strtoul(s, &end, 16);
		if (end - s != 2 || v > 0xff)
			return -EINVAL;
		if (*end != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		mac[i] = (u8)v;
		s = end + 1;
	}
	return mac[0] & 1 ? -EINVAL : 0;	/* multicast: not a station */
}

/* The fields of a network device, for "net" entries and --net alike. */
static const struct cfg_key net_keys[] = {
	{ "tap",	CFG_STRING, .off = offsetof(struct config_net, tap),
	  .arg = "tap", .meta = "NAME",
	  .flags = CFG_ARG_NONEMPTY | CFG_ARG_FIRST },
	{ "queues",	CFG_UINT, .off = offsetof(struct config_net, queues),
	  .min = 1, .max = CONFIG_NET_MAX_QUEUES, .arg = "queues", .meta = "N" },
	{ "mac",	CFG_MAC, .off = offsetof(struct config_net, mac),
	  .arg = "mac", .meta = "M",
	  .given = offsetof(struct config_net, mac_given) },
	{ "vhost",	CFG_ONOFF, .off = offsetof(struct config_net, vhost),
	  .arg = "vhost", .meta = "on|off" },
};

const struct cfg_keys config_net_keys = CFG_KEYS(net_keys);

int config_nets_json(struct config *c, const char *file, const char *path,
		     struct json_t *v)
{
	char sub[256];
	size_t i;
	int r;

	if (!json_is_array(v)) {
		pr_err("config %s: \"%s\" must be an array of network device objects",
		       file, path);
		return -EINVAL;
	}
	config_nets_free(c);
	for (i = 0; i < json_array_size(v); i++) {
		struct config_net *n = net_add(c);

		if (!n)
			return -ENOMEM;
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		r = cfg_device(c, file, sub, json_array_get(v, i),
			       &config_net_keys, n);
		if (r)
			return r;
		if (!n->tap) {
			pr_err("config %s: \"%s.tap\" is required", file, sub);
			return -EINVAL;
		}
	}
	return 0;
}

/* --net tap=NAME[,k=v]...: appended. */
int config_net_arg(struct config *c, const char *arg)
{
	char *dup = strdup(arg);
	struct config_net *n;
	int r = -ENOMEM;

	if (!dup)
		return -ENOMEM;
	n = net_add(c);
	if (!n)
		goto out;
	r = config_kv_fields("--net", arg, dup, &config_net_keys, n);
	if (!r && !n->tap) {
		pr_err("--net %s: no tap=NAME", arg);
		r = -EINVAL;
	}
out:
	free(dup);
	return r;
}

int config_nets_validate(struct config *c)
{
	unsigned i, j;

	for (i = 0; i < c->nr_nets; i++) {
		struct config_net *n = &c->nets[i];

		if (!*n->tap || strlen(n->tap) > NET_IFNAME_MAX ||
		    strchr(n->tap, '/') || strchr(n->tap, ' ')) {
			pr_err("net %s: not a valid interface name (1-%d characters, no '/' or space)",
			       n->tap, NET_IFNAME_MAX);
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (!strcmp(c->nets[j].tap, n->tap)) {
				pr_err("net %s: tap named twice", n->tap);
				return -EINVAL;
			}
		}
		if (!n->queues)
			n->queues = 1;
	}
	return 0;
}
