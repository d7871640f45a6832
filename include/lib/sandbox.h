/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Confinement of the VMM's threads: the mechanism (lib/sandbox.c). The
 * policy, what each thread class may do, is the VMM's (vmm/sandbox.c).
 *
 * The main thread seals the process once set-up is over (every file,
 * device and socket open): credentials, capabilities, no_new_privs,
 * Landlock. Every other thread calls sandbox_thread() first thing; one
 * created before the seal waits for it there and confines itself the
 * same way, one created after inherits the seal. Then each thread loads
 * its class's seccomp filter, compiled once at the seal. The main
 * thread loads its own last (sandbox_main), once it has started the
 * others, since a filter is inherited by the threads a thread creates.
 */
#ifndef SMPVISOR_SANDBOX_H
#define SMPVISOR_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>
#include <termios.h>

enum sandbox_class {
	SANDBOX_MAIN,
	SANDBOX_VCPU,
	SANDBOX_IOTHREAD,
	SANDBOX_CONSOLE,
	SANDBOX_UART_OUT,
	SANDBOX_VHOST_USER,
	SANDBOX_API,
	SANDBOX_NR
};

enum sandbox_seccomp {
	SANDBOX_SECCOMP_ON,	/* a forbidden call: one line, exit 1 */
	SANDBOX_SECCOMP_LOG,	/* allowed, and logged by the kernel */
	SANDBOX_SECCOMP_OFF,
};

/* Allowed system calls, and ioctl requests (matched on all 32 bits). */
struct sandbox_rules {
	const int *sys;
	unsigned nr_sys;
	const unsigned long *ioctls;
	unsigned nr_ioctls;
};

#define SANDBOX_MAX_SETS 6

struct sandbox_policy {
	enum sandbox_seccomp seccomp;
	/* Per class: the rule sets whose union it may use, NULL-ended. */
	const struct sandbox_rules *rules[SANDBOX_NR][SANDBOX_MAX_SETS];
	bool set_user;		/* switch to uid/gid (groups: gid only) */
	uid_t uid;
	gid_t gid;
	int landlock;		/* a Landlock ruleset fd, or -1 */
	unsigned long nofile;	/* RLIMIT_NOFILE after the seal; 0: keep */
};

extern const char *const sandbox_class_name[SANDBOX_NR];

/*
 * Main thread, once, after set-up: compile the filters, confine the
 * main thread's credentials and file access, and release the threads
 * waiting in sandbox_thread(). 0 or -errno (said why). The policy is
 * copied.
 */
int sandbox_seal(const struct sandbox_policy *p);

/* Release waiting threads unconfined: set-up failed, the process ends. */
void sandbox_abort(void);

/*
 * Every thread but main, first thing (name: for the violation report).
 * Returns at once when nothing is to be confined (no seal and none
 * coming: sandbox_abort, or a process that never seals, as unit tests).
 * A thread that cannot be confined must not run: the process exits 1,
 * after one line saying why.
 */
void sandbox_thread(enum sandbox_class c, const char *name);

/* The main thread's own filter, after it started every other thread. */
int sandbox_main(void);

/* A terminal to restore (its settings before raw mode) on a violation. */
void sandbox_set_terminal(int fd, const struct termios *t);

/* Wait for the gate at all? Only once a seal is coming (vmm says so). */
void sandbox_expect_seal(void);

#endif
