// SPDX-License-Identifier: GPL-2.0
/*
 * Logging to stderr with a "smpvisor: " prefix; one line per call.
 * errno is preserved, so callers may log and then return -errno.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"

enum log_level log_level = LOG_WARN;

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const tag[] = { "error: ", "warning: ", "", "debug: " };
	int saved = errno;
	char buf[1024];
	va_list ap;

	if (lvl > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One write per message so lines from several threads do not mix. */
	fprintf(stderr, "smpvisor: %s%s%s", tag[lvl], buf,
		buf[0] && buf[strlen(buf) - 1] == '\n' ? "" : "\n");
	/* A failed write (stderr on a full pipe or /dev/full) sets errno. */
	errno = saved;
}
