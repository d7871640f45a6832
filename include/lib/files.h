/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Input files named by the operator (kernel, initrd, config, disks): a
 * FIFO, socket or character device there would block start-up forever
 * (an open() waiting for a writer, a read() that never ends), so each is
 * opened without blocking and its type checked first. Errors are one
 * line, "WHAT PATH: reason".
 */
#ifndef SMPVISOR_FILES_H
#define SMPVISOR_FILES_H

#include <stdbool.h>
#include <stdio.h>

/*
 * 0 when path is a readable regular file (or block device if blk_ok);
 * else -errno, -EINVAL for another type of file.
 */
int file_check(const char *what, const char *path, bool blk_ok);
/* The regular file path opened for reading, or NULL with errno set. */
FILE *file_open_regular(const char *what, const char *path);

#endif
