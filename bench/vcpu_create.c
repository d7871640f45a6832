// SPDX-License-Identifier: GPL-2.0
/*
 * bench/vcpu_create: how long creating n vCPUs takes, through the
 * project's kvm_vcpu_create (kernel/vcpu.c) against the raw interface
 * (KVM_CREATE_VCPU and the kvm_run mmap, inline). Every run gets a fresh
 * VM with the in-kernel irqchip, as the VMM makes it, so each vCPU also
 * gets its in-kernel LAPIC. Runs alternate, the order swapped every pair:
 * raw, smpvisor, smpvisor, raw, raw, smpvisor...
 * One JSON line per run:
 *
 *   VCPUCREATE {"mode":"raw","vcpus":64,"rep":0,"seconds":0.0123,
 *               "us_per_vcpu":192.1}
 *
 *   vcpu_create [--counts 1,16,256,1024] [--reps R] [--dev PATH]
 *
 * Exit status: 0 ok, 1 failure, 2 usage, 77 no KVM device.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "kernel/kvm.h"

#define EXIT_SKIP	77
#define EXIT_USAGE	2
#define MAX_COUNTS	32

enum mode { MODE_RAW, MODE_SMPVISOR };

static const char *const mode_names[] = { "raw", "smpvisor" };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The limit: the two system calls, nothing else. */
static int raw_create(struct kvm_vm *vm, unsigned id, struct kvm_vcpu *c)
{
	int fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	void *run;

	c->fd = -1;
	c->run = NULL;
	c->vm = vm;
	if (fd < 0)
		return -errno;
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   0);
	if (run == MAP_FAILED) {
		close(fd);
		return -errno;
	}
	c->fd = fd;
	c->run = run;
	return 0;
}

static int one_run(const char *dev, enum mode mode, unsigned n, unsigned rep)
{
	struct kvm_vm vm;
	struct kvm_vcpu *c = calloc(n, sizeof(*c));
	unsigned i, made = 0;
	double t0, t;
	int r;

	if (!c)
		return -ENOMEM;
	r = kvm_open(&vm, dev);
	if (!r)
		r = kvm_create_vm(&vm);
	if (!r)
		r = kvm_create_irqchip(&vm);
	if (!r && n > (unsigned)vm.max_vcpus) {
		fprintf(stderr, "vcpu_create: %u vCPUs asked, KVM allows %d\n",
			n, vm.max_vcpus);
		r = -E2BIG;
	}
	if (r)
		goto out;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		r = mode == MODE_RAW ? raw_create(&vm, i, &c[i]) :
				       kvm_vcpu_create(&vm, i, &c[i]);
		if (r) {
			fprintf(stderr, "vcpu_create: vCPU %u: %s\n", i,
				strerror(-r));
			goto out;
		}
		made++;
	}
	t = now_s() - t0;
	printf("VCPUCREATE {\"mode\":\"%s\",\"vcpus\":%u,\"rep\":%u,"
	       "\"seconds\":%.6f,\"us_per_vcpu\":%.2f}\n",
	       mode_names[mode], n, rep, t, t * 1e6 / n);
	fflush(stdout);
out:
	for (i = 0; i < made; i++)
		kvm_vcpu_destroy(&c[i]);
	kvm_close(&vm);
	free(c);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "counts", required_argument, NULL, 'n' },
		{ "reps", required_argument, NULL, 'r' },
		{ "dev", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned counts[MAX_COUNTS] = { 1, 16, 256, 1024 }, nc = 4, reps = 5;
	const char *dev = KVM_DEFAULT_DEV;
	char *tok, *save = NULL, *end;
	struct kvm_vm probe;
	struct rlimit rl;
	unsigned i, rep;
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			nc = 0;
			for (tok = strtok_r(optarg, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				unsigned long v = strtoul(tok, &end, 10);

				if (*end || !v || v > 4096 || nc == MAX_COUNTS)
					goto bad;
				counts[nc++] = v;
			}
			if (!nc)
				goto bad;
			break;
		case 'r':
			reps = strtoul(optarg, NULL, 10);
			if (!reps)
				goto bad;
			break;
		case 'd':
			dev = optarg;
			break;
		case 'h':
			printf("usage: vcpu_create [--counts 1,16,256,1024] [--reps R] [--dev PATH]\n");
			return 0;
		default:
			goto bad;
		}
	}
	/* Two fds per VM plus one per vCPU: lift the soft limit. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (kvm_open(&probe, dev)) {
		printf("vcpu_create: skipped: %s not available\n", dev);
		return EXIT_SKIP;
	}
	kvm_close(&probe);
	/* Warm-up: the first VM pays for page tables, module caches. */
	if (one_run(dev, MODE_RAW, counts[0], 0))
		return 1;
	/*
	 * Alternate, swapping the order every pair (raw smpvisor smpvisor
	 * raw ...): the previous VM's teardown can still be finishing in
	 * the kernel, and that must not always land on the same side.
	 */
	for (i = 0; i < nc; i++)
		for (rep = 0; rep < reps; rep++) {
			enum mode first = rep % 2 ? MODE_SMPVISOR : MODE_RAW;

			if (one_run(dev, first, counts[i], rep) ||
			    one_run(dev, !first, counts[i], rep))
				return 1;
		}
	return 0;
bad:
	fprintf(stderr, "usage: vcpu_create [--counts 1,16,256,1024] [--reps R] [--dev PATH]\n");
	return EXIT_USAGE;
}
