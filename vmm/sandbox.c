// SPDX-License-Identifier: GPL-2.0
/*
 * The VMM's confinement policy: what each thread class may call, which
 * files the process may open once running, and whom it runs as. The
 * mechanism is lib/sandbox.c; this is the machine's "sandbox" step, the
 * last before the I/O threads start.
 *
 * Rule sets, each a reason to call something:
 *  - base: every thread (memory, locks, time, its own fds, signals);
 *  - device: the device model's control path (reset, start and stop of
 *    queues and back ends, interrupts, errors), reached from a vCPU
 *    (guest register writes), an I/O thread, the console, the vhost-user
 *    worker, the API (pause, resume) and main (teardown);
 *  - one set per class for its own work.
 * A new system call on a thread means a new line here, on purpose.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/kvm.h>
#include <linux/landlock.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "lib/sandbox.h"
#include "vmm/config.h"
#include "vmm/machine.h"
#include "vmm/sandbox.h"

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)	/* ABI 3, Linux 6.2 */
#endif

#define RULES(s, i) { s, ARRAY_SIZE(s), i, ARRAY_SIZE(i) }
#define SYSCALLS(s) { s, ARRAY_SIZE(s), NULL, 0 }

static const int base_sys[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(close), SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(fcntl), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(futex), SCMP_SYS(sched_yield), SCMP_SYS(getcpu),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap),
	SCMP_SYS(madvise), SCMP_SYS(brk),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(getrandom),
	SCMP_SYS(gettid), SCMP_SYS(getpid), SCMP_SYS(tgkill),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(sigaltstack),
	SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
};
/* The terminal: isatty, and putting it back on a violation or at exit. */
static const unsigned long base_ioctl[] = { TCGETS, TCSETS, TCSETSW, TCSETSF };

static const int device_sys[] = {
	SCMP_SYS(eventfd2), SCMP_SYS(epoll_ctl),
	SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv),
	SCMP_SYS(pwritev), SCMP_SYS(preadv2), SCMP_SYS(pwritev2),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(fallocate),
	SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendto),
	SCMP_SYS(recvfrom), SCMP_SYS(shutdown),
};
static const unsigned long device_ioctl[] = {
	KVM_IRQFD, KVM_IOEVENTFD, KVM_SET_GSI_ROUTING, KVM_SIGNAL_MSI,
	KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS,
	VHOST_SET_FEATURES, VHOST_SET_MEM_TABLE, VHOST_SET_VRING_NUM,
	VHOST_SET_VRING_ADDR, VHOST_SET_VRING_BASE, VHOST_GET_VRING_BASE,
	VHOST_SET_VRING_KICK, VHOST_SET_VRING_CALL, VHOST_NET_SET_BACKEND,
	TUNSETOFFLOAD, TUNSETVNETHDRSZ, TUNSETQUEUE,
};

/* vCPU: KVM_RUN, and its own state (pause, reset, reports). */
static const int vcpu_sys[] = { SCMP_SYS(sched_getaffinity) };
static const unsigned long vcpu_ioctl[] = {
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS,
	KVM_GET_MSRS, KVM_SET_MSRS, KVM_GET_FPU, KVM_SET_FPU,
	KVM_GET_LAPIC, KVM_SET_LAPIC, KVM_GET_MP_STATE, KVM_SET_MP_STATE,
	KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, KVM_KVMCLOCK_CTRL,
};

static const int iothread_sys[] = {
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
};

/*
 * The control API: clients, placement, telemetry from /proc. It reads
 * clients with recvmsg, which the device set already allows (vhost-user),
 * to take the fds they pass (SCM_RIGHTS) instead of opening files.
 */
static const int api_sys[] = {
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
	SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(getsockopt),
	SCMP_SYS(openat), SCMP_SYS(sched_setaffinity),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(mbind), SCMP_SYS(move_pages),
	SCMP_SYS(get_mempolicy), SCMP_SYS(sysinfo), SCMP_SYS(uname),
};
static const unsigned long api_ioctl[] = { KVM_KVMCLOCK_CTRL };

/*
 * A snapshot, taken on the API thread (vmm/machine_snapshot.c), and a
 * live migration, sent by the "migrate" thread of the same class
 * (vmm/migrate.c): every paused vCPU's state, the VM's interrupt
 * controllers, PIT and kvmclock read; written into files the client
 * opened (sized with ftruncate) or the connection it handed over; the
 * memory slots' dirty logging switched on and off and read.
 */
static const int snapshot_sys[] = { SCMP_SYS(ftruncate) };
static const unsigned long snapshot_ioctl[] = {
	KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_XSAVE, KVM_GET_XCRS,
	KVM_GET_LAPIC, KVM_GET_MP_STATE, KVM_GET_VCPU_EVENTS,
	KVM_GET_DEBUGREGS, KVM_GET_MSRS, KVM_GET_MSR_INDEX_LIST,
	KVM_GET_IRQCHIP, KVM_GET_PIT2, KVM_GET_CLOCK, KVM_GET_TSC_KHZ,
	KVM_GET_DIRTY_LOG, KVM_SET_USER_MEMORY_REGION,
};

/*
 * Main, after start: signals, the power button, pause, a reset in place
 * (every vCPU's state and the interrupt controllers written back, the
 * kernel read again from the fd kept open), and teardown.
 */
static const int main_sys[] = {
	SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(wait4),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigtimedwait),
};
static const unsigned long main_ioctl[] = {
	KVM_SET_USER_MEMORY_REGION, KVM_GET_STATS_FD, KVM_GET_MSRS, KVM_GET_REGS,
	KVM_GET_SREGS, KVM_GET_MP_STATE,
	KVM_SET_REGS, KVM_SET_SREGS, KVM_SET_XSAVE, KVM_SET_XCRS, KVM_SET_MSRS,
	KVM_SET_MP_STATE, KVM_SET_LAPIC, KVM_SET_VCPU_EVENTS, KVM_SET_DEBUGREGS,
	KVM_SET_IRQCHIP, KVM_SET_PIT2,
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/*
 * Sanitizer builds (tests only): the run-time's own reports and leak
 * check (a tracer thread, /proc/self/maps) must still work.
 */
static const int sanitizer_sys[] = {
	SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(ptrace), SCMP_SYS(prctl),
	SCMP_SYS(wait4), SCMP_SYS(openat), SCMP_SYS(readlink),
	SCMP_SYS(getdents64), SCMP_SYS(sched_getaffinity), SCMP_SYS(getppid),
	SCMP_SYS(rt_sigaction), SCMP_SYS(kill), SCMP_SYS(pipe2),
	SCMP_SYS(execve), SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(uname),
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(getrlimit),
	SCMP_SYS(prlimit64), SCMP_SYS(statx),
};
static const struct sandbox_rules sanitizer = SYSCALLS(sanitizer_sys);
#define SANITIZER_RULES	&sanitizer,
#else
#define SANITIZER_RULES
#endif

static const struct sandbox_rules base = RULES(base_sys, base_ioctl);
static const struct sandbox_rules device = RULES(device_sys, device_ioctl);
static const struct sandbox_rules vcpu = RULES(vcpu_sys, vcpu_ioctl);
static const struct sandbox_rules iothread = SYSCALLS(iothread_sys);
static const struct sandbox_rules api = RULES(api_sys, api_ioctl);
static const struct sandbox_rules snapshot = RULES(snapshot_sys, snapshot_ioctl);
static const struct sandbox_rules main_rules = RULES(main_sys, main_ioctl);

static const struct sandbox_rules *const class_rules[SANDBOX_NR][SANDBOX_MAX_SETS] = {
	[SANDBOX_MAIN] = { &base, &device, &api, &main_rules, SANITIZER_RULES },
	[SANDBOX_VCPU] = { &base, &device, &vcpu, SANITIZER_RULES },
	[SANDBOX_IOTHREAD] = { &base, &device, &iothread, SANITIZER_RULES },
	[SANDBOX_CONSOLE] = { &base, &device, SANITIZER_RULES },
	[SANDBOX_UART_OUT] = { &base, SANITIZER_RULES },
	[SANDBOX_VHOST_USER] = { &base, &device, SANITIZER_RULES },
	[SANDBOX_API] = { &base, &device, &api, &snapshot, SANITIZER_RULES },
};

/* Every file-system right this Landlock ABI knows (device ioctls aside). */
static __u64 landlock_fs_rights(int abi)
{
	__u64 r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	return r;
}

static int landlock_allow(int rs, const char *path, __u64 rights,
			  __u64 handled)
{
	struct landlock_path_beneath_attr pb = { .allowed_access = rights & handled };
	struct stat st;
	int r;

	pb.parent_fd = open(path, O_PATH | O_CLOEXEC);
	if (pb.parent_fd < 0) {
		pr_err("sandbox: Landlock: %s: %s", path, strerror(errno));
		return -errno;
	}
	/* A file takes only the rights of a file. */
	if (!fstat(pb.parent_fd, &st) && !S_ISDIR(st.st_mode))
		pb.allowed_access &= LANDLOCK_ACCESS_FS_READ_FILE |
				     LANDLOCK_ACCESS_FS_WRITE_FILE |
				     LANDLOCK_ACCESS_FS_TRUNCATE;
	r = syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) ?
	    -errno : 0;
	if (r)
		pr_err("sandbox: Landlock: %s: %s", path, strerror(-r));
	close(pb.parent_fd);
	return r;
}

/*
 * The files the running VM may open: its disks, /proc (its own telemetry)
 * and the node list in /sys, and the control socket's directory (to
 * remove the socket at exit). Nothing else, not even for reading. -1
 * where Landlock is off or missing (a warning says so).
 */
static int landlock_ruleset(const struct config *c, int *abi_out)
{
	const __u64 rd = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	struct landlock_ruleset_attr ra = { 0 };
	int abi, rs, r = 0;
	unsigned i;

	*abi_out = 0;
	if (!c->landlock)
		return -1;
	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		pr_warn("sandbox: Landlock is not available here (%s): file access is not confined",
			strerror(errno));
		return -1;
	}
	ra.handled_access_fs = landlock_fs_rights(abi);
	rs = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0);
	if (rs < 0) {
		pr_warn("sandbox: Landlock ruleset: %s: file access is not confined",
			strerror(errno));
		return -1;
	}
	for (i = 0; !r && i < c->nr_disks; i++)
		if (c->disks[i].path)
			r = landlock_allow(rs, c->disks[i].path,
					   LANDLOCK_ACCESS_FS_READ_FILE |
					   (c->disks[i].readonly ? 0 :
					    LANDLOCK_ACCESS_FS_WRITE_FILE),
					   ra.handled_access_fs);
	if (!r)
		r = landlock_allow(rs, "/proc", rd, ra.handled_access_fs);
	if (!r && !access("/sys/devices/system/node", F_OK))
		r = landlock_allow(rs, "/sys/devices/system/node", rd,
				   ra.handled_access_fs);
	if (!r && c->api_socket) {
		char *dir = strdup(c->api_socket), *slash;

		if (!dir)
			r = -ENOMEM;
		else {
			slash = strrchr(dir, '/');
			if (!slash)
				strcpy(dir, ".");
			else if (slash == dir)
				slash[1] = 0;
			else
				*slash = 0;
			r = landlock_allow(rs, dir, LANDLOCK_ACCESS_FS_REMOVE_FILE,
					   ra.handled_access_fs);
			free(dir);
		}
	}
	if (r) {
		close(rs);
		return -2;
	}
	*abi_out = abi;
	return rs;
}

/* The highest fd open now, plus room for what the running VM opens. */
static unsigned long nofile_needed(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long top = 2;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		top = MAX(top, atol(e->d_name));
	closedir(d);
	/* API clients, /proc reads, a margin for eventfds of restarts. */
	return (unsigned long)top + 1 + 128 + 128;
}

static int lookup_user(const char *name, struct sandbox_policy *p)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	if (!pw) {
		pr_err("sandbox: user \"%s\": %s", name,
		       errno ? strerror(errno) : "no such user");
		return -ENOENT;
	}
	p->set_user = true;
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	return 0;
}

int sandbox_policy_build(const struct config *c, struct sandbox_policy *p,
			 int *landlock_abi)
{
	unsigned i, j;

	*p = (struct sandbox_policy){ .seccomp = c->seccomp, .landlock = -1 };
	for (i = 0; i < SANDBOX_NR; i++)
		for (j = 0; j < SANDBOX_MAX_SETS; j++)
			p->rules[i][j] = class_rules[i][j];
	if (c->sandbox_user && lookup_user(c->sandbox_user, p))
		return -ENOENT;
	/* The socket's new owner must be able to remove it at exit. */
	if (p->set_user && c->api_socket &&
	    chown(c->api_socket, p->uid, p->gid)) {
		pr_err("sandbox: %s: chown to %s: %s", c->api_socket,
		       c->sandbox_user, strerror(errno));
		return -errno;
	}
	p->landlock = landlock_ruleset(c, landlock_abi);
	if (p->landlock == -2)
		return -EINVAL;
	p->nofile = nofile_needed();
	return 0;
}

int machine_sandbox_init(struct machine *m)
{
	const struct config *c = m->cfg;
	struct sandbox_policy p;
	char ll[24] = "off";
	int abi = 0, r;

	r = sandbox_policy_build(c, &p, &abi);
	if (r)
		return r;
	if (c->seccomp == SANDBOX_SECCOMP_OFF)
		pr_warn("sandbox: seccomp is off: every thread may make any system call");
	/*
	 * jansson seeds its hash function from /dev/urandom at the first
	 * JSON object, lazily: an event raised on a vCPU or I/O thread
	 * would be the first. Now, while files may still be opened.
	 */
	json_object_seed(0);
	r = sandbox_seal(&p);
	if (r) {
		pr_err("sandbox: cannot confine smpvisor: %s", strerror(-r));
		return r;
	}
	if (abi)
		snprintf(ll, sizeof(ll), "on (ABI %d)", abi);
	pr_info("sandbox: seccomp %s, user %s, Landlock %s",
		c->seccomp == SANDBOX_SECCOMP_ON ? "on" :
		c->seccomp == SANDBOX_SECCOMP_LOG ? "log" : "off",
		c->sandbox_user ? c->sandbox_user : "unchanged", ll);
	return 0;
}
