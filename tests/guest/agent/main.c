// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - the test guest agent: PID 1 of the smpvisor test guest.
 *
 * Every system test boots the same small guest: a Debian cloud kernel and an
 * initramfs whose /init is this static program. It mounts the pseudo file
 * systems, loads the virtio modules listed in /etc/agent-modules and then
 * reports what the guest sees (CPUs and their APIC IDs, NUMA nodes, memory,
 * virtio, block and PCI devices) as one JSON line on the console, so tests
 * on the host can check the VMM's work from the guest's side. Options on the
 * kernel command line (agent.*) add workloads: a disk pattern writer and
 * checker, fio (in the bench initramfs), a per-CPU integer loop, the same
 * loop under one shared lock, a cross-CPU ping-pong and a memory fill. At
 * the end it powers off, reboots or halts; PID 1 never exits, since that
 * would panic.
 *
 * Every line it prints starts with an AGENT- marker and goes to the console
 * in a single write() so it is not cut by kernel messages from this side.
 * Run as a normal process (pid != 1) it takes its options from argv, reads
 * what it can and exits instead of mounting, loading modules or rebooting.
 * See README.md one folder up; agent.h lists what each file here does.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"

bool is_init;			/* running as PID 1 in the guest */

/* ---- options -------------------------------------------------------- */

struct opts {
	bool report, shell, debugfs, modules, panic;
	long cpuloop_ms, lockloop_ms, sleep_s, ticks_s, fill_mib;
	int loglevel;
	const char *disk, *pingpong, *end, *net, *hostile, *fio;
};

/* The agent.NAME=VALUE options and where each goes in struct opts. */
enum opt_kind { OPT_BOOL, OPT_INT, OPT_LONG, OPT_STR };

#define OPT(name, kind, field)	{ name, kind, offsetof(struct opts, field) }

static const struct opt_def {
	const char *name;
	enum opt_kind kind;
	size_t off;
} opt_defs[] = {
	OPT("report", OPT_BOOL, report),
	OPT("shell", OPT_BOOL, shell),
	OPT("debugfs", OPT_BOOL, debugfs),
	OPT("modules", OPT_BOOL, modules),
	OPT("panic", OPT_BOOL, panic),
	OPT("cpuloop", OPT_LONG, cpuloop_ms),
	OPT("lockloop", OPT_LONG, lockloop_ms),
	OPT("sleep", OPT_LONG, sleep_s),
	OPT("ticks", OPT_LONG, ticks_s),
	OPT("fill", OPT_LONG, fill_mib),
	OPT("loglevel", OPT_INT, loglevel),
	OPT("disk", OPT_STR, disk),
	OPT("pingpong", OPT_STR, pingpong),
	OPT("net", OPT_STR, net),
	OPT("hostile", OPT_STR, hostile),
	OPT("fio", OPT_STR, fio),
	OPT("end", OPT_STR, end),
};

/* Set option NAME from its value v (numbers as atoi/atol read them). */
static bool set_opt(struct opts *o, const char *name, const char *v)
{
	const struct opt_def *d;
	char *f;

	for (d = opt_defs; d < opt_defs + sizeof(opt_defs) / sizeof(opt_defs[0]); d++) {
		if (strcmp(name, d->name))
			continue;
		f = (char *)o + d->off;
		switch (d->kind) {
		case OPT_BOOL:
			*(bool *)f = atoi(v);
			break;
		case OPT_INT:
			*(int *)f = atoi(v);
			break;
		case OPT_LONG:
			*(long *)f = atol(v);
			break;
		case OPT_STR:
			*(const char **)f = v;
			break;
		}
		return true;
	}
	return false;
}

/* Split the command line in place into words, then pick out agent.*=. */
static void parse_opts(char *cmdline, struct opts *o)
{
	char *w, *save, *v;

	*o = (struct opts){ .report = true, .debugfs = true, .modules = true,
			    .loglevel = -1, .end = "poweroff" };
	for (w = strtok_r(cmdline, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
		if (strncmp(w, "agent.", 6))
			continue;
		w += 6;
		v = strchr(w, '=');
		if (v)
			*v++ = 0;
		else
			v = "1";
		if (!set_opt(o, w, v))
			agent_err("unknown option agent.%s", w);
	}
	if (strcmp(o->end, "poweroff") && strcmp(o->end, "reboot") &&
	    strcmp(o->end, "halt")) {
		agent_err("bad agent.end=%s, powering off instead", o->end);
		o->end = "poweroff";
	}
}

/* The options: /proc/cmdline as PID 1, argv words otherwise. */
static char *get_cmdline(int argc, char **argv)
{
	char *s = calloc(1, 65536);
	size_t n = 0;
	int i;

	if (!s)
		return NULL;
	if (is_init) {
		read_str("/proc/cmdline", s, 65536);
		return s;
	}
	for (i = 1; i < argc && n < 65000; i++)
		n += snprintf(s + n, 65536 - n, "%s%s", i > 1 ? " " : "", argv[i]);
	return s;
}

/*
 * Crash the guest kernel on purpose (sysrq 'c'), for the host's pvpanic
 * tests; the line before says it was asked for. Returns only if the
 * kernel did not crash.
 */
static void panic_now(void)
{
	int fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);

	if (fd < 0) {
		agent_err("cannot open /proc/sysrq-trigger");
		return;
	}
	out("AGENT-PANIC");
	/* Let the line leave the UART before the kernel's panic messages. */
	if (con >= 0)
		tcdrain(con);
	usleep(200000);
	if (write(fd, "c", 1) != 1)
		agent_err("sysrq-trigger refused 'c'");
	close(fd);
	agent_err("still running after sysrq 'c'");
}

int main(int argc, char **argv)
{
	char *cmdline, *words;
	struct opts o;

	is_init = getpid() == 1;
	/* The kernel gives init the console as fd 0-2 if /dev/console exists. */
	if (fcntl(1, F_GETFD) >= 0) {
		con = 1;
		out("AGENT-START");
	}
	if (is_init) {
		do_mount("/dev", "devtmpfs", MS_NOSUID, false);
		if (con < 0) {
			open_console();
			out("AGENT-START");
		}
		do_mount("/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, false);
		do_mount("/sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, false);
	}
	cmdline = get_cmdline(argc, argv);
	words = cmdline ? strdup(cmdline) : NULL;
	if (!words) {
		agent_err("out of memory");
		finish("poweroff");
	}
	parse_opts(words, &o);
	if (is_init && o.debugfs)
		do_mount("/sys/kernel/debug", "debugfs", MS_NOSUID | MS_NOEXEC | MS_NODEV,
			 true);
	if (o.loglevel >= 0 && is_init)
		set_loglevel(o.loglevel);
	if (is_init && o.modules)
		load_modules();
	read_online();
	if (o.report)
		report(cmdline);
	if (o.disk)
		disk_test(o.disk);
	if (o.fio)
		fio_run(o.fio);
	if (o.net)
		net_test(o.net);
	if (o.hostile)
		hostile_test(o.hostile);
	if (o.cpuloop_ms)
		cpu_loop(o.cpuloop_ms, false);
	if (o.lockloop_ms)
		cpu_loop(o.lockloop_ms, true);
	if (o.pingpong)
		ping_pong(o.pingpong);
	if (o.fill_mib > 0)
		fill(o.fill_mib);
	if (o.ticks_s > 0)
		ticks(o.ticks_s);
	if (o.sleep_s > 0)
		sleep(o.sleep_s);
	if (o.panic)
		panic_now();
	if (o.shell && is_init)
		run_shell();
	finish(o.end);
	return 0;
}
