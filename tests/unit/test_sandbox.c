// SPDX-License-Identifier: GPL-2.0
/*
 * The sandbox (lib/sandbox.c with the VMM's policy, vmm/sandbox.c) on the
 * real kernel: each case runs in a child process, since a seal cannot be
 * undone. A thread of a class loads its filter (Seccomp 2 in its
 * /proc status, no_new_privs, no capabilities); a forbidden call, or
 * executable memory, ends the process with exit status 1 and one line
 * naming the thread, its class and the call; log mode lets the call
 * through; a thread started before the seal waits for it and confines
 * itself; Landlock leaves the disks and nothing else; --user switches
 * every thread (as root); an unknown user is a one-line error.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/landlock.h>

#include <cmocka.h>

#include "capture.h"
#include "lib/sandbox.h"
#include "vmm/config.h"
#include "vmm/sandbox.h"

static char disk[] = "/tmp/smpv-sandbox-disk-XXXXXX";
static char other[] = "/tmp/smpv-sandbox-other-XXXXXX";

static int setup(void **state)
{
	int fd = mkstemp(disk), fd2 = mkstemp(other);

	(void)state;
	assert_true(fd >= 0 && fd2 >= 0);
	close(fd);
	close(fd2);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(disk);
	unlink(other);
	return 0;
}

/* A config with one disk, and the sandbox as asked. */
static void cfg_for(struct config *c, enum sandbox_seccomp mode, bool landlock,
		    const char *user)
{
	config_init(c);
	c->seccomp = mode;
	c->landlock = landlock;
	c->sandbox_user = user ? strdup(user) : NULL;
	c->disks = calloc(1, sizeof(*c->disks));
	assert_non_null(c->disks);
	c->disks[0].path = strdup(disk);
	c->nr_disks = 1;
}

/* In the child: build and seal; any failure is exit status 10. */
static void seal(enum sandbox_seccomp mode, bool landlock, const char *user)
{
	struct sandbox_policy p;
	struct config c;
	int abi;

	cfg_for(&c, mode, landlock, user);
	if (sandbox_policy_build(&c, &p, &abi) || sandbox_seal(&p))
		_exit(10);
}

/* Run fn in a child with stderr in a file: its exit status, and stderr. */
static int in_child(void (*fn)(void), char **err)
{
	struct capture cap;
	int st;
	pid_t pid;

	capture_begin(&cap);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		alarm(20);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	*err = capture_end(&cap);
	if (WIFSIGNALED(st))
		fail_msg("child killed by signal %d; stderr: %s", WTERMSIG(st), *err);
	return WEXITSTATUS(st);
}

/* One field of a thread's /proc status ("Seccomp"), as a string. */
static void status_field(pid_t tid, const char *key, char *out, size_t n)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	out[0] = 0;
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			snprintf(out, n, "%s", line + kl + 1 + strspn(line + kl + 1, " \t"));
			out[strcspn(out, "\n")] = 0;
			while (*out && out[strlen(out) - 1] == ' ')
				out[strlen(out) - 1] = 0;
		}
	fclose(f);
}

/* A confined thread of a class: it says so through a pipe, then waits. */
struct th {
	enum sandbox_class cls;
	const char *name;
	int go[2], done[2];
	pid_t tid;
	void (*act)(void);	/* what it does once confined (the main asks) */
};

static void *th_main(void *arg)
{
	struct th *t = arg;
	char b = 0;

	t->tid = (pid_t)syscall(SYS_gettid);
	sandbox_thread(t->cls, t->name);
	if (write(t->done[1], &b, 1) != 1 || read(t->go[0], &b, 1) != 1)
		return NULL;
	if (t->act)
		t->act();
	if (write(t->done[1], &b, 1) != 1)
		return NULL;
	return NULL;
}

static pthread_t th_start(struct th *t)
{
	pthread_t p;

	if (pipe(t->go) || pipe(t->done) || pthread_create(&p, NULL, th_main, t))
		_exit(11);
	return p;
}

static void th_wait(struct th *t)
{
	char b;

	if (read(t->done[0], &b, 1) != 1)
		_exit(12);
}

static void th_go(struct th *t)
{
	char b = 0;

	if (write(t->go[1], &b, 1) != 1)
		_exit(13);
	th_wait(t);
}

/* Exit status 20 + n for the first status field that is not as wanted. */
static void want_status(pid_t tid, int n, const char *key, const char *val)
{
	char got[128];

	status_field(tid, key, got, sizeof(got));
	if (strcmp(got, val)) {
		fprintf(stderr, "tid %d: %s is \"%s\", want \"%s\"\n", tid, key, got, val);
		_exit(20 + n);
	}
}

static void forbidden_socket(void)
{
	syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
}

static void exec_memory(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void child_every_class(void)
{
	struct th t[SANDBOX_NR];
	unsigned c;

	seal(SANDBOX_SECCOMP_ON, false, NULL);
	for (c = SANDBOX_VCPU; c < SANDBOX_NR; c++) {
		t[c] = (struct th){ .cls = c, .name = sandbox_class_name[c] };
		th_start(&t[c]);
		th_wait(&t[c]);
		want_status(t[c].tid, c, "Seccomp", "2");
		want_status(t[c].tid, c, "NoNewPrivs", "1");
		want_status(t[c].tid, c, "CapEff", "0000000000000000");
		want_status(t[c].tid, c, "CapPrm", "0000000000000000");
		/* Memory, time, a pipe: what every thread does. */
		th_go(&t[c]);
	}
	/* The main thread's own, last. */
	if (sandbox_main())
		_exit(14);
	want_status((pid_t)syscall(SYS_gettid), 0, "Seccomp", "2");
}

/* Every class's filter loads; its threads show it, with no capabilities. */
static void test_every_class_confined(void **state)
{
	char *err;
	int st;

	(void)state;
	st = in_child(child_every_class, &err);
	assert_int_equal(st, 0);
	free(err);
}

static void run_vcpu_act(enum sandbox_seccomp mode, void (*act)(void))
{
	struct th t = { .cls = SANDBOX_VCPU, .name = "vcpu 7", .act = act };

	seal(mode, false, NULL);
	th_start(&t);
	th_wait(&t);
	th_go(&t);
}

static void child_socket_on(void) { run_vcpu_act(SANDBOX_SECCOMP_ON, forbidden_socket); }
static void child_socket_log(void) { run_vcpu_act(SANDBOX_SECCOMP_LOG, forbidden_socket); }
static void child_exec_on(void) { run_vcpu_act(SANDBOX_SECCOMP_ON, exec_memory); }

/* A vCPU thread opening a socket: one line, exit status 1. */
static void test_forbidden_call_ends_with_one_line(void **state)
{
	char *err;
	int st;

	(void)state;
	st = in_child(child_socket_on, &err);
	assert_int_equal(st, 1);
	capture_assert_has(err, "smpvisor: error: seccomp: thread \"vcpu 7\" (vcpu) "
			   "made the forbidden system call 41 (socket): exiting\n");
	free(err);
}

/* Executable memory is refused even where mmap is allowed. */
static void test_no_executable_memory(void **state)
{
	char *err;
	int st;

	(void)state;
	st = in_child(child_exec_on, &err);
	assert_int_equal(st, 1);
	capture_assert_has(err, "(vcpu) made the forbidden system call 9 (mmap)");
	free(err);
}

/* log: the call goes through (the kernel logs it). */
static void test_log_mode_lets_it_through(void **state)
{
	char *err;
	int st;

	(void)state;
	st = in_child(child_socket_log, &err);
	assert_int_equal(st, 0);
	free(err);
}

static void child_pre_seal(void)
{
	struct th t = { .cls = SANDBOX_UART_OUT, .name = "uart-out" };
	char b;

	sandbox_expect_seal();
	th_start(&t);
	usleep(50 * 1000);
	/* Still waiting at the gate: nothing written yet. */
	if (fcntl(t.done[0], F_SETFL, O_NONBLOCK) || read(t.done[0], &b, 1) != -1)
		_exit(15);
	fcntl(t.done[0], F_SETFL, 0);
	seal(SANDBOX_SECCOMP_ON, false, NULL);
	th_wait(&t);
	want_status(t.tid, 0, "Seccomp", "2");
	want_status(t.tid, 1, "NoNewPrivs", "1");
	want_status(t.tid, 2, "CapEff", "0000000000000000");
	if (!geteuid())
		want_status(t.tid, 3, "CapBnd", "0000000000000000");
	th_go(&t);
}

/* A thread started before the seal waits for it, then confines itself. */
static void test_thread_before_seal_waits(void **state)
{
	char *err;
	int st;

	(void)state;
	st = in_child(child_pre_seal, &err);
	if (st)
		fail_msg("exit %d: %s", st, err);
	free(err);
}

static void child_abort(void)
{
	struct th t = { .cls = SANDBOX_IOTHREAD, .name = "iothread 0" };

	sandbox_expect_seal();
	th_start(&t);
	sandbox_abort();
	th_wait(&t);
	want_status(t.tid, 0, "Seccomp", "0");
	th_go(&t);
}

/* Set-up failed: the waiting threads are let go, unconfined, to end. */
static void test_abort_releases(void **state)
{
	char *err;
	int st;

	(void)state;
	st = in_child(child_abort, &err);
	if (st)
		fail_msg("exit %d: %s", st, err);
	free(err);
}

static bool landlock_here(void)
{
	return syscall(SYS_landlock_create_ruleset, NULL, 0,
		       LANDLOCK_CREATE_RULESET_VERSION) >= 1;
}

static void child_landlock(void)
{
	int fd;

	seal(SANDBOX_SECCOMP_ON, true, NULL);
	fd = open(disk, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		_exit(30);
	close(fd);
	fd = open(other, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || errno != EACCES)
		_exit(31);
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		_exit(32);
	close(fd);
}

/* Landlock: the disk opens read-write, another file not even for reading. */
static void test_landlock_only_the_vm_files(void **state)
{
	char *err;
	int st;

	(void)state;
	if (!landlock_here())
		skip();
	st = in_child(child_landlock, &err);
	if (st)
		fail_msg("exit %d: %s", st, err);
	free(err);
}

static void child_user(void)
{
	struct th before = { .cls = SANDBOX_VHOST_USER, .name = "vhost-user" };
	struct th after = { .cls = SANDBOX_IOTHREAD, .name = "iothread 0" };
	struct th *all[2] = { &before, &after };
	unsigned i;

	sandbox_expect_seal();
	th_start(&before);
	seal(SANDBOX_SECCOMP_ON, false, "nobody");
	th_start(&after);
	th_wait(&before);
	th_wait(&after);
	for (i = 0; i < 2; i++) {
		want_status(all[i]->tid, 10 * i, "Uid", "65534\t65534\t65534\t65534");
		want_status(all[i]->tid, 10 * i + 1, "Gid", "65534\t65534\t65534\t65534");
		want_status(all[i]->tid, 10 * i + 2, "CapBnd", "0000000000000000");
		want_status(all[i]->tid, 10 * i + 3, "CapPrm", "0000000000000000");
		want_status(all[i]->tid, 10 * i + 4, "Groups", "65534");
		th_go(all[i]);
	}
	want_status((pid_t)syscall(SYS_gettid), 5, "Uid", "65534\t65534\t65534\t65534");
}

/* As root, --user nobody: every thread is nobody, with no capabilities. */
static void test_user_switch(void **state)
{
	char *err;
	int st;

	(void)state;
	if (geteuid())
		skip();
	st = in_child(child_user, &err);
	if (st)
		fail_msg("exit %d: %s", st, err);
	free(err);
}

static void test_unknown_user(void **state)
{
	struct sandbox_policy p;
	struct capture cap;
	struct config c;
	char *msg;
	int abi, r;

	(void)state;
	cfg_for(&c, SANDBOX_SECCOMP_ON, false, "no-such-user-smpv");
	capture_begin(&cap);
	r = sandbox_policy_build(&c, &p, &abi);
	msg = capture_end(&cap);
	assert_int_equal(r, -ENOENT);
	capture_assert_has(msg, "sandbox: user \"no-such-user-smpv\": no such user");
	free(msg);
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_class_confined),
		cmocka_unit_test(test_forbidden_call_ends_with_one_line),
		cmocka_unit_test(test_no_executable_memory),
		cmocka_unit_test(test_log_mode_lets_it_through),
		cmocka_unit_test(test_thread_before_seal_waits),
		cmocka_unit_test(test_abort_releases),
		cmocka_unit_test(test_landlock_only_the_vm_files),
		cmocka_unit_test(test_user_switch),
		cmocka_unit_test(test_unknown_user),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
