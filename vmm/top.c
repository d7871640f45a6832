// SPDX-License-Identifier: GPL-2.0
/*
 * smpvisor top: a live view of one VM from its control socket.
 *
 *   smpvisor top SOCKET [--once] [--interval S]
 *
 * Every interval (1 s by default) it reads query-stats (machine_stats.h)
 * and prints the rates since the last read: one row per vCPU (exits to
 * user space per second by kind, the host CPU it last ran on, the share
 * of the interval it ran, was halted in KVM, or waited for a host CPU),
 * one per device queue (kicks, interrupts and requests per second, MB/s, requests in flight) and one per I/O
 * thread. Plain text: the screen is cleared with ANSI codes only when
 * stdout is a terminal. --once reads twice, one interval apart, prints
 * one sample and exits (for scripts). Exit status 0, or 1 with a line
 * on stderr (no socket, the VM went away).
 */
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "vmm/ctl.h"

/* cur[key] - prev[key] for an entry of a list, or -1 when either lacks it. */
static double delta(json_t *cur, json_t *prev, const char *key)
{
	json_t *a = json_object_get(cur, key), *b = json_object_get(prev, key);

	if (!json_is_number(a) || !json_is_number(b))
		return -1;
	return json_number_value(a) - json_number_value(b);
}

/* A rate column: per second, or "-" when unknown. */
/* Both directions' bytes as MB/s (10^6), or "-" without a previous read. */
static void col_mbps(double out, double in, double secs)
{
	if (out < 0 || in < 0)
		printf(" %9s", "-");
	else
		printf(" %9.2f", (out + in) / secs / 1e6);
}

static void col_rate(double d, double secs)
{
	if (d < 0)
		printf(" %9s", "-");
	else
		printf(" %9.0f", d / secs);
}

/* A share of the interval in percent, from a ns delta. */
static void col_pct(double d_ns, double secs)
{
	if (d_ns < 0)
		printf(" %6s", "-");
	else
		printf(" %6.1f", d_ns / (secs * 1e9) * 100);
}

static void show_vcpus(json_t *cur, json_t *prev, double secs)
{
	json_t *c, *p, *pv = json_object_get(prev, "vcpus");
	size_t i;

	printf("%-5s %-8s %4s %9s %9s %9s %9s %6s %6s %6s\n", "VCPU", "TID",
	       "HOST", "EXITS/s", "PIO/s", "MMIO/s", "HALT/s", "RUN%",
	       "HALT%", "STEAL%");
	json_array_foreach(json_object_get(cur, "vcpus"), i, c) {
		json_t *ck = json_object_get(c, "kvm"), *pk;

		p = json_array_get(pv, i);
		pk = json_object_get(p, "kvm");
		printf("%-5lld %-8lld %4lld",
		       json_integer_value(json_object_get(c, "cpu-index")),
		       json_integer_value(json_object_get(c, "thread-id")),
		       json_integer_value(json_object_get(c, "host-cpu")));
		col_rate(delta(c, p, "exits"), secs);
		col_rate(delta(c, p, "pio-exits"), secs);
		col_rate(delta(c, p, "mmio-exits"), secs);
		col_rate(delta(ck, pk, "halt_exits"), secs);
		col_pct(delta(c, p, "cpu-time-ns"), secs);
		col_pct(delta(ck, pk, "halt_wait_ns"), secs);
		col_pct(delta(c, p, "wait-ns"), secs);
		putchar('\n');
	}
}

static void show_devices(json_t *cur, json_t *prev, double secs)
{
	json_t *d, *q, *pd, *pv = json_object_get(prev, "devices");
	size_t i, j;

	printf("\n%-16s %5s %9s %9s %9s %9s %8s\n", "DEVICE", "QUEUE",
	       "KICKS/s", "IRQS/s", "REQ/s", "MB/s", "INFLIGHT");
	json_array_foreach(json_object_get(cur, "devices"), i, d) {
		pd = json_object_get(json_array_get(pv, i), "queues");
		json_array_foreach(json_object_get(d, "queues"), j, q) {
			json_t *pq = json_array_get(pd, j);

			printf("%-16s %5lld",
			       json_string_value(json_object_get(d, "name")),
			       json_integer_value(json_object_get(q, "queue")));
			col_rate(delta(q, pq, "kicks"), secs);
			col_rate(delta(q, pq, "irqs"), secs);
			col_rate(delta(q, pq, "requests"), secs);
			col_mbps(delta(q, pq, "bytes-out"), delta(q, pq, "bytes-in"),
				 secs);
			printf(" %8lld", json_integer_value(json_object_get(q, "in-flight")));
			putchar('\n');
		}
	}
}

static void show_iothreads(json_t *cur, json_t *prev, double secs)
{
	json_t *t, *p, *pv = json_object_get(prev, "iothreads");
	size_t i;

	printf("\n%-8s %-8s %9s %6s %6s\n", "IOTHREAD", "TID", "EVENTS/s",
	       "BUSY%", "WAIT%");
	json_array_foreach(json_object_get(cur, "iothreads"), i, t) {
		p = json_array_get(pv, i);
		printf("%-8lld %-8lld",
		       json_integer_value(json_object_get(t, "iothread")),
		       json_integer_value(json_object_get(t, "thread-id")));
		col_rate(delta(t, p, "events"), secs);
		col_pct(delta(t, p, "cpu-time-ns"), secs);
		col_pct(delta(t, p, "wait-ns"), secs);
		putchar('\n');
	}
}

static void show(const char *sock, json_t *cur, json_t *prev, double want)
{
	double secs = delta(cur, prev, "uptime-ms") / 1000;
	json_t *kvm = json_object_get(cur, "kvm");

	if (secs <= 0)
		secs = want;
	if (isatty(STDOUT_FILENO))
		fputs("\033[H\033[2J", stdout);
	printf("smpvisor top  %s  uptime %.0f s  interval %.2f s\n", sock,
	       json_number_value(json_object_get(cur, "uptime-ms")) / 1000,
	       secs);
	if (!json_is_true(json_object_get(kvm, "available")))
		printf("(no KVM statistics: %s)\n",
		       json_string_value(json_object_get(kvm, "reason")));
	putchar('\n');
	show_vcpus(cur, prev, secs);
	show_devices(cur, prev, secs);
	show_iothreads(cur, prev, secs);
	fflush(stdout);
}

static const char usage[] =
"usage: smpvisor top SOCKET [--once] [--interval S]\n"
"Show per-vCPU, per-queue and per-I/O-thread rates of the smpvisor serving\n"
"SOCKET (--api-socket), refreshed every interval.\n"
"  --once        print one sample (two reads one interval apart) and exit\n"
"  --interval S  seconds between samples (default 1)\n";

int top_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_conn *c;
	json_t *prev = NULL, *cur;
	double interval = 1;
	bool once = false;
	int o, r = 1;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'o') {
			once = true;
		} else if (o == 'i') {
			interval = atof(optarg);
			if (interval < 0.1 || interval > 3600) {
				fputs("smpvisor top: --interval takes 0.1 to 3600 seconds\n",
				      stderr);
				return 1;
			}
		} else {
			fputs(usage, o == 'h' ? stdout : stderr);
			return o == 'h' ? 0 : 1;
		}
	}
	if (optind + 1 != argc) {
		fputs(usage, stderr);
		return 1;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return 1;
	c->fd = -1;
	c->timeout_ms = 30000;
	if (ctl_connect(c, argv[optind]))
		goto out;
	prev = ctl_call(c, "query-stats", json_object());
	while (prev) {
		poll(NULL, 0, (int)(interval * 1000));
		cur = ctl_call(c, "query-stats", json_object());
		if (!cur)
			break;
		show(argv[optind], cur, prev, interval);
		json_decref(prev);
		prev = cur;
		if (once) {
			r = 0;
			break;
		}
	}
out:
	json_decref(prev);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return r;
}
