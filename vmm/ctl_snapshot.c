// SPDX-License-Identifier: GPL-2.0
/*
 * smpvisor ctl SOCKET snapshot DIR [--resume]: the client half of a
 * snapshot (include/vmm/machine_snapshot.h). The client, not the VMM,
 * creates DIR and the files: the VMM is confined and opens nothing once
 * it runs; it writes into the descriptors handed to it with the command.
 * A failed snapshot leaves no files behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/ctl.h"
#include "vmm/snapshot.h"

static void remove_files(const char *dir, json_t *files, unsigned n,
			 bool made_dir)
{
	char path[4096];
	unsigned i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir,
			 json_string_value(json_array_get(files, i)));
		unlink(path);
	}
	if (made_dir)
		rmdir(dir);
}

/* A file name the server gave: a plain name, nothing that climbs out. */
static bool plain_name(const char *s)
{
	return s && *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static void show_progress(json_t *d, bool tty)
{
	json_int_t done = json_integer_value(json_object_get(d, "done"));
	json_int_t total = json_integer_value(json_object_get(d, "total"));
	json_int_t wr = json_integer_value(json_object_get(d, "written"));
	double mbs = json_number_value(json_object_get(d, "mb-per-s"));

	fprintf(stderr, "snapshot: %lld of %lld MiB of memory, %lld MiB written (%.0f MB/s)%s",
		(long long)(done >> 20), (long long)(total >> 20),
		(long long)(wr >> 20), mbs, tty ? "\r" : "\n");
}

/* Wait for the reply, showing progress: 0 or 1 (printed). */
static int wait_reply(struct ctl_conn *c, bool tty)
{
	json_t *m, *err;
	bool shown = false;

	while ((m = ctl_read(c))) {
		const char *ev = json_string_value(json_object_get(m, "event"));

		if (ev) {
			if (!strcmp(ev, "SNAPSHOT_PROGRESS")) {
				show_progress(json_object_get(m, "data"), tty);
				shown = true;
			}
			json_decref(m);
			continue;
		}
		if (shown && tty)
			fputc('\n', stderr);
		err = json_object_get(m, "error");
		if (err)
			fprintf(stderr, "smpvisor ctl: snapshot: %s\n",
				json_string_value(json_object_get(err, "desc")));
		json_decref(m);
		return err ? 1 : 0;
	}
	return 1;
}

int ctl_snapshot(struct ctl_conn *c, const char *dir, bool resume)
{
	int fds[SNAP_MAX_FILES];
	char path[4096];
	json_t *ret, *files;
	unsigned i, n = 0;
	bool made_dir = false;
	struct stat st;
	int r = 1;

	ret = ctl_call(c, "query-snapshot-files", json_object());
	files = json_object_get(ret, "files");
	if (!json_is_array(files) || !json_array_size(files) ||
	    json_array_size(files) > SNAP_MAX_FILES) {
		if (ret)
			fprintf(stderr, "smpvisor ctl: snapshot: the server named no files\n");
		json_decref(ret);
		return 1;
	}
	for (i = 0; i < json_array_size(files); i++)
		if (!plain_name(json_string_value(json_array_get(files, i)))) {
			fprintf(stderr, "smpvisor ctl: snapshot: the server named a bad file\n");
			json_decref(ret);
			return 1;
		}
	if (!mkdir(dir, 0700)) {
		made_dir = true;
	} else if (errno != EEXIST || stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "smpvisor ctl: snapshot: %s: %s\n", dir,
			errno == EEXIST ? "not a directory" : strerror(errno));
		json_decref(ret);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, SNAP_MANIFEST);
	if (!made_dir && !access(path, F_OK)) {
		fprintf(stderr, "smpvisor ctl: snapshot: %s holds a snapshot already\n", dir);
		json_decref(ret);
		return 1;
	}
	for (n = 0; n < json_array_size(files); n++) {
		snprintf(path, sizeof(path), "%s/%s", dir,
			 json_string_value(json_array_get(files, n)));
		fds[n] = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fds[n] < 0) {
			fprintf(stderr, "smpvisor ctl: snapshot: %s: %s\n", path,
				strerror(errno));
			goto out;
		}
	}
	if (!ctl_send_fds(c, json_pack("{s:s,s:{s:b},s:s}", "execute", "snapshot",
				       "arguments", "resume", resume, "id", "ctl"),
			  fds, n))
		r = wait_reply(c, isatty(STDERR_FILENO));
out:
	for (i = 0; i < n; i++)
		close(fds[i]);
	if (r)
		remove_files(dir, files, n, made_dir);
	else
		printf("snapshot written to %s\n", dir);
	json_decref(ret);
	return r;
}
