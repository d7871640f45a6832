// SPDX-License-Identifier: GPL-2.0
/*
 * Error paths keep errno: log_msg leaves it as it found it even when
 * writing the message fails (stderr on /dev/full), so "pr_err(...);
 * return -errno;" returns the caller's error, and iothread_init reports
 * why it failed, not what its clean-up or its message did to errno.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vmm/iothread.h"

#include "capture.h"

static struct capture dev_full;

/* Every write to stderr fails with ENOSPC until capture_restore. */
static void stderr_to_dev_full(void)
{
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	capture_redirect(&dev_full, fd);
	close(fd);
}

static void test_log_keeps_errno(void **state)
{
	enum log_level old = log_level;
	int e[4];

	log_level = LOG_DEBUG;
	stderr_to_dev_full();
	errno = EBADF;
	pr_err("an error with errno %d", EBADF);
	e[0] = errno;
	errno = EMFILE;
	pr_warn("a warning");
	e[1] = errno;
	errno = ENOENT;
	pr_info("%s", "");
	e[2] = errno;
	/* Filtered out by the level: still untouched. */
	log_level = LOG_ERR;
	errno = EPERM;
	pr_debug("not shown");
	e[3] = errno;
	capture_restore(&dev_full);
	log_level = old;
	assert_int_equal(e[0], EBADF);
	assert_int_equal(e[1], EMFILE);
	assert_int_equal(e[2], ENOENT);
	assert_int_equal(e[3], EPERM);
}

/*
 * Room for exactly one more descriptor: epoll_create1 gets it, the stop
 * eventfd fails with EMFILE, and the message and the close() that follow
 * must not turn that into another error.
 */
static void test_iothread_init_reports_its_errno(void **state)
{
	struct rlimit old, lim;
	struct iothread t;
	int fd, r;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	fd = dup(STDIN_FILENO);		/* the lowest free descriptor */
	assert_true(fd >= 0);
	close(fd);
	lim = old;
	lim.rlim_cur = (rlim_t)fd + 1;
	stderr_to_dev_full();
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	r = iothread_init(&t, 7);
	setrlimit(RLIMIT_NOFILE, &old);
	capture_restore(&dev_full);
	assert_int_equal(r, -EMFILE);
	assert_int_equal(t.epfd, -1);
	assert_int_equal(t.stop_fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_keeps_errno),
		cmocka_unit_test(test_iothread_init_reports_its_errno),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
