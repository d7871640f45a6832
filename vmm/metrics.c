// SPDX-License-Identifier: GPL-2.0
/*
 * query-stats as Prometheus text (metrics.h). Every metric's samples
 * come together under its one HELP and TYPE line, as the format asks, so
 * the walk goes metric by metric over the vCPUs, devices and I/O threads
 * of the reply. Fields a reply lacks (no schedstat, no KVM statistics)
 * leave their metric out; a malformed reply renders what it can.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "vmm/metrics.h"

/* A number field of one entry of a list in the reply. */
struct metric {
	const char *list;	/* "vcpus", "devices", "iothreads" */
	const char *key;	/* the field */
	const char *name;	/* without "smpvisor_" */
	bool counter;
	double scale;		/* 1e-9 turns ns into seconds; 0: as is */
	const char *help;
};

static const struct metric metrics[] = {
	{ "vcpus", "cpu-time-ns", "vcpu_cpu_seconds_total", true, 1e-9,
	  "Time the vCPU thread ran on a host CPU." },
	{ "vcpus", "wait-ns", "vcpu_wait_seconds_total", true, 1e-9,
	  "Time the vCPU thread waited for a host CPU (steal, as the guest sees it)." },
	{ "vcpus", "host-cpu", "vcpu_host_cpu", false, 0,
	  "The host CPU the vCPU thread last ran on." },
	{ "devices", "register-exits", "device_register_exits_total", true, 0,
	  "Device register accesses that exited to user space." },
	{ "devices", "slow-notifies", "device_slow_notifies_total", true, 0,
	  "Queue notifies that went through user space instead of an ioeventfd." },
	{ "devices", "status-refused", "device_status_refused_total", true, 0,
	  "Device status writes refused." },
	{ "iothreads", "events", "iothread_events_total", true, 0,
	  "Events the I/O thread served." },
	{ "iothreads", "cpu-time-ns", "iothread_cpu_seconds_total", true, 1e-9,
	  "Time the I/O thread ran on a host CPU (busy time)." },
	{ "iothreads", "wait-ns", "iothread_wait_seconds_total", true, 1e-9,
	  "Time the I/O thread waited for a host CPU." },
};

static void print_label(FILE *f, const char *k, const char *v)
{
	fprintf(f, "%s=\"", k);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
	fputc('"', f);
}

/* The label of a list entry: vcpu="0", device="virtio-blk0", ... */
static void print_entity(FILE *f, const char *list, json_t *e)
{
	char num[24];

	if (!strcmp(list, "devices")) {
		const char *n = json_string_value(json_object_get(e, "name"));

		print_label(f, "device", n ? n : "?");
		return;
	}
	snprintf(num, sizeof(num), "%lld", json_integer_value(
		 json_object_get(e, !strcmp(list, "vcpus") ? "cpu-index" :
				 "iothread")));
	print_label(f, !strcmp(list, "vcpus") ? "vcpu" : "iothread", num);
}

static void print_value(FILE *f, json_t *v, double scale)
{
	if (scale)
		fprintf(f, " %.9g\n", json_number_value(v) * scale);
	else if (json_is_integer(v))
		fprintf(f, " %lld\n", (long long)json_integer_value(v));
	else
		fprintf(f, " %.17g\n", json_number_value(v));
}

static void print_head(FILE *f, const char *name, bool counter,
		       const char *help)
{
	fprintf(f, "# HELP smpvisor_%s %s\n# TYPE smpvisor_%s %s\n", name,
		help, name, counter ? "counter" : "gauge");
}

/* Whether any entry of list has a number at key. */
static bool any_has(json_t *list, const char *key)
{
	json_t *e;
	size_t i;

	json_array_foreach(list, i, e)
		if (json_is_number(json_object_get(e, key)))
			return true;
	return false;
}

static void render_metric(FILE *f, json_t *st, const struct metric *m)
{
	json_t *list = json_object_get(st, m->list), *e, *v;
	size_t i;

	if (!any_has(list, m->key))
		return;
	print_head(f, m->name, m->counter, m->help);
	json_array_foreach(list, i, e) {
		v = json_object_get(e, m->key);
		if (!json_is_number(v))
			continue;
		fprintf(f, "smpvisor_%s{", m->name);
		print_entity(f, m->list, e);
		fputc('}', f);
		print_value(f, v, m->scale);
	}
}

/* Exits to user space by kind: port I/O, MMIO and the rest. */
static void render_exits(FILE *f, json_t *vcpus)
{
	static const char *const kinds[] = { "pio", "mmio", "other" };
	json_t *e;
	size_t i, k;

	if (!any_has(vcpus, "exits"))
		return;
	print_head(f, "vcpu_exits_total", true,
		   "vCPU exits handled in user space, by kind.");
	json_array_foreach(vcpus, i, e) {
		json_int_t all = json_integer_value(json_object_get(e, "exits"));
		json_int_t n[3];

		n[0] = json_integer_value(json_object_get(e, "pio-exits"));
		n[1] = json_integer_value(json_object_get(e, "mmio-exits"));
		n[2] = MAX(all - n[0] - n[1], 0);
		for (k = 0; k < ARRAY_SIZE(kinds); k++) {
			fputs("smpvisor_vcpu_exits_total{", f);
			print_entity(f, "vcpus", e);
			fputc(',', f);
			print_label(f, "kind", kinds[k]);
			fprintf(f, "} %lld\n", (long long)n[k]);
		}
	}
}

static void render_queues(FILE *f, json_t *devs)
{
	static const char *const keys[] = { "kicks", "irqs", "requests",
					    "bytes-out", "bytes-in",
					    "in-flight" };
	static const char *const names[] = { "queue_kicks_total",
					     "queue_interrupts_total",
					     "queue_requests_total",
					     "queue_driver_bytes_total",
					     "queue_device_bytes_total",
					     "queue_in_flight" };
	static const char *const helps[] = {
		"Queue notifies (kicks) the device served.",
		"Interrupts the queue raised.",
		"Requests (buffer chains) the device completed.",
		"Bytes the device read from the driver's buffers.",
		"Bytes the device wrote into the driver's buffers.",
		"Requests taken from the ring and not completed yet.",
	};
	static const bool counter[] = { true, true, true, true, true, false };
	json_t *d, *q;
	size_t i, j, k;
	char num[24];

	for (k = 0; k < ARRAY_SIZE(keys); k++) {
		bool head = false;

		json_array_foreach(devs, i, d) {
			json_array_foreach(json_object_get(d, "queues"), j, q) {
				json_t *v = json_object_get(q, keys[k]);

				if (!json_is_integer(v))
					continue;
				if (!head)
					print_head(f, names[k], counter[k], helps[k]);
				head = true;
				fprintf(f, "smpvisor_%s{", names[k]);
				print_entity(f, "devices", d);
				snprintf(num, sizeof(num), "%lld",
					 json_integer_value(json_object_get(q, "queue")));
				fputc(',', f);
				print_label(f, "queue", num);
				fputc('}', f);
				print_value(f, v, 0);
			}
		}
	}
}

/* A KVM statistic's name made a metric name: [a-zA-Z0-9_] only. */
static void kvm_name(char *out, size_t n, const char *scope,
		     const char *stat, bool counter)
{
	char *p;

	snprintf(out, n, "kvm_%s_%s%s", scope, stat, counter ? "_total" : "");
	for (p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			*p = '_';
}

static bool is_gauge(json_t *gauges, const char *stat)
{
	json_t *g;
	size_t i;

	json_array_foreach(gauges, i, g)
		if (json_is_string(g) && !strcmp(json_string_value(g), stat))
			return true;
	return false;
}

static void render_kvm(FILE *f, json_t *st)
{
	json_t *kvm = json_object_get(st, "kvm"), *vcpus, *first = NULL, *e, *v;
	json_t *gauges = json_object_get(kvm, "gauges");
	const char *stat;
	char name[160];
	size_t i;

	print_head(f, "kvm_stats_available", false,
		   "1 when KVM offers its binary statistics (KVM_CAP_BINARY_STATS_FD).");
	fprintf(f, "smpvisor_kvm_stats_available %d\n",
		json_is_true(json_object_get(kvm, "available")));
	json_object_foreach(json_object_get(kvm, "vm"), stat, v) {
		if (!json_is_integer(v))
			continue;
		kvm_name(name, sizeof(name), "vm", stat, !is_gauge(gauges, stat));
		print_head(f, name, !is_gauge(gauges, stat),
			   "KVM's statistic of the VM of this name.");
		fprintf(f, "smpvisor_%s %lld\n", name,
			(long long)json_integer_value(v));
	}
	vcpus = json_object_get(st, "vcpus");
	json_array_foreach(vcpus, i, e)
		if (!first && json_is_object(json_object_get(e, "kvm")))
			first = json_object_get(e, "kvm");
	json_object_foreach(first, stat, v) {
		bool counter = !is_gauge(gauges, stat);

		kvm_name(name, sizeof(name), "vcpu", stat, counter);
		print_head(f, name, counter,
			   "KVM's statistic of the vCPU of this name.");
		json_array_foreach(vcpus, i, e) {
			v = json_object_get(json_object_get(e, "kvm"), stat);
			if (!json_is_integer(v))
				continue;
			fprintf(f, "smpvisor_%s{", name);
			print_entity(f, "vcpus", e);
			fprintf(f, "} %lld\n", (long long)json_integer_value(v));
		}
	}
}

char *metrics_render(json_t *st)
{
	json_t *up = json_object_get(st, "uptime-ms");
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (json_is_integer(up)) {
		print_head(f, "uptime_seconds", false,
			   "Time since the guest started.");
		fprintf(f, "smpvisor_uptime_seconds %.3f\n",
			(double)json_integer_value(up) / 1000);
	}
	render_exits(f, json_object_get(st, "vcpus"));
	for (i = 0; i < ARRAY_SIZE(metrics); i++)
		render_metric(f, st, &metrics[i]);
	render_queues(f, json_object_get(st, "devices"));
	render_kvm(f, st);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}
