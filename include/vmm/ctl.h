/* SPDX-License-Identifier: GPL-2.0 */
/*
 * smpvisor ctl: the control API's command-line client (vmm/ctl.c), and
 * the client side it shares with smpvisor top (vmm/top.c).
 */
#ifndef SMPVISOR_CTL_H
#define SMPVISOR_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* One connection to a control socket; heap-allocate it (buf is large). */
struct ctl_conn {
	int fd;			/* -1 before ctl_connect */
	char buf[1 << 20];	/* bytes read, not yet a whole message */
	size_t len;
	int timeout_ms;		/* for each answer; -1: wait for ever */
};

/* argv[0] is "ctl"; returns the process exit status. */
int ctl_main(int argc, char **argv);
/*
 * snapshot DIR [--resume] (vmm/ctl_snapshot.c): the files created in DIR
 * and handed to the snapshot command; 0, or 1 (printed, files removed).
 */
int ctl_snapshot(struct ctl_conn *c, const char *dir, bool resume);
/* argv[0] is "top" (vmm/top.c); returns the process exit status. */
int top_main(int argc, char **argv);

/* Connect to path, read the greeting, negotiate: 0, or -1 (printed). */
int ctl_connect(struct ctl_conn *c, const char *path);
/* The next message from the server (a new reference), or NULL (printed). */
json_t *ctl_read(struct ctl_conn *c);
/* Send msg (its reference is taken): 0, or -1 (printed). */
int ctl_send(struct ctl_conn *c, json_t *msg);
/*
 * ctl_send, and fds[0..nr) passed with it (SCM_RIGHTS) for the command
 * to take (api_take_fds); they stay the caller's to close. nr is at most
 * API_MAX_FDS, else -1 (printed) and nothing is sent.
 */
int ctl_send_fds(struct ctl_conn *c, json_t *msg, const int *fds, unsigned nr);
/*
 * Run cmd with args (reference taken) and return the reply's "return"
 * value (a new reference), or NULL after printing an error reply or a
 * lost connection. Events that arrive meanwhile are dropped.
 */
json_t *ctl_call(struct ctl_conn *c, const char *cmd, json_t *args);

#endif
