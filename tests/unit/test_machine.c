// SPDX-License-Identifier: GPL-2.0
/*
 * The machine's own error paths, on a machine with no /dev/kvm behind it:
 * machine_run refuses to run without its signalfd (SIGINT/SIGTERM stay
 * deliverable) and reports a vCPU thread that cannot start as a set-up
 * error (exit status 1, not 2); KVM_CHECK_EXTENSION errors are not taken
 * for capability bits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vmm/machine.h"

/* A machine that never reached KVM: buses empty, no fds but exit_fd. */
static struct machine *bare_machine(struct config *c)
{
	struct machine *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	config_init(c);
	m->cfg = c;
	m->kvm.sys_fd = m->kvm.vm_fd = -1;
	m->exit_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(m->exit_fd >= 0);
	atomic_init(&m->exit_reason, VM_EXIT_NONE);
	return m;
}

static void free_machine(struct machine *m, struct config *c)
{
	close(m->exit_fd);
	free(m->vcpus.v);
	free(m);
	config_free(c);
}

static bool sigterm_blocked(void)
{
	sigset_t cur;

	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, SIGTERM);
}

/*
 * No descriptor left for the signalfd. A reason is already set, so a
 * machine_run that went on without it would return at once with that
 * reason instead of the set-up error.
 */
static void test_run_without_signalfd(void **state)
{
	struct rlimit old, lim;
	enum vm_exit_reason why;
	struct config c;
	struct machine *m = bare_machine(&c);
	int fd;

	atomic_store(&m->exit_reason, VM_EXIT_POWEROFF);
	assert_false(sigterm_blocked());
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	fd = dup(STDIN_FILENO);
	assert_true(fd >= 0);
	close(fd);
	lim = old;
	lim.rlim_cur = (rlim_t)fd;	/* not one more descriptor */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	why = machine_run(m, 0);
	setrlimit(RLIMIT_NOFILE, &old);
	assert_int_equal(why, VM_EXIT_SETUP);
	assert_int_equal(machine_exit_status(why), 1);
	assert_false(sigterm_blocked());
	free_machine(m, &c);
}

/*
 * pthread_create fails for the vCPU thread (no room for its stack): the
 * VMM stops with the set-up status, and signals are unblocked again.
 */
static void test_run_vcpu_thread_fails(void **state)
{
	pthread_attr_t def, huge;
	enum vm_exit_reason why;
	struct config c;
	struct machine *m = bare_machine(&c);

	m->vcpus.v = calloc(1, sizeof(*m->vcpus.v));
	assert_non_null(m->vcpus.v);
	m->vcpus.v[0].kv.fd = -1;
	m->vcpus.nr = 1;
	m->vcpus.ctl = &m->ctl;
	assert_int_equal(pthread_getattr_default_np(&def), 0);
	assert_int_equal(pthread_attr_init(&huge), 0);
	assert_int_equal(pthread_attr_setstacksize(&huge, (size_t)1 << 46), 0);
	assert_int_equal(pthread_setattr_default_np(&huge), 0);
	why = machine_run(m, 0);
	assert_int_equal(pthread_setattr_default_np(&def), 0);
	pthread_attr_destroy(&huge);
	pthread_attr_destroy(&def);
	assert_int_equal(why, VM_EXIT_SETUP);
	assert_int_equal(machine_exit_status(why), 1);
	assert_false(m->vcpus.v[0].started);
	assert_false(sigterm_blocked());
	free_machine(m, &c);
}

static void test_exit_status(void **state)
{
	assert_int_equal(machine_exit_status(VM_EXIT_POWEROFF), 0);
	assert_int_equal(machine_exit_status(VM_EXIT_RESET), 0);
	assert_int_equal(machine_exit_status(VM_EXIT_USER), 0);
	assert_int_equal(machine_exit_status(VM_EXIT_SETUP), 1);
	assert_int_equal(machine_exit_status(VM_EXIT_FATAL), 2);
}

/*
 * KVM_CHECK_EXTENSION fails (here: no VM fd, EBADF). -EBADF has the
 * HLT, MWAIT and PAUSE bits set; taken as a mask it would ask KVM to
 * disable all three exits and fail there.
 */
static void test_dedicated_check_fails(void **state)
{
	struct config c;
	struct machine *m = bare_machine(&c);
	int r;

	c.dedicated = true;
	r = machine_dedicated_init(m);
	assert_int_equal(r, 0);
	free_machine(m, &c);
}

/* The same for the 32-bit APIC ID check of a 300-vCPU machine. */
static void test_x2apic_check_fails(void **state)
{
	struct config c;
	struct machine *m = bare_machine(&c);
	int r;

	c.nr_cpus = 300;
	assert_int_equal(smp_topo_init(&m->topo, 300, 1, 300, 1), 0);
	m->kvm.max_vcpu_id = 4096;
	r = machine_x2apic_init(m);
	assert_int_equal(r, -EOPNOTSUPP);
	free_machine(m, &c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_without_signalfd),
		cmocka_unit_test(test_run_vcpu_thread_fails),
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_dedicated_check_fails),
		cmocka_unit_test(test_x2apic_check_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
