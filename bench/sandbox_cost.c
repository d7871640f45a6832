// SPDX-License-Identifier: GPL-2.0
/*
 * bench/sandbox_cost: what the sandbox (issue 15) costs the VMM's
 * start-up, on this machine, without KVM. The VMM's "sandbox" step is
 * sandbox_policy_build() and sandbox_seal() (vmm/sandbox.c,
 * lib/sandbox.c: seccomp filters compiled for every thread class,
 * capabilities dropped, no_new_privs, Landlock), and every vCPU thread,
 * started after the seal, calls sandbox_thread() first thing (it loads
 * its class's filter). A seal cannot be undone, so each run is a fresh
 * child process: it builds and seals with the default config (seccomp on,
 * Landlock on), or with the sandbox off (seccomp off, Landlock off: what
 * is left is the seal's capability drop, no_new_privs and rlimits), then
 * starts n vCPU-class threads, each timing its own sandbox_thread().
 * Runs alternate, the order swapped every pair (on, off, off, on...).
 * One JSON line per run:
 *
 *   SANDBOXCOST {"mode":"on","threads":16,"rep":0,"seal_us":3345.6,
 *                "build_us":120.5,"thread_us":241.2,"thread_max_us":480.1,
 *                "landlock_abi":7}
 *
 * seal_us: sandbox_policy_build + sandbox_seal (build_us: the first
 * alone); thread_us: the mean of the threads' sandbox_thread() times
 * (thread_max_us: the slowest); landlock_abi: 0 without Landlock.
 *
 *   sandbox_cost [--threads 1,16,64] [--reps R]
 *
 * Exit status: 0 ok, 1 failure, 2 usage (a thread count is 1 to 1024).
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/parse.h"
#include "lib/sandbox.h"
#include "lib/util.h"
#include "vmm/config.h"
#include "vmm/sandbox.h"

#define MAX_THREADS	1024

enum mode { SEAL_ON, SEAL_OFF };

static const char *const seal_names[] = { "on", "off" };

static double now_us(void)
{
	return now_ns() / 1e3;
}

struct worker {
	pthread_t t;
	unsigned id;
	double us;
};

/* A vCPU thread's first step, timed; then it ends (exit is allowed). */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char name[24];
	double t0;

	snprintf(name, sizeof(name), "vcpu %u", w->id);
	t0 = now_us();
	sandbox_thread(SANDBOX_VCPU, name);
	w->us = now_us() - t0;
	return NULL;
}

/*
 * In the child: seal as mode says, start n threads, print the record
 * (not for the warm-up run, rep < 0).
 */
static int one_child(enum mode mode, unsigned n, int rep)
{
	struct worker *w = calloc(n, sizeof(*w));
	struct sandbox_policy p;
	double t0, build, seal, sum = 0, max = 0;
	struct config c;
	unsigned i;
	int abi;

	if (!w)
		return 1;
	config_init(&c);
	c.seccomp = mode == SEAL_ON ? SANDBOX_SECCOMP_ON : SANDBOX_SECCOMP_OFF;
	c.landlock = mode == SEAL_ON;
	t0 = now_us();
	if (sandbox_policy_build(&c, &p, &abi))
		goto fail;
	build = now_us() - t0;
	if (sandbox_seal(&p))
		goto fail;
	seal = now_us() - t0;
	for (i = 0; i < n; i++) {
		w[i].id = i;
		if (pthread_create(&w[i].t, NULL, worker_main, &w[i])) {
			fprintf(stderr, "sandbox_cost: thread %u: cannot start\n", i);
			return 1;
		}
	}
	for (i = 0; i < n; i++) {
		pthread_join(w[i].t, NULL);
		sum += w[i].us;
		if (w[i].us > max)
			max = w[i].us;
	}
	if (rep < 0)
		return 0;
	printf("SANDBOXCOST {\"mode\":\"%s\",\"threads\":%u,\"rep\":%d,"
	       "\"seal_us\":%.1f,\"build_us\":%.1f,\"thread_us\":%.2f,"
	       "\"thread_max_us\":%.2f,\"landlock_abi\":%d}\n",
	       seal_names[mode], n, rep, seal, build, sum / n, max, abi);
	fflush(stdout);
	return 0;
fail:
	fprintf(stderr, "sandbox_cost: the %s seal failed\n", seal_names[mode]);
	return 1;
}

/* One run in a fresh process: 0 when the child printed its record. */
static int one_run(enum mode mode, unsigned n, int rep)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("sandbox_cost: fork");
		return -1;
	}
	if (!pid)
		_exit(one_child(mode, n, rep));
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "sandbox_cost: %s run with %u threads: killed by signal %d\n",
			seal_names[mode], n, WTERMSIG(st));
		return -1;
	}
	return WEXITSTATUS(st) ? -1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sandbox_cost [--threads 1,16,64] [--reps R]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "threads", required_argument, NULL, 'n' },
		{ "reps", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cpulist counts;
	u32 reps = 5, rep;
	int o, n, first_n;

	/* Thread counts as a set of numbers ("1,16,64"), in ascending order. */
	if (cpulist_init(&counts, MAX_THREADS + 1) || parse_cpulist("1,16,64", &counts))
		return 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (o == 'n' && !parse_cpulist(optarg, &counts) &&
		    !cpulist_test(&counts, 0) && cpulist_count(&counts))
			continue;
		if (o == 'r' && !parse_u32(optarg, 1, 100000, &reps))
			continue;
		usage(o == 'h' ? stdout : stderr);
		return o == 'h' ? 0 : 2;
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	/* Warm-up: libseccomp's pages and the page cache, not counted. */
	first_n = cpulist_next(&counts, -1);
	if (one_run(SEAL_ON, first_n, -1))
		return 1;
	cpulist_for_each(n, &counts)
		for (rep = 0; rep < reps; rep++) {
			enum mode first = rep % 2 ? SEAL_OFF : SEAL_ON;

			if (one_run(first, n, (int)rep) ||
			    one_run(!first, n, (int)rep))
				return 1;
		}
	cpulist_free(&counts);
	return 0;
}
