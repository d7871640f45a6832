// SPDX-License-Identifier: GPL-2.0
/*
 * The machine behind the control API: pause and resume through the vCPU
 * threads and the device manager, and the QMP commands (include/vmm/
 * api.h, qmp.h) that operate a running guest. Commands run on the API
 * thread.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/machine.h"
#include "vmm/machine_numa.h"

#define SMPVISOR_API_VERSION	"0.1.0"

void machine_event(struct machine *m, const char *name, json_t *data)
{
	if (m->api_ok)
		api_event(&m->api, name, data);
	json_decref(data);
}

/*
 * Pause: every vCPU parked out of KVM_RUN first (so no guest access
 * starts new device work), then every device quiesced. Resume in the
 * other order. 0, or -errno with the machine still running.
 */
int machine_pause(struct machine *m)
{
	int r = 0;

	pthread_mutex_lock(&m->run_lock);
	if (!m->paused) {
		r = vcpus_pause(&m->vcpus, MACHINE_PAUSE_TIMEOUT_MS);
		if (!r) {
			dm_pause(&m->dm);
			m->paused = true;
		}
	}
	pthread_mutex_unlock(&m->run_lock);
	if (!r)
		machine_event(m, "STOP", NULL);
	return r;
}

void machine_resume(struct machine *m)
{
	bool was;

	pthread_mutex_lock(&m->run_lock);
	was = m->paused;
	if (was) {
		dm_resume(&m->dm);
		vcpus_resume(&m->vcpus);
		m->paused = false;
	}
	pthread_mutex_unlock(&m->run_lock);
	if (was)
		machine_event(m, "RESUME", NULL);
}

static const char *status_name(struct machine *m)
{
	if (atomic_load(&m->exit_reason) != VM_EXIT_NONE)
		return "shutdown";
	return m->paused ? "paused" : "running";
}

static int cmd_query_status(void *ctx, json_t *args, json_t **ret,
			    struct qmp_error *err)
{
	struct machine *m = ctx;
	const char *st;

	(void)args;
	(void)err;
	pthread_mutex_lock(&m->run_lock);
	st = status_name(m);
	pthread_mutex_unlock(&m->run_lock);
	*ret = json_pack("{s:b,s:s,s:I}", "running", !strcmp(st, "running"),
			 "status", st, "uptime-ms",
			 (json_int_t)((now_ns() - m->start_ns) / 1000000));
	return 0;
}

static int cmd_stop(void *ctx, json_t *args, json_t **ret,
		    struct qmp_error *err)
{
	int r = machine_pause(ctx);

	(void)args;
	(void)ret;
	if (r == -ETIMEDOUT)
		return qmp_fail(err, "GenericError",
				"a vCPU did not stop within %u ms; still running",
				MACHINE_PAUSE_TIMEOUT_MS);
	if (r)
		return qmp_fail(err, "GenericError", "cannot pause: %s",
				strerror(-r));
	return 0;
}

static int cmd_cont(void *ctx, json_t *args, json_t **ret,
		    struct qmp_error *err)
{
	(void)args;
	(void)ret;
	(void)err;
	machine_resume(ctx);
	return 0;
}

static int cmd_powerdown(void *ctx, json_t *args, json_t **ret,
			 struct qmp_error *err)
{
	struct machine *m = ctx;

	(void)args;
	(void)ret;
	(void)err;
	acpi_pm_power_button(&m->pm);
	machine_event(m, "POWERDOWN", NULL);
	return 0;
}

/*
 * A reset does what a guest reboot does: ends the VM (the process exits
 * 0), or with "on_reboot": "restart" resets it in place.
 */
static int cmd_reset(void *ctx, json_t *args, json_t **ret,
		     struct qmp_error *err)
{
	struct machine *m = ctx;

	(void)args;
	(void)ret;
	(void)err;
	machine_event(m, "RESET", json_pack("{s:b,s:s}", "guest", false,
					    "reason", "host-qmp-system-reset"));
	atomic_store(&m->reset_by_host, true);
	m->ctl.request_exit(m, VM_EXIT_RESET);
	return 0;
}

static int cmd_quit(void *ctx, json_t *args, json_t **ret,
		    struct qmp_error *err)
{
	struct machine *m = ctx;

	(void)args;
	(void)ret;
	(void)err;
	m->ctl.request_exit(m, VM_EXIT_USER);
	return 0;
}

/* Field 39 of /proc/self/task/TID/stat: the CPU the thread last ran on. */
int machine_thread_cpu(int tid)
{
	char path[64], buf[1024], *p;
	int cpu = -1, i;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')'))) {
		/* Fields from 3 on follow the command name's ')'. */
		for (i = 3, p++; p && i < 39; i++)
			p = strchr(p + 1, ' ');
		if (p)
			cpu = atoi(p + 1);
	}
	fclose(f);
	return cpu;
}

static char *allowed_cpus(int tid)
{
	struct cpulist cl;
	cpu_set_t set;
	char *s = NULL;
	int c;

	if (sched_getaffinity(tid, sizeof(set), &set) ||
	    cpulist_init(&cl, CPU_SETSIZE))
		return NULL;
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			cpulist_set(&cl, (unsigned)c);
	s = cpulist_format(&cl);
	cpulist_free(&cl);
	return s;
}

static int cmd_query_cpus(void *ctx, json_t *args, json_t **ret,
			  struct qmp_error *err)
{
	struct machine *m = ctx;
	json_t *list = json_array();
	unsigned i;

	(void)args;
	if (!list)
		return qmp_fail(err, "GenericError", "out of memory");
	for (i = 0; i < m->vcpus.nr; i++) {
		const struct vcpu *v = &m->vcpus.v[i];
		struct smp_topo_pos pos;
		int tid = atomic_load(&v->tid);
		char *allowed = tid ? allowed_cpus(tid) : NULL;
		json_t *c;

		smp_topo_pos(&m->topo, i, &pos);
		c = json_pack("{s:i,s:i,s:I,s:{s:i,s:i,s:i,s:i},s:i,s:s?}",
			      "cpu-index", (int)i, "thread-id", tid,
			      "apic-id", (json_int_t)v->apic_id,
			      "props", "socket-id", (int)pos.socket,
			      "core-id", (int)pos.core, "thread-id",
			      (int)pos.thread, "node-id",
			      m->cfg->nr_nodes ? (int)m->cfg->vcpu_node[i] : 0,
			      "host-cpu", tid ? machine_thread_cpu(tid) : -1,
			      "allowed-cpus", allowed);
		free(allowed);
		if (c)
			json_array_append_new(list, c);
	}
	*ret = list;
	return 0;
}

static int cmd_query_version(void *ctx, json_t *args, json_t **ret,
			     struct qmp_error *err)
{
	(void)ctx;
	(void)args;
	(void)err;
	*ret = json_pack("{s:s,s:s}", "smpvisor", SMPVISOR_API_VERSION,
			 "package", "smpvisor " SMPVISOR_API_VERSION);
	return 0;
}

static int cmd_query_commands(void *ctx, json_t *args, json_t **ret,
			      struct qmp_error *err);

static const struct qmp_cmd machine_cmds[] = {
	{ "query-status",	cmd_query_status },
	{ "stop",		cmd_stop },
	{ "cont",		cmd_cont },
	{ "system_powerdown",	cmd_powerdown },
	{ "system_reset",	cmd_reset },
	{ "quit",		cmd_quit },
	{ "query-cpus-fast",	cmd_query_cpus },
	{ "query-version",	cmd_query_version },
	{ "query-commands",	cmd_query_commands },
	MACHINE_STATS_CMDS,
	MACHINE_NUMA_CMDS,
	MACHINE_SNAPSHOT_CMDS,
	MACHINE_MIGRATE_CMDS,
};

static int cmd_query_commands(void *ctx, json_t *args, json_t **ret,
			      struct qmp_error *err)
{
	json_t *list = json_array();
	unsigned i;

	(void)ctx;
	(void)args;
	if (!list)
		return qmp_fail(err, "GenericError", "out of memory");
	json_array_append_new(list, json_pack("{s:s}", "name",
					      "qmp_capabilities"));
	for (i = 0; i < ARRAY_SIZE(machine_cmds); i++)
		json_array_append_new(list, json_pack("{s:s}", "name",
						      machine_cmds[i].name));
	*ret = list;
	return 0;
}

/* The socket is made at set-up, so a bad path fails before the guest runs. */
int machine_api_init(struct machine *m)
{
	int r;

	m->start_ns = now_ns();
	if (!m->cfg->api_socket)
		return 0;
	r = api_init(&m->api, m->cfg->api_socket, machine_cmds,
		     ARRAY_SIZE(machine_cmds), m, SMPVISOR_API_VERSION);
	if (r) {
		api_destroy(&m->api);
		return r;
	}
	m->api_ok = true;
	machine_stats_open(m);
	return 0;
}

void machine_api_exit(struct machine *m)
{
	machine_stats_close(m);
	if (m->api_ok)
		api_destroy(&m->api);
	m->api_ok = false;
}

int machine_api_start(struct machine *m)
{
	m->start_ns = now_ns();
	if (!m->api_ok)
		return 0;
	pr_info("api: serving QMP on %s", m->cfg->api_socket);
	return api_start(&m->api);
}

static const char *shutdown_reason(enum vm_exit_reason why)
{
	switch (why) {
	case VM_EXIT_POWEROFF:
		return "guest-shutdown";
	case VM_EXIT_RESET:
		return "guest-reset";
	case VM_EXIT_FATAL:
		return "guest-panic";
	default:
		return "host-qmp-quit";
	}
}

void machine_api_stop(struct machine *m, enum vm_exit_reason why)
{
	if (!m->api_ok)
		return;
	machine_event(m, "SHUTDOWN", json_pack("{s:b,s:s}", "guest",
		      why == VM_EXIT_POWEROFF || why == VM_EXIT_RESET,
		      "reason", atomic_load(&m->snapshot_exit) ? "snapshot" :
		      atomic_load(&m->migrated) ? "migrated" : shutdown_reason(why)));
	api_destroy(&m->api);
	m->api_ok = false;
}
