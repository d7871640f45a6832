// SPDX-License-Identifier: GPL-2.0
/*
 * report.c - AGENT-REPORT: what the guest sees.
 *
 * CPUs and their APIC IDs (from /proc/cpuinfo and from CPUID run on each
 * CPU), NUMA nodes, memory, virtio, block and PCI devices, clocks, timers,
 * the hardware RNG and the modules, as one JSON line.
 */
#include <cpuid.h>
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent.h"

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

void report(const char *cmdline)
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
