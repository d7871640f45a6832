/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The option table behind the machine description, shared by the parts of
 * vmm/config*.c and nothing else: one struct cfg_key per setting says its
 * JSON key, its type and place, its range, and, when the setting can also
 * be typed as a "k=v" field of --cpus, --disk or --net, that field's name
 * and the placeholder --help shows for its value. The JSON walker
 * (vmm/config.c), the k=v parser and the --help text (vmm/config_cli.c)
 * all read the same lines, so a field is parsed, refused and documented
 * one way.
 */
#ifndef SMPVISOR_CONFIG_KEYS_H
#define SMPVISOR_CONFIG_KEYS_H

#include <jansson.h>
#include <stddef.h>

#include "vmm/config.h"

/* State while one JSON file is walked. */
struct cfg_ctx {
	struct config *c;
	const char *file;
	void *base;		/* the struct table offsets point into */
	/*
	 * Entries of "disks" and "net" report any bad value as
	 * "\"disks[0].queues\" has a bad value (...)"; the other objects
	 * name the expected type or range.
	 */
	bool bad_value_style;
};

enum cfg_type {
	CFG_STRING,	/* char * at off */
	CFG_BOOL,	/* bool at off; as k=v a flag without a value */
	CFG_UINT,	/* unsigned int at off, min..max */
	CFG_INT,	/* int at off, min..max */
	CFG_ONOFF,	/* int at off: JSON true/false, k=v on|off */
	CFG_MAC,	/* u8[6] at off, bool at given: a unicast MAC */
	CFG_SIZE,	/* u64 bytes at off: "4G" or an integer */
	CFG_CPULIST,	/* struct cpulist at off (sized already): "0-3,8" */
	CFG_CUSTOM,	/* fn does it all (JSON only) */
};

/* cfg_key.flags */
#define CFG_NONEMPTY	1u	/* CFG_STRING: "" is a bad value */
#define CFG_ARG_NONEMPTY 2u	/* the same, for the k=v field only */
#define CFG_ARG_FIRST	4u	/* k=v: required, shown first in --help */
#define CFG_VHOST_USER_OK 8u	/* --disk: also for vhost-user=SOCKET */

struct cfg_key {
	const char *name;	/* the JSON key */
	enum cfg_type type;
	size_t off;		/* offsetof(<x->base's struct>, ...) */
	u32 min, max;		/* CFG_UINT, CFG_INT (max 0: UINT32_MAX) */
	int (*fn)(struct cfg_ctx *x, const char *path, json_t *v);
	const char *arg;	/* its k=v field name; NULL: file only */
	const char *meta;	/* the value in --help ("N"); NULL: no value */
	unsigned flags;
	size_t given;		/* CFG_MAC: offsetof the bool it sets */
};

struct cfg_keys {
	const struct cfg_key *keys;
	size_t nr;
};

#define CFG_KEYS(a) { (a), ARRAY_SIZE(a) }
#define CFG_TABLE(a) (&(const struct cfg_keys)CFG_KEYS(a))

/* The tables shared by the file and the command line. */
extern const struct cfg_keys config_cpus_keys;	/* "cpus", --cpus */
extern const struct cfg_keys config_disk_keys;	/* "disks", --disk */
extern const struct cfg_keys config_net_keys;	/* "net", --net */

/* vmm/config.c: the JSON side. */
int cfg_walk(struct cfg_ctx *x, const char *prefix, json_t *obj,
	     const struct cfg_keys *t);
/* One entry of an array of device objects ("disks[0]") into base. */
int cfg_device(struct config *c, const char *file, const char *path,
	       json_t *v, const struct cfg_keys *t, void *base);
int cfg_set_string(char **dst, const char *s);
/* Forget the CPU setting: topology, pins, dedicated mode, halt polling. */
void config_cpus_reset(struct config *c);
void config_free_pins(struct config *c);
void config_free_nodes(struct config *c);
void config_free_iothreads(struct config *c);

/* vmm/config_cli.c: the command line side. */
/*
 * Apply the ","-separated "k=v" fields in rest through t into base; opt
 * and arg ("--disk", the whole argument) name them in messages.
 */
int config_kv_fields(const char *opt, const char *arg, char *rest,
		     const struct cfg_keys *t, void *base);

/* vmm/config_check.c */
void config_free_derived(struct config *c);

#endif
