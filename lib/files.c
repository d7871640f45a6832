// SPDX-License-Identifier: GPL-2.0
/* Operator-named input files, checked without blocking (see files.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/files.h"
#include "lib/util.h"

/*
 * Open path read-only; O_NONBLOCK so that not even the open of a FIFO
 * waits for a writer. The descriptor, or -errno after a one-line error
 * (-EINVAL for a file of the wrong type).
 */
static int open_checked(const char *what, const char *path, bool blk_ok)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		r = -errno;
		pr_err("%s %s: %s", what, path, strerror(-r));
		goto out_close;
	}
	if (S_ISREG(st.st_mode) || (blk_ok && S_ISBLK(st.st_mode)))
		return fd;
	r = -EINVAL;
	pr_err("%s %s: not a regular file%s", what, path,
	       blk_ok ? " or block device" : "");
out_close:
	if (fd >= 0)
		close(fd);
	return r;
}

int file_check(const char *what, const char *path, bool blk_ok)
{
	int fd = open_checked(what, path, blk_ok);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

FILE *file_open_regular(const char *what, const char *path)
{
	int fd = open_checked(what, path, false), e;
	FILE *f;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		e = errno;
		pr_err("%s %s: %s", what, path, strerror(e));
		close(fd);
		errno = e;
	}
	return f;
}
