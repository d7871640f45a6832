// SPDX-License-Identifier: GPL-2.0
/*
 * Telemetry and pinning on the control API without KVM:
 * - metrics_render (vmm/metrics.c) on a fixed query-stats reply: HELP and
 *   TYPE before each metric's samples, one TYPE per metric, labels and
 *   values as the text format wants, label values escaped, KVM's gauges
 *   left without "_total", fields a reply lacks leaving their metric out;
 * - set-vcpu-affinity and set-iothread-affinity (vmm/machine_stats.c)
 *   through a QMP session on a machine of two vCPUs whose first one is
 *   this test's thread: a missing or wrong-typed argument, an index out
 *   of range, a malformed or empty CPU list, a CPU outside this process's
 *   set and a vCPU not running yet each get an error reply naming the
 *   reason; a valid list pins the thread and the reply names the set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "smp/pin.h"
#include "vmm/machine.h"
#include "vmm/machine_stats.h"
#include "vmm/metrics.h"

#include "qmp_call.h"

static const char stats_json[] =
"{\"uptime-ms\": 2500,"
" \"kvm\": {\"available\": true, \"vm\": {\"remote_tlb_flush\": 7,"
"          \"pages_4k\": 100}, \"gauges\": [\"pages_4k\"]},"
" \"vcpus\": [{\"cpu-index\": 0, \"thread-id\": 11, \"host-cpu\": 1,"
"             \"exits\": 10, \"pio-exits\": 6, \"mmio-exits\": 3,"
"             \"cpu-time-ns\": 1500000000, \"wait-ns\": 2000,"
"             \"kvm\": {\"exits\": 50, \"halt_exits\": 4}},"
"            {\"cpu-index\": 1, \"thread-id\": 12, \"host-cpu\": 0,"
"             \"exits\": 5, \"pio-exits\": 5, \"mmio-exits\": 0,"
"             \"kvm\": {\"exits\": 20, \"halt_exits\": 2}}],"
" \"devices\": [{\"name\": \"virtio-\\\"x\\\\\", \"register-exits\": 3,"
"               \"slow-notifies\": 0, \"status-refused\": 0,"
"               \"queues\": [{\"queue\": 0, \"kicks\": 9, \"irqs\": 8},"
"                            {\"queue\": 1, \"kicks\": 1, \"irqs\": 0}]}],"
" \"iothreads\": [{\"iothread\": 0, \"thread-id\": 13, \"events\": 42}]}";

static char *render(void)
{
	json_t *st = json_loads(stats_json, 0, NULL);
	char *text;

	assert_non_null(st);
	text = metrics_render(st);
	json_decref(st);
	assert_non_null(text);
	return text;
}

static void has(const char *text, const char *line)
{
	if (!strstr(text, line))
		fail_msg("no line \"%s\" in:\n%s", line, text);
}

static void test_metrics_samples(void **state)
{
	char *t = render();

	(void)state;
	has(t, "smpvisor_uptime_seconds 2.500\n");
	has(t, "smpvisor_vcpu_exits_total{vcpu=\"0\",kind=\"pio\"} 6\n");
	has(t, "smpvisor_vcpu_exits_total{vcpu=\"0\",kind=\"other\"} 1\n");
	has(t, "smpvisor_vcpu_exits_total{vcpu=\"1\",kind=\"mmio\"} 0\n");
	has(t, "smpvisor_vcpu_cpu_seconds_total{vcpu=\"0\"} 1.5\n");
	has(t, "smpvisor_queue_kicks_total{device=\"virtio-\\\"x\\\\\",queue=\"1\"} 1\n");
	has(t, "smpvisor_queue_interrupts_total{device=\"virtio-\\\"x\\\\\",queue=\"0\"} 8\n");
	has(t, "smpvisor_iothread_events_total{iothread=\"0\"} 42\n");
	has(t, "smpvisor_kvm_vm_remote_tlb_flush_total 7\n");
	has(t, "# TYPE smpvisor_kvm_vm_pages_4k gauge\n");
	has(t, "smpvisor_kvm_vm_pages_4k 100\n");
	has(t, "smpvisor_kvm_vcpu_halt_exits_total{vcpu=\"1\"} 2\n");
	has(t, "smpvisor_kvm_stats_available 1\n");
	/* vCPU 1 has no cpu time: no sample, but vCPU 0's metric is there. */
	assert_null(strstr(t, "smpvisor_vcpu_cpu_seconds_total{vcpu=\"1\"}"));
	/* No I/O thread reported cpu time: no such metric at all. */
	assert_null(strstr(t, "iothread_cpu_seconds"));
	free(t);
}

/* Every sample follows its metric's HELP and TYPE; one TYPE per metric. */
static void test_metrics_format(void **state)
{
	char *t = render(), *line, *save = NULL, typed[64][96];
	unsigned nr = 0, i;

	(void)state;
	for (line = strtok_r(t, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[96];
		bool known = false;

		if (!strncmp(line, "# HELP ", 7))
			continue;
		if (sscanf(line, "# TYPE %95s", name) == 1) {
			for (i = 0; i < nr; i++)
				assert_string_not_equal(typed[i], name);
			assert_true(nr < 64);
			strcpy(typed[nr++], name);
			assert_true(strstr(line, " counter") || strstr(line, " gauge"));
			continue;
		}
		assert_int_equal(sscanf(line, "%95[a-zA-Z0-9_:]", name), 1);
		known = nr && !strcmp(typed[nr - 1], name);
		if (!known)
			fail_msg("sample of %s not right after its TYPE: %s", name,
				 line);
		assert_non_null(strrchr(line, ' '));
	}
	free(t);
}

/* A reply without KVM statistics, or junk, still renders. */
static void test_metrics_partial(void **state)
{
	json_t *st = json_pack("{s:{s:b,s:s},s:[i],s:s}", "kvm", "available",
			       false, "reason", "KVM lacks it", "vcpus", 3,
			       "devices", "junk");
	char *t = metrics_render(st);

	(void)state;
	assert_non_null(t);
	has(t, "smpvisor_kvm_stats_available 0\n");
	assert_null(strstr(t, "smpvisor_vcpu_exits_total{"));
	free(t);
	json_decref(st);
}

static const struct qmp_cmd cmds[] = { MACHINE_STATS_CMDS };

static json_t *call(struct machine *m, const char *cmd)
{
	return qmp_call(cmds, ARRAY_SIZE(cmds), m, cmd);
}

static void expect_error(struct machine *m, const char *cmd, const char *what)
{
	qmp_expect_error(cmds, ARRAY_SIZE(cmds), m, cmd, what);
}

struct fixture {
	struct machine m;
	struct vcpu v[2];
	struct iothread t;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->m.vcpus.v = f->v;
	f->m.vcpus.nr = 2;
	atomic_store(&f->v[0].tid, (int)gettid());	/* vCPU 1 never ran */
	f->m.iothreads = &f->t;
	f->m.nr_iothreads = 1;
	atomic_store(&f->t.tid, (int)gettid());
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

#define SET_VCPU "{\"execute\":\"set-vcpu-affinity\",\"arguments\":"

static void test_affinity_refused(void **state)
{
	struct fixture *f = *state;
	struct machine *m = &f->m;

	expect_error(m, SET_VCPU "{\"cpus\":\"0\"}}\n", "'cpu-index' must be given");
	expect_error(m, SET_VCPU "{\"cpu-index\":\"0\",\"cpus\":\"0\"}}\n",
		     "as an integer");
	expect_error(m, SET_VCPU "{\"cpu-index\":2,\"cpus\":\"0\"}}\n",
		     "no vCPU 2 (there are 2)");
	expect_error(m, SET_VCPU "{\"cpu-index\":-1,\"cpus\":\"0\"}}\n", "no vCPU -1");
	expect_error(m, SET_VCPU "{\"cpu-index\":0}}\n", "'cpus' must be given");
	expect_error(m, SET_VCPU "{\"cpu-index\":0,\"cpus\":[0]}}\n",
		     "'cpus' must be given");
	expect_error(m, SET_VCPU "{\"cpu-index\":0,\"cpus\":\"3-1\"}}\n",
		     "not a CPU list");
	expect_error(m, SET_VCPU "{\"cpu-index\":0,\"cpus\":\"\"}}\n",
		     "not a CPU list");
	expect_error(m, SET_VCPU "{\"cpu-index\":0,\"cpus\":\"0,x\"}}\n",
		     "not a CPU list");
	expect_error(m, SET_VCPU "{\"cpu-index\":0,\"cpus\":\"99999\"}}\n",
		     "CPU numbers stop below");
	expect_error(m, SET_VCPU "{\"cpu-index\":0,\"cpus\":8191}}\n",
		     "vcpu 0: CPU 8191 is outside the CPUs this process may use");
	expect_error(m, SET_VCPU "{\"cpu-index\":1,\"cpus\":\"0\"}}\n",
		     "vcpu 1 is not running");
	expect_error(m, "{\"execute\":\"set-iothread-affinity\",\"arguments\":"
		     "{\"iothread\":1,\"cpus\":\"0\"}}\n", "no I/O thread 1");
}

/* Pinning to every CPU the process may use changes nothing, but works. */
static void test_affinity_applied(void **state)
{
	struct fixture *f = *state;
	struct cpulist allowed = { 0 };
	char cmd[256], *list;
	json_t *r;

	assert_int_equal(smp_pin_allowed(&allowed), 0);
	list = cpulist_format(&allowed);
	assert_non_null(list);
	snprintf(cmd, sizeof(cmd), SET_VCPU "{\"cpu-index\":0,\"cpus\":\"%s\"}}\n",
		 list);
	r = call(&f->m, cmd);
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(r, "return"), "cpus")), list);
	json_decref(r);
	snprintf(cmd, sizeof(cmd), "{\"execute\":\"set-iothread-affinity\","
		 "\"arguments\":{\"iothread\":0,\"cpus\":\"%s\"}}\n", list);
	r = call(&f->m, cmd);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(r, "return"), "thread-id")), gettid());
	json_decref(r);
	free(list);
	cpulist_free(&allowed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_samples),
		cmocka_unit_test(test_metrics_format),
		cmocka_unit_test(test_metrics_partial),
		cmocka_unit_test_setup_teardown(test_affinity_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_affinity_applied, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
