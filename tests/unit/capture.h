/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Capturing stderr in the unit tests: error paths are checked for their
 * message, so a test sends stderr (the pr_err lines, at fd 2) to a
 * temporary file around the call and reads back what was written:
 *
 *	struct capture cap;
 *
 *	capture_begin(&cap);
 *	r = config_parse(...);
 *	msg = capture_end(&cap);	(malloc'ed; free it)
 *	capture_assert_has(msg, "--cpus");
 *
 * capture_redirect()/capture_restore() are the two halves without the
 * file, for a test that wants stderr on an fd of its own (/dev/full, to
 * make every message fail). Include after <cmocka.h>.
 */
#ifndef SMPVISOR_TESTS_UNIT_CAPTURE_H
#define SMPVISOR_TESTS_UNIT_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What capture_end returns at most, the terminating NUL included. */
#define CAPTURE_MAX 4096

struct capture {
	FILE *tmp;		/* where stderr goes; NULL for capture_redirect */
	int saved_fd;		/* the real stderr, while redirected */
};

/* Send stderr (fd 2) to fd until capture_restore; fd stays the caller's. */
static inline void capture_redirect(struct capture *cap, int fd)
{
	fflush(stderr);
	cap->saved_fd = dup(STDERR_FILENO);
	assert_true(cap->saved_fd >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
}

/* Put the real stderr back. */
static inline void capture_restore(struct capture *cap)
{
	fflush(stderr);
	dup2(cap->saved_fd, STDERR_FILENO);
	close(cap->saved_fd);
	cap->saved_fd = -1;
}

/* Start capturing stderr into a fresh temporary file. */
static inline void capture_begin(struct capture *cap)
{
	cap->tmp = tmpfile();
	assert_non_null(cap->tmp);
	capture_redirect(cap, fileno(cap->tmp));
}

/*
 * Stop capturing: stderr is back, and what was written meanwhile (its
 * first CAPTURE_MAX - 1 bytes) comes back as a string to free.
 */
static inline char *capture_end(struct capture *cap)
{
	char *buf = calloc(1, CAPTURE_MAX);
	size_t n;

	capture_restore(cap);
	rewind(cap->tmp);
	n = buf ? fread(buf, 1, CAPTURE_MAX - 1, cap->tmp) : 0;
	fclose(cap->tmp);
	cap->tmp = NULL;
	assert_non_null(buf);
	buf[n] = '\0';
	return buf;
}

/* Fail the test unless the captured message msg contains want. */
static inline void capture_assert_has(const char *msg, const char *want)
{
	if (!strstr(msg, want))
		fail_msg("message \"%s\" lacks \"%s\"", msg, want);
}

#endif
