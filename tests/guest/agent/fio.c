// SPDX-License-Identifier: GPL-2.0
/*
 * fio.c - agent.fio: run fio and print its JSON result on one line.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

/* ---- agent.fio: fio's JSON result on one line ------------------------ */

#define FIO_MAX_ARGS	128
#define FIO_OUT_MAX	(4 << 20)

/*
 * Squeeze fio's pretty-printed JSON onto one line: drop every line's
 * leading and trailing blanks and the newlines (fio never breaks a line
 * inside a string). Lines before the first "{" and after the last "}"
 * (warnings fio printed) go to *junk instead. Works in place.
 */
static char *fio_squeeze(char *text, char **junk)
{
	char *start = NULL, *end = NULL, *l, *w, *nl;
	size_t n;

	*junk = NULL;
	for (l = text; *l; l = nl ? nl + 1 : l + strlen(l)) {
		nl = strchr(l, '\n');
		if (!start && *l == '{')
			start = l;
		if (start && *l == '}')
			end = l + 1;
		if (!nl)
			break;
	}
	if (!start || !end) {
		*junk = text;
		return NULL;
	}
	if (start > text) {
		start[-1] = 0;
		*junk = text;
	}
	*end = 0;
	for (w = l = start; l && *l; l = nl) {
		nl = strchr(l, '\n');
		if (nl)
			*nl++ = 0;
		while (*l == ' ' || *l == '\t')
			l++;
		n = strlen(l);
		while (n && (l[n - 1] == ' ' || l[n - 1] == '\t' || l[n - 1] == '\r'))
			n--;
		memmove(w, l, n);
		w += n;
	}
	*w = 0;
	return start;
}

/*
 * agent.fio=KEY=VAL[,KEY[=VAL]...]: run fio (the bench initramfs has it in
 * /usr/bin; as an ordinary process the host's own) with --KEY=VAL for each
 * item, --name=agent unless named, and --output-format=json. Prints
 * AGENT-FIO {"rc": N, "args": "...", "fio": {fio's JSON}, "error": ...}.
 */
void fio_run(const char *v)
{
	char *spec = strdup(v), *save, *it, *argv[FIO_MAX_ARGS + 4];
	char *buf = NULL, *json = NULL, *junk = NULL, path[PATH_MAX];
	size_t len = 0, cap = 0;
	int argc = 0, nuser, p[2] = { -1, -1 }, st = -1;
	bool named = false;
	struct jb j = { 0 };
	const char *oldpath;
	ssize_t r;
	pid_t pid;

	argv[argc++] = "fio";
	for (it = spec ? strtok_r(spec, ",", &save) : NULL; it && argc < FIO_MAX_ARGS;
	     it = strtok_r(NULL, ",", &save)) {
		if (asprintf(&argv[argc], "--%s", it) < 0) {
			nuser = argc;
			goto out;
		}
		named |= !strncmp(it, "name=", 5);
		argc++;
	}
	nuser = argc;
	if (!spec || it) {
		agent_err("bad agent.fio=%s (want KEY=VAL,... with at most %d items)", v,
			  FIO_MAX_ARGS - 1);
		goto out;
	}
	argv[argc++] = "--output-format=json";
	if (!named)
		argv[argc++] = "--name=agent";
	argv[argc] = NULL;
	if (pipe(p)) {
		agent_err("fio: pipe: %s", strerror(errno));
		goto out;
	}
	oldpath = getenv("PATH");
	snprintf(path, sizeof(path), "%s%s/usr/bin:/bin:/usr/sbin:/sbin",
		 oldpath ? oldpath : "", oldpath ? ":" : "");
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		setenv("PATH", path, 1);
		execvp("fio", argv);
		fprintf(stderr, "fio: exec: %s\n", strerror(errno));
		_exit(127);
	}
	close(p[1]);
	p[1] = -1;
	if (pid < 0) {
		agent_err("fio: fork: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		if (len + 65536 > cap && cap < FIO_OUT_MAX) {
			char *nb = realloc(buf, cap + 65536 * 4);

			if (!nb)
				break;
			buf = nb;
			cap += 65536 * 4;
		}
		if (len + 1 >= cap)
			break;	/* too much output: keep what fits */
		r = read(p[0], buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += r;
	}
	close(p[0]);
	p[0] = -1;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (buf) {
		buf[len] = 0;
		json = fio_squeeze(buf, &junk);
	}
	jb_open(&j, '{');
	jb_kint(&j, "rc", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	jb_kstr(&j, "args", v);
	jb_key(&j, "fio");
	jb_lit(&j, json ? json : "null");
	/* What fio printed that is not its JSON: its warnings and errors. */
	if (junk && strlen(junk) > 2000)
		junk[2000] = 0;
	jb_kstr(&j, "error", json && !(WIFEXITED(st) && WEXITSTATUS(st)) ? NULL :
		(junk && *junk ? junk : "no JSON from fio"));
	jb_close(&j, '}');
	jb_emit(&j, "AGENT-FIO");
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	while (nuser > 1)
		free(argv[--nuser]);
	free(buf);
	free(spec);
}
