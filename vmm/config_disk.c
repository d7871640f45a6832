// SPDX-License-Identifier: GPL-2.0
/*
 * The disks of the config: "disks": [{"path": ..., "readonly": ...,
 * "queues": ..., "iothread": ..., "serial": ...}] in the JSON file and
 * --disk PATH[,ro][,queues=N][,iothread=K][,serial=S] on the command line.
 * A disk served by a vhost-user-blk back end (qemu-storage-daemon) is
 * {"vhost_user": SOCKET, "queues": N} or --disk vhost-user=SOCKET[,queues=N].
 * File disks come first, --disk ones are appended in order.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lib/parse.h"
#include "vmm/config.h"

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

static int set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

/* One object of "disks". */
static int json_disk(struct config_disk *d, const char *file,
		     const char *path, json_t *v)
{
	const char *key;
	json_t *val;

	if (!json_is_object(v)) {
		pr_err("config %s: \"%s\" must be an object", file, path);
		return -EINVAL;
	}
	json_object_foreach(v, key, val) {
		bool is_str = json_is_string(val);
		json_int_t n = json_integer_value(val);

		if (!strcmp(key, "path") && is_str) {
			if (set_str(&d->path, json_string_value(val)))
				return -ENOMEM;
		} else if (!strcmp(key, "vhost_user") && is_str &&
			   *json_string_value(val)) {
			if (set_str(&d->vhost_user, json_string_value(val)))
				return -ENOMEM;
		} else if (!strcmp(key, "serial") && is_str) {
			if (set_str(&d->serial, json_string_value(val)))
				return -ENOMEM;
		} else if (!strcmp(key, "readonly") && json_is_boolean(val)) {
			d->readonly = json_is_true(val);
		} else if (!strcmp(key, "queues") && json_is_integer(val) &&
			   n >= 1 && n <= DISK_MAX_QUEUES) {
			d->queues = (unsigned)n;
		} else if (!strcmp(key, "iothread") && json_is_integer(val) &&
			   n >= 0 && n < 65536) {
			d->iothread = (int)n;
		} else if (!strcmp(key, "path") || !strcmp(key, "serial") ||
			   !strcmp(key, "vhost_user") ||
			   !strcmp(key, "readonly") || !strcmp(key, "queues") ||
			   !strcmp(key, "iothread")) {
			pr_err("config %s: \"%s.%s\" has a bad value (path, vhost_user and serial: strings, readonly: true or false, queues: 1-%d, iothread: an I/O thread index)",
			       file, path, key, DISK_MAX_QUEUES);
			return -EINVAL;
		} else {
			pr_err("config %s: unknown key \"%s.%s\"", file, path, key);
			return -EINVAL;
		}
	}
	if (!d->path == !d->vhost_user) {
		pr_err("config %s: \"%s\" needs either \"path\" (an image) or \"vhost_user\" (a back end's socket)",
		       file, path);
		return -EINVAL;
	}
	return 0;
}

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
		r = json_disk(d, file, sub, json_array_get(v, i));
		if (r)
			return r;
	}
	return 0;
}

/* One ",key[=value]" field of --disk. */
static int arg_field(struct config_disk *d, const char *arg, char *f)
{
	char *val = strchr(f, '=');
	u32 n;

	if (val)
		*val++ = '\0';
	if (!strcmp(f, "ro") && !val) {
		d->readonly = true;
	} else if (!strcmp(f, "queues") && val &&
		   !parse_u32(val, 1, DISK_MAX_QUEUES, &n)) {
		d->queues = n;
	} else if (!strcmp(f, "iothread") && val &&
		   !parse_u32(val, 0, 65535, &n)) {
		d->iothread = (int)n;
	} else if (!strcmp(f, "serial") && val) {
		return set_str(&d->serial, val);
	} else {
		pr_err("--disk %s: bad field \"%s%s%s\" (expected ro, queues=1-%d, iothread=K or serial=S)",
		       arg, f, val ? "=" : "", val ? val : "", DISK_MAX_QUEUES);
		return -EINVAL;
	}
	return 0;
}

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
		r = set_str(&d->vhost_user, f + 11);
	else
		r = set_str(&d->path, f);
	while (!r && (f = strsep(&rest, ",")))
		r = arg_field(d, arg, f);
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
