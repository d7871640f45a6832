// SPDX-License-Identifier: GPL-2.0
/*
 * The snapshot manifest (include/vmm/snapshot.h): what a snapshot holds,
 * as JSON, written and read back. A manifest read back is untrusted (a
 * file anyone may have edited): every member is checked for its type and
 * range here, before the machine compares it with its own config
 * (vmm/machine_snapshot.c). tests/fuzz/snapshot_harness.c runs the parser.
 *
 *   {"format": 1, "smpvisor": "0.1.0", "taken_ns": N,
 *    "argv": ["--config", "vm.json", ...],
 *    "cpus": {"count": N, "sockets": S, "cores": C, "threads": T,
 *             "apic_ids": [0, 1, ...]},
 *    "memory": {"nodes": [bytes, ...]},
 *    "state": {"size": bytes},
 *    "devices": ["com1", ...],
 *    "disks": [{"path": P, "size": bytes, "mtime_ns": N}, ...]}
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/snapshot.h"

void snap_mem_name(char *buf, size_t len, unsigned node)
{
	snprintf(buf, len, "mem-node%u.bin", node);
}

static json_t *u64_array(const u64 *v, unsigned n)
{
	json_t *a = json_array();
	unsigned i;

	for (i = 0; a && i < n; i++)
		json_array_append_new(a, json_integer((json_int_t)v[i]));
	return a;
}

json_t *snap_manifest_json(const struct snap_manifest *mf)
{
	json_t *o, *ids = json_array(), *devs = json_array(), *disks = json_array();
	unsigned i;

	for (i = 0; ids && i < mf->nr_cpus; i++)
		json_array_append_new(ids, json_integer(mf->apic_ids[i]));
	for (i = 0; devs && i < mf->nr_devices; i++)
		json_array_append_new(devs, json_string(mf->devices[i]));
	for (i = 0; disks && i < mf->nr_disks; i++)
		json_array_append_new(disks, json_pack("{s:s,s:I,s:I}",
			"path", mf->disks[i].path,
			"size", (json_int_t)mf->disks[i].size,
			"mtime_ns", (json_int_t)mf->disks[i].mtime_ns));
	o = json_pack("{s:i,s:s,s:I,s:O,s:{s:i,s:i,s:i,s:i,s:o},s:{s:o},"
		      "s:{s:I},s:o,s:o}",
		      "format", SNAP_FORMAT, "smpvisor", mf->version,
		      "taken_ns", (json_int_t)mf->taken_ns,
		      "argv", mf->argv,
		      "cpus", "count", mf->nr_cpus, "sockets", mf->sockets,
		      "cores", mf->cores, "threads", mf->threads,
		      "apic_ids", ids,
		      "memory", "nodes", u64_array(mf->node_size, mf->nr_nodes),
		      "state", "size", (json_int_t)mf->state_size,
		      "devices", devs, "disks", disks);
	return o;
}

void snap_manifest_free(struct snap_manifest *mf)
{
	unsigned i;

	free(mf->version);
	json_decref(mf->argv);
	free(mf->apic_ids);
	for (i = 0; mf->devices && i < mf->nr_devices; i++)
		free(mf->devices[i]);
	free(mf->devices);
	for (i = 0; mf->disks && i < mf->nr_disks; i++)
		free(mf->disks[i].path);
	free(mf->disks);
	memset(mf, 0, sizeof(*mf));
}

struct parse {
	char *why;
	size_t len;
};

static int refuse(struct parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int refuse(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(p->why, p->len, "corrupt manifest: ");
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < p->len)
		vsnprintf(p->why + n, p->len - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* o[key] as an integer in [min, max]. */
static int get_u64(struct parse *p, json_t *o, const char *key, u64 min,
		   u64 max, u64 *out)
{
	json_t *v = json_object_get(o, key);
	json_int_t x;

	if (!json_is_integer(v))
		return refuse(p, "\"%s\" is missing or not an integer", key);
	x = json_integer_value(v);
	if (x < 0 || (u64)x < min || (u64)x > max)
		return refuse(p, "\"%s\" is %lld, out of range", key, (long long)x);
	*out = (u64)x;
	return 0;
}

static int get_u32(struct parse *p, json_t *o, const char *key, u32 min,
		   u32 max, u32 *out)
{
	u64 v;
	int r = get_u64(p, o, key, min, max, &v);

	if (!r)
		*out = (u32)v;
	return r;
}

static json_t *get_array(struct parse *p, json_t *o, const char *key,
			 size_t max)
{
	json_t *a = json_object_get(o, key);

	if (!json_is_array(a)) {
		refuse(p, "\"%s\" is missing or not an array", key);
		return NULL;
	}
	if (json_array_size(a) > max) {
		refuse(p, "\"%s\" has %zu entries, more than %zu", key,
		       json_array_size(a), max);
		return NULL;
	}
	return a;
}

/* A string without control characters, at most PATH_MAX-ish long. */
static char *get_string(struct parse *p, json_t *v, const char *what)
{
	const char *s = json_string_value(v);
	size_t i, n = json_string_length(v);

	if (!s || !n || n > 4096 || strlen(s) != n) {
		refuse(p, "%s is not a string of 1 to 4096 bytes", what);
		return NULL;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20) {
			refuse(p, "%s holds a control character", what);
			return NULL;
		}
	return strdup(s);
}

static int parse_cpus(struct parse *p, json_t *o, struct snap_manifest *mf)
{
	json_t *c = json_object_get(o, "cpus"), *ids;
	size_t i;
	int r;

	if (!json_is_object(c))
		return refuse(p, "\"cpus\" is missing or not an object");
	r = get_u32(p, c, "count", 1, SNAP_MAX_VCPUS, &mf->nr_cpus);
	if (!r)
		r = get_u32(p, c, "sockets", 1, SNAP_MAX_VCPUS, &mf->sockets);
	if (!r)
		r = get_u32(p, c, "cores", 1, SNAP_MAX_VCPUS, &mf->cores);
	if (!r)
		r = get_u32(p, c, "threads", 1, SNAP_MAX_VCPUS, &mf->threads);
	if (r)
		return r;
	if ((u64)mf->sockets * mf->cores * mf->threads != mf->nr_cpus)
		return refuse(p, "%u sockets x %u cores x %u threads is not %u vCPUs",
			      mf->sockets, mf->cores, mf->threads, mf->nr_cpus);
	ids = get_array(p, c, "apic_ids", SNAP_MAX_VCPUS);
	if (!ids)
		return -EINVAL;
	if (json_array_size(ids) != mf->nr_cpus)
		return refuse(p, "%zu APIC IDs for %u vCPUs",
			      json_array_size(ids), mf->nr_cpus);
	mf->apic_ids = calloc(mf->nr_cpus, sizeof(u32));
	if (!mf->apic_ids)
		return -ENOMEM;
	for (i = 0; i < mf->nr_cpus; i++) {
		json_t *v = json_array_get(ids, i);
		json_int_t x = json_integer_value(v);

		if (!json_is_integer(v) || x < 0 || x > UINT32_MAX)
			return refuse(p, "APIC ID %zu is not a 32-bit integer", i);
		mf->apic_ids[i] = (u32)x;
	}
	return 0;
}

static int parse_memory(struct parse *p, json_t *o, struct snap_manifest *mf)
{
	json_t *m = json_object_get(o, "memory"), *nodes;
	u64 total = 0;
	size_t i;

	if (!json_is_object(m))
		return refuse(p, "\"memory\" is missing or not an object");
	nodes = get_array(p, m, "nodes", GUEST_MEM_MAX_NODES);
	if (!nodes)
		return -EINVAL;
	if (!json_array_size(nodes))
		return refuse(p, "\"memory.nodes\" is empty");
	mf->nr_nodes = (unsigned)json_array_size(nodes);
	for (i = 0; i < mf->nr_nodes; i++) {
		json_t *v = json_array_get(nodes, i);
		json_int_t x = json_integer_value(v);

		if (!json_is_integer(v) || x <= 0 || (u64)x >= GUEST_PHYS_LIMIT ||
		    x % GUEST_PAGE_SIZE)
			return refuse(p, "node %zu's memory size is not a page multiple below 64 TiB", i);
		mf->node_size[i] = (u64)x;
		total += (u64)x;
	}
	if (total >= GUEST_PHYS_LIMIT)
		return refuse(p, "the memory adds up to more than 64 TiB");
	return 0;
}

static int parse_lists(struct parse *p, json_t *o, struct snap_manifest *mf)
{
	json_t *devs, *disks;
	size_t i;

	devs = get_array(p, o, "devices", SNAP_MAX_DEVICES);
	disks = devs ? get_array(p, o, "disks", SNAP_MAX_DISKS) : NULL;
	if (!disks)
		return -EINVAL;
	mf->devices = calloc(json_array_size(devs) + 1, sizeof(char *));
	mf->disks = calloc(json_array_size(disks) + 1, sizeof(*mf->disks));
	if (!mf->devices || !mf->disks)
		return -ENOMEM;
	for (i = 0; i < json_array_size(devs); i++) {
		mf->devices[i] = get_string(p, json_array_get(devs, i), "a device name");
		if (!mf->devices[i])
			return -EINVAL;
		mf->nr_devices++;
	}
	for (i = 0; i < json_array_size(disks); i++) {
		json_t *d = json_array_get(disks, i);
		struct snap_disk *sd = &mf->disks[i];
		u64 mt;

		if (!json_is_object(d))
			return refuse(p, "disk %zu is not an object", i);
		sd->path = get_string(p, json_object_get(d, "path"), "a disk path");
		if (!sd->path)
			return -EINVAL;
		mf->nr_disks++;
		if (get_u64(p, d, "size", 0, INT64_MAX, &sd->size) ||
		    get_u64(p, d, "mtime_ns", 0, INT64_MAX, &mt))
			return -EINVAL;
		sd->mtime_ns = (int64_t)mt;
	}
	return 0;
}

int snap_manifest_parse(const char *text, size_t len, struct snap_manifest *mf,
			char *why, size_t why_len)
{
	struct parse p = { why, why_len };
	json_error_t je;
	json_t *o, *argv;
	size_t i;
	int r;

	memset(mf, 0, sizeof(*mf));
	if (len > SNAP_MANIFEST_MAX)
		return refuse(&p, "larger than %u bytes", SNAP_MANIFEST_MAX);
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return refuse(&p, "line %d: %s", je.line, je.text);
	if (!json_is_object(o)) {
		r = refuse(&p, "not a JSON object");
		goto out;
	}
	r = get_u32(&p, o, "format", 1, UINT32_MAX, &mf->format);
	if (r)
		goto out;
	if (mf->format > SNAP_FORMAT) {
		r = refuse(&p, "format %u is newer than this smpvisor reads (%u)",
			   mf->format, SNAP_FORMAT);
		goto out;
	}
	mf->version = get_string(&p, json_object_get(o, "smpvisor"),
				 "\"smpvisor\"");
	r = mf->version ? 0 : -EINVAL;
	if (!r)
		r = get_u64(&p, o, "taken_ns", 0, INT64_MAX, &mf->taken_ns);
	argv = r ? NULL : get_array(&p, o, "argv", SNAP_MAX_ARGS);
	if (!r && !argv)
		r = -EINVAL;
	for (i = 0; !r && i < json_array_size(argv); i++)
		if (!json_is_string(json_array_get(argv, i)) ||
		    strlen(json_string_value(json_array_get(argv, i))) !=
		    json_string_length(json_array_get(argv, i)))
			r = refuse(&p, "argument %zu is not a string", i);
	if (!r)
		mf->argv = json_incref(argv);
	if (!r)
		r = parse_cpus(&p, o, mf);
	if (!r)
		r = parse_memory(&p, o, mf);
	if (!r) {
		json_t *st = json_object_get(o, "state");

		r = json_is_object(st) ?
		    get_u64(&p, st, "size", 0, 1ULL << 40, &mf->state_size) :
		    refuse(&p, "\"state\" is missing or not an object");
	}
	if (!r)
		r = parse_lists(&p, o, mf);
	if (r == -ENOMEM)
		snprintf(why, why_len, "out of memory");
out:
	json_decref(o);
	return r;
}

int snap_manifest_load(const char *dir, struct snap_manifest *mf, char *why,
		       size_t why_len)
{
	struct stat st;
	char path[4096], *text = NULL;
	size_t off = 0;
	int fd, r = 0;

	memset(mf, 0, sizeof(*mf));
	snprintf(path, sizeof(path), "%s/%s", dir, SNAP_MANIFEST);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		r = -errno;
		snprintf(why, why_len, "%s: %s", path, strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SNAP_MANIFEST_MAX) {
		snprintf(why, why_len, "%s: corrupt manifest: %s", path,
			 S_ISREG(st.st_mode) ? "larger than 1 MiB" : "not a file");
		r = -EINVAL;
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		r = -ENOMEM;
		snprintf(why, why_len, "out of memory");
		goto out;
	}
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, text + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	r = snap_manifest_parse(text, off, mf, why, why_len);
	if (r) {
		char tmp[256];

		snprintf(tmp, sizeof(tmp), "%s", why);
		snprintf(why, why_len, "%s: %s", path, tmp);
	}
out:
	free(text);
	if (fd >= 0)
		close(fd);
	return r;
}
