// SPDX-License-Identifier: GPL-2.0
/*
 * firstrun.so: an LD_PRELOAD shim that notes when a VMM first enters its
 * guest. It wraps libc's ioctl(); on the first KVM_RUN of any thread it
 * writes one line to stderr before the call:
 *
 *   BENCH-FIRST-KVM-RUN <CLOCK_MONOTONIC ns>
 *
 * bench/ starts the VMM with the same clock read just before exec, so the
 * difference is the VMM's time to the first guest instruction, measured the
 * same way for smpvisor and QEMU. Every other ioctl passes straight
 * through; the added cost is one compare per call.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

typedef int (*ioctl_fn)(int, unsigned long, ...);

static atomic_bool seen;

int ioctl(int fd, unsigned long req, ...)
{
	static ioctl_fn real;
	struct timespec ts;
	char line[64];
	va_list ap;
	void *arg;
	int n;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
	if (req == KVM_RUN && !atomic_exchange(&seen, true)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		n = snprintf(line, sizeof(line), "BENCH-FIRST-KVM-RUN %lld\n",
			     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
		if (write(STDERR_FILENO, line, n) < 0)
			n = 0;
	}
	return real(fd, req, arg);
}
