/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The machine description: a JSON config file, then command-line options
 * on top of it (options win whatever their order relative to --config),
 * then config_validate to fill in defaults and refuse what cannot run
 * (vmm/config.c, vmm/config_cli.c and vmm/config_check.c; the option table
 * they share is vmm/config_keys.h).
 *
 * Typical use:
 *	config_init(&c);
 *	ret = config_parse_args(&c, argc, argv);
 *	if (!ret && c.cmd == CONFIG_CMD_RUN)
 *		ret = config_validate(&c, max_vcpus);
 *	...
 *	config_free(&c);
 */
#ifndef SMPVISOR_CONFIG_H
#define SMPVISOR_CONFIG_H

#include "lib/parse.h"
#include "lib/sandbox.h"
#include "lib/util.h"
#include "smp/cpuid.h"
#include "smp/pin.h"

#define SMPVISOR_VERSION	"0.1.0"

#define CONFIG_DEFAULT_MEM	(512 * MiB)
#define CONFIG_DEFAULT_SHUTDOWN_TIMEOUT 10	/* seconds after the power button */
/* Host CPU and node numbers in the config must be below these. */
#define CONFIG_HOST_CPUS	SMP_HOST_CPUS
#define CONFIG_HOST_NODES	1024
/* Guest NUMA nodes (equals GUEST_MEM_MAX_NODES). */
#define CONFIG_MAX_NODES	64
/* vCPU ids named in "cpus.pin" and "numa[].cpus" must be below this. */
#define CONFIG_MAX_VCPU_IDS	8192

/* How a guest node's memory is tied to its host nodes (set_mempolicy(2)). */
enum config_policy {
	CONFIG_POLICY_BIND,		/* MPOL_BIND: only there */
	CONFIG_POLICY_PREFERRED,	/* MPOL_PREFERRED: there if possible */
	CONFIG_POLICY_INTERLEAVE,	/* MPOL_INTERLEAVE: spread over them */
};

/* One entry of "numa": a guest NUMA node. */
struct config_node {
	struct cpulist cpus;		/* its vCPUs (CONFIG_MAX_VCPU_IDS bits) */
	u64 mem_size;			/* bytes */
	struct cpulist host_nodes;	/* empty: memory not bound */
	enum config_policy policy;
	unsigned nr_distances;		/* 0: defaults (10 local, 20 remote) */
	u8 distances[CONFIG_MAX_NODES];	/* its SLIT row */
};

/* One "cpus.pin" entry: these vCPUs may run on those host CPUs. */
struct config_pin {
	struct cpulist vcpus;		/* CONFIG_MAX_VCPU_IDS bits */
	struct cpulist host;		/* CONFIG_HOST_CPUS bits */
};

/* One I/O thread ("iothreads": [ {"pin": "2"} ] or "iothreads": N). */
struct config_iothread {
	struct cpulist pin;		/* host CPUs; valid only when pinned */
	bool pinned;
};

/* One disk: "disks": [ {...} ] or --disk (vmm/config_disk.c). */
struct config_disk {
	char *path;			/* raw image file or block device */
	char *vhost_user;		/* or: a vhost-user-blk back end's socket */
	char *serial;			/* NULL: a default one */
	bool readonly;
	unsigned queues;		/* 0 until validated: one per vCPU */
	int iothread;			/* -1: queues spread over all */
};

/* One network device: "net": [ {...} ] or --net (vmm/config_net.c). */
#define CONFIG_NET_MAX_QUEUES	256	/* queue pairs; the tap driver's limit */
struct config_net {
	char *tap;			/* tap interface name (IFNAMSIZ - 1 at most) */
	unsigned queues;		/* queue pairs, 1 by default */
	u8 mac[6];
	bool mac_given;			/* false: a random local one */
	int vhost;			/* vhost-net: -1 if present, 0 no, 1 must */
};

/* "on_panic", --on-panic: what a guest panic (pvpanic) leads to. */
enum config_on_panic {
	CONFIG_ON_PANIC_EXIT,		/* end the VM, exit status 2 (default) */
	CONFIG_ON_PANIC_PAUSE,		/* pause it, for a look through the API */
};

/* "on_reboot", --on-reboot: what a guest reset (reboot) leads to. */
enum config_on_reboot {
	CONFIG_ON_REBOOT_EXIT,		/* end the VM, exit status 0 (default) */
	CONFIG_ON_REBOOT_RESTART,	/* reset the machine in place */
};

enum config_cmd {
	CONFIG_CMD_NONE,	/* only --help or --version */
	CONFIG_CMD_RUN,
};

struct config {
	enum config_cmd cmd;
	char *config_path;	/* the --config file, if any */
	char *kernel, *initrd, *cmdline;
	char *api_socket;	/* "api.socket", --api-socket: the control API */
	enum config_on_panic on_panic;
	enum config_on_reboot on_reboot;
	/*
	 * --restore DIR: rebuild the VM a snapshot in DIR holds and resume
	 * it (vmm/machine_snapshot.c); --force takes disks changed since.
	 * run_argv: the run options as given (argv after "run"), which a
	 * snapshot records so --restore DIR alone can rebuild the machine.
	 */
	char *restore_dir;
	bool restore_force;
	char *incoming;		/* --incoming URI: wait for a migrated VM */
	char *const *run_argv;
	int run_argc;
	/* "sandbox" (vmm/sandbox.c): seccomp on|log|off, user, Landlock. */
	enum sandbox_seccomp seccomp;
	char *sandbox_user;	/* "sandbox.user", --user: run as this user */
	bool landlock;		/* "sandbox.landlock" (default true) */

	u64 mem_size;		/* bytes */
	bool mem_hugepages;	/* back guest RAM with huge pages */
	bool mem_prefault;	/* touch every page before the guest starts */
	unsigned mem_prefault_threads;	/* 0: one per usable CPU, at most 16 */
	bool mem_overcommit;	/* more RAM than the host has is intended */
	bool mem_size_given;	/* size set by the file or --memory */

	unsigned int nr_cpus;
	/* 0 means "not given": config_validate derives it. */
	unsigned int sockets, cores, threads;

	/*
	 * NUMA: nr_nodes 0 means one node and no SRAT. numa_auto ("numa":
	 * "auto") asks numa_plan_auto to fill nodes from the host topology.
	 */
	struct config_node *nodes;
	unsigned nr_nodes;
	bool numa_auto;

	/* "cpus.pin" entries as written, and "cpus.pin": "auto". */
	struct config_pin *pins;
	unsigned nr_pins;
	bool pin_auto;
	bool dedicated;		/* "cpus.dedicated" */
	/*
	 * "cpus.halt_poll_ns": how long KVM may poll a halted vCPU before it
	 * sleeps; CONFIG_HALT_POLL_AUTO (not given) is 0 when vCPUs outnumber
	 * the host CPUs smpvisor may use, KVM's default otherwise.
	 */
	unsigned halt_poll_ns;

	/*
	 * Filled by config_validate: vcpu_node[i] is vCPU i's guest node (0
	 * without NUMA); vcpu_pin[i] its host CPUs, .bits NULL when unpinned.
	 */
	u32 *vcpu_node;
	struct cpulist *vcpu_pin;
	unsigned nr_vcpu_pin;	/* entries of vcpu_pin */

	struct config_iothread *iothreads;
	unsigned nr_iothreads;

	struct config_disk *disks;
	unsigned nr_disks;

	struct config_net *nets;
	unsigned nr_nets;
	bool rng;		/* "rng": a virtio-rng device (default true) */

	struct cpulist vmm_pin;	/* "vmm.pin": the main thread */
	bool vmm_pinned;
	unsigned shutdown_timeout; /* "vmm.shutdown_timeout": seconds (default 10) */

	unsigned pv;		/* enum pv_feature bits left on */

	int verbose;		/* number of -v */
	bool quiet;		/* -q */
	bool help, version;
};

#define CONFIG_HALT_POLL_AUTO	UINT32_MAX

/* Defaults: 1 vCPU, CONFIG_DEFAULT_MEM, nothing else set. */
void config_init(struct config *c);
void config_free(struct config *c);

/*
 * Merge a JSON config file into c (keys it does not name keep their value).
 * Every problem is reported with a one-line message naming the file and
 * the key: unknown keys at any level, wrong types, bad sizes, JSON syntax
 * errors (with line:column), a missing file. 0 or -errno; after an error c
 * may hold part of the file and should just be freed.
 */
int config_parse_file(struct config *c, const char *path);

/*
 * Parse "smpvisor --help | --version | run [options]" (argv[0] is the
 * program). A --config file is applied first, the other options over it.
 * Sets c->help / c->version instead of acting on them. 0 or -errno with a
 * message.
 */
int config_parse_args(struct config *c, int argc, char **argv);

/*
 * Check the result and complete the topology: a kernel is required, 1 to
 * max_vcpus vCPUs (the KVM limit the caller read), sockets x cores x
 * threads == vCPUs (defaults: 1 socket, 1 thread, cores to fill), memory
 * a non-zero multiple of 4 KiB (of 2 MiB with huge pages). With "numa":
 * every vCPU in exactly one node, node memory summing to memory.size,
 * distance rows of the right length. Pins name existing vCPUs; dedicated
 * mode needs every vCPU pinned to its own single CPU. Fills vcpu_node and
 * vcpu_pin. Host-side checks (nodes and CPUs that exist and are allowed)
 * are numa_check_host's and smp_pin_check's. 0 or -EINVAL with a message.
 */
int config_validate(struct config *c, unsigned int max_vcpus);

/* The --help text. */
const char *config_usage(void);

/* The log level -v/-q ask for (main stores it in log_level). */
enum log_level config_log_level(const struct config *c);

/* Disks (vmm/config_disk.c): the "disks" key, --disk, checks, free. */
struct json_t;
int config_disks_json(struct config *c, const char *file, const char *path,
		      struct json_t *v);
int config_disk_arg(struct config *c, const char *arg);
int config_disks_validate(struct config *c);
void config_disks_free(struct config *c);

/* Network devices (vmm/config_net.c): "net", --net, checks, free. */
int config_nets_json(struct config *c, const char *file, const char *path,
		     struct json_t *v);
int config_net_arg(struct config *c, const char *arg);
int config_nets_validate(struct config *c);
void config_nets_free(struct config *c);
/* "xx:xx:xx:xx:xx:xx" to mac: -EINVAL when malformed or multicast. */
int config_parse_mac(const char *s, u8 mac[6]);
/* "exit" or "pause" (vmm/config.c): 0 with *out set, or -EINVAL. */
int config_seccomp_parse(const char *s, enum sandbox_seccomp *out);
int config_on_reboot_parse(const char *s, enum config_on_reboot *out);
int config_on_panic_parse(const char *s, enum config_on_panic *out);

#endif
