// SPDX-License-Identifier: GPL-2.0
/*
 * The snapshot manifest fuzz harness (vmm/snapshot_manifest.c): whatever
 * a manifest.json handed to run --restore holds. A manifest the parser
 * takes must be whole (every array as long as its count says, every
 * size a page multiple) and must come out of snap_manifest_json and back
 * through the parser unchanged; a refusal must say why in one line.
 *
 * Returns 0 when the manifest was taken, 1 when refused.
 */
#include <stdlib.h>
#include <string.h>

#include "harnesses.h"
#include "vmm/snapshot.h"

static void check_whole(const struct snap_manifest *mf)
{
	unsigned i;

	if (!mf->nr_cpus || !mf->apic_ids || !mf->nr_nodes ||
	    mf->nr_nodes > GUEST_MEM_MAX_NODES || !mf->version ||
	    !json_is_array(mf->argv) ||
	    (u64)mf->sockets * mf->cores * mf->threads != mf->nr_cpus)
		abort();
	for (i = 0; i < mf->nr_nodes; i++)
		if (!mf->node_size[i] || mf->node_size[i] % GUEST_PAGE_SIZE)
			abort();
	for (i = 0; i < mf->nr_devices; i++)
		if (!mf->devices[i] || !*mf->devices[i])
			abort();
	for (i = 0; i < mf->nr_disks; i++)
		if (!mf->disks[i].path || mf->disks[i].mtime_ns < 0)
			abort();
}

int fuzz_snapshot_manifest_one(const u8 *data, size_t size)
{
	struct snap_manifest mf, back;
	char why[256] = "", why2[256];
	json_t *o;
	char *text;
	int r;

	r = snap_manifest_parse((const char *)data, size, &mf, why, sizeof(why));
	if (r) {
		if (!*why || strchr(why, '\n'))
			abort();
		snap_manifest_free(&mf);
		return 1;
	}
	check_whole(&mf);
	o = snap_manifest_json(&mf);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (!text)
		abort();
	if (snap_manifest_parse(text, strlen(text), &back, why2, sizeof(why2)) ||
	    back.nr_cpus != mf.nr_cpus || back.nr_nodes != mf.nr_nodes ||
	    back.nr_devices != mf.nr_devices || back.nr_disks != mf.nr_disks ||
	    back.state_size != mf.state_size ||
	    memcmp(back.node_size, mf.node_size, sizeof(mf.node_size)) ||
	    memcmp(back.apic_ids, mf.apic_ids, mf.nr_cpus * sizeof(u32)))
		abort();
	free(text);
	json_decref(o);
	snap_manifest_free(&back);
	snap_manifest_free(&mf);
	return 0;
}
