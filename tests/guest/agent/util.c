// SPDX-License-Identifier: GPL-2.0
/*
 * util.c - small helpers the agent's parts share.
 *
 * Reading small sysfs and proc files, directory listings in natural order,
 * the monotonic clock, the kernel's CPU lists and pinning threads to CPUs.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

/* ---- small file helpers ---------------------------------------------- */

/* Copy a string into a fixed buffer, cut to fit. */
void scopy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* Read a whole (small) file, trailing newlines cut. -1 if unreadable. */
int read_str(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;

	buf[0] = 0;
	if (fd < 0)
		return -1;
	while (n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) > 0)
		n += r;
	close(fd);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = 0;
	return n;
}

int read_strf(char *buf, size_t size, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return read_str(path, buf, size);
}

/* An integer (decimal or 0x hex) from a sysfs file; -1 if unreadable. */
long long read_intf(const char *fmt, ...)
{
	char path[PATH_MAX], buf[64], *end;
	long long v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (read_str(path, buf, sizeof(buf)) <= 0)
		return -1;
	errno = 0;
	v = strtoll(buf, &end, 0);
	return errno || end == buf ? -1 : v;
}

/* The last path component of a symlink's target ("driver" links). */
bool link_base(char *buf, size_t size, const char *fmt, ...)
{
	char path[PATH_MAX], tgt[PATH_MAX], *b;
	va_list ap;
	ssize_t n;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	n = readlink(path, tgt, sizeof(tgt) - 1);
	if (n < 0)
		return false;
	tgt[n] = 0;
	b = strrchr(tgt, '/');
	scopy(buf, size, b ? b + 1 : tgt);
	return true;
}

static int cmp_ver(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* Names in a directory, "." entries left out, in natural order. */
int list_dir(const char *path, char ***names)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **v = NULL, **nv;
	int n = 0;

	*names = NULL;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[n] = strdup(e->d_name);
		if (v[n])
			n++;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_ver);
	*names = v;
	return n;
}

void free_list(char **v, int n)
{
	while (n > 0)
		free(v[--n]);
	free(v);
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- CPU lists and pinning ------------------------------------------- */

/* Parse a kernel CPU list ("0-3,8,10-11") into cpus[]; returns the count. */
int parse_cpulist(const char *s, int *cpus, int max)
{
	int n = 0;

	while (*s) {
		char *end;
		long a = strtol(s, &end, 10), b = a;

		if (end == s)
			break;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			s = end;
		}
		for (; a <= b && n < max; a++)
			cpus[n++] = a;
		while (*s == ',' || isspace((unsigned char)*s))
			s++;
	}
	return n;
}

int online[MAX_CPUS];
int nr_online;

void read_online(void)
{
	char buf[8192];

	if (read_str("/sys/devices/system/cpu/online", buf, sizeof(buf)) > 0)
		nr_online = parse_cpulist(buf, online, MAX_CPUS);
	if (nr_online <= 0) {
		online[0] = 0;
		nr_online = 1;
	}
}

/* Pin the calling thread to one CPU (cpu >= 0) or to every CPU (cpu < 0). */
int pin_to(int cpu)
{
	size_t sz = CPU_ALLOC_SIZE(MAX_CPUS);
	cpu_set_t *set = CPU_ALLOC(MAX_CPUS);
	int i, r;

	if (!set)
		return -1;
	CPU_ZERO_S(sz, set);
	if (cpu >= 0)
		CPU_SET_S(cpu, sz, set);
	else
		for (i = 0; i < nr_online; i++)
			CPU_SET_S(online[i], sz, set);
	r = sched_setaffinity(0, sz, set);
	CPU_FREE(set);
	return r;
}
