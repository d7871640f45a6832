// SPDX-License-Identifier: GPL-2.0
/*
 * Replays the seed corpus of every fuzz harness (tests/fuzz/corpus/NAME/,
 * or $FUZZ_CORPUS/NAME) through the harness itself, so inputs that once
 * crashed a parser stay fixed. Every corpus folder must belong to a
 * harness listed here and every harness must have a non-empty corpus.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/corpus.h"
#include "../fuzz/harnesses.h"

static const struct {
	const char *name;
	int (*one)(const u8 *data, size_t size);
} harnesses[] = {
	{ "virtq", fuzz_virtq_one },
	{ "virtio_net", fuzz_virtio_net_one },
	{ "virtio_blk", fuzz_virtio_blk_one },
	{ "virtio_pci", fuzz_virtio_pci_one },
	{ "vhost_user", fuzz_vhost_user_one },
	{ "config", fuzz_config_one },
	{ "state", fuzz_state_one },
	{ "vcpu_state", fuzz_vcpu_state_one },
	{ "snapshot_manifest", fuzz_snapshot_manifest_one },
	{ "migrate_stream", fuzz_migrate_stream_one },
	{ "qmp", fuzz_qmp_one },
	{ "termfilter", fuzz_termfilter_one },
};

#define CORPUS_MAX_INPUT	(1 << 20)

static const char *root(void)
{
	const char *d = getenv("FUZZ_CORPUS");

	return d ? d : "tests/fuzz/corpus";
}

static void replay(const char *name, int (*one)(const u8 *, size_t))
{
	static u8 buf[CORPUS_MAX_INPUT];
	char dir[256];
	unsigned files = 0;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", root(), name);
	d = opendir(dir);
	if (!d)
		fail_msg("harness %s has no corpus folder %s", name, dir);
	while ((de = readdir(d))) {
		long n;

		if (de->d_name[0] == '.')
			continue;
		n = corpus_load(dir, de->d_name, buf, sizeof(buf));
		assert_true(n >= 0);
		one(buf, (size_t)n);
		files++;
	}
	closedir(d);
	print_message("fuzz corpus %s: %u inputs replayed\n", name, files);
	assert_true(files > 0);
}

static void test_every_corpus(void **state)
{
	unsigned i;

	for (i = 0; i < sizeof(harnesses) / sizeof(harnesses[0]); i++)
		replay(harnesses[i].name, harnesses[i].one);
}

/* A corpus folder nobody replays would be a test that cannot fail. */
static void test_no_orphan_corpus(void **state)
{
	DIR *d = opendir(root());
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d))) {
		unsigned i;
		bool found = false;

		if (de->d_name[0] == '.')
			continue;
		for (i = 0; i < sizeof(harnesses) / sizeof(harnesses[0]); i++)
			found |= !strcmp(de->d_name, harnesses[i].name);
		if (!found)
			fail_msg("corpus %s has no harness", de->d_name);
	}
	closedir(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_corpus),
		cmocka_unit_test(test_no_orphan_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
