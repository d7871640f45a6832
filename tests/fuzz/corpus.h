/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading the fuzz corpus back in the unit tests that replay it
 * (test_virtq through the parser, test_virtio_blk through the device).
 */
#ifndef SMPVISOR_FUZZ_CORPUS_H
#define SMPVISOR_FUZZ_CORPUS_H

#include <stdio.h>
#include <stdlib.h>

/* The corpus folder: $VIRTQ_CORPUS or the one in the tree. */
static inline const char *corpus_dir(void)
{
	const char *d = getenv("VIRTQ_CORPUS");

	return d ? d : "tests/fuzz/corpus/virtq";
}

/* Read up to max bytes of dir/name into buf: the byte count, or -1. */
static inline long corpus_load(const char *dir, const char *name, void *buf,
			       size_t max)
{
	char path[768];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "rb");
	if (!fp)
		return -1;
	n = fread(buf, 1, max, fp);
	fclose(fp);
	return (long)n;
}

#endif
