// SPDX-License-Identifier: GPL-2.0
/*
 * agent.c - PID 1 of the smpvisor test guest.
 *
 * Every system test boots the same small guest: a Debian cloud kernel and an
 * initramfs whose /init is this static program. It mounts the pseudo file
 * systems, loads the virtio modules listed in /etc/agent-modules and then
 * reports what the guest sees (CPUs and their APIC IDs, NUMA nodes, memory,
 * virtio, block and PCI devices) as one JSON line on the console, so tests
 * on the host can check the VMM's work from the guest's side. Options on the
 * kernel command line (agent.*) add workloads: a disk pattern writer and
 * checker, fio (in the bench initramfs), a per-CPU integer loop, the same
 * loop under one shared lock and a cross-CPU ping-pong. At the end it
 * powers off, reboots or halts; PID 1 never exits, since that would panic.
 *
 * Every line it prints starts with an AGENT- marker and goes to the console
 * in a single write() so it is not cut by kernel messages from this side.
 * Run as a normal process (pid != 1) it takes its options from argv, reads
 * what it can and exits instead of mounting, loading modules or rebooting.
 * See README.md next to this file.
 */
#include <cpuid.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CPUS	8192		/* the cloud kernel's NR_CPUS */
#define MAX_MODS	64
#define BLK		4096		/* pattern block and O_DIRECT alignment */
#define UNIT_BLKS	64		/* blocks per disk I/O: 256 KiB */

static bool is_init;			/* running as PID 1 in the guest */
static int con = -1;			/* console fd, -1 until known */

/* ---- output ---------------------------------------------------------- */

static void out_raw(const char *s, size_t n)
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
static void out(const char *fmt, ...)
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

#define agent_err(...)	out("AGENT-ERROR " __VA_ARGS__)

/* ---- a small JSON emitter -------------------------------------------- */

struct jb {
	char *buf;
	size_t len, cap;
	int depth;
	bool first[64];
	bool after_key;
	bool oom;
};

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

static void jb_open(struct jb *j, char c)
{
	jb_sep(j);
	jb_putc(j, c);
	if (j->depth < 63)
		j->depth++;
	j->first[j->depth] = true;
}

static void jb_close(struct jb *j, char c)
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

static void jb_str(struct jb *j, const char *s)
{
	jb_sep(j);
	if (s)
		jb_qstr(j, s);
	else
		jb_put(j, "null", 4);
}

static void jb_int(struct jb *j, long long v)
{
	char b[32];

	jb_sep(j);
	jb_put(j, b, snprintf(b, sizeof(b), "%lld", v));
}

static void jb_dbl(struct jb *j, double v)
{
	char b[64];

	jb_sep(j);
	if (!isfinite(v))
		jb_put(j, "null", 4);
	else
		jb_put(j, b, snprintf(b, sizeof(b), "%.3f", v));
}

static void jb_lit(struct jb *j, const char *lit)
{
	jb_sep(j);
	jb_put(j, lit, strlen(lit));
}

static void jb_key(struct jb *j, const char *k)
{
	jb_sep(j);
	jb_qstr(j, k);
	jb_putc(j, ':');
	j->after_key = true;
}

static void jb_kstr(struct jb *j, const char *k, const char *v)
{
	jb_key(j, k);
	jb_str(j, v);
}

static void jb_kint(struct jb *j, const char *k, long long v)
{
	jb_key(j, k);
	jb_int(j, v);
}

/* An integer that may be unknown (-1 or less): null then. */
static void jb_kintn(struct jb *j, const char *k, long long v)
{
	jb_key(j, k);
	if (v < 0)
		jb_lit(j, "null");
	else
		jb_int(j, v);
}

static void jb_kbool(struct jb *j, const char *k, bool v)
{
	jb_key(j, k);
	jb_lit(j, v ? "true" : "false");
}

/* Print "PREFIX {json}\n" in one write and free the buffer. */
static void jb_emit(struct jb *j, const char *prefix)
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

/* ---- small file helpers ---------------------------------------------- */

/* Copy a string into a fixed buffer, cut to fit. */
static void scopy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* Read a whole (small) file, trailing newlines cut. -1 if unreadable. */
static int read_str(const char *path, char *buf, size_t size)
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

static int read_strf(char *buf, size_t size, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return read_str(path, buf, size);
}

/* An integer (decimal or 0x hex) from a sysfs file; -1 if unreadable. */
static long long read_intf(const char *fmt, ...)
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
static bool link_base(char *buf, size_t size, const char *fmt, ...)
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
static int list_dir(const char *path, char ***names)
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

static void free_list(char **v, int n)
{
	while (n > 0)
		free(v[--n]);
	free(v);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- CPU lists and pinning ------------------------------------------- */

/* Parse a kernel CPU list ("0-3,8,10-11") into cpus[]; returns the count. */
static int parse_cpulist(const char *s, int *cpus, int max)
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

static int online[MAX_CPUS];
static int nr_online;

static void read_online(void)
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
static int pin_to(int cpu)
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

/* ---- mounts and modules ---------------------------------------------- */

static void do_mount(const char *dir, const char *type, unsigned long flags,
		     bool quiet)
{
	mkdir(dir, 0755);
	if (mount(type, dir, type, flags, NULL) && errno != EBUSY && !quiet)
		agent_err("mount %s on %s: %s", type, dir, strerror(errno));
}

/* Make the console our stdin/stdout/stderr once /dev is there. */
static void open_console(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	con = fd;
}

struct mod {
	char name[64];
	int err;		/* errno, 0 if loaded (or already there) */
};

static struct mod mods[MAX_MODS];
static int nr_mods;

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
static void load_modules(void)
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

/* ---- the report ------------------------------------------------------ */

struct ids {
	int apic, initial;		/* from /proc/cpuinfo */
	long long cpuid_apic, x2apic;	/* from CPUID run on that CPU */
};

static struct ids ids[MAX_CPUS];

static void read_cpuinfo(void)
{
	char line[512];
	int cpu = -1, v;
	FILE *f = fopen("/proc/cpuinfo", "re");

	for (v = 0; v < MAX_CPUS; v++)
		ids[v] = (struct ids){ -1, -1, -1, -1 };
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (!c)
			continue;
		v = atoi(c + 1);
		if (!strncmp(line, "processor", 9))
			cpu = v >= 0 && v < MAX_CPUS ? v : -1;
		else if (cpu < 0)
			continue;
		else if (!strncmp(line, "apicid", 6))
			ids[cpu].apic = v;
		else if (!strncmp(line, "initial apicid", 14))
			ids[cpu].initial = v;
	}
	fclose(f);
}

/*
 * Run CPUID on each online CPU: leaf 1 EBX[31:24] is the 8-bit initial APIC
 * ID, leaf 0xB EDX the full x2APIC ID (when leaf 0xB exists and is valid).
 */
static void read_cpuid_ids(void)
{
	unsigned int a, b, c, d, max = __get_cpuid_max(0, NULL);
	int i, cpu;

	for (i = 0; i < nr_online; i++) {
		cpu = online[i];
		if (pin_to(cpu) || sched_getcpu() != cpu)
			continue;
		__cpuid(1, a, b, c, d);
		ids[cpu].cpuid_apic = b >> 24;
		if (max >= 0xb) {
			__cpuid_count(0xb, 0, a, b, c, d);
			if (b & 0xffff)
				ids[cpu].x2apic = d;
		}
	}
	pin_to(-1);
}

static void report_cpus(struct jb *j)
{
	const char *t = "/sys/devices/system/cpu/cpu%d/topology/%s";
	char buf[4096], **ents;
	int i, k, n, cpu;

	jb_key(j, "cpus");
	jb_open(j, '[');
	for (i = 0; i < nr_online; i++) {
		cpu = online[i];
		jb_open(j, '{');
		jb_kint(j, "cpu", cpu);
		jb_kintn(j, "apic_id", ids[cpu].apic);
		jb_kintn(j, "initial_apic_id", ids[cpu].initial);
		jb_kintn(j, "cpuid_apic_id", ids[cpu].cpuid_apic);
		jb_kintn(j, "x2apic_id", ids[cpu].x2apic);
		jb_kintn(j, "package_id", read_intf(t, cpu, "physical_package_id"));
		jb_kintn(j, "die_id", read_intf(t, cpu, "die_id"));
		jb_kintn(j, "core_id", read_intf(t, cpu, "core_id"));
		read_strf(buf, sizeof(buf), t, cpu, "thread_siblings_list");
		jb_kstr(j, "thread_siblings", buf);
		read_strf(buf, sizeof(buf), t, cpu, "core_siblings_list");
		jb_kstr(j, "core_siblings", buf);
		snprintf(buf, sizeof(buf), "/sys/devices/system/cpu/cpu%d", cpu);
		n = list_dir(buf, &ents);
		jb_key(j, "node");
		for (k = 0; k < n; k++)
			if (!strncmp(ents[k], "node", 4) && isdigit((unsigned char)ents[k][4]))
				break;
		if (k < n)
			jb_int(j, atoi(ents[k] + 4));
		else
			jb_lit(j, "null");
		free_list(ents, n);
		jb_close(j, '}');
	}
	jb_close(j, ']');
}

/* "Node 0 MemTotal:  123456 kB" from a node's meminfo. */
static long long node_mem_kb(int node)
{
	char buf[4096], *p;

	if (read_strf(buf, sizeof(buf), "/sys/devices/system/node/node%d/meminfo",
		      node) <= 0)
		return -1;
	p = strstr(buf, "MemTotal:");
	return p ? strtoll(p + 9, NULL, 10) : -1;
}

static void report_numa(struct jb *j)
{
	static int nodes[MAX_CPUS];
	char buf[8192], *p, *end;
	int i, n = 0;

	if (read_str("/sys/devices/system/node/online", buf, sizeof(buf)) > 0)
		n = parse_cpulist(buf, nodes, MAX_CPUS);
	jb_key(j, "numa_nodes");
	jb_open(j, '[');
	for (i = 0; i < n; i++) {
		jb_open(j, '{');
		jb_kint(j, "node", nodes[i]);
		read_strf(buf, sizeof(buf), "/sys/devices/system/node/node%d/cpulist",
			  nodes[i]);
		jb_kstr(j, "cpus", buf);
		jb_kintn(j, "mem_total_kb", node_mem_kb(nodes[i]));
		read_strf(buf, sizeof(buf), "/sys/devices/system/node/node%d/distance",
			  nodes[i]);
		jb_key(j, "distances");
		jb_open(j, '[');
		for (p = buf;; p = end) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			jb_int(j, v);
		}
		jb_close(j, ']');
		jb_close(j, '}');
	}
	jb_close(j, ']');
}

static long long meminfo_kb(const char *field)
{
	char buf[8192], *p;
	size_t n = strlen(field);

	if (read_str("/proc/meminfo", buf, sizeof(buf)) <= 0)
		return -1;
	for (p = buf; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, field, n) && p[n] == ':')
			return strtoll(p + n + 1, NULL, 10);
	}
	return -1;
}

static void report_virtio(struct jb *j)
{
	const char *dir = "/sys/bus/virtio/devices";
	char buf[4096], path[PATH_MAX], *rp, *b, **ents;
	int i, n = list_dir(dir, &ents);

	jb_key(j, "virtio_devices");
	jb_open(j, '[');
	for (i = 0; i < n; i++) {
		jb_open(j, '{');
		jb_kstr(j, "name", ents[i]);
		jb_kintn(j, "device_id", read_intf("%s/%s/device", dir, ents[i]));
		jb_kintn(j, "vendor", read_intf("%s/%s/vendor", dir, ents[i]));
		jb_kstr(j, "driver", link_base(buf, sizeof(buf), "%s/%s/driver",
					       dir, ents[i]) ? buf : NULL);
		read_strf(buf, sizeof(buf), "%s/%s/features", dir, ents[i]);
		jb_kstr(j, "features", buf);
		/* The transport device it sits on: a PCI address or an MMIO one. */
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]);
		rp = realpath(path, NULL);
		b = rp ? strrchr(rp, '/') : NULL;
		if (b) {
			*b = 0;
			b = strrchr(rp, '/');
		}
		jb_kstr(j, "parent", b ? b + 1 : NULL);
		free(rp);
		jb_close(j, '}');
	}
	jb_close(j, ']');
	free_list(ents, n);
}

static int count_entries(const char *fmt, const char *name)
{
	char path[PATH_MAX], **ents;
	int n;

	snprintf(path, sizeof(path), fmt, name);
	n = list_dir(path, &ents);
	free_list(ents, n);
	return n;
}

static void report_block(struct jb *j)
{
	char **ents;
	int i, n = list_dir("/sys/block", &ents);

	jb_key(j, "block_devices");
	jb_open(j, '[');
	for (i = 0; i < n; i++) {
		const char *e = ents[i];
		long long sz = read_intf("/sys/block/%s/size", e);
		int nq;

		jb_open(j, '{');
		jb_kstr(j, "name", e);
		jb_kintn(j, "size_bytes", sz < 0 ? -1 : sz * 512);
		nq = count_entries("/sys/block/%s/mq", e);
		jb_kint(j, "nr_queues", nq > 0 ? nq : 0);
		jb_kbool(j, "ro", read_intf("/sys/block/%s/ro", e) == 1);
		jb_kintn(j, "logical_block_size",
			 read_intf("/sys/block/%s/queue/logical_block_size", e));
		jb_close(j, '}');
	}
	jb_close(j, ']');
	free_list(ents, n);
}

static void report_pci(struct jb *j)
{
	const char *dir = "/sys/bus/pci/devices";
	char buf[256], path[PATH_MAX], **ents;
	int i, n = list_dir(dir, &ents);

	jb_key(j, "pci_devices");
	jb_open(j, '[');
	for (i = 0; i < n; i++) {
		const char *e = ents[i];
		int msi;

		jb_open(j, '{');
		jb_kstr(j, "addr", e);
		jb_kintn(j, "vendor", read_intf("%s/%s/vendor", dir, e));
		jb_kintn(j, "device", read_intf("%s/%s/device", dir, e));
		jb_kintn(j, "class", read_intf("%s/%s/class", dir, e));
		jb_kstr(j, "driver", link_base(buf, sizeof(buf), "%s/%s/driver",
					       dir, e) ? buf : NULL);
		jb_kintn(j, "irq", read_intf("%s/%s/irq", dir, e));
		jb_key(j, "numa_node");
		jb_int(j, read_intf("%s/%s/numa_node", dir, e));
		snprintf(path, sizeof(path), "%s/%s/msi_irqs", dir, e);
		msi = count_entries("%s", path);
		jb_kintn(j, "msi_irqs", msi);
		jb_close(j, '}');
	}
	jb_close(j, ']');
	free_list(ents, n);
}

static void report_modules(struct jb *j)
{
	int i;

	jb_key(j, "modules_loaded");
	jb_open(j, '[');
	for (i = 0; i < nr_mods; i++)
		if (!mods[i].err)
			jb_str(j, mods[i].name);
	jb_close(j, ']');
	jb_key(j, "modules_failed");
	jb_open(j, '[');
	for (i = 0; i < nr_mods; i++) {
		if (!mods[i].err)
			continue;
		jb_open(j, '{');
		jb_kstr(j, "name", mods[i].name);
		jb_kint(j, "errno", mods[i].err);
		jb_kstr(j, "error", strerror(mods[i].err));
		jb_close(j, '}');
	}
	jb_close(j, ']');
}

/*
 * 64 bytes from /dev/hwrng when a hardware RNG is in use: how many came
 * and how many distinct values they hold (random bytes: about 56).
 */
static void report_hwrng(struct jb *j, const char *current)
{
	unsigned char b[64];
	bool seen[256] = { false };
	int fd, i, distinct = 0;
	ssize_t n = -1;

	if (*current && strcmp(current, "none")) {
		fd = open("/dev/hwrng", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, b, sizeof(b));
			close(fd);
		}
	}
	for (i = 0; i < n; i++) {
		distinct += !seen[b[i]];
		seen[b[i]] = true;
	}
	jb_kintn(j, "hwrng_bytes", n);
	jb_kintn(j, "hwrng_distinct", n >= 0 ? distinct : -1);
}

/*
 * CPU 0's clock event device ("lapic-deadline" with the TSC-deadline
 * timer, "lapic" when calibrated against the PIT) and how many CPUs run
 * high-resolution timers: none when the LAPIC timer failed calibration.
 */
static void report_timers(struct jb *j, char *buf, size_t size)
{
	char line[256];
	int hres = 0;
	FILE *f;

	jb_kstr(j, "clockevent",
		read_str("/sys/devices/system/clockevents/clockevent0/current_device",
			 buf, size) >= 0 ? buf : NULL);
	f = fopen("/proc/timer_list", "r");
	if (!f) {
		jb_kintn(j, "hres_cpus", -1);
		return;
	}
	while (fgets(line, sizeof(line), f))
		if (strstr(line, ".hres_active") && strchr(line, ':') &&
		    atoi(strchr(line, ':') + 1) == 1)
			hres++;
	fclose(f);
	jb_kint(j, "hres_cpus", hres);
}

static void report(const char *cmdline)
{
	struct jb j = { 0 };
	struct utsname u;
	char buf[8192];
	int i;

	read_cpuinfo();
	read_cpuid_ids();
	jb_open(&j, '{');
	jb_kint(&j, "online_cpus", nr_online);
	read_str("/sys/devices/system/cpu/online", buf, sizeof(buf));
	jb_kstr(&j, "online_list", buf);
	jb_key(&j, "online");
	jb_open(&j, '[');
	for (i = 0; i < nr_online; i++)
		jb_int(&j, online[i]);
	jb_close(&j, ']');
	report_cpus(&j);
	report_numa(&j);
	jb_kintn(&j, "mem_total_kb", meminfo_kb("MemTotal"));
	report_virtio(&j);
	report_block(&j);
	report_pci(&j);
	uname(&u);
	jb_kstr(&j, "kernel", u.release);
	jb_kstr(&j, "cmdline", cmdline);
	read_str("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		 buf, sizeof(buf));
	jb_kstr(&j, "clocksource", buf);
	report_timers(&j, buf, sizeof(buf));
	jb_kstr(&j, "rng_current",
		read_str("/sys/devices/virtual/misc/hw_random/rng_current",
			 buf, sizeof(buf)) >= 0 ? buf : NULL);
	report_hwrng(&j, buf);
	report_modules(&j);
	jb_key(&j, "uptime_s");
	if (read_str("/proc/uptime", buf, sizeof(buf)) > 0)
		jb_dbl(&j, strtod(buf, NULL));
	else
		jb_lit(&j, "null");
	jb_close(&j, '}');
	jb_emit(&j, "AGENT-REPORT");
}

/* ---- agent.disk: pattern writer and checker -------------------------- */

struct disk {
	int fd;
	bool write;
	uint64_t seed, nblocks;
	uint64_t next;			/* next I/O unit to take (atomic) */
	uint64_t errors, io_errors;	/* bad blocks, failed I/Os (atomic) */
	uint64_t first_bad;		/* lowest bad block (atomic min) */
};

struct disk_thr {
	struct disk *d;
	int cpu;
	pthread_t tid;
};

static inline uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * Block blk's content: its number, the seed, then 510 words hashed from
 * both, so every block differs and a block written to the wrong place fails.
 */
static inline uint64_t pat_word(uint64_t seed, uint64_t blk, uint64_t h, int i)
{
	if (i == 0)
		return blk;
	if (i == 1)
		return seed;
	return mix64(h + i);
}

static void fill_block(uint64_t *w, uint64_t seed, uint64_t blk)
{
	uint64_t h = mix64(seed ^ mix64(blk));
	int i;

	for (i = 0; i < BLK / 8; i++)
		w[i] = pat_word(seed, blk, h, i);
}

static bool check_block(const uint64_t *w, uint64_t seed, uint64_t blk)
{
	uint64_t h = mix64(seed ^ mix64(blk));
	int i;

	for (i = 0; i < BLK / 8; i++)
		if (w[i] != pat_word(seed, blk, h, i))
			return false;
	return true;
}

static void note_bad(struct disk *d, uint64_t blk, uint64_t n)
{
	uint64_t cur = __atomic_load_n(&d->first_bad, __ATOMIC_RELAXED);

	__atomic_fetch_add(&d->errors, n, __ATOMIC_RELAXED);
	while (blk < cur && !__atomic_compare_exchange_n(&d->first_bad, &cur, blk,
			false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static bool io_full(struct disk *d, void *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t r = d->write ? pwrite(d->fd, buf, len, off) :
				       pread(d->fd, buf, len, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		buf = (char *)buf + r;
		len -= r;
		off += r;
	}
	return true;
}

static void *disk_worker(void *arg)
{
	struct disk_thr *t = arg;
	struct disk *d = t->d;
	uint64_t u, b0, n, k;
	void *buf;

	pin_to(t->cpu);
	if (posix_memalign(&buf, BLK, UNIT_BLKS * BLK)) {
		__atomic_fetch_add(&d->io_errors, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	for (;;) {
		u = __atomic_fetch_add(&d->next, 1, __ATOMIC_RELAXED);
		b0 = u * UNIT_BLKS;
		if (b0 >= d->nblocks)
			break;
		n = d->nblocks - b0 < UNIT_BLKS ? d->nblocks - b0 : UNIT_BLKS;
		if (d->write)
			for (k = 0; k < n; k++)
				fill_block((uint64_t *)buf + k * BLK / 8, d->seed, b0 + k);
		if (!io_full(d, buf, n * BLK, b0 * BLK)) {
			__atomic_fetch_add(&d->io_errors, 1, __ATOMIC_RELAXED);
			note_bad(d, b0, n);
			continue;
		}
		if (d->write)
			continue;
		for (k = 0; k < n; k++)
			if (!check_block((uint64_t *)buf + k * BLK / 8, d->seed, b0 + k))
				note_bad(d, b0 + k, 1);
	}
	free(buf);
	return NULL;
}

struct disk_opts {
	char dev[128];
	char mode[16];
	uint64_t seed;
	int threads;
};

/* Open the device, waiting a little for it to show up; size in *size. */
static int disk_open(const char *path, bool wr, uint64_t *size)
{
	struct stat st;
	int i, fd = -1;

	for (i = 0; i < 100 && fd < 0; i++) {
		fd = open(path, (wr ? O_RDWR : O_RDONLY) | O_DIRECT | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			usleep(50000);
		else
			break;
	}
	if (fd < 0 || fstat(fd, &st))
		return -1;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size)) {
			close(fd);
			return -1;
		}
	} else {
		*size = st.st_size;
	}
	return fd;
}

static void disk_run(const struct disk_opts *o, bool wr)
{
	struct disk d = { .write = wr, .seed = o->seed, .first_bad = UINT64_MAX };
	int i, nt = o->threads > 0 ? o->threads : nr_online;
	struct disk_thr *t = calloc(nt, sizeof(*t));
	char path[PATH_MAX];
	struct jb j = { 0 };
	uint64_t size = 0, t0;
	double secs;
	const char *err = NULL;

	snprintf(path, sizeof(path), "%s%s", o->dev[0] == '/' ? "" : "/dev/", o->dev);
	d.fd = disk_open(path, wr, &size);
	if (!t)
		err = "out of memory";
	else if (d.fd < 0)
		err = strerror(errno);
	else if (size < BLK)
		err = "device smaller than one 4 KiB block";
	if (err)
		agent_err("disk %s: %s", path, err);
	d.nblocks = size / BLK;
	t0 = now_ns();
	for (i = 0; !err && i < nt; i++) {
		t[i].d = &d;
		t[i].cpu = online[i % nr_online];
		if (pthread_create(&t[i].tid, NULL, disk_worker, &t[i])) {
			agent_err("disk: cannot start thread %d", i);
			nt = i;
			break;
		}
	}
	for (i = 0; !err && i < nt; i++)
		pthread_join(t[i].tid, NULL);
	if (!err && wr && fsync(d.fd)) {
		agent_err("disk %s: fsync: %s", path, strerror(errno));
		d.io_errors++;
	}
	secs = (now_ns() - t0) / 1e9;
	if (d.fd >= 0)
		close(d.fd);
	free(t);

	jb_open(&j, '{');
	jb_key(&j, "disk");
	jb_open(&j, '{');
	jb_kstr(&j, "dev", path);
	jb_kstr(&j, "mode", wr ? "write" : "verify");
	jb_kint(&j, "seed", (long long)o->seed);
	jb_kint(&j, "threads", err ? 0 : nt);
	jb_kint(&j, "bytes", err ? 0 : (long long)(d.nblocks * BLK));
	jb_kint(&j, "blocks", err ? 0 : (long long)d.nblocks);
	jb_kint(&j, "errors", (long long)d.errors + (err ? 1 : 0));
	jb_kint(&j, "io_errors", (long long)d.io_errors);
	jb_kintn(&j, "first_bad_block", d.first_bad == UINT64_MAX ? -1 :
		 (long long)d.first_bad);
	jb_key(&j, "seconds");
	jb_dbl(&j, secs);
	jb_key(&j, "mb_per_s");
	jb_dbl(&j, err || secs <= 0 ? 0 : d.nblocks * BLK / secs / 1e6);
	jb_kstr(&j, "error", err);
	jb_close(&j, '}');
	jb_close(&j, '}');
	jb_emit(&j, "AGENT-DISK");
}

/* agent.disk=DEV,write|verify|writeverify[,seed=N][,threads=T] */
static bool parse_disk(const char *v, struct disk_opts *o)
{
	char copy[256], *tok, *save;
	int i = 0;

	memset(o, 0, sizeof(*o));
	scopy(copy, sizeof(copy), v);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save), i++) {
		if (i == 0)
			scopy(o->dev, sizeof(o->dev), tok);
		else if (!strncmp(tok, "seed=", 5))
			o->seed = strtoull(tok + 5, NULL, 0);
		else if (!strncmp(tok, "threads=", 8))
			o->threads = atoi(tok + 8);
		else if (i == 1)
			scopy(o->mode, sizeof(o->mode), tok);
		else
			return false;
	}
	return o->dev[0] && (!strcmp(o->mode, "write") || !strcmp(o->mode, "verify") ||
			     !strcmp(o->mode, "writeverify"));
}

static void disk_test(const char *v)
{
	struct disk_opts o;

	if (!parse_disk(v, &o)) {
		agent_err("bad agent.disk=%s (want DEV,write|verify|writeverify"
			  "[,seed=N][,threads=T])", v);
		return;
	}
	if (strcmp(o.mode, "verify"))
		disk_run(&o, true);
	if (strcmp(o.mode, "write"))
		disk_run(&o, false);
}

/* ---- agent.cpuloop: a fixed integer loop on every CPU ---------------- */

struct loop_thr {
	int cpu;
	long ms;
	uint64_t iters;
	int *go;			/* set once every thread exists */
	pthread_mutex_t *lock;		/* agent.lockloop: the shared lock */
	uint64_t *shared;		/* and what it guards */
	pthread_t tid;
};

/*
 * agent.lockloop: every iteration takes the one shared mutex, does a few
 * steps of the same integer loop on the shared state and drops it, so all
 * CPUs contend on one cache line and, when it is held, sleep on its futex.
 */
static uint64_t lock_iters(struct loop_thr *t, uint64_t end)
{
	uint64_t n = 0, x;
	int i, k;

	do {
		for (i = 0; i < 256; i++) {
			pthread_mutex_lock(t->lock);
			x = *t->shared;
			for (k = 0; k < 16; k++) {
				x = x * 6364136223846793005ull + 1442695040888963407ull;
				x ^= x >> 29;
			}
			*t->shared = x;
			pthread_mutex_unlock(t->lock);
		}
		n += 256;
	} while (now_ns() < end);
	return n;
}

static void *loop_worker(void *arg)
{
	struct loop_thr *t = arg;
	uint64_t x = t->cpu + 1, n = 0, end;
	int i;

	pin_to(t->cpu);
	while (!__atomic_load_n(t->go, __ATOMIC_ACQUIRE))
		sched_yield();
	end = now_ns() + t->ms * 1000000ull;
	if (t->lock) {
		t->iters = lock_iters(t, end);
		return NULL;
	}
	do {
		for (i = 0; i < 4096; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			x ^= x >> 29;
			__asm__ volatile("" : "+r"(x));
		}
		n += 4096;
	} while (now_ns() < end);
	t->iters = n;
	return NULL;
}

/* agent.cpuloop (lock false) or agent.lockloop (lock true). */
static void cpu_loop(long ms, bool lock)
{
	const char *what = lock ? "lockloop" : "cpuloop";
	struct loop_thr *t = calloc(nr_online, sizeof(*t));
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct jb j = { 0 };
	uint64_t total = 0, shared = 1;
	int i, n, go = 0;

	if (!t || ms <= 0) {
		agent_err("%s: %s", what, t ? "bad duration" : "out of memory");
		free(t);
		return;
	}
	for (n = 0; n < nr_online; n++) {
		t[n] = (struct loop_thr){ .cpu = online[n], .ms = ms, .go = &go,
					  .lock = lock ? &mu : NULL, .shared = &shared };
		if (pthread_create(&t[n].tid, NULL, loop_worker, &t[n])) {
			agent_err("%s: cannot start thread %d", what, n);
			break;
		}
	}
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (i = 0; i < n; i++)
		pthread_join(t[i].tid, NULL);
	jb_open(&j, '{');
	jb_kint(&j, "ms", ms);
	jb_key(&j, "per_cpu");
	jb_open(&j, '[');
	for (i = 0; i < n; i++) {
		jb_open(&j, '{');
		jb_kint(&j, "cpu", t[i].cpu);
		jb_kint(&j, "iters", (long long)t[i].iters);
		jb_close(&j, '}');
		total += t[i].iters;
	}
	jb_close(&j, ']');
	jb_kint(&j, "total", (long long)total);
	jb_close(&j, '}');
	jb_emit(&j, lock ? "AGENT-LOCKLOOP" : "AGENT-CPULOOP");
	free(t);
}

/* ---- agent.pingpong: round trips between two CPUs -------------------- */

struct pp {
	int seq;			/* odd: A's turn done, even: B's */
	int iters;
	bool spin;
	int cpu_a, cpu_b;
	uint64_t *rtt;
};

static void pp_wait(struct pp *p, int want)
{
	int v;

	while ((v = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE)) != want) {
		if (p->spin)
			__asm__ volatile("pause");
		else
			syscall(SYS_futex, &p->seq, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
	}
}

static void pp_post(struct pp *p, int v)
{
	__atomic_store_n(&p->seq, v, __ATOMIC_RELEASE);
	if (!p->spin)
		syscall(SYS_futex, &p->seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *pp_b(void *arg)
{
	struct pp *p = arg;
	int i;

	pin_to(p->cpu_b);
	for (i = 0; i < p->iters; i++) {
		pp_wait(p, 2 * i + 1);
		pp_post(p, 2 * i + 2);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool cpu_online(int cpu)
{
	int i;

	for (i = 0; i < nr_online; i++)
		if (online[i] == cpu)
			return true;
	return false;
}

/* agent.pingpong=A,B[,ITERS[,spin|futex]] */
static void ping_pong(const char *v)
{
	struct pp p = { .iters = 10000 };
	char mode[16] = "futex";
	struct jb j = { 0 };
	pthread_t tid;
	uint64_t t0, sum = 0;
	int i, n = sscanf(v, "%d,%d,%d,%15s", &p.cpu_a, &p.cpu_b, &p.iters, mode);

	if (n < 2 || p.iters <= 0 || (strcmp(mode, "futex") && strcmp(mode, "spin")) ||
	    !cpu_online(p.cpu_a) || !cpu_online(p.cpu_b)) {
		agent_err("bad agent.pingpong=%s (want A,B[,ITERS[,spin|futex]] "
			  "with A and B online)", v);
		return;
	}
	p.spin = !strcmp(mode, "spin") && p.cpu_a != p.cpu_b;
	p.rtt = calloc(p.iters, sizeof(*p.rtt));
	if (!p.rtt || pin_to(p.cpu_a) || pthread_create(&tid, NULL, pp_b, &p)) {
		agent_err("pingpong: cannot start");
		free(p.rtt);
		pin_to(-1);
		return;
	}
	for (i = 0; i < p.iters; i++) {
		t0 = now_ns();
		pp_post(&p, 2 * i + 1);
		pp_wait(&p, 2 * i + 2);
		p.rtt[i] = now_ns() - t0;
		sum += p.rtt[i];
	}
	pthread_join(tid, NULL);
	pin_to(-1);
	qsort(p.rtt, p.iters, sizeof(*p.rtt), cmp_u64);
	jb_open(&j, '{');
	jb_kint(&j, "cpu_a", p.cpu_a);
	jb_kint(&j, "cpu_b", p.cpu_b);
	jb_kint(&j, "iters", p.iters);
	jb_kstr(&j, "mode", p.spin ? "spin" : "futex");
	jb_kint(&j, "median_ns", (long long)p.rtt[p.iters / 2]);
	jb_kint(&j, "min_ns", (long long)p.rtt[0]);
	jb_kint(&j, "max_ns", (long long)p.rtt[p.iters - 1]);
	jb_kint(&j, "mean_ns", (long long)(sum / p.iters));
	jb_close(&j, '}');
	jb_emit(&j, "AGENT-PINGPONG");
	free(p.rtt);
}

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
static void fio_run(const char *v)
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

/* ---- network: agent.net=IP/PREFIX,PEER[,PORT] ------------------------- */

#define NET_TX_BYTES	(1 << 20)

/* Byte i of what the guest sends; the test host checks it. */
static uint8_t net_tx_byte(uint64_t i)
{
	return (uint8_t)(i * 31 + (i >> 11));
}

/* Run a shell command, its output into buf; returns its exit status. */
static int sh_run(const char *cmd, char *buf, size_t size)
{
	int p[2], st = -1;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	buf[0] = 0;
	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		execl("/bin/sh", "sh", "-c", cmd, NULL);
		_exit(127);
	}
	close(p[1]);
	while (pid > 0 && (r = read(p[0], buf + n, size - 1 - n)) > 0)
		n += r;
	buf[n] = 0;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The first interface that is not lo, waiting up to 10 s for it. */
static bool net_ifname(char *name, size_t size)
{
	char **ents;
	int i, n, tries;

	for (tries = 0; tries < 100; tries++) {
		n = list_dir("/sys/class/net", &ents);
		for (i = 0; i < n && !strcmp(ents[i], "lo"); i++)
			;
		if (i < n)
			scopy(name, size, ents[i]);
		free_list(ents, n);
		if (i < n)
			return true;
		usleep(100000);
	}
	return false;
}

/*
 * TCP to PEER:PORT: send NET_TX_BYTES of net_tx_byte(), shut down the
 * sending side, then count and hash (FNV-1a 64) what comes back.
 */
static void net_tcp(struct jb *j, const char *peer, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	uint64_t sent = 0, got = 0, h = 0xcbf29ce484222325ULL;
	static uint8_t buf[65536];
	const char *err = NULL;
	int fd = -1, i;
	ssize_t r;

	inet_pton(AF_INET, peer, &sa.sin_addr);
	for (i = 0; i < 50; i++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
		usleep(200000);
	}
	if (fd < 0) {
		err = "connect failed";
		goto out;
	}
	while (sent < NET_TX_BYTES) {
		size_t k, n = sizeof(buf);

		if (n > NET_TX_BYTES - sent)
			n = NET_TX_BYTES - sent;
		for (k = 0; k < n; k++)
			buf[k] = net_tx_byte(sent + k);
		r = write(fd, buf, n);
		if (r <= 0) {
			err = "send failed";
			goto out;
		}
		sent += r;
	}
	shutdown(fd, SHUT_WR);
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < r; i++)
			h = (h ^ buf[i]) * 0x100000001b3ULL;
		got += r;
	}
	if (r < 0)
		err = "receive failed";
out:
	if (fd >= 0)
		close(fd);
	jb_kint(j, "tcp_sent", (long long)sent);
	jb_kint(j, "tcp_received", (long long)got);
	snprintf((char *)buf, sizeof(buf), "%016llx", (unsigned long long)h);
	jb_kstr(j, "tcp_fnv64", (char *)buf);
	jb_kstr(j, "tcp_error", err);
}

static void net_test(const char *v)
{
	char addr[64] = "", peer[64] = "", ifname[64] = "", mac[64] = "";
	char cmd[512], outb[4096];
	struct jb j = { 0 };
	int port = 0, rc, tx = -1, rx = -1;
	const char *c1 = strchr(v, ','), *c2;

	if (!c1 || c1 - v >= (long)sizeof(addr)) {
		agent_err("bad agent.net=%s (want IP/PREFIX,PEER[,PORT])", v);
		return;
	}
	memcpy(addr, v, c1 - v);
	c2 = strchr(c1 + 1, ',');
	scopy(peer, c2 && c2 - c1 <= (long)sizeof(peer) ? (size_t)(c2 - c1) :
	      sizeof(peer), c1 + 1);
	if (c2)
		port = atoi(c2 + 1);
	jb_open(&j, '{');
	if (!net_ifname(ifname, sizeof(ifname))) {
		jb_kstr(&j, "error", "no network interface");
		goto out;
	}
	read_strf(mac, sizeof(mac), "/sys/class/net/%s/address", ifname);
	jb_kstr(&j, "ifname", ifname);
	jb_kstr(&j, "mac", mac);
	jb_kstr(&j, "addr", addr);
	jb_kstr(&j, "peer", peer);
	snprintf(cmd, sizeof(cmd), "ip link set %s up && ip addr add %s dev %s",
		 ifname, addr, ifname);
	rc = sh_run(cmd, outb, sizeof(outb));
	jb_kint(&j, "setup_rc", rc);
	snprintf(cmd, sizeof(cmd), "ping -c 3 -W 5 %s", peer);
	rc = sh_run(cmd, outb, sizeof(outb));
	{
		const char *p = strstr(outb, "packets transmitted");

		while (p && p > outb && p[-1] != '\n')
			p--;
		if (p)
			sscanf(p, "%d packets transmitted, %d packets received",
			       &tx, &rx);
	}
	jb_kint(&j, "ping_rc", rc);
	jb_kint(&j, "ping_sent", tx);
	jb_kint(&j, "ping_received", rx);
	if (port > 0)
		net_tcp(&j, peer, port);
out:
	jb_close(&j, '}');
	jb_emit(&j, "AGENT-NET");
}

/* ---- a hostile virtio-blk driver ------------------------------------- */

/*
 * agent.hostile=ADDR (the PCI address of a virtio-blk function, or "blk"
 * for the first one): unbind the kernel's driver, drive the device from
 * user space through its BAR 4 (sysfs resource4) with rings in our own
 * pages (physical addresses from /proc/self/pagemap), and submit what a
 * malicious guest would: a descriptor loop, a buffer outside guest RAM, a
 * length running past the end of RAM. After each the device must report
 * NEEDS_RESET (status bit 0x40); after a reset a good read of sector 0
 * must complete with status 0. AGENT-HOSTILE {...} says what happened.
 */
#define VQ_SIZE		8
#define ST_NEEDS_RESET	0x40

struct hpage {
	volatile uint8_t *p;
	uint64_t pa;
};

static bool hpage_get(struct hpage *h)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t ent = 0;
	void *p;

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
	if (p == MAP_FAILED || fd < 0)
		return false;
	memset(p, 0, 4096);
	if (pread(fd, &ent, 8, ((uintptr_t)p / 4096) * 8) != 8 ||
	    !(ent & (1ULL << 63)) || !(ent & ((1ULL << 55) - 1))) {
		close(fd);
		return false;
	}
	close(fd);
	h->p = p;
	h->pa = (ent & ((1ULL << 55) - 1)) * 4096;
	return true;
}

struct hdev {
	volatile uint8_t *bar;
	struct hpage desc, avail, used, data;
	uint16_t avail_idx;
};

static void w8(struct hdev *d, unsigned o, uint8_t v) { d->bar[o] = v; }
static void w16(struct hdev *d, unsigned o, uint16_t v) { *(volatile uint16_t *)(d->bar + o) = v; }
static void w32(struct hdev *d, unsigned o, uint32_t v) { *(volatile uint32_t *)(d->bar + o) = v; }
static uint8_t r8(struct hdev *d, unsigned o) { return d->bar[o]; }

static void w64(struct hdev *d, unsigned o, uint64_t v)
{
	w32(d, o, (uint32_t)v);
	w32(d, o + 4, (uint32_t)(v >> 32));
}

/* Reset and set queue 0 up with VIRTIO_F_VERSION_1 only; true if taken. */
static bool h_init(struct hdev *d)
{
	w8(d, 20, 0);
	if (r8(d, 20))
		return false;
	memset((void *)d->avail.p, 0, 4096);
	memset((void *)d->used.p, 0, 4096);
	d->avail_idx = 0;
	w8(d, 20, 1 | 2);
	w32(d, 8, 0);
	w32(d, 12, 0);
	w32(d, 8, 1);
	w32(d, 12, 1);			/* bit 32: VERSION_1 */
	w8(d, 20, 1 | 2 | 8);
	if (!(r8(d, 20) & 8))
		return false;
	w16(d, 22, 0);
	w16(d, 24, VQ_SIZE);
	w64(d, 32, d->desc.pa);
	w64(d, 40, d->avail.pa);
	w64(d, 48, d->used.pa);
	w16(d, 28, 1);
	w8(d, 20, 1 | 2 | 8 | 4);
	return !(r8(d, 20) & ST_NEEDS_RESET);
}

static void h_desc(struct hdev *d, unsigned i, uint64_t addr, uint32_t len,
		   uint16_t flags, uint16_t next)
{
	volatile uint8_t *e = d->desc.p + 16 * i;

	*(volatile uint64_t *)e = addr;
	*(volatile uint32_t *)(e + 8) = len;
	*(volatile uint16_t *)(e + 12) = flags;
	*(volatile uint16_t *)(e + 14) = next;
}

/* Offer chain 0 and kick queue 0 (notify region at 0x3000). */
static void h_kick(struct hdev *d)
{
	volatile uint16_t *av = (volatile uint16_t *)d->avail.p;

	av[2 + d->avail_idx % VQ_SIZE] = 0;
	__atomic_store_n(&av[1], ++d->avail_idx, __ATOMIC_RELEASE);
	w16(d, 0x3000, 0);
}

static bool h_needs_reset(struct hdev *d)
{
	int i;

	for (i = 0; i < 200; i++) {
		if (r8(d, 20) & ST_NEEDS_RESET)
			return true;
		usleep(10000);
	}
	return false;
}

/* A good read of sector 0: header, 512 bytes, status. Status or -1. */
static int h_good_read(struct hdev *d)
{
	volatile uint16_t *used = (volatile uint16_t *)d->used.p;
	volatile uint8_t *hd = d->data.p;
	int i;

	memset((void *)hd, 0, 4096);
	hd[1024] = 0xee;			/* status */
	h_desc(d, 0, d->data.pa, 16, 1, 1);	/* type 0 (IN), sector 0 */
	h_desc(d, 1, d->data.pa + 512, 512, 1 | 2, 2);
	h_desc(d, 2, d->data.pa + 1024, 1, 2, 0);
	h_kick(d);
	for (i = 0; i < 300; i++) {
		if (__atomic_load_n(&used[1], __ATOMIC_ACQUIRE))
			return hd[1024];
		usleep(10000);
	}
	return -1;
}

static bool find_blk(char *addr, size_t n)
{
	DIR *dir = opendir("/sys/bus/pci/devices");
	struct dirent *de;
	bool found = false;

	while (dir && !found && (de = readdir(dir))) {
		char path[NAME_MAX + 64], buf[32] = "";
		int fd;

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		if (read(fd, buf, sizeof(buf) - 1) > 0 && !strncmp(buf, "0x1042", 6)) {
			snprintf(addr, n, "%s", de->d_name);
			found = true;
		}
		close(fd);
	}
	if (dir)
		closedir(dir);
	return found;
}

static bool write_file(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY);
	bool ok = fd >= 0 && write(fd, v, strlen(v)) == (ssize_t)strlen(v);

	if (fd >= 0)
		close(fd);
	return ok;
}

static void hostile_test(const char *v)
{
	struct jb j = { 0 };
	struct hdev d = { 0 };
	char addr[NAME_MAX + 1], path[NAME_MAX + 64];
	const char *err = NULL;
	int fd, good = -1;
	bool loop = false, outside = false, oversize = false;
	void *bar;

	jb_open(&j, '{');
	jb_key(&j, "hostile");
	jb_open(&j, '{');
	if (strcmp(v, "blk"))
		snprintf(addr, sizeof(addr), "%s", v);
	else if (!find_blk(addr, sizeof(addr))) {
		err = "no virtio-blk function";
		goto out;
	}
	jb_kstr(&j, "pci", addr);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", addr);
	if (!write_file(path, addr)) {
		err = "cannot unbind the driver";
		goto out;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/enable", addr);
	write_file(path, "1");
	/* Memory decode on, INTx off: nobody here takes the interrupts. */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", addr);
	fd = open(path, O_RDWR);
	if (fd >= 0) {
		uint16_t cmd = 0;

		if (pread(fd, &cmd, 2, 4) == 2) {
			cmd |= 0x2 | 0x400;
			if (pwrite(fd, &cmd, 2, 4) != 2)
				err = "cannot write the command register";
		}
		close(fd);
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource4", addr);
	fd = open(path, O_RDWR | O_SYNC);
	bar = fd < 0 ? MAP_FAILED :
	      mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (bar == MAP_FAILED) {
		err = "cannot map BAR 4";
		goto out;
	}
	d.bar = bar;
	if (!hpage_get(&d.desc) || !hpage_get(&d.avail) || !hpage_get(&d.used) ||
	    !hpage_get(&d.data)) {
		err = "no physical addresses (pagemap)";
		goto out;
	}
	if (!h_init(&d)) {
		err = "the device refused a correct set-up";
		goto out;
	}
	/* 1: a descriptor loop, 0 -> 1 -> 0. */
	h_desc(&d, 0, d.data.pa, 16, 1, 1);
	h_desc(&d, 1, d.data.pa + 512, 512, 1, 0);
	h_kick(&d);
	loop = h_needs_reset(&d);
	/* 2: a buffer outside guest RAM (the MMIO hole, then 32 TiB). */
	h_init(&d);
	h_desc(&d, 0, 0xfec00000ULL, 16, 1, 1);
	h_desc(&d, 1, 1ULL << 45, 512, 2, 0);
	h_kick(&d);
	outside = h_needs_reset(&d);
	/* 3: a length that runs far past the end of RAM. */
	h_init(&d);
	h_desc(&d, 0, d.data.pa, 0xfffff000U, 1, 0);
	h_kick(&d);
	oversize = h_needs_reset(&d);
	/* The device still works after a reset. */
	if (h_init(&d))
		good = h_good_read(&d);
	w8(&d, 20, 0);
out:
	jb_kbool(&j, "loop_needs_reset", loop);
	jb_kbool(&j, "outside_needs_reset", outside);
	jb_kbool(&j, "oversize_needs_reset", oversize);
	jb_kint(&j, "good_read_status", good);
	jb_kstr(&j, "error", err);
	jb_close(&j, '}');
	jb_close(&j, '}');
	jb_emit(&j, "AGENT-HOSTILE");
}

/* ---- options and the end --------------------------------------------- */

struct opts {
	bool report, shell, debugfs, modules;
	long cpuloop_ms, lockloop_ms, sleep_s;
	int loglevel;
	const char *disk, *pingpong, *end, *net, *hostile, *fio;
};

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
		if (!strcmp(w, "report"))
			o->report = atoi(v);
		else if (!strcmp(w, "shell"))
			o->shell = atoi(v);
		else if (!strcmp(w, "debugfs"))
			o->debugfs = atoi(v);
		else if (!strcmp(w, "modules"))
			o->modules = atoi(v);
		else if (!strcmp(w, "cpuloop"))
			o->cpuloop_ms = atol(v);
		else if (!strcmp(w, "lockloop"))
			o->lockloop_ms = atol(v);
		else if (!strcmp(w, "sleep"))
			o->sleep_s = atol(v);
		else if (!strcmp(w, "loglevel"))
			o->loglevel = atoi(v);
		else if (!strcmp(w, "disk"))
			o->disk = v;
		else if (!strcmp(w, "pingpong"))
			o->pingpong = v;
		else if (!strcmp(w, "net"))
			o->net = v;
		else if (!strcmp(w, "hostile"))
			o->hostile = v;
		else if (!strcmp(w, "fio"))
			o->fio = v;
		else if (!strcmp(w, "end"))
			o->end = v;
		else
			agent_err("unknown option agent.%s", w);
	}
	if (strcmp(o->end, "poweroff") && strcmp(o->end, "reboot") &&
	    strcmp(o->end, "halt")) {
		agent_err("bad agent.end=%s, powering off instead", o->end);
		o->end = "poweroff";
	}
}

/* A shell on the console as a child, so PID 1 lives on when it exits. */
static void run_shell(void)
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

static void finish(const char *end)
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

static void set_loglevel(int lvl)
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
	if (o.sleep_s > 0)
		sleep(o.sleep_s);
	if (o.shell && is_init)
		run_shell();
	finish(o.end);
	return 0;
}
