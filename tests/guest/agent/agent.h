/* SPDX-License-Identifier: GPL-2.0 */
/*
 * agent.h - what the files of the test guest's agent share.
 *
 * The agent is PID 1 of the smpvisor test guest (see main.c and README.md
 * one folder up). It is one static program built from the files here:
 *
 *   main.c     the agent.* options and the order things run in
 *   init.c     PID 1's work: mounts, console, modules, shell, the end
 *   output.c   AGENT- lines on the console and a small JSON emitter
 *   util.c     small file helpers, CPU lists and pinning, the clock
 *   report.c   AGENT-REPORT: what the guest sees
 *   disk.c     agent.disk: the O_DIRECT pattern writer and checker
 *   loops.c    agent.cpuloop, agent.lockloop and agent.pingpong
 *   fio.c      agent.fio: fio's JSON result on one line
 *   net.c      agent.net: virtio-net set-up, ping and a TCP exchange
 *   hostile.c  agent.hostile: a malicious virtio-blk driver
 *   ticks.c    agent.ticks: a checksummed memory workload that ticks
 *              once a second (pause/resume shows as one long gap)
 *   fill.c     agent.fill: touch and keep N MiB of non-zero memory
 */
#ifndef AGENT_H
#define AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_CPUS	8192		/* the cloud kernel's NR_CPUS */
#define MAX_MODS	64

extern bool is_init;			/* running as PID 1 in the guest */
extern int con;				/* console fd, -1 until known */

/* ---- output.c: console lines and JSON ---------------------------------- */

void out_raw(const char *s, size_t n);
void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define agent_err(...)	out("AGENT-ERROR " __VA_ARGS__)

struct jb {
	char *buf;
	size_t len, cap;
	int depth;
	bool first[64];
	bool after_key;
	bool oom;
};

void jb_open(struct jb *j, char c);
void jb_close(struct jb *j, char c);
void jb_str(struct jb *j, const char *s);
void jb_int(struct jb *j, long long v);
void jb_dbl(struct jb *j, double v);
void jb_lit(struct jb *j, const char *lit);
void jb_key(struct jb *j, const char *k);
void jb_kstr(struct jb *j, const char *k, const char *v);
void jb_kint(struct jb *j, const char *k, long long v);
void jb_kintn(struct jb *j, const char *k, long long v);
void jb_kbool(struct jb *j, const char *k, bool v);
void jb_emit(struct jb *j, const char *prefix);

/* ---- util.c: files, CPU lists, time ------------------------------------ */

void scopy(char *dst, size_t size, const char *src);
int read_str(const char *path, char *buf, size_t size);
int read_strf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
long long read_intf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool link_base(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int list_dir(const char *path, char ***names);
void free_list(char **v, int n);
uint64_t now_ns(void);

extern int online[MAX_CPUS];
extern int nr_online;

int parse_cpulist(const char *s, int *cpus, int max);
void read_online(void);
int pin_to(int cpu);

/* ---- init.c: PID 1 ----------------------------------------------------- */

struct mod {
	char name[64];
	int err;		/* errno, 0 if loaded (or already there) */
};

extern struct mod mods[MAX_MODS];
extern int nr_mods;

void do_mount(const char *dir, const char *type, unsigned long flags, bool quiet);
void open_console(void);
void load_modules(void);
void set_loglevel(int lvl);
void run_shell(void);
void finish(const char *end) __attribute__((noreturn));

/* ---- what the options run ---------------------------------------------- */

void report(const char *cmdline);		/* report.c */
void disk_test(const char *v);			/* disk.c */
void cpu_loop(long ms, bool lock);		/* loops.c */
void ping_pong(const char *v);			/* loops.c */
void fio_run(const char *v);			/* fio.c */
void net_test(const char *v);			/* net.c */
void hostile_test(const char *v);		/* hostile.c */
void ticks(long seconds);			/* ticks.c */
void fill(long mib);				/* fill.c */

#endif
