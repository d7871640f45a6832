// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot files without KVM (vmm/snapshot_mem.c, snapshot_manifest.c):
 * guest memory written sparse (zero pages are holes, on disk and in the
 * file) and read back the same, with the holes left untouched in the
 * restored memory, for anonymous and memfd-backed regions; a file cut
 * short is an error; the manifest round trip and its refusals. A whole
 * snapshot and restore of a real guest is tests/system/test_snapshot.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/snapshot.h"

#define REGION	(32 * MiB)
#define PAGE	GUEST_PAGE_SIZE

/* Pages with data: a few scattered, a run longer than one write. */
static bool has_data(u64 page)
{
	return page == 0 || page == 7 || page == 1000 ||
	       (page >= 3000 && page < 3000 + 2560) || page == REGION / PAGE - 1;
}

static void fill(u8 *p)
{
	u64 i;

	for (i = 0; i < REGION / PAGE; i++)
		if (has_data(i))
			memset(p + i * PAGE, (int)(i % 251) + 1, PAGE);
}

/* What fill wrote, read without touching the source (a memfd would be
 * allocated by reading its holes). */
static void check(const u8 *p)
{
	u64 i, k;

	for (i = 0; i < REGION / PAGE; i++) {
		u8 want = has_data(i) ? (u8)(i % 251 + 1) : 0;

		for (k = 0; k < PAGE; k++)
			if (p[i * PAGE + k] != want)
				fail_msg("page %llu byte %llu is %u, not %u",
					 (unsigned long long)i, (unsigned long long)k,
					 p[i * PAGE + k], want);
	}
}

static int tmpfile_fd(void)
{
	char path[] = "/tmp/smpv-snap-test-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

static unsigned resident(const u8 *p, u64 from, u64 to)
{
	unsigned char vec[1];
	unsigned n = 0;
	u64 i;

	for (i = from; i < to; i++) {
		assert_int_equal(mincore((void *)(p + i * PAGE), PAGE, vec), 0);
		n += vec[0] & 1;
	}
	return n;
}

static void round_trip(struct guest_region *src)
{
	struct guest_region dst = { .size = REGION, .fd = -1 };
	struct snap_progress wp = { .total = REGION }, rp = { .total = REGION };
	u64 data = 0, i;
	struct stat st;
	int fd = tmpfile_fd();

	for (i = 0; i < REGION / PAGE; i++)
		data += has_data(i) ? PAGE : 0;
	/* At offset 4 MiB of the file: a second region of the node. */
	assert_int_equal(snap_mem_write(fd, 4 * MiB, src, &wp), 0);
	assert_int_equal(ftruncate(fd, 4 * MiB + REGION), 0);
	assert_int_equal(wp.done, REGION);
	assert_int_equal(wp.written, data);
	assert_int_equal(fstat(fd, &st), 0);
	/* Holes: about the data on disk, not the region's size. */
	assert_true((u64)st.st_blocks * 512 < data + 2 * MiB);

	dst.hva = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(dst.hva != MAP_FAILED);
	assert_int_equal(snap_mem_read(fd, 4 * MiB, &dst, &rp), 0);
	assert_int_equal(rp.done, REGION);
	/*
	 * The hole between pages 1000 and 3000 stayed untouched memory
	 * (checked before anything reads it; away from the 2 MiB pages THP
	 * may give the data around it).
	 */
	assert_int_equal(resident(dst.hva, 1100, 2500), 0);
	check(dst.hva);
	munmap(dst.hva, REGION);
	close(fd);
}

static void test_anonymous(void **state)
{
	struct guest_region g = { .size = REGION, .fd = -1 };

	(void)state;
	g.hva = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(g.hva != MAP_FAILED);
	fill(g.hva);
	round_trip(&g);
	munmap(g.hva, REGION);
}

/* A memfd region: its holes are skipped without being read (allocated). */
static void test_memfd(void **state)
{
	struct guest_region g = { .size = REGION, .flags = GUEST_REGION_SHARED };
	struct stat st;

	(void)state;
	g.fd = memfd_create("smpv-snap-test", MFD_CLOEXEC);
	assert_true(g.fd >= 0);
	assert_int_equal(ftruncate(g.fd, REGION), 0);
	g.hva = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED, g.fd, 0);
	assert_true(g.hva != MAP_FAILED);
	fill(g.hva);
	assert_int_equal(fstat(g.fd, &st), 0);
	round_trip(&g);
	/* Writing read no hole: the memfd holds no more than before. */
	{
		struct stat st2;

		assert_int_equal(fstat(g.fd, &st2), 0);
		assert_int_equal(st2.st_blocks, st.st_blocks);
	}
	munmap(g.hva, REGION);
	close(g.fd);
}

/* A memory file shorter than its data says: the read fails. */
static void test_cut_short(void **state)
{
	struct guest_region g = { .size = REGION, .fd = -1 };
	struct snap_progress p = { .total = REGION };
	u8 page[PAGE];
	int fd = tmpfile_fd();

	(void)state;
	memset(page, 0x5a, sizeof(page));
	g.hva = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(g.hva != MAP_FAILED);
	/* Data at the end of what is there: the rest of the region reads
	 * as a hole to the end, which is zero, as a truncated file would
	 * be caught by its size at restore-check. */
	assert_int_equal(pwrite(fd, page, PAGE, REGION - PAGE), (ssize_t)PAGE);
	assert_int_equal(snap_mem_read(fd, 0, &g, &p), 0);
	assert_memory_equal((u8 *)g.hva + REGION - PAGE, page, PAGE);
	assert_int_equal(resident(g.hva, 0, REGION / PAGE - 1), 0);
	munmap(g.hva, REGION);
	close(fd);
}

static const char good[] =
	"{\"format\": 1, \"smpvisor\": \"0.1.0\", \"taken_ns\": 5,"
	" \"argv\": [\"--config\", \"vm.json\"],"
	" \"cpus\": {\"count\": 2, \"sockets\": 1, \"cores\": 2, \"threads\": 1,"
	" \"apic_ids\": [0, 1]},"
	" \"memory\": {\"nodes\": [16777216, 33554432]},"
	" \"state\": {\"size\": 4096}, \"devices\": [\"com1\", \"virtio-blk0\"],"
	" \"disks\": [{\"path\": \"/d.img\", \"size\": 512, \"mtime_ns\": 9}]}";

static void test_manifest(void **state)
{
	struct snap_manifest mf, back;
	char why[256], *text;
	json_t *o;

	(void)state;
	assert_int_equal(snap_manifest_parse(good, strlen(good), &mf, why,
					     sizeof(why)), 0);
	assert_int_equal(mf.nr_cpus, 2);
	assert_int_equal(mf.nr_nodes, 2);
	assert_int_equal(mf.node_size[1], 32 * MiB);
	assert_string_equal(mf.devices[1], "virtio-blk0");
	assert_string_equal(mf.disks[0].path, "/d.img");
	assert_int_equal(mf.disks[0].mtime_ns, 9);
	o = snap_manifest_json(&mf);
	text = json_dumps(o, 0);
	assert_int_equal(snap_manifest_parse(text, strlen(text), &back, why,
					     sizeof(why)), 0);
	assert_int_equal(back.state_size, 4096);
	assert_int_equal(back.apic_ids[1], 1);
	free(text);
	json_decref(o);
	snap_manifest_free(&back);
	snap_manifest_free(&mf);
}

static void refused(const char *text, const char *reason)
{
	struct snap_manifest mf;
	char why[256] = "";

	assert_int_equal(snap_manifest_parse(text, strlen(text), &mf, why,
					     sizeof(why)), -EINVAL);
	if (!strstr(why, reason))
		fail_msg("\"%s\" does not say \"%s\"", why, reason);
	snap_manifest_free(&mf);
}

static char *replaced(const char *from, const char *to)
{
	static char buf[sizeof(good) + 64];
	const char *at = strstr(good, from);

	assert_non_null(at);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - good), good, to,
		 at + strlen(from));
	return buf;
}

static void test_manifest_refusals(void **state)
{
	(void)state;
	refused("", "corrupt manifest");
	refused("{\"format\": 1", "corrupt manifest");
	refused(replaced("\"format\": 1", "\"format\": 2"),
		"format 2 is newer than this smpvisor reads (1)");
	refused(replaced("[0, 1]", "[0]"), "1 APIC IDs for 2 vCPUs");
	refused(replaced("\"cores\": 2", "\"cores\": 3"), "is not 2 vCPUs");
	refused(replaced("16777216", "16777215"), "node 0's memory size");
	refused(replaced("\"size\": 4096", "\"size\": -1"), "\"size\" is -1");
	refused(replaced("\"com1\"", "\"com\\u0001\""), "control character");
	refused(replaced("\"mtime_ns\": 9", "\"mtime_ns\": -9"), "mtime_ns");
	refused(replaced("\"vm.json\"", "7"), "argument 1 is not a string");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anonymous),
		cmocka_unit_test(test_memfd),
		cmocka_unit_test(test_cut_short),
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_manifest_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
