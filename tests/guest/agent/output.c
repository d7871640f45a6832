// SPDX-License-Identifier: GPL-2.0
/*
 * output.c - the agent's AGENT- lines and the JSON they carry.
 *
 * Every line goes to the console in a single write() so kernel messages do
 * not cut it; JSON is built in memory first and printed with its prefix.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

int con = -1;				/* console fd, -1 until known */

/* ---- output ---------------------------------------------------------- */

void out_raw(const char *s, size_t n)
{
	int fd = con >= 0 ? con : 2;

	while (n) {
		ssize_t r = write(fd, s, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		s += r;
		n -= r;
	}
}

/* One formatted line, written in a single write(). */
void out(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	out_raw(buf, n);
}

/* ---- a small JSON emitter -------------------------------------------- */

static void jb_put(struct jb *j, const char *s, size_t n)
{
	if (j->oom)
		return;
	if (j->len + n + 2 > j->cap) {
		size_t cap = (j->cap ? j->cap * 2 : 4096) + n;
		char *p = realloc(j->buf, cap);

		if (!p) {
			j->oom = true;
			return;
		}
		j->buf = p;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

static void jb_putc(struct jb *j, char c)
{
	jb_put(j, &c, 1);
}

/* A comma before every value but the first of its container. */
static void jb_sep(struct jb *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0 && !j->first[j->depth])
		jb_putc(j, ',');
	j->first[j->depth] = false;
}

void jb_open(struct jb *j, char c)
{
	jb_sep(j);
	jb_putc(j, c);
	if (j->depth < 63)
		j->depth++;
	j->first[j->depth] = true;
}

void jb_close(struct jb *j, char c)
{
	jb_putc(j, c);
	if (j->depth > 0)
		j->depth--;
}

/* Strings: quotes, backslashes, control and non-ASCII bytes are escaped. */
static void jb_qstr(struct jb *j, const char *s)
{
	char esc[8];

	jb_putc(j, '"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = c;
			jb_put(j, esc, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			jb_put(j, esc, 6);
		} else {
			jb_putc(j, c);
		}
	}
	jb_putc(j, '"');
}

void jb_str(struct jb *j, const char *s)
{
	jb_sep(j);
	if (s)
		jb_qstr(j, s);
	else
		jb_put(j, "null", 4);
}

void jb_int(struct jb *j, long long v)
{
	char b[32];

	jb_sep(j);
	jb_put(j, b, snprintf(b, sizeof(b), "%lld", v));
}

void jb_dbl(struct jb *j, double v)
{
	char b[64];

	jb_sep(j);
	if (!isfinite(v))
		jb_put(j, "null", 4);
	else
		jb_put(j, b, snprintf(b, sizeof(b), "%.3f", v));
}

void jb_lit(struct jb *j, const char *lit)
{
	jb_sep(j);
	jb_put(j, lit, strlen(lit));
}

void jb_key(struct jb *j, const char *k)
{
	jb_sep(j);
	jb_qstr(j, k);
	jb_putc(j, ':');
	j->after_key = true;
}

void jb_kstr(struct jb *j, const char *k, const char *v)
{
	jb_key(j, k);
	jb_str(j, v);
}

void jb_kint(struct jb *j, const char *k, long long v)
{
	jb_key(j, k);
	jb_int(j, v);
}

/* An integer that may be unknown (-1 or less): null then. */
void jb_kintn(struct jb *j, const char *k, long long v)
{
	jb_key(j, k);
	if (v < 0)
		jb_lit(j, "null");
	else
		jb_int(j, v);
}

void jb_kbool(struct jb *j, const char *k, bool v)
{
	jb_key(j, k);
	jb_lit(j, v ? "true" : "false");
}

/* Print "PREFIX {json}\n" in one write and free the buffer. */
void jb_emit(struct jb *j, const char *prefix)
{
	struct jb line = { 0 };

	jb_put(&line, prefix, strlen(prefix));
	jb_putc(&line, ' ');
	jb_put(&line, j->buf ? j->buf : "", j->len);
	jb_putc(&line, '\n');
	if (j->oom || line.oom)
		agent_err("out of memory building %s", prefix);
	else
		out_raw(line.buf, line.len);
	free(line.buf);
	free(j->buf);
	memset(j, 0, sizeof(*j));
}
