// SPDX-License-Identifier: GPL-2.0
/*
 * The disks of the config: "disks": [{"path": ..., "readonly": ...,
 * "queues": ..., "iothread": ..., "serial": ...}] in the JSON file and
 * --disk PATH[,ro][,queues=N][,iothread=K][,serial=S] on the command line.
 * A disk served by a vhost-user-blk back end (qemu-storage-daemon) is
 * {"vhost_user": SOCKET, "queues": N} or --disk vhost-user=SOCKET[,queues=N].
 * File disks come first, --disk ones are appended in order. Both are
 * parsed through one table of fields (vmm/config_keys.h).
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

#define DISK_MAX_QUEUES		1023	/* virtio notify area / MSI-X */
#define DISK_SERIAL_MAX		20	/* VIRTIO_BLK_ID_BYTES */

static void disk_free(struct config_disk *d)
{
	free(d->path);
	free(d->vhost_user);
	free(d->serial);
	memset(d, 0, sizeof(*d));
}

void config_disks_free(struct config *c)
{
	unsigned i;

	for (i = 0; i < c->nr_disks; i++)
		disk_free(&c->disks[i]);
	free(c->disks);
	c->disks = NULL;
	c->nr_disks = 0;
}

/* A new, zeroed disk at the end of the list. */
static struct config_disk *disk_add(struct config *c)
{
	struct config_disk *d;

	d = realloc(c->disks, (c->nr_disks + 1) * sizeof(*d));
	if (!d)
		return NULL;
	c->disks = d;
	d = &c->disks[c->nr_disks++];
	memset(d, 0, sizeof(*d));
	d->iothread = -1;
	return d;
}

/*
 * The fields of a disk, for "disks" entries and --disk alike. The image
 * path or vhost-user socket comes first in --disk, so they have no k=v
 * name; CFG_VHOST_USER_OK marks what a vhost-user disk may set (--help).
 */
static const struct cfg_key disk_keys[] = {
	{ "path",	CFG_STRING, .off = offsetof(struct config_disk, path) },
	{ "vhost_user",	CFG_STRING, .off = offsetof(struct config_disk, vhost_user),
	  .flags = CFG_NONEMPTY },
	{ "readonly",	CFG_BOOL, .off = offsetof(struct config_disk, readonly),
	  .arg = "ro" },
	{ "queues",	CFG_UINT, .off = offsetof(struct config_disk, queues),
	  .min = 1, .max = DISK_MAX_QUEUES, .arg = "queues", .meta = "N",
	  .flags = CFG_VHOST_USER_OK },
	{ "iothread",	CFG_INT, .off = offsetof(struct config_disk, iothread),
	  .max = 65535, .arg = "iothread", .meta = "K" },
	{ "serial",	CFG_STRING, .off = offsetof(struct config_disk, serial),
	  .arg = "serial", .meta = "S" },
};

const struct cfg_keys config_disk_keys = CFG_KEYS(disk_keys);

int config_disks_json(struct config *c, const char *file, const char *path,
		      struct json_t *v)
{
	char sub[256];
	size_t i;
	int r;

	if (!json_is_array(v)) {
		pr_err("config %s: \"%s\" must be an array of disk objects",
		       file, path);
		return -EINVAL;
	}
	config_disks_free(c);
	for (i = 0; i < json_array_size(v); i++) {
		struct config_disk *d = disk_add(c);

		if (!d)
			return -ENOMEM;
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		r = cfg_device(c, file, sub, json_array_get(v, i),
			       &config_disk_keys, d);
		if (r)
			return r;
		if (!d->path == !d->vhost_user) {
			pr_err("config %s: \"%s\" needs either \"path\" (an image) or \"vhost_user\" (a back end's socket)",
			       file, sub);
			return -EINVAL;
		}
	}
	return 0;
}

/* --disk PATH[,k=v]... or vhost-user=SOCKET[,k=v]...: appended. */
int config_disk_arg(struct config *c, const char *arg)
{
	char *dup = strdup(arg), *rest, *f;
	struct config_disk *d;
	int r = -ENOMEM;

	if (!dup)
		return -ENOMEM;
	rest = dup;
	f = strsep(&rest, ",");
	d = disk_add(c);
	if (!d)
		goto out;
	if (!*f || !strcmp(f, "vhost-user=")) {
		pr_err("--disk %s: no image path or vhost-user socket", arg);
		r = -EINVAL;
		goto out;
	}
	if (!strncmp(f, "vhost-user=", 11))
		r = cfg_set_string(&d->vhost_user, f + 11);
	else
		r = cfg_set_string(&d->path, f);
	if (!r && rest)
		r = config_kv_fields("--disk", arg, rest, &config_disk_keys, d);
out:
	free(dup);
	return r;
}

int config_disks_validate(struct config *c)
{
	unsigned i, nr_iot = c->nr_iothreads ? c->nr_iothreads : 1;

	for (i = 0; i < c->nr_disks; i++) {
		struct config_disk *d = &c->disks[i];

		/* The back end serves the rings, has the image and its mode. */
		if (d->vhost_user && (d->readonly || d->serial || d->iothread >= 0)) {
			pr_err("disk vhost-user=%s: %s is the back end's business (qemu-storage-daemon: writable=, serial=, iothread=)",
			       d->vhost_user, d->readonly ? "ro" : d->serial ?
			       "serial" : "iothread");
			return -EINVAL;
		}
		if (d->vhost_user)
			continue;	/* queues: 0 = what the back end has */
		if (d->iothread >= 0 && (unsigned)d->iothread >= nr_iot) {
			pr_err("disk %s: iothread %d, but there are %u I/O threads",
			       d->path, d->iothread, nr_iot);
			return -EINVAL;
		}
		if (d->serial && strlen(d->serial) > DISK_SERIAL_MAX) {
			pr_err("disk %s: serial \"%s\" is longer than %d bytes",
			       d->path, d->serial, DISK_SERIAL_MAX);
			return -EINVAL;
		}
		if (!d->queues)
			d->queues = MIN(c->nr_cpus, DISK_MAX_QUEUES);
	}
	return 0;
}
