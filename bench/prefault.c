// SPDX-License-Identifier: GPL-2.0
/*
 * bench/prefault: how long smpvisor takes to bring up a prefaulted guest's
 * RAM (issue 20), on this machine, without KVM. One run is what the VMM
 * does at start-up with "memory": {"prefault": true, "prefault_threads": T}
 * and no NUMA binding: guest_mem_layout, guest_mem_alloc, then
 * guest_mem_prefault(m, T, NULL), timed; then guest_mem_free, timed apart
 * (a VMM frees guest RAM when it exits, not while it starts).
 *
 * guest_mem_alloc advises transparent huge pages (MADV_HUGEPAGE) for all
 * guest RAM, as QEMU does for its anonymous RAM, so with the host's THP in
 * "madvise" mode both populate 2 MiB pages (thp_mib below says whether
 * they got them).
 *
 * Runs go through the thread counts, reps runs each; bench/benchmarks/
 * prefault.py runs one at a time, alternated with QEMU. One JSON line per
 * run:
 *
 *   PREFAULT {"system":"smpvisor","threads":2,"gib":4,"rep":0,
 *             "s":1.234,"alloc_s":0.00002,"prefault_s":1.234,
 *             "free_s":0.210,"total_s":1.444,"rss_mib":4096,"thp_mib":0}
 *
 * s: layout + alloc + prefault (start-up); total_s: s + free_s;
 * rss_mib: this process's resident memory after the prefault (the guest
 * RAM must all be there); thp_mib: how much of it is in transparent huge
 * pages (AnonHugePages).
 *
 *   prefault [--size 4G] [--threads 1,2,4] [--reps R]
 *
 * Exit status: 0 ok, 1 failure, 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/parse.h"
#include "lib/util.h"
#include "vmm/memory.h"

#define MAX_THREADS	256

static double now_s(void)
{
	return now_ns() / 1e9;
}

/* A "Name:   N kB" field of a /proc file, in MiB; -1 if not found. */
static long proc_kb_field_mib(const char *path, const char *name)
{
	size_t len = strlen(name);
	char line[256];
	long kb = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':') {
			kb = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb < 0 ? -1 : kb / 1024;
}

static int one_run(u64 size, unsigned threads, unsigned rep)
{
	struct guest_mem m;
	double t0, t_alloc, t_fault, t_free;
	long rss, thp;
	int r;

	t0 = now_s();
	r = guest_mem_layout(&m, size);
	if (r) {
		fprintf(stderr, "prefault: cannot lay out %llu MiB\n",
			(unsigned long long)(size / MiB));
		return r;
	}
	r = guest_mem_alloc(&m);
	if (r)
		return r;
	t_alloc = now_s();
	r = guest_mem_prefault(&m, threads, NULL);
	t_fault = now_s();
	if (r) {
		guest_mem_free(&m);
		return r;
	}
	rss = proc_kb_field_mib("/proc/self/status", "VmRSS");
	thp = proc_kb_field_mib("/proc/self/smaps_rollup", "AnonHugePages");
	t_free = now_s();
	guest_mem_free(&m);
	t_free = now_s() - t_free;
	printf("PREFAULT {\"system\":\"smpvisor\",\"threads\":%u,"
	       "\"gib\":%g,\"rep\":%u,\"s\":%.6f,\"alloc_s\":%.6f,"
	       "\"prefault_s\":%.6f,\"free_s\":%.6f,\"total_s\":%.6f,"
	       "\"rss_mib\":%ld,\"thp_mib\":%ld}\n",
	       threads, (double)size / GiB, rep, t_fault - t0,
	       t_alloc - t0, t_fault - t_alloc, t_free, t_fault - t0 + t_free,
	       rss, thp);
	fflush(stdout);
	return 0;
}

static const struct option opts[] = {
	{ "size", required_argument, NULL, 's' },
	{ "threads", required_argument, NULL, 'n' },
	{ "reps", required_argument, NULL, 'r' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/*
 * The options into *size, *counts (thread counts, 1 to MAX_THREADS, a set
 * in ascending order) and *reps: -1 to go on, else the exit status.
 */
static int parse_args(int argc, char **argv, u64 *size, struct cpulist *counts,
		      u32 *reps)
{
	const char *use = "usage: prefault [--size 4G] [--threads 1,2,4] [--reps R]\n";
	bool ok = true;
	int o;

	while (ok && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			ok = !parse_size(optarg, size) && *size >= GUEST_MEM_MIN &&
			     *size % GUEST_PAGE_SIZE == 0;
			break;
		case 'n':
			ok = !parse_cpulist(optarg, counts) && cpulist_count(counts) &&
			     !cpulist_test(counts, 0);
			break;
		case 'r':
			ok = !parse_u32(optarg, 1, 100000, reps);
			break;
		case 'h':
			fputs(use, stdout);
			return 0;
		default:
			ok = false;
		}
	}
	if (ok && optind == argc)
		return -1;
	fputs(use, stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct cpulist counts;
	u64 size = 4 * GiB;
	u32 reps = 3, rep;
	int n, status;

	if (cpulist_init(&counts, MAX_THREADS + 1) || parse_cpulist("1,2,4", &counts))
		return 1;
	status = parse_args(argc, argv, &size, &counts, &reps);
	if (status >= 0)
		return status;
	cpulist_for_each(n, &counts)
		for (rep = 0; rep < reps; rep++)
			if (one_run(size, (unsigned)n, rep))
				return 1;
	cpulist_free(&counts);
	return 0;
}
