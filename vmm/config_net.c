// SPDX-License-Identifier: GPL-2.0
/*
 * The network devices of the config: "net": [{"tap": ..., "queues": ...,
 * "mac": ...}] in the JSON file and --net tap=NAME[,queues=N][,mac=M] on
 * the command line. File devices come first, --net ones are appended in
 * order. Each is a virtio-net device on the host tap interface NAME.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/parse.h"
#include "vmm/config.h"

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

static int set_tap(struct config_net *n, const char *s)
{
	char *t = strdup(s);

	if (!t)
		return -ENOMEM;
	free(n->tap);
	n->tap = t;
	return 0;
}

/* One object of "net". */
static int json_net(struct config_net *n, const char *file, const char *path,
		    json_t *v)
{
	const char *key;
	json_t *val;

	if (!json_is_object(v)) {
		pr_err("config %s: \"%s\" must be an object", file, path);
		return -EINVAL;
	}
	json_object_foreach(v, key, val) {
		json_int_t q = json_integer_value(val);

		if (!strcmp(key, "tap") && json_is_string(val)) {
			if (set_tap(n, json_string_value(val)))
				return -ENOMEM;
		} else if (!strcmp(key, "queues") && json_is_integer(val) &&
			   q >= 1 && q <= CONFIG_NET_MAX_QUEUES) {
			n->queues = (unsigned)q;
		} else if (!strcmp(key, "mac") && json_is_string(val) &&
			   !config_parse_mac(json_string_value(val), n->mac)) {
			n->mac_given = true;
		} else if (!strcmp(key, "vhost") && json_is_boolean(val)) {
			n->vhost = json_is_true(val);
		} else if (!strcmp(key, "tap") || !strcmp(key, "queues") ||
			   !strcmp(key, "mac") || !strcmp(key, "vhost")) {
			pr_err("config %s: \"%s.%s\" has a bad value (tap: an interface name, queues: 1-%d, mac: a unicast address xx:xx:xx:xx:xx:xx, vhost: true or false)",
			       file, path, key, CONFIG_NET_MAX_QUEUES);
			return -EINVAL;
		} else {
			pr_err("config %s: unknown key \"%s.%s\"", file, path, key);
			return -EINVAL;
		}
	}
	if (!n->tap) {
		pr_err("config %s: \"%s.tap\" is required", file, path);
		return -EINVAL;
	}
	return 0;
}

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
		r = json_net(n, file, sub, json_array_get(v, i));
		if (r)
			return r;
	}
	return 0;
}

/* One "key=value" field of --net. */
static int arg_field(struct config_net *n, const char *arg, char *f)
{
	char *val = strchr(f, '=');
	u32 q;

	if (val)
		*val++ = '\0';
	if (!strcmp(f, "tap") && val && *val) {
		return set_tap(n, val);
	} else if (!strcmp(f, "queues") && val &&
		   !parse_u32(val, 1, CONFIG_NET_MAX_QUEUES, &q)) {
		n->queues = q;
	} else if (!strcmp(f, "mac") && val && !config_parse_mac(val, n->mac)) {
		n->mac_given = true;
	} else if (!strcmp(f, "vhost") && val &&
		   (!strcmp(val, "on") || !strcmp(val, "off"))) {
		n->vhost = !strcmp(val, "on");
	} else {
		pr_err("--net %s: bad field \"%s%s%s\" (expected tap=NAME, queues=1-%d, mac=xx:xx:xx:xx:xx:xx, unicast, or vhost=on|off)",
		       arg, f, val ? "=" : "", val ? val : "",
		       CONFIG_NET_MAX_QUEUES);
		return -EINVAL;
	}
	return 0;
}

int config_net_arg(struct config *c, const char *arg)
{
	char *dup = strdup(arg), *rest, *f;
	struct config_net *n;
	int r = 0;

	if (!dup)
		return -ENOMEM;
	n = net_add(c);
	if (!n) {
		r = -ENOMEM;
		goto out;
	}
	rest = dup;
	while (!r && (f = strsep(&rest, ",")))
		r = arg_field(n, arg, f);
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
