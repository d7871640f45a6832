// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration, first part: the JSON file. The command line is
 * vmm/config_cli.c, the checks and defaults vmm/config_check.c.
 *
 * The file is walked with one table of keys (struct cfg_key,
 * vmm/config_keys.h) per JSON object, so a new key is one table line (plus
 * a handler when its value is not a plain string/bool/integer/size). The
 * tables of "cpus", "disks" and "net" also drive the k=v fields of --cpus,
 * --disk and --net. Keys are named in messages by their dotted path
 * ("cpus.sockets") so users can find them in nested objects.
 */
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/files.h"
#include "lib/parse.h"
#include "vmm/config.h"
#include "vmm/config_keys.h"

/* ---- JSON config file ---- */

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

int cfg_set_string(char **dst, const char *s)
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

/* What a bad value of key should have been, for "has a bad value (...)". */
static const char *cfg_want(const struct cfg_key *key, char *buf, size_t len)
{
	switch (key->type) {
	case CFG_STRING:
		return key->flags & CFG_NONEMPTY ? "a non-empty string" : "a string";
	case CFG_BOOL:
	case CFG_ONOFF:
		return "true or false";
	case CFG_MAC:
		return "a unicast address xx:xx:xx:xx:xx:xx";
	case CFG_UINT:
	case CFG_INT:
		snprintf(buf, len, "an integer from %u to %u", key->min,
			 key->max ? key->max : UINT32_MAX);
		return buf;
	default:
		return "see --help";
	}
}

/*
 * A string, boolean, integer or MAC into field, silently: 0, or -EINVAL
 * for the wrong JSON type, -ERANGE for a value the key refuses.
 */
static int cfg_scalar(const struct cfg_key *key, char *field, char *base,
		      json_t *v)
{
	u32 max = key->max ? key->max : UINT32_MAX;
	json_int_t n = json_integer_value(v);

	switch (key->type) {
	case CFG_STRING:
		if (!json_is_string(v))
			return -EINVAL;
		if ((key->flags & CFG_NONEMPTY) && !*json_string_value(v))
			return -ERANGE;
		return cfg_set_string((char **)field, json_string_value(v));
	case CFG_BOOL:
	case CFG_ONOFF:
		if (!json_is_boolean(v))
			return -EINVAL;
		if (key->type == CFG_BOOL)
			*(bool *)field = json_is_true(v);
		else
			*(int *)field = json_is_true(v);
		return 0;
	case CFG_UINT:
	case CFG_INT:
		if (!json_is_integer(v))
			return -EINVAL;
		if (n < (json_int_t)key->min || n > (json_int_t)max)
			return -ERANGE;
		if (key->type == CFG_UINT)
			*(unsigned int *)field = n;
		else
			*(int *)field = n;
		return 0;
	case CFG_MAC:
		if (!json_is_string(v))
			return -EINVAL;
		if (config_parse_mac(json_string_value(v), (u8 *)field))
			return -ERANGE;
		*(bool *)(base + key->given) = true;
		return 0;
	default:
		return -EINVAL;
	}
}

/* Store v per key->type into the field at key->off of x->base. */
static int cfg_store(struct cfg_ctx *x, const struct cfg_key *key,
		     const char *path, json_t *v)
{
	char *field = (char *)x->base + key->off;
	char buf[64];
	int ret;

	switch (key->type) {
	case CFG_SIZE:
		return cfg_size(x, path, v, (u64 *)field);
	case CFG_CPULIST:
		return cfg_cpulist(x, path, v, (struct cpulist *)field);
	case CFG_CUSTOM:
		return key->fn(x, path, v);
	default:
		break;
	}
	ret = cfg_scalar(key, field, x->base, v);
	if (ret == -ENOMEM || !ret)
		return ret;
	if (x->bad_value_style) {
		pr_err("config %s: \"%s\" has a bad value (%s: %s)", x->file,
		       path, key->name, cfg_want(key, buf, sizeof(buf)));
		return -EINVAL;
	}
	switch (key->type) {
	case CFG_STRING:
		return cfg_type_err(x, path, "a string", v);
	case CFG_BOOL:
	case CFG_ONOFF:
		return cfg_type_err(x, path, "true or false", v);
	case CFG_UINT:
		/* Range errors say the value: "is 0, must be between 1 and". */
		if (!key->max)
			return cfg_uint(x, path, v, key->min, (unsigned int *)field);
		/* fall through */
	default:
		pr_err("config %s: \"%s\" must be %s", x->file, path,
		       cfg_want(key, buf, sizeof(buf)));
		return -EINVAL;
	}
}

int cfg_device(struct config *c, const char *file, const char *path,
	       json_t *v, const struct cfg_keys *t, void *base)
{
	struct cfg_ctx x = {
		.c = c, .file = file, .base = base, .bad_value_style = true,
	};

	if (!json_is_object(v)) {
		pr_err("config %s: \"%s\" must be an object", file, path);
		return -EINVAL;
	}
	return cfg_walk(&x, path, v, t);
}

void config_free_pins(struct config *c)
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

	config_free_pins(c);
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
	{ "count",	CFG_UINT, .off = offsetof(struct config, nr_cpus), .min = 1 },
	{ "sockets",	CFG_UINT, .off = offsetof(struct config, sockets), .min = 1,
	  .arg = "sockets", .meta = "S" },
	{ "cores",	CFG_UINT, .off = offsetof(struct config, cores), .min = 1,
	  .arg = "cores", .meta = "C" },
	{ "threads",	CFG_UINT, .off = offsetof(struct config, threads), .min = 1,
	  .arg = "threads", .meta = "T" },
	{ "pin",	CFG_CUSTOM, .fn = cfg_cpus_pin },
	{ "dedicated",	CFG_BOOL, .off = offsetof(struct config, dedicated) },
	{ "halt_poll_ns", CFG_UINT, .off = offsetof(struct config, halt_poll_ns) },
};

const struct cfg_keys config_cpus_keys = CFG_KEYS(cpus_keys);

void config_cpus_reset(struct config *c)
{
	c->sockets = c->cores = c->threads = 0;
	c->dedicated = false;
	c->halt_poll_ns = CONFIG_HALT_POLL_AUTO;
	config_free_pins(c);
}

/*
 * "cpus": 8, or {"count": 8, "sockets": 2, ...}. Either form (and --cpus)
 * replaces the whole CPU setting, so a topology or pin never outlives the
 * count it was for.
 */
static int cfg_cpus(struct cfg_ctx *x, const char *path, json_t *v)
{
	struct config *c = x->c;

	config_cpus_reset(c);
	if (json_is_integer(v))
		return cfg_uint(x, path, v, 1, &c->nr_cpus);
	if (!json_is_object(v))
		return cfg_type_err(x, path, "an integer or an object", v);
	if (!json_object_get(v, "count")) {
		pr_err("config %s: \"%s.count\" is required", x->file, path);
		return -EINVAL;
	}
	return cfg_walk(x, path, v, &config_cpus_keys);
}

static const struct cfg_key memory_keys[] = {
	{ "size",	CFG_SIZE, .off = offsetof(struct config, mem_size) },
	{ "hugepages",	CFG_BOOL, .off = offsetof(struct config, mem_hugepages) },
	{ "prefault",	CFG_BOOL, .off = offsetof(struct config, mem_prefault) },
	{ "prefault_threads", CFG_UINT, .off = offsetof(struct config, mem_prefault_threads),
	  .max = 256 },
	{ "overcommit",	CFG_BOOL, .off = offsetof(struct config, mem_overcommit) },
};

/* "memory": "4G", 4294967296, or {"size": "4G", "hugepages": true, ...}. */
static int cfg_memory(struct cfg_ctx *x, const char *path, json_t *v)
{
	if (!json_is_object(v) || json_object_get(v, "size"))
		x->c->mem_size_given = true;
	if (json_is_object(v))
		return cfg_walk(x, path, v, CFG_TABLE(memory_keys));
	if (!json_is_string(v) && !json_is_integer(v))
		return cfg_type_err(x, path,
				    "a size (such as \"4G\" or an integer of bytes) or an object",
				    v);
	return cfg_size(x, path, v, &x->c->mem_size);
}

/* ---- "numa" ---- */

void config_free_nodes(struct config *c)
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
	{ "cpus",	CFG_CPULIST, .off = offsetof(struct config_node, cpus) },
	{ "memory",	CFG_SIZE, .off = offsetof(struct config_node, mem_size) },
	{ "host_nodes",	CFG_CPULIST, .off = offsetof(struct config_node, host_nodes) },
	{ "policy",	CFG_CUSTOM, .fn = cfg_node_policy },
	{ "distances",	CFG_CUSTOM, .fn = cfg_node_distances },
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
	ret = cfg_walk(x, path, v, CFG_TABLE(node_keys));
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

	config_free_nodes(c);
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

void config_free_iothreads(struct config *c)
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

	config_free_iothreads(c);
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
	{ "pin",	CFG_CUSTOM, .fn = cfg_vmm_pin },
	{ "shutdown_timeout", CFG_UINT, .off = offsetof(struct config, shutdown_timeout) },
};

static int cfg_vmm(struct cfg_ctx *x, const char *path, json_t *v)
{
	if (!json_is_object(v))
		return cfg_type_err(x, path, "an object", v);
	return cfg_walk(x, path, v, CFG_TABLE(vmm_keys));
}

/* "api": {"socket": PATH}: the control API (vmm/api.c). */
static const struct cfg_key api_keys[] = {
	{ "socket",	CFG_STRING, .off = offsetof(struct config, api_socket),
	  .flags = CFG_NONEMPTY },
};

static int cfg_api(struct cfg_ctx *x, const char *path, json_t *v)
{
	if (!json_is_object(v))
		return cfg_type_err(x, path, "an object", v);
	return cfg_walk(x, path, v, CFG_TABLE(api_keys));
}

/* "on", "log" or "off": 0 with *out set, or -EINVAL. */
int config_seccomp_parse(const char *s, enum sandbox_seccomp *out)
{
	if (!strcmp(s, "on"))
		*out = SANDBOX_SECCOMP_ON;
	else if (!strcmp(s, "log"))
		*out = SANDBOX_SECCOMP_LOG;
	else if (!strcmp(s, "off"))
		*out = SANDBOX_SECCOMP_OFF;
	else
		return -EINVAL;
	return 0;
}

static int cfg_seccomp(struct cfg_ctx *x, const char *path, json_t *v)
{
	if (!json_is_string(v))
		return cfg_type_err(x, path, "\"on\", \"log\" or \"off\"", v);
	if (config_seccomp_parse(json_string_value(v), &x->c->seccomp)) {
		pr_err("config %s: \"%s\" is \"%s\", must be \"on\", \"log\" or \"off\"",
		       x->file, path, json_string_value(v));
		return -EINVAL;
	}
	return 0;
}

/* "sandbox": {"seccomp": MODE, "user": NAME, "landlock": BOOL}. */
static const struct cfg_key sandbox_keys[] = {
	{ "seccomp",	CFG_CUSTOM, .fn = cfg_seccomp },
	{ "user",	CFG_STRING, .off = offsetof(struct config, sandbox_user),
	  .flags = CFG_NONEMPTY },
	{ "landlock",	CFG_BOOL, .off = offsetof(struct config, landlock) },
};

static int cfg_sandbox(struct cfg_ctx *x, const char *path, json_t *v)
{
	if (!json_is_object(v))
		return cfg_type_err(x, path, "an object", v);
	return cfg_walk(x, path, v, CFG_TABLE(sandbox_keys));
}

/* "exit" or "restart": 0 with *out set, or -EINVAL. */
int config_on_reboot_parse(const char *s, enum config_on_reboot *out)
{
	if (!strcmp(s, "exit"))
		*out = CONFIG_ON_REBOOT_EXIT;
	else if (!strcmp(s, "restart"))
		*out = CONFIG_ON_REBOOT_RESTART;
	else
		return -EINVAL;
	return 0;
}

/* "on_reboot": "exit" | "restart". */
static int cfg_on_reboot(struct cfg_ctx *x, const char *path, json_t *v)
{
	if (!json_is_string(v))
		return cfg_type_err(x, path, "\"exit\" or \"restart\"", v);
	if (config_on_reboot_parse(json_string_value(v), &x->c->on_reboot)) {
		pr_err("config %s: \"%s\" is \"%s\", must be \"exit\" or \"restart\"",
		       x->file, path, json_string_value(v));
		return -EINVAL;
	}
	return 0;
}

/* "exit" or "pause": 0 with *out set, or -EINVAL. */
int config_on_panic_parse(const char *s, enum config_on_panic *out)
{
	if (!strcmp(s, "exit"))
		*out = CONFIG_ON_PANIC_EXIT;
	else if (!strcmp(s, "pause"))
		*out = CONFIG_ON_PANIC_PAUSE;
	else
		return -EINVAL;
	return 0;
}

/* "on_panic": "exit" | "pause". */
static int cfg_on_panic(struct cfg_ctx *x, const char *path, json_t *v)
{
	if (!json_is_string(v))
		return cfg_type_err(x, path, "\"exit\" or \"pause\"", v);
	if (config_on_panic_parse(json_string_value(v), &x->c->on_panic)) {
		pr_err("config %s: \"%s\" is \"%s\", must be \"exit\" or \"pause\"",
		       x->file, path, json_string_value(v));
		return -EINVAL;
	}
	return 0;
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
	{ "kernel",	CFG_STRING, .off = offsetof(struct config, kernel) },
	{ "initrd",	CFG_STRING, .off = offsetof(struct config, initrd) },
	{ "cmdline",	CFG_STRING, .off = offsetof(struct config, cmdline) },
	{ "cpus",	CFG_CUSTOM, .fn = cfg_cpus },
	{ "memory",	CFG_CUSTOM, .fn = cfg_memory },
	{ "numa",	CFG_CUSTOM, .fn = cfg_numa },
	{ "iothreads",	CFG_CUSTOM, .fn = cfg_iothreads },
	{ "disks",	CFG_CUSTOM, .fn = cfg_disks },
	{ "net",	CFG_CUSTOM, .fn = cfg_net },
	{ "rng",	CFG_BOOL, .off = offsetof(struct config, rng) },
	{ "vmm",	CFG_CUSTOM, .fn = cfg_vmm },
	{ "pv",		CFG_CUSTOM, .fn = cfg_pv },
	{ "api",	CFG_CUSTOM, .fn = cfg_api },
	{ "on_panic",	CFG_CUSTOM, .fn = cfg_on_panic },
	{ "on_reboot",	CFG_CUSTOM, .fn = cfg_on_reboot },
	{ "sandbox",	CFG_CUSTOM, .fn = cfg_sandbox },
};

/*
 * Apply every key of obj through the table; a key not in it is an error.
 * prefix is obj's own dotted path ("" at the top level).
 */
int cfg_walk(struct cfg_ctx *x, const char *prefix, json_t *obj,
	     const struct cfg_keys *t)
{
	const char *name;
	char path[256];
	json_t *v;
	size_t i;
	int ret;

	json_object_foreach(obj, name, v) {
		snprintf(path, sizeof(path), "%s%s%s", prefix,
			 *prefix ? "." : "", name);
		for (i = 0; i < t->nr; i++)
			if (!strcmp(t->keys[i].name, name))
				break;
		if (i == t->nr) {
			pr_err("config %s: unknown key \"%s\"", x->file, path);
			return -EINVAL;
		}
		ret = cfg_store(x, &t->keys[i], path, v);
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
		ret = cfg_walk(&x, "", root, CFG_TABLE(top_keys));
put_root:
	json_decref(root);
	return ret;
}

