// SPDX-License-Identifier: GPL-2.0
/*
 * init.c - what the agent does as PID 1.
 *
 * Pseudo file systems, the console, the virtio modules, the kernel's log
 * level, an interactive shell (agent.shell) and the end: power off, reboot
 * or halt, since PID 1 must never exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

/* ---- mounts and modules ---------------------------------------------- */

void do_mount(const char *dir, const char *type, unsigned long flags,
		     bool quiet)
{
	mkdir(dir, 0755);
	if (mount(type, dir, type, flags, NULL) && errno != EBUSY && !quiet)
		agent_err("mount %s on %s: %s", type, dir, strerror(errno));
}

/* Make the console our stdin/stdout/stderr once /dev is there. */
void open_console(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	con = fd;
}

struct mod mods[MAX_MODS];
int nr_mods;

static int load_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return errno;
	if (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST)
		err = errno;
	close(fd);
	return err;
}

/* Load /etc/agent-modules in order: paths relative to /lib/modules/`uname -r`. */
void load_modules(void)
{
	char line[512], path[PATH_MAX], *p, *b;
	struct utsname u;
	FILE *f = fopen("/etc/agent-modules", "re");

	if (!f) {
		agent_err("/etc/agent-modules: %s", strerror(errno));
		return;
	}
	uname(&u);
	while (fgets(line, sizeof(line), f) && nr_mods < MAX_MODS) {
		struct mod *m = &mods[nr_mods];

		line[strcspn(line, " \t\r\n#")] = 0;
		if (!line[0])
			continue;
		if (line[0] == '/')
			scopy(path, sizeof(path), line);
		else
			snprintf(path, sizeof(path), "/lib/modules/%s/%s",
				 u.release, line);
		b = strrchr(path, '/');
		scopy(m->name, sizeof(m->name), b ? b + 1 : path);
		p = strstr(m->name, ".ko");
		if (p)
			*p = 0;
		for (p = m->name; *p; p++)	/* as lsmod names it */
			if (*p == '-')
				*p = '_';
		m->err = load_module(path);
		if (m->err)
			agent_err("module %s: %s", m->name, strerror(m->err));
		nr_mods++;
	}
	fclose(f);
}

/* ---- the shell and the end ------------------------------------------- */

/* A shell on the console as a child, so PID 1 lives on when it exits. */
void run_shell(void)
{
	pid_t pid = fork(), w;
	int fd;

	if (pid < 0) {
		agent_err("fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		setsid();
		fd = open("/dev/console", O_RDWR);
		if (fd >= 0) {
			ioctl(fd, TIOCSCTTY, 1);
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setenv("PATH", "/bin:/sbin", 1);
		setenv("HOME", "/", 1);
		setenv("PS1", "agent# ", 1);
		execl("/bin/sh", "sh", NULL);
		_exit(127);
	}
	out("AGENT-SHELL pid %d", (int)pid);
	do
		w = waitpid(-1, NULL, 0);
	while (w != pid && !(w < 0 && errno == ECHILD));
}

void finish(const char *end)
{
	int cmd = RB_POWER_OFF;

	if (!strcmp(end, "reboot"))
		cmd = RB_AUTOBOOT;
	else if (!strcmp(end, "halt"))
		cmd = RB_HALT_SYSTEM;
	sync();
	out("AGENT-END %s", end);
	if (!is_init)
		exit(0);
	reboot(cmd);
	agent_err("reboot(%s): %s", end, strerror(errno));
	for (;;)
		pause();
}

void set_loglevel(int lvl)
{
	char buf[16];
	int fd = open("/proc/sys/kernel/printk", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	snprintf(buf, sizeof(buf), "%d\n", lvl);
	if (write(fd, buf, strlen(buf)) < 0)
		agent_err("loglevel %d: %s", lvl, strerror(errno));
	close(fd);
}
