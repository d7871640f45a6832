// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration: the JSON file, the command line and their validation.
 *
 * The file is walked with one table of key handlers per JSON object, so a
 * new key is one table line (plus a handler when its value is not a plain
 * string/bool/integer/size). Keys are named in messages by their dotted
 * path ("cpus.sockets") so users can find them in nested objects.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/files.h"
#include "lib/layout.h"
#include "lib/parse.h"
#include "vmm/config.h"
#include "vmm/numa_place.h"

#define PAGE_SIZE	(4 * KiB)
#define HUGE_PAGE_SIZE	(2 * MiB)

/* ---- JSON config file ---- */

/* State while one file is walked. */
struct cfg_ctx {
	struct config *c;
	const char *file;
	void *base;		/* the struct table offsets point into */
};

enum cfg_type {
	CFG_STRING,	/* char * at off */
	CFG_BOOL,	/* bool at off */
	CFG_UINT,	/* unsigned int at off, >= min */
	CFG_SIZE,	/* u64 bytes at off: "4G" or an integer */
	CFG_CPULIST,	/* struct cpulist at off (sized already): "0-3,8" */
	CFG_CUSTOM,	/* fn does it all */
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t off;		/* offsetof(<x->base's struct>, ...) */
	unsigned int min;	/* CFG_UINT */
	int (*fn)(struct cfg_ctx *x, const char *path, json_t *v);
};

static int cfg_walk(struct cfg_ctx *x, const char *prefix, json_t *obj,
		    const struct cfg_key *keys, size_t nr_keys);

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:	return "an object";
	case JSON_ARRAY:	return "an array";
	case JSON_STRING:	return "a string";
	case JSON_INTEGER:	return "an integer";
	case JSON_REAL:		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:	return "a boolean";
	case JSON_NULL:		return "null";
	}
	return "unknown";
}

static int cfg_type_err(struct cfg_ctx *x, const char *path, const char *want,
			const json_t *v)
{
	pr_err("config %s: \"%s\" must be %s, not %s", x->file, path, want,
	       json_kind(v));
	return -EINVAL;
}

static int cfg_set_string(char **dst, const char *s)
{
	char *dup = strdup(s);

	if (!dup)
		return -ENOMEM;
	free(*dst);
	*dst = dup;
	return 0;
}

static int cfg_uint(struct cfg_ctx *x, const char *path, json_t *v,
		    unsigned int min, unsigned int *dst)
{
	json_int_t n;

	if (!json_is_integer(v))
		return cfg_type_err(x, path, "an integer", v);
	n = json_integer_value(v);
	if (n < (json_int_t)min || n > (json_int_t)UINT32_MAX) {
		pr_err("config %s: \"%s\" is %lld, must be between %u and %u",
		       x->file, path, (long long)n, min, UINT32_MAX);
		return -EINVAL;
	}
	*dst = n;
	return 0;
}

/* A size: a string such as "4G" (see parse_size) or an integer of bytes. */
static int cfg_size(struct cfg_ctx *x, const char *path, json_t *v, u64 *dst)
{
	const char *s;
	int ret;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0) {
			pr_err("config %s: \"%s\" is negative", x->file, path);
			return -EINVAL;
		}
		*dst = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return cfg_type_err(x, path,
				    "a size (a string such as \"4G\" or an integer of bytes)",
				    v);
	s = json_string_value(v);
	ret = parse_size(s, dst);
	if (ret == -ERANGE)
		pr_err("config %s: \"%s\": size \"%s\" is too large", x->file,
		       path, s);
	else if (ret)
		pr_err("config %s: \"%s\": invalid size \"%s\" (use a number with an optional K, M, G or T suffix)",
		       x->file, path, s);
	return ret ? -EINVAL : 0;
}

/* A CPU or node list string into cl (already sized). */
static int cfg_cpulist(struct cfg_ctx *x, const char *path, json_t *v,
		       struct cpulist *cl)
{
	const char *s;
	int ret;

	if (!json_is_string(v))
		return cfg_type_err(x, path, "a list string such as \"0-3,8\"", v);
	s = json_string_value(v);
	ret = parse_cpulist(s, cl);
	if (ret == -ERANGE)
		pr_err("config %s: \"%s\": \"%s\" names a number above %u",
		       x->file, path, s, cl->nbits - 1);
	else if (ret)
		pr_err("config %s: \"%s\": invalid list \"%s\" (use numbers and ranges such as \"0-3,8\")",
		       x->file, path, s);
	return ret ? -EINVAL : 0;
}

/* Store v per key->type into the field at key->off of x->base. */
static int cfg_store(struct cfg_ctx *x, const struct cfg_key *key,
		     const char *path, json_t *v)
{
	char *field = (char *)x->base + key->off;

	switch (key->type) {
	case CFG_STRING:
		if (!json_is_string(v))
			return cfg_type_err(x, path, "a string", v);
		return cfg_set_string((char **)field, json_string_value(v));
	case CFG_BOOL:
		if (!json_is_boolean(v))
			return cfg_type_err(x, path, "true or false", v);
		*(bool *)field = json_is_true(v);
		return 0;
	case CFG_UINT:
		return cfg_uint(x, path, v, key->min, (unsigned int *)field);
	case CFG_SIZE:
		return cfg_size(x, path, v, (u64 *)field);
	case CFG_CPULIST:
		return cfg_cpulist(x, path, v, (struct cpulist *)field);
	case CFG_CUSTOM:
		return key->fn(x, path, v);
	}
	return -EINVAL;
}

static void free_pins(struct config *c)
{
	unsigned i;

	for (i = 0; i < c->nr_pins; i++) {
		cpulist_free(&c->pins[i].vcpus);
		cpulist_free(&c->pins[i].host);
	}
	free(c->pins);
	c->pins = NULL;
	c->nr_pins = 0;
	c->pin_auto = false;
}

/* One "cpus.pin" entry: "2-3": "6-7". */
static int cfg_pin_entry(struct cfg_ctx *x, const char *path, const char *key,
			 json_t *v)
{
	struct config *c = x->c;
	struct config_pin *p;
	int ret;

	p = &c->pins[c->nr_pins];
	if (cpulist_init(&p->vcpus, CONFIG_MAX_VCPU_IDS) ||
	    cpulist_init(&p->host, CONFIG_HOST_CPUS)) {
		cpulist_free(&p->vcpus);
		return -ENOMEM;
	}
	c->nr_pins++;
	ret = parse_cpulist(key, &p->vcpus);
	if (ret) {
		pr_err("config %s: \"%s\": key \"%s\" is not a vCPU id or range such as \"0-3\"",
		       x->file, path, key);
		return -EINVAL;
	}
	return cfg_cpulist(x, path, v, &p->host);
}

/*
 * "cpus.pin": {"0": "0", "2-3": "2-3"} (vCPUs to host CPU lists) or
 * "auto". Replaces earlier pins.
 */
static int cfg_cpus_pin(struct cfg_ctx *x, const char *path, json_t *v)
{
	struct config *c = x->c;
	char sub[256];
	const char *key;
	json_t *val;
	int ret;

	free_pins(c);
	if (json_is_string(v) && !strcmp(json_string_value(v), "auto")) {
		c->pin_auto = true;
		return 0;
	}
	if (!json_is_object(v))
		return cfg_type_err(x, path,
				    "an object of vCPU ids to host CPU lists, or \"auto\"",
				    v);
	c->pins = calloc(json_object_size(v) + 1, sizeof(*c->pins));
	if (!c->pins)
		return -ENOMEM;
	json_object_foreach(v, key, val) {
		snprintf(sub, sizeof(sub), "%s.%s", path, key);
		ret = cfg_pin_entry(x, sub, key, val);
		if (ret)
			return ret;
	}
	return 0;
}

static const struct cfg_key cpus_keys[] = {
	{ "count",	CFG_UINT, offsetof(struct config, nr_cpus), 1, NULL },
	{ "sockets",	CFG_UINT, offsetof(struct config, sockets), 1, NULL },
	{ "cores",	CFG_UINT, offsetof(struct config, cores), 1, NULL },
	{ "threads",	CFG_UINT, offsetof(struct config, threads), 1, NULL },
	{ "pin",	CFG_CUSTOM, 0, 0, cfg_cpus_pin },
	{ "dedicated",	CFG_BOOL, offsetof(struct config, dedicated), 0, NULL },
	{ "halt_poll_ns", CFG_UINT, offsetof(struct config, halt_poll_ns), 0, NULL },
};

/*
 * "cpus": 8, or {"count": 8, "sockets": 2, ...}. Either form replaces the
 * whole CPU setting, so a topology or pin never outlives the count it was
 * for.
 */
static int cfg_cpus(struct cfg_ctx *x, const char *path, json_t *v)
{
	struct config *c = x->c;

	c->sockets = c->cores = c->threads = 0;
	c->dedicated = false;
	c->halt_poll_ns = CONFIG_HALT_POLL_AUTO;
	free_pins(c);
	if (json_is_integer(v))
		return cfg_uint(x, path, v, 1, &c->nr_cpus);
	if (!json_is_object(v))
		return cfg_type_err(x, path, "an integer or an object", v);
	if (!json_object_get(v, "count")) {
		pr_err("config %s: \"%s.count\" is required", x->file, path);
		return -EINVAL;
	}
	return cfg_walk(x, path, v, cpus_keys, ARRAY_SIZE(cpus_keys));
}

static const struct cfg_key memory_keys[] = {
	{ "size",	CFG_SIZE, offsetof(struct config, mem_size), 0, NULL },
	{ "hugepages",	CFG_BOOL, offsetof(struct config, mem_hugepages), 0, NULL },
	{ "prefault",	CFG_BOOL, offsetof(struct config, mem_prefault), 0, NULL },
	{ "overcommit",	CFG_BOOL, offsetof(struct config, mem_overcommit), 0, NULL },
};

/* "memory": "4G", 4294967296, or {"size": "4G", "hugepages": true, ...}. */
static int cfg_memory(struct cfg_ctx *x, const char *path, json_t *v)
{
	if (!json_is_object(v) || json_object_get(v, "size"))
		x->c->mem_size_given = true;
	if (json_is_object(v))
		return cfg_walk(x, path, v, memory_keys,
				ARRAY_SIZE(memory_keys));
	if (!json_is_string(v) && !json_is_integer(v))
		return cfg_type_err(x, path,
				    "a size (such as \"4G\" or an integer of bytes) or an object",
				    v);
	return cfg_size(x, path, v, &x->c->mem_size);
}

/* ---- "numa" ---- */

static void free_nodes(struct config *c)
{
	unsigned i;

	for (i = 0; i < c->nr_nodes; i++) {
		cpulist_free(&c->nodes[i].cpus);
		cpulist_free(&c->nodes[i].host_nodes);
	}
	free(c->nodes);
	c->nodes = NULL;
	c->nr_nodes = 0;
	c->numa_auto = false;
}

static int cfg_node_policy(struct cfg_ctx *x, const char *path, json_t *v)
{
	static const char *const names[] = {
		[CONFIG_POLICY_BIND] = "bind",
		[CONFIG_POLICY_PREFERRED] = "preferred",
		[CONFIG_POLICY_INTERLEAVE] = "interleave",
	};
	struct config_node *n = x->base;
	size_t i;

	if (!json_is_string(v))
		return cfg_type_err(x, path, "a string", v);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(json_string_value(v), names[i])) {
			n->policy = i;
			return 0;
		}
	}
	pr_err("config %s: \"%s\": unknown policy \"%s\" (use bind, preferred or interleave)",
	       x->file, path, json_string_value(v));
	return -EINVAL;
}

/* "distances": [10, 20]: the node's SLIT row, one entry per node. */
static int cfg_node_distances(struct cfg_ctx *x, const char *path, json_t *v)
{
	struct config_node *n = x->base;
	json_t *d;
	size_t i;

	if (!json_is_array(v))
		return cfg_type_err(x, path, "an array of integers", v);
	if (json_array_size(v) > CONFIG_MAX_NODES) {
		pr_err("config %s: \"%s\" has %zu entries, at most %u nodes are supported",
		       x->file, path, json_array_size(v), CONFIG_MAX_NODES);
		return -EINVAL;
	}
	json_array_foreach(v, i, d) {
		if (!json_is_integer(d) || json_integer_value(d) < 10 ||
		    json_integer_value(d) > 254) {
			pr_err("config %s: \"%s[%zu]\" must be an integer from 10 to 254",
			       x->file, path, i);
			return -EINVAL;
		}
		n->distances[i] = json_integer_value(d);
	}
	n->nr_distances = json_array_size(v);
	return 0;
}

static const struct cfg_key node_keys[] = {
	{ "cpus",	CFG_CPULIST, offsetof(struct config_node, cpus), 0, NULL },
	{ "memory",	CFG_SIZE, offsetof(struct config_node, mem_size), 0, NULL },
	{ "host_nodes",	CFG_CPULIST, offsetof(struct config_node, host_nodes), 0, NULL },
	{ "policy",	CFG_CUSTOM, 0, 0, cfg_node_policy },
	{ "distances",	CFG_CUSTOM, 0, 0, cfg_node_distances },
};

static int cfg_node(struct cfg_ctx *x, const char *path, json_t *v,
		    struct config_node *n)
{
	void *base = x->base;
	int ret;

	if (!json_is_object(v))
		return cfg_type_err(x, path, "an object", v);
	if (!json_object_get(v, "cpus") || !json_object_get(v, "memory")) {
		pr_err("config %s: \"%s.%s\" is required", x->file, path,
		       json_object_get(v, "cpus") ? "memory" : "cpus");
		return -EINVAL;
	}
	x->base = n;
	ret = cfg_walk(x, path, v, node_keys, ARRAY_SIZE(node_keys));
	x->base = base;
	return ret;
}

/* "numa": [ {node}, ... ] or "auto"; replaces earlier nodes. */
static int cfg_numa(struct cfg_ctx *x, const char *path, json_t *v)
{
	struct config *c = x->c;
	char sub[256];
	json_t *e;
	size_t i;
	int ret;

	free_nodes(c);
	if (json_is_string(v) && !strcmp(json_string_value(v), "auto")) {
		c->numa_auto = true;
		return 0;
	}
	if (!json_is_array(v))
		return cfg_type_err(x, path, "an array of node objects or \"auto\"", v);
	if (!json_array_size(v) || json_array_size(v) > CONFIG_MAX_NODES) {
		pr_err("config %s: \"%s\" has %zu nodes (1 to %u supported)",
		       x->file, path, json_array_size(v), CONFIG_MAX_NODES);
		return -EINVAL;
	}
	c->nodes = calloc(json_array_size(v), sizeof(*c->nodes));
	if (!c->nodes)
		return -ENOMEM;
	json_array_foreach(v, i, e) {
		struct config_node *n = &c->nodes[i];

		if (cpulist_init(&n->cpus, CONFIG_MAX_VCPU_IDS) ||
		    cpulist_init(&n->host_nodes, CONFIG_HOST_NODES)) {
			cpulist_free(&n->cpus);
			return -ENOMEM;
		}
		c->nr_nodes++;
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		ret = cfg_node(x, sub, e, n);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- "iothreads", "vmm", "pv" ---- */

static void free_iothreads(struct config *c)
{
	unsigned i;

	for (i = 0; i < c->nr_iothreads; i++)
		cpulist_free(&c->iothreads[i].pin);
	free(c->iothreads);
	c->iothreads = NULL;
	c->nr_iothreads = 0;
}

/* One entry of "iothreads": {} or {"pin": "2"}. */
static int cfg_iothread(struct cfg_ctx *x, const char *path, json_t *v,
			struct config_iothread *t)
{
	const char *key;
	char sub[320];
	json_t *val;

	if (!json_is_object(v))
		return cfg_type_err(x, path, "an object", v);
	json_object_foreach(v, key, val) {
		snprintf(sub, sizeof(sub), "%s.%s", path, key);
		if (strcmp(key, "pin")) {
			pr_err("config %s: unknown key \"%s\"", x->file, sub);
			return -EINVAL;
		}
		if (cfg_cpulist(x, sub, val, &t->pin))
			return -EINVAL;
		t->pinned = true;
	}
	return 0;
}

#define CONFIG_MAX_IOTHREADS 256

/* "iothreads": N (unpinned) or [ {"pin": "2"}, {} ]; replaces earlier ones. */
static int cfg_iothreads(struct cfg_ctx *x, const char *path, json_t *v)
{
	struct config *c = x->c;
	unsigned i, n;
	char sub[256];
	int ret;

	free_iothreads(c);
	if (json_is_integer(v)) {
		if (cfg_uint(x, path, v, 0, &n))
			return -EINVAL;
	} else if (json_is_array(v)) {
		n = json_array_size(v);
	} else {
		return cfg_type_err(x, path, "an integer or an array of objects", v);
	}
	if (n > CONFIG_MAX_IOTHREADS) {
		pr_err("config %s: \"%s\": %u I/O threads, at most %u", x->file,
		       path, n, CONFIG_MAX_IOTHREADS);
		return -EINVAL;
	}
	c->iothreads = calloc(n + 1, sizeof(*c->iothreads));
	if (!c->iothreads)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (cpulist_init(&c->iothreads[i].pin, CONFIG_HOST_CPUS))
			return -ENOMEM;
		c->nr_iothreads++;
		if (!json_is_array(v))
			continue;
		snprintf(sub, sizeof(sub), "%s[%u]", path, i);
		ret = cfg_iothread(x, sub, json_array_get(v, i), &c->iothreads[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* "vmm": {"pin": "0"}: the main VMM thread (and the helpers it starts). */
static int cfg_vmm_pin(struct cfg_ctx *x, const char *path, json_t *v)
{
	struct config *c = x->c;

	if (!c->vmm_pin.bits && cpulist_init(&c->vmm_pin, CONFIG_HOST_CPUS))
		return -ENOMEM;
	if (cfg_cpulist(x, path, v, &c->vmm_pin))
		return -EINVAL;
	c->vmm_pinned = true;
	return 0;
}

static const struct cfg_key vmm_keys[] = {
	{ "pin",	CFG_CUSTOM, 0, 0, cfg_vmm_pin },
	{ "shutdown_timeout", CFG_UINT, offsetof(struct config, shutdown_timeout), 0, NULL },
};

static int cfg_vmm(struct cfg_ctx *x, const char *path, json_t *v)
{
	if (!json_is_object(v))
		return cfg_type_err(x, path, "an object", v);
	return cfg_walk(x, path, v, vmm_keys, ARRAY_SIZE(vmm_keys));
}

static const struct {
	const char *name;
	unsigned bit;
} pv_names[] = {
	{ "kvmclock",		PV_KVMCLOCK },
	{ "pv_eoi",		PV_EOI },
	{ "pv_tlb_flush",	PV_TLB_FLUSH },
	{ "pv_sched_yield",	PV_SCHED_YIELD },
	{ "pv_spinlocks",	PV_SPINLOCKS },
	{ "steal_time",		PV_STEAL_TIME },
	{ "pv_send_ipi",	PV_SEND_IPI },
	{ "poll_control",	PV_POLL_CONTROL },
};

/* "pv": {"kvmclock": false, ...}: each paravirtual feature on or off. */
static int cfg_pv(struct cfg_ctx *x, const char *path, json_t *v)
{
	const char *key;
	char sub[256];
	json_t *val;
	size_t i;

	if (!json_is_object(v))
		return cfg_type_err(x, path, "an object", v);
	json_object_foreach(v, key, val) {
		snprintf(sub, sizeof(sub), "%s.%s", path, key);
		for (i = 0; i < ARRAY_SIZE(pv_names); i++)
			if (!strcmp(key, pv_names[i].name))
				break;
		if (i == ARRAY_SIZE(pv_names)) {
			pr_err("config %s: unknown key \"%s\"", x->file, sub);
			return -EINVAL;
		}
		if (!json_is_boolean(val))
			return cfg_type_err(x, sub, "true or false", val);
		if (json_is_true(val))
			x->c->pv |= pv_names[i].bit;
		else
			x->c->pv &= ~pv_names[i].bit;
	}
	return 0;
}

static int cfg_disks(struct cfg_ctx *x, const char *path, json_t *v)
{
	return config_disks_json(x->c, x->file, path, v);
}

static int cfg_net(struct cfg_ctx *x, const char *path, json_t *v)
{
	return config_nets_json(x->c, x->file, path, v);
}

static const struct cfg_key top_keys[] = {
	{ "kernel",	CFG_STRING, offsetof(struct config, kernel), 0, NULL },
	{ "initrd",	CFG_STRING, offsetof(struct config, initrd), 0, NULL },
	{ "cmdline",	CFG_STRING, offsetof(struct config, cmdline), 0, NULL },
	{ "cpus",	CFG_CUSTOM, 0, 0, cfg_cpus },
	{ "memory",	CFG_CUSTOM, 0, 0, cfg_memory },
	{ "numa",	CFG_CUSTOM, 0, 0, cfg_numa },
	{ "iothreads",	CFG_CUSTOM, 0, 0, cfg_iothreads },
	{ "disks",	CFG_CUSTOM, 0, 0, cfg_disks },
	{ "net",	CFG_CUSTOM, 0, 0, cfg_net },
	{ "rng",	CFG_BOOL, offsetof(struct config, rng), 0, NULL },
	{ "vmm",	CFG_CUSTOM, 0, 0, cfg_vmm },
	{ "pv",		CFG_CUSTOM, 0, 0, cfg_pv },
};

/*
 * Apply every key of obj through the table; a key not in it is an error.
 * prefix is obj's own dotted path ("" at the top level).
 */
static int cfg_walk(struct cfg_ctx *x, const char *prefix, json_t *obj,
		    const struct cfg_key *keys, size_t nr_keys)
{
	const char *name;
	char path[256];
	json_t *v;
	size_t i;
	int ret;

	json_object_foreach(obj, name, v) {
		snprintf(path, sizeof(path), "%s%s%s", prefix,
			 *prefix ? "." : "", name);
		for (i = 0; i < nr_keys; i++)
			if (!strcmp(keys[i].name, name))
				break;
		if (i == nr_keys) {
			pr_err("config %s: unknown key \"%s\"", x->file, path);
			return -EINVAL;
		}
		ret = cfg_store(x, &keys[i], path, v);
		if (ret)
			return ret;
	}
	return 0;
}

int config_parse_file(struct config *c, const char *path)
{
	struct cfg_ctx x = { .c = c, .file = path, .base = c };
	json_error_t jerr;
	json_t *root;
	FILE *f;
	int ret;

	f = file_open_regular("config", path);
	if (!f)
		return -errno;
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (!root) {
		pr_err("config %s:%d:%d: %s", path, jerr.line, jerr.column,
		       jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		pr_err("config %s: the top level must be an object, not %s",
		       path, json_kind(root));
		ret = -EINVAL;
		goto put_root;
	}
	ret = cfg_set_string(&c->config_path, path);
	if (!ret)
		ret = cfg_walk(&x, "", root, top_keys, ARRAY_SIZE(top_keys));
put_root:
	json_decref(root);
	return ret;
}

/* ---- command line ---- */

enum {
	OPT_CONFIG = 256,
	OPT_KERNEL,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_CPUS,
	OPT_MEMORY,
	OPT_DISK,
	OPT_NET,
};

static const struct option run_opts[] = {
	{ "config",	required_argument, NULL, OPT_CONFIG },
	{ "kernel",	required_argument, NULL, OPT_KERNEL },
	{ "initrd",	required_argument, NULL, OPT_INITRD },
	{ "cmdline",	required_argument, NULL, OPT_CMDLINE },
	{ "cpus",	required_argument, NULL, OPT_CPUS },
	{ "memory",	required_argument, NULL, OPT_MEMORY },
	{ "disk",	required_argument, NULL, OPT_DISK },
	{ "net",	required_argument, NULL, OPT_NET },
	{ "verbose",	no_argument, NULL, 'v' },
	{ "quiet",	no_argument, NULL, 'q' },
	{ "help",	no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* '+': stop at the first non-option; ':': report a missing argument. */
#define RUN_SHORT_OPTS "+:vqh"

static const char usage_text[] =
"usage: smpvisor run [options]\n"
"       smpvisor --help | --version\n"
"\n"
"Run a Linux guest under KVM.\n"
"\n"
"Options of \"run\":\n"
"  --config FILE     read the machine description from the JSON file FILE;\n"
"                    the other options override it, wherever they appear\n"
"  --kernel PATH     guest kernel (bzImage); required here or in the config\n"
"  --initrd PATH     initial ramdisk\n"
"  --cmdline STR     kernel command line\n"
"  --cpus N          number of vCPUs (default 1); as 1 socket of N cores\n"
"  --cpus N,sockets=S,cores=C,threads=T\n"
"                    N vCPUs as S sockets of C cores of T threads; any of the\n"
"                    three may be left out (sockets and threads default to 1,\n"
"                    cores to whatever makes up N); S x C x T must equal N\n"
"  --memory SIZE     guest RAM (default 512M); more than the host's RAM and\n"
"                    swap together is refused unless the config file says\n"
"                    \"memory\": {\"overcommit\": true}\n"
"  --disk PATH[,ro][,queues=N][,iothread=K][,serial=S]\n"
"                    a virtio-blk disk on the raw image or block device PATH\n"
"                    (repeatable): ro read-only, N queues (default one per\n"
"                    vCPU), all served by I/O thread K (default: spread over\n"
"                    all), S the serial id (20 bytes at most)\n"
"  --disk vhost-user=SOCKET[,queues=N]\n"
"                    a virtio-blk disk served by the vhost-user-blk back end\n"
"                    listening on the UNIX socket SOCKET (qemu-storage-daemon\n"
"                    --export type=vhost-user-blk); N queues (default: one per\n"
"                    vCPU, at most what the back end has); guest RAM is then\n"
"                    shared memory (memfd)\n"
"  --net tap=NAME[,queues=N][,mac=M][,vhost=on|off]\n"
"                    a virtio-net device on the host tap interface NAME\n"
"                    (repeatable; created if it does not exist): N queue\n"
"                    pairs (default 1; N > 1 needs a multi_queue tap), M\n"
"                    the MAC address (default: a random local one); the rings\n"
"                    are served by vhost-net where /dev/vhost-net exists\n"
"                    (vhost=on: required, off: by smpvisor's I/O threads)\n"
"  -v, --verbose     more messages (-v info, -vv debug)\n"
"  -q, --quiet       errors only\n"
"  -h, --help        this text\n"
"\n"
"SIZE is a byte count with an optional K, M, G or T suffix (powers of 1024,\n"
"case-insensitive, optionally followed by B or iB): 512M, 4G, 1.5GiB.\n"
"\n"
"The config file is a JSON object; every key is optional:\n"
"  {\"kernel\": PATH, \"initrd\": PATH, \"cmdline\": STR,\n"
"   \"cpus\": N or {\"count\": N, \"sockets\": S, \"cores\": C, \"threads\": T,\n"
"            \"pin\": {VCPUS: CPUS, ...} or \"auto\", \"dedicated\": BOOL,\n"
"            \"halt_poll_ns\": N},\n"
"   \"memory\": SIZE or {\"size\": SIZE, \"hugepages\": BOOL, \"prefault\": BOOL,\n"
"              \"overcommit\": BOOL},\n"
"   \"numa\": \"auto\" or [{\"cpus\": VCPUS, \"memory\": SIZE, \"host_nodes\": NODES,\n"
"             \"policy\": \"bind\"|\"preferred\"|\"interleave\",\n"
"             \"distances\": [D, ...]}, ...],\n"
"   \"iothreads\": N or [{\"pin\": CPUS}, ...],\n"
"   \"vmm\": {\"pin\": CPUS, \"shutdown_timeout\": SECONDS},\n"
"   \"pv\": {\"kvmclock\"|\"pv_eoi\"|\"pv_tlb_flush\"|\"pv_sched_yield\"|\n"
"          \"pv_spinlocks\"|\"steal_time\"|\"pv_send_ipi\"|\"poll_control\": BOOL},\n"
"   \"disks\": [{\"path\": PATH, \"readonly\": BOOL, \"queues\": N, \"iothread\": K,\n"
"              \"serial\": STR} or {\"vhost_user\": SOCKET, \"queues\": N}, ...],\n"
"   \"net\": [{\"tap\": NAME, \"queues\": N, \"mac\": MAC, \"vhost\": BOOL}, ...],\n"
"   \"rng\": BOOL (a virtio-rng device, default true)}\n"
"where SIZE is a string as above or an integer of bytes; VCPUS, CPUS and\n"
"NODES are lists such as \"0-3,8\" (vCPU ids, host CPUs, host nodes); D is\n"
"a SLIT distance (10 for the node itself). Every vCPU belongs to exactly\n"
"one node and node memory adds up to memory.size. \"auto\" places nodes\n"
"and vCPUs on the host's NUMA nodes and prints the plan. Unknown keys are\n"
"errors. Paths are used as given (relative to the current directory).\n"
"\n"
"Top-level options:\n"
"  --help            this text\n"
"  --version         print the version and exit\n";

const char *config_usage(void)
{
	return usage_text;
}

enum log_level config_log_level(const struct config *c)
{
	if (c->quiet)
		return LOG_ERR;
	if (c->verbose >= 2)
		return LOG_DEBUG;
	return c->verbose ? LOG_INFO : LOG_WARN;
}

/* One "key=value" field of --cpus. */
static int cli_cpus_field(struct config *c, const char *arg, char *field)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
		{ "sockets", offsetof(struct config, sockets) },
		{ "cores", offsetof(struct config, cores) },
		{ "threads", offsetof(struct config, threads) },
	};
	char *val = strchr(field, '=');
	size_t i;
	u32 n;

	if (val)
		*val++ = '\0';
	for (i = 0; i < ARRAY_SIZE(fields); i++)
		if (!strcmp(field, fields[i].name))
			break;
	if (i == ARRAY_SIZE(fields)) {
		pr_err("--cpus %s: unknown field \"%s\" (expected sockets=, cores= or threads=)",
		       arg, field);
		return -EINVAL;
	}
	if (!val || parse_u32(val, 1, UINT32_MAX, &n)) {
		pr_err("--cpus %s: %s needs a positive integer value", arg,
		       field);
		return -EINVAL;
	}
	*(unsigned int *)((char *)c + fields[i].off) = n;
	return 0;
}

/* --cpus N[,sockets=S][,cores=C][,threads=T]: replaces the CPU setting. */
static int cli_cpus(struct config *c, const char *arg)
{
	char *dup = strdup(arg), *rest, *field;
	int ret = 0;

	if (!dup)
		return -ENOMEM;
	rest = dup;
	field = strsep(&rest, ",");
	if (parse_u32(field, 0, UINT32_MAX, &c->nr_cpus)) {
		pr_err("--cpus %s: \"%s\" is not a vCPU count", arg, field);
		ret = -EINVAL;
		goto free_dup;
	}
	c->sockets = c->cores = c->threads = 0;
	while (!ret && (field = strsep(&rest, ",")))
		ret = cli_cpus_field(c, arg, field);
free_dup:
	free(dup);
	return ret;
}

static int cli_memory(struct config *c, const char *arg)
{
	int ret = parse_size(arg, &c->mem_size);

	c->mem_size_given = true;

	if (ret == -ERANGE)
		pr_err("--memory %s: too large", arg);
	else if (ret)
		pr_err("--memory %s: invalid size (use a number with an optional K, M, G or T suffix, e.g. 512M or 4G)",
		       arg);
	return ret ? -EINVAL : 0;
}

static int cli_bad_option(int opt, char **argv)
{
	/* argv[optind - 1] is the offending word; optopt the short letter. */
	const char *word = argv[optind - 1];

	if (opt == ':')
		pr_err("run: option %s needs an argument", word);
	else if (optopt)
		pr_err("run: unknown option -%c", optopt);
	else
		pr_err("run: unknown option %s", word);
	return -EINVAL;
}

/* Apply one option of the second pass, where the config file is loaded. */
static int cli_apply(struct config *c, int opt, const char *arg)
{
	switch (opt) {
	case OPT_KERNEL:
		return cfg_set_string(&c->kernel, arg);
	case OPT_INITRD:
		return cfg_set_string(&c->initrd, arg);
	case OPT_CMDLINE:
		return cfg_set_string(&c->cmdline, arg);
	case OPT_CPUS:
		return cli_cpus(c, arg);
	case OPT_MEMORY:
		return cli_memory(c, arg);
	case OPT_DISK:
		return config_disk_arg(c, arg);
	case OPT_NET:
		return config_net_arg(c, arg);
	case 'v':
		c->verbose++;
		return 0;
	case 'q':
		c->quiet = true;
		return 0;
	}
	return 0;	/* --config and --help were handled in the first pass */
}

/*
 * "run" options, argv[0] being "run". Two passes so the config file is
 * applied before every other option: the first finds --config and --help
 * and rejects unknown options, the second applies the rest.
 */
static int parse_run(struct config *c, int argc, char **argv)
{
	const char *cfg_file = NULL;
	int opt, ret;

	c->cmd = CONFIG_CMD_RUN;
	opterr = 0;
	optind = 0;	/* glibc: full re-initialisation of getopt */
	while ((opt = getopt_long(argc, argv, RUN_SHORT_OPTS, run_opts,
				  NULL)) != -1) {
		if (opt == '?' || opt == ':')
			return cli_bad_option(opt, argv);
		if (opt == 'h')
			c->help = true;
		else if (opt == OPT_CONFIG)
			cfg_file = optarg;
	}
	if (optind < argc) {
		pr_err("run: unexpected argument \"%s\"", argv[optind]);
		return -EINVAL;
	}
	if (c->help)
		return 0;
	if (cfg_file) {
		ret = config_parse_file(c, cfg_file);
		if (ret)
			return ret;
	}

	optind = 0;
	while ((opt = getopt_long(argc, argv, RUN_SHORT_OPTS, run_opts,
				  NULL)) != -1) {
		ret = cli_apply(c, opt, optarg);
		if (ret)
			return ret;
	}
	return 0;
}

int config_parse_args(struct config *c, int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		pr_err("no command given: try \"smpvisor --help\"");
		return -EINVAL;
	}
	if (!strcmp(cmd, "run"))
		return parse_run(c, argc - 1, argv + 1);
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
		c->help = true;
	else if (!strcmp(cmd, "--version"))
		c->version = true;
	else if (cmd[0] == '-') {
		pr_err("unknown option %s: try \"smpvisor --help\"", cmd);
		return -EINVAL;
	} else {
		pr_err("unknown command \"%s\": try \"smpvisor --help\"", cmd);
		return -EINVAL;
	}
	if (argc > 2) {
		pr_err("%s takes no arguments (got \"%s\")", cmd, argv[2]);
		return -EINVAL;
	}
	return 0;
}

/* ---- validation ---- */

static void free_derived(struct config *c)
{
	unsigned i;

	if (c->vcpu_pin)
		for (i = 0; i < c->nr_vcpu_pin; i++)
			cpulist_free(&c->vcpu_pin[i]);
	free(c->vcpu_pin);
	free(c->vcpu_node);
	c->vcpu_pin = NULL;
	c->vcpu_node = NULL;
	c->nr_vcpu_pin = 0;
}


/*
 * Fill in sockets/cores/threads left at 0 and check their product: sockets
 * and threads default to 1, cores to whatever makes up the vCPU count.
 */
static int validate_topology(struct config *c)
{
	unsigned int s = c->sockets ? c->sockets : 1;
	unsigned int t = c->threads ? c->threads : 1;
	u64 st = (u64)s * t;

	if (!c->cores) {
		if (c->nr_cpus % st) {
			pr_err("--cpus %u: %u sockets x %u threads per core do not divide %u vCPUs",
			       c->nr_cpus, s, t, c->nr_cpus);
			return -EINVAL;
		}
		c->cores = c->nr_cpus / st;
	}
	/* st <= nr_cpus keeps the product within 64 bits. */
	if (st > c->nr_cpus || st * c->cores != c->nr_cpus) {
		pr_err("--cpus %u: sockets=%u x cores=%u x threads=%u does not make %u vCPUs",
		       c->nr_cpus, s, c->cores, t, c->nr_cpus);
		return -EINVAL;
	}
	c->sockets = s;
	c->threads = t;
	return 0;
}

static int validate_memory(const struct config *c)
{
	u64 align = c->mem_hugepages ? HUGE_PAGE_SIZE : PAGE_SIZE;

	if (!c->mem_size) {
		pr_err("--memory 0: the guest needs some RAM");
		return -EINVAL;
	}
	if (c->mem_size % align) {
		pr_err("--memory %llu: not a multiple of %s",
		       (unsigned long long)c->mem_size,
		       c->mem_hugepages ? "2 MiB (huge pages are on)" : "4 KiB");
		return -EINVAL;
	}
	return 0;
}

/* Copy src's members into dst, sized like src. */
static int cpulist_copy(struct cpulist *dst, const struct cpulist *src)
{
	int cpu, ret;

	ret = cpulist_init(dst, src->nbits);
	if (ret)
		return ret;
	cpulist_for_each(cpu, src)
		cpulist_set(dst, cpu);
	return 0;
}

/* A node's memory size and SLIT row. */
static int validate_node(const struct config *c, unsigned i)
{
	const struct config_node *n = &c->nodes[i];
	u64 align = c->mem_hugepages ? HUGE_PAGE_SIZE : PAGE_SIZE;
	unsigned j;

	if (!n->mem_size || n->mem_size % align) {
		pr_err("\"numa[%u].memory\": %llu bytes is not a positive multiple of %s",
		       i, (unsigned long long)n->mem_size,
		       c->mem_hugepages ? "2 MiB (huge pages are on)" : "4 KiB");
		return -EINVAL;
	}
	if (n->policy == CONFIG_POLICY_PREFERRED &&
	    cpulist_count(&n->host_nodes) > 1) {
		pr_err("\"numa[%u].policy\": preferred takes a single host node, host_nodes names %u",
		       i, cpulist_count(&n->host_nodes));
		return -EINVAL;
	}
	if (!n->nr_distances)
		return 0;
	if (n->nr_distances != c->nr_nodes) {
		pr_err("\"numa[%u].distances\" has %u entries, needs one per node (%u)",
		       i, n->nr_distances, c->nr_nodes);
		return -EINVAL;
	}
	for (j = 0; j < c->nr_nodes; j++) {
		if (j == i && n->distances[j] != 10) {
			pr_err("\"numa[%u].distances[%u]\" is %u: a node's distance to itself must be 10",
			       i, j, n->distances[j]);
			return -EINVAL;
		}
		if (j != i && n->distances[j] <= 10) {
			pr_err("\"numa[%u].distances[%u]\" is %u: distances to other nodes must be above 10",
			       i, j, n->distances[j]);
			return -EINVAL;
		}
	}
	return 0;
}

/* Every vCPU in exactly one node; node memory adds up to memory.size. */
static int validate_numa(struct config *c)
{
	u64 sum = 0;
	unsigned i, v;
	int cpu;

	c->vcpu_node = calloc(c->nr_cpus, sizeof(*c->vcpu_node));
	if (!c->vcpu_node)
		return -ENOMEM;
	if (!c->nr_nodes)
		return 0;
	for (v = 0; v < c->nr_cpus; v++)
		c->vcpu_node[v] = UINT32_MAX;
	for (i = 0; i < c->nr_nodes; i++) {
		const struct config_node *n = &c->nodes[i];

		cpulist_for_each(cpu, &n->cpus) {
			if ((unsigned)cpu >= c->nr_cpus) {
				pr_err("\"numa[%u].cpus\": vCPU %d does not exist (%u vCPUs)",
				       i, cpu, c->nr_cpus);
				return -EINVAL;
			}
			if (c->vcpu_node[cpu] != UINT32_MAX) {
				pr_err("\"numa[%u].cpus\": vCPU %d is also in numa[%u]",
				       i, cpu, c->vcpu_node[cpu]);
				return -EINVAL;
			}
			c->vcpu_node[cpu] = i;
		}
		if (validate_node(c, i))
			return -EINVAL;
		sum += n->mem_size;
	}
	for (v = 0; v < c->nr_cpus; v++) {
		if (c->vcpu_node[v] == UINT32_MAX) {
			pr_err("\"numa\": vCPU %u is in no node", v);
			return -EINVAL;
		}
	}
	if (!c->mem_size_given)
		c->mem_size = sum;
	if (sum != c->mem_size) {
		pr_err("\"numa\": node memory adds up to %llu MiB, but memory.size is %llu MiB",
		       (unsigned long long)(sum / MiB),
		       (unsigned long long)(c->mem_size / MiB));
		return -EINVAL;
	}
	return 0;
}

/* Dedicated mode: every vCPU on a host CPU of its own. */
static int validate_dedicated(const struct config *c)
{
	unsigned v, w;

	for (v = 0; v < c->nr_cpus; v++) {
		const struct cpulist *p = &c->vcpu_pin[v];

		if (!p->bits || cpulist_count(p) != 1) {
			pr_err("\"cpus.dedicated\": vCPU %u is not pinned to a single host CPU (dedicated mode needs every vCPU pinned 1:1)",
			       v);
			return -EINVAL;
		}
		for (w = 0; w < v; w++) {
			if (cpulist_next(&c->vcpu_pin[w], -1) ==
			    cpulist_next(p, -1)) {
				pr_err("\"cpus.dedicated\": vCPUs %u and %u share host CPU %d (dedicated mode needs every vCPU pinned 1:1)",
				       w, v, cpulist_next(p, -1));
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* Expand "cpus.pin" into vcpu_pin[], one entry per vCPU. */
static int validate_pins(struct config *c)
{
	unsigned i;
	int cpu;

	c->vcpu_pin = calloc(c->nr_cpus, sizeof(*c->vcpu_pin));
	if (!c->vcpu_pin)
		return -ENOMEM;
	c->nr_vcpu_pin = c->nr_cpus;
	for (i = 0; i < c->nr_pins; i++) {
		const struct config_pin *p = &c->pins[i];

		cpulist_for_each(cpu, &p->vcpus) {
			if ((unsigned)cpu >= c->nr_cpus) {
				pr_err("\"cpus.pin\": vCPU %d does not exist (%u vCPUs)",
				       cpu, c->nr_cpus);
				return -EINVAL;
			}
			if (c->vcpu_pin[cpu].bits) {
				pr_err("\"cpus.pin\": vCPU %d is pinned twice", cpu);
				return -EINVAL;
			}
			if (cpulist_copy(&c->vcpu_pin[cpu], &p->host))
				return -ENOMEM;
		}
	}
	if (c->dedicated)
		return validate_dedicated(c);
	return 0;
}

int config_validate(struct config *c, unsigned int max_vcpus)
{
	if (!c->kernel || !*c->kernel) {
		pr_err("no kernel given: use --kernel PATH or \"kernel\" in the config");
		return -EINVAL;
	}
	if (!c->nr_cpus) {
		pr_err("--cpus 0: need at least one vCPU");
		return -EINVAL;
	}
	if (c->nr_cpus > max_vcpus) {
		pr_err("--cpus %u: KVM allows at most %u vCPUs", c->nr_cpus,
		       max_vcpus);
		return -EINVAL;
	}
	free_derived(c);
	if ((c->numa_auto || c->pin_auto) && numa_plan_auto(c))
		return -EINVAL;
	if (validate_topology(c))
		return -EINVAL;
	if (validate_numa(c) || validate_memory(c) || validate_pins(c))
		return -EINVAL;
	if (config_disks_validate(c) || config_nets_validate(c))
		return -EINVAL;
	if (c->cmdline && strlen(c->cmdline) >= BOOT_CMDLINE_MAX) {
		pr_err("--cmdline: %zu bytes, the limit is %llu",
		       strlen(c->cmdline), BOOT_CMDLINE_MAX - 1);
		return -EINVAL;
	}
	return 0;
}

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->nr_cpus = 1;
	c->mem_size = CONFIG_DEFAULT_MEM;
	c->pv = PV_ALL;
	c->rng = true;
	c->shutdown_timeout = CONFIG_DEFAULT_SHUTDOWN_TIMEOUT;
	c->halt_poll_ns = CONFIG_HALT_POLL_AUTO;
}

void config_free(struct config *c)
{
	free_derived(c);
	free_pins(c);
	free_nodes(c);
	free_iothreads(c);
	config_disks_free(c);
	config_nets_free(c);
	cpulist_free(&c->vmm_pin);
	free(c->config_path);
	free(c->kernel);
	free(c->initrd);
	free(c->cmdline);
	c->config_path = c->kernel = c->initrd = c->cmdline = NULL;
}
