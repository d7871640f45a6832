// SPDX-License-Identifier: GPL-2.0
/*
 * Thread confinement: seccomp filters per thread class, credentials,
 * capabilities and Landlock (see include/lib/sandbox.h for the order).
 *
 * The filters are compiled with libseccomp once, at the seal, and kept
 * as BPF programs: a thread loads its class's program with one system
 * call, so 64 vCPUs do not compile 64 filters.
 */
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/sandbox.h"
#include "lib/util.h"

const char *const sandbox_class_name[SANDBOX_NR] = {
	[SANDBOX_MAIN] = "main", [SANDBOX_VCPU] = "vcpu",
	[SANDBOX_IOTHREAD] = "iothread", [SANDBOX_CONSOLE] = "console",
	[SANDBOX_UART_OUT] = "uart-out", [SANDBOX_VHOST_USER] = "vhost-user",
	[SANDBOX_API] = "api",
};

#define NAMES_MAX	512	/* syscall numbers with a name in the report */
#define NAME_LEN	24

/*
 * Process-wide: one sandbox per process. The gate fields are under
 * gate_lock; the rest is written by the main thread before the gate
 * opens and only read afterwards (the gate's mutex orders the two).
 */
static struct {
	pthread_mutex_t gate_lock;
	pthread_cond_t gate_cond;
	bool expected, open, sealed;
	struct sandbox_policy pol;
	struct sock_fprog prog[SANDBOX_NR];
	char names[NAMES_MAX][NAME_LEN];
	int term_fd;
	struct termios term;
	bool term_set;
} sb = {
	.gate_lock = PTHREAD_MUTEX_INITIALIZER,
	.gate_cond = PTHREAD_COND_INITIALIZER,
	.term_fd = -1,
};

/* The thread's own, for the violation report (signal-safe to read). */
static __thread char th_name[16];
static __thread enum sandbox_class th_class;

static size_t cat(char *buf, size_t at, size_t size, const char *s)
{
	while (*s && at + 1 < size)
		buf[at++] = *s++;
	buf[at] = 0;
	return at;
}

static size_t cat_num(char *buf, size_t at, size_t size, long n)
{
	char d[24];
	int i = (int)sizeof(d) - 1;
	unsigned long v = n < 0 ? (unsigned long)-n : (unsigned long)n;

	d[i] = 0;
	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10) && i > 1);
	if (n < 0)
		d[--i] = '-';
	return cat(buf, at, size, d + i);
}

/* The terminal as it was, then exit status 1 (signal-safe). */
static void die(void)
{
	if (sb.term_set)
		syscall(SYS_ioctl, sb.term_fd, TCSETS, &sb.term);
	syscall(SYS_exit_group, 1);
}

/*
 * SIGSYS from a filter (SECCOMP_RET_TRAP): one line naming the thread
 * and the call, the terminal back as it was, exit status 1. Only
 * async-signal-safe work: the names were resolved at the seal.
 */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char line[256];
	size_t n = 0;
	int nr = si->si_syscall;

	(void)sig;
	(void)uc;
	n = cat(line, n, sizeof(line), "smpvisor: error: seccomp: thread \"");
	n = cat(line, n, sizeof(line), th_name[0] ? th_name : "?");
	n = cat(line, n, sizeof(line), "\" (");
	n = cat(line, n, sizeof(line), sandbox_class_name[th_class]);
	n = cat(line, n, sizeof(line), ") made the forbidden system call ");
	n = cat_num(line, n, sizeof(line), nr);
	if (nr >= 0 && nr < NAMES_MAX && sb.names[nr][0]) {
		n = cat(line, n, sizeof(line), " (");
		n = cat(line, n, sizeof(line), sb.names[nr]);
		n = cat(line, n, sizeof(line), ")");
	}
	n = cat(line, n, sizeof(line), ": exiting\n");
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nothing more to say it with */
	}
	/* -vv: where, to find the missing rule (warmed up at the seal). */
	if (log_level >= LOG_DEBUG) {
		void *at[32];

		backtrace_symbols_fd(at, backtrace(at, 32), STDERR_FILENO);
	}
	die();
}

void sandbox_set_terminal(int fd, const struct termios *t)
{
	sb.term = *t;
	sb.term_fd = fd;
	sb.term_set = true;
}

static int add_rules(scmp_filter_ctx ctx, const struct sandbox_rules *r)
{
	unsigned i;
	int e = 0;

	for (i = 0; !e && i < r->nr_sys; i++) {
		int nr = r->sys[i];

		if (nr == SCMP_SYS(mmap) || nr == SCMP_SYS(mprotect))
			/* Never executable memory: no code the guest wrote. */
			e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					     SCMP_A2(SCMP_CMP_MASKED_EQ,
						     PROT_EXEC, 0));
		else
			e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	for (i = 0; !e && i < r->nr_ioctls; i++)
		e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL,
					     r->ioctls[i]));
	return e;
}

/* One class's filter as a BPF program (via a memfd: libseccomp 2.5). */
static int compile(enum sandbox_class c, struct sock_fprog *out)
{
	u32 def = sb.pol.seccomp == SANDBOX_SECCOMP_LOG ? SCMP_ACT_LOG :
		  SCMP_ACT_TRAP;
	scmp_filter_ctx ctx = seccomp_init(def);
	unsigned i;
	off_t len;
	int e = 0, fd = -1;

	if (!ctx)
		return -ENOMEM;
	for (i = 0; !e && i < SANDBOX_MAX_SETS && sb.pol.rules[c][i]; i++)
		e = add_rules(ctx, sb.pol.rules[c][i]);
	if (!e)
		e = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (!e) {
		fd = memfd_create("seccomp", MFD_CLOEXEC);
		e = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
	}
	if (!e) {
		len = lseek(fd, 0, SEEK_END);
		out->filter = len > 0 ? malloc((size_t)len) : NULL;
		if (!out->filter || pread(fd, out->filter, (size_t)len, 0) != len)
			e = -EIO;
		else
			out->len = (unsigned short)(len / sizeof(struct sock_filter));
	}
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	if (e)
		pr_err("seccomp: cannot build the %s filter: %s",
		       sandbox_class_name[c], strerror(-e));
	return e;
}

static void resolve_names(void)
{
	int nr;

	for (nr = 0; nr < NAMES_MAX; nr++) {
		char *s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		if (s)
			snprintf(sb.names[nr], NAME_LEN, "%s", s);
		free(s);
	}
}

/*
 * This thread's credentials and file access, as the seal decided: the
 * same steps on the main thread and on every thread that predates the
 * seal (credentials and capabilities are per thread in Linux; raw
 * system calls, since glibc's set*id would broadcast to every thread).
 */
static int confine_creds(const char *who)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };
	const struct sandbox_policy *p = &sb.pol;
	int cap, in;

	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	/* The bounding set needs CAP_SETPCAP: without it, nothing to drop. */
	for (cap = 0; (in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) >= 0; cap++)
		if (in && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EPERM)
			break;
	if (p->set_user &&
	    (syscall(SYS_setgroups, 1, &p->gid) ||
	     syscall(SYS_setresgid, p->gid, p->gid, p->gid) ||
	     syscall(SYS_setresuid, p->uid, p->uid, p->uid))) {
		pr_err("sandbox: %s: cannot switch to uid %u gid %u: %s", who,
		       (unsigned)p->uid, (unsigned)p->gid, strerror(errno));
		return -errno;
	}
	if (syscall(SYS_capset, &h, d)) {
		pr_err("sandbox: %s: cannot drop capabilities: %s", who,
		       strerror(errno));
		return -errno;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		pr_err("sandbox: %s: no_new_privs: %s", who, strerror(errno));
		return -errno;
	}
	if (p->landlock >= 0 &&
	    syscall(SYS_landlock_restrict_self, p->landlock, 0)) {
		pr_err("sandbox: %s: Landlock: %s", who, strerror(errno));
		return -errno;
	}
	return 0;
}

static int load_filter(enum sandbox_class c, const char *name)
{
	sigset_t s;

	snprintf(th_name, sizeof(th_name), "%s", name);
	th_class = c;
	if (sb.pol.seccomp == SANDBOX_SECCOMP_OFF || !sb.prog[c].filter)
		return 0;
	/* A blocked SIGSYS would kill without the report: let it in. */
	sigemptyset(&s);
	sigaddset(&s, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &sb.prog[c])) {
		pr_err("seccomp: %s: cannot load the %s filter: %s", name,
		       sandbox_class_name[c], strerror(errno));
		return -errno;
	}
	return 0;
}

void sandbox_expect_seal(void)
{
	pthread_mutex_lock(&sb.gate_lock);
	sb.expected = true;
	pthread_mutex_unlock(&sb.gate_lock);
}

static void gate_open(bool sealed)
{
	pthread_mutex_lock(&sb.gate_lock);
	sb.sealed = sealed;
	sb.open = true;
	pthread_cond_broadcast(&sb.gate_cond);
	pthread_mutex_unlock(&sb.gate_lock);
}

void sandbox_abort(void)
{
	pthread_mutex_lock(&sb.gate_lock);
	if (!sb.open && sb.expected) {
		sb.open = true;
		pthread_cond_broadcast(&sb.gate_cond);
	}
	pthread_mutex_unlock(&sb.gate_lock);
}

int sandbox_seal(const struct sandbox_policy *p)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys,
				.sa_flags = SA_SIGINFO };
	struct rlimit nofile, core = { 0, 0 };
	unsigned c;
	int r;

	sb.pol = *p;
	if (p->seccomp != SANDBOX_SECCOMP_OFF) {
		void *at[2];

		backtrace(at, 2);	/* loads the unwinder now, not in on_sigsys */
		/* gmtime_r reads /etc/localtime once, lazily: now, not later. */
		tzset();
		resolve_names();
		for (c = 0; c < SANDBOX_NR; c++) {
			r = compile(c, &sb.prog[c]);
			if (r)
				return r;
		}
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGSYS, &sa, NULL))
			return -errno;
	}
	/* No core file of guest RAM, and only as many files as the VM needs. */
	if (setrlimit(RLIMIT_CORE, &core))
		pr_warn("sandbox: RLIMIT_CORE: %s", strerror(errno));
	nofile = (struct rlimit){ p->nofile, p->nofile };
	if (p->nofile && setrlimit(RLIMIT_NOFILE, &nofile))
		pr_warn("sandbox: RLIMIT_NOFILE %lu: %s", p->nofile,
			strerror(errno));
	r = confine_creds("main");
	if (r)
		return r;
	/* Process-wide: no core dump, no ptrace by the same user. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		return -errno;
	gate_open(true);
	return 0;
}

void sandbox_thread(enum sandbox_class c, const char *name)
{
	bool sealed;

	pthread_mutex_lock(&sb.gate_lock);
	while (sb.expected && !sb.open)
		pthread_cond_wait(&sb.gate_cond, &sb.gate_lock);
	sealed = sb.sealed;
	pthread_mutex_unlock(&sb.gate_lock);
	if (!sealed)
		return;
	/* Created before the seal: no_new_privs was not inherited. */
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 && confine_creds(name))
		die();
	if (load_filter(c, name))
		die();
}

int sandbox_main(void)
{
	bool sealed;

	pthread_mutex_lock(&sb.gate_lock);
	sealed = sb.sealed;
	pthread_mutex_unlock(&sb.gate_lock);
	return sealed ? load_filter(SANDBOX_MAIN, "main") : 0;
}
