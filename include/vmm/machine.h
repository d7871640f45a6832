/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The machine: everything one guest is made of, assembled from the config
 * by a table of init steps (vmm/machine.c) and torn down in reverse.
 */
#ifndef SMPVISOR_MACHINE_H
#define SMPVISOR_MACHINE_H

#include <stdatomic.h>

#include "irq/irq.h"
#include "kernel/kvm.h"
#include "lib/bus.h"
#include "smp/numa.h"
#include "smp/topology.h"
#include "smp/vcpu.h"
#include "vmm/api.h"
#include "vmm/boot.h"
#include "vmm/config.h"
#include "vmm/console.h"
#include "vmm/device_manager.h"
#include "vmm/devices/acpi_pm.h"
#include "vmm/devices/legacy.h"
#include "vmm/devices/uart.h"
#include "vmm/devices/vhost_user_blk.h"
#include "vmm/devices/virtio_blk.h"
#include "vmm/devices/virtio_net.h"
#include "vmm/devices/virtio_rng.h"
#include "vmm/iothread.h"
#include "vmm/machine_snapshot.h"
#include "vmm/machine_stats.h"
#include "vmm/migrate.h"
#include "vmm/memory.h"
#include "vmm/pci.h"

/* What a reset in place writes back (vmm/machine_reset.c). */
struct machine_reset {
	struct kvm_vcpu_state *vcpu;	/* per vCPU, nr of them */
	unsigned nr;
	struct kvm_irqchip_state chip;
	int kernel_fd, initrd_fd;	/* kept open for the reload; 0: none */
	bool ready;			/* "on_reboot": "restart" */
};

/* How long stop, a panic pause or a reset waits for every vCPU to park. */
#define MACHINE_PAUSE_TIMEOUT_MS	5000

struct machine {
	const struct config *cfg;
	const struct numa_host *host;	/* read once at start-up (host step) */
	struct kvm_vm kvm;
	struct guest_mem mem;
	struct bus pio, mmio;
	struct smp_topo topo;
	struct kvm_cpuid2 *supported_cpuid;
	struct vcpus vcpus;
	struct boot_info boot;
	u64 rsdp;

	struct device_manager dm;	/* owns every device below */
	bool dm_ok;
	struct uart com1;
	struct i8042 i8042;
	struct cmos cmos;
	struct acpi_pm pm;
	struct post post;
	struct pvpanic pvpanic;
	struct console console;

	/* I/O: vmm/machine_io.c */
	struct irq_router irq;
	struct pci_host pci;
	struct iothread *iothreads;
	struct iothread **iot_ptrs;
	unsigned nr_iothreads;
	/*
	 * Without "iothreads": one per host node used, iot_node[i] its node
	 * and iot_pin[i] that node's CPUs (both NULL with "iothreads").
	 */
	int *iot_node;
	struct cpulist *iot_pin;
	struct virtio_blk *disks;
	unsigned nr_disks;
	struct vhost_user_blk *vdisks;	/* vhost-user ones */
	unsigned nr_vdisks;
	struct virtio_net *nets;
	unsigned nr_nets;
	struct virtio_rng rng;
	bool rng_ok;

	/* The control API and pause (vmm/machine_api.c). */
	struct api api;
	bool api_ok;
	pthread_mutex_t run_lock;	/* pause and resume */
	bool paused;			/* under run_lock */
	u64 start_ns;
	struct machine_stats stats;	/* vmm/machine_stats.c */

	struct vm_control ctl;	/* devices and vCPUs ask to stop through it */
	atomic_int exit_reason;	/* first enum vm_exit_reason asked for wins */
	int exit_fd;		/* eventfd: wakes the main thread on a request */
	atomic_bool panic_pause;	/* on_panic pause: the main thread pauses */
	/*
	 * Events from vCPU and I/O threads (GUEST_PANICKED, DEVICE_ERROR)
	 * stop before the API goes away at the end of machine_run.
	 */
	pthread_mutex_t event_lock;
	bool events_off;		/* under event_lock */
	/* Reset in place (vmm/machine_reset.c). */
	struct machine_reset reset;
	atomic_bool reset_pending;	/* the main thread resets */
	atomic_bool reset_by_host;	/* system_reset sent its own event */
	u64 resets;			/* under run_lock */
	/* Snapshot and restore (vmm/machine_snapshot.c, machine_restore.c). */
	struct machine_snap snap;
	atomic_bool snapshot_exit;	/* the VM ends because it was saved */
	/* Live migration (vmm/migrate.c, vmm/migrate_in.c). */
	struct migration mig;
	atomic_bool migrated;		/* the VM ends: it runs elsewhere now */
	int incoming_fd;		/* destination: the stream; -1: none */
	int steps_done;		/* init steps completed, for teardown */
	unsigned nr_iot_pin;	/* iot_pin entries to free */
};

/* Capture / free what a reset writes back; the reset (main thread). */
int machine_reset_init(struct machine *m);
void machine_reset_exit(struct machine *m);
int machine_restart(struct machine *m);
/* The ACPI tables and the kernel into guest RAM, the boot vCPU at its entry. */
int machine_load_guest(struct machine *m);

/* Build the machine from a validated config; 0 or -errno (message printed). */
int machine_init(struct machine *m, const struct config *cfg);
/*
 * Run until the guest powers off, resets, dies, or the user/signal stops
 * it; returns the reason. SIGINT/SIGTERM first press the ACPI power button
 * and give the guest grace_ms to power off.
 */
enum vm_exit_reason machine_run(struct machine *m, int grace_ms);
void machine_destroy(struct machine *m);
/*
 * The process exit status for a machine_run result: 0 for a clean end
 * (power off, reset, the user), 1 for a set-up error, 2 when the guest died.
 */
int machine_exit_status(enum vm_exit_reason why);
/* Init steps of vmm/machine.c that the unit tests call on their own. */
int machine_x2apic_init(struct machine *m);
int machine_dedicated_init(struct machine *m);
/*
 * vmm/machine_api.c: pause every vCPU then every device (0, or -errno and
 * still running), resume them, send an event to API clients (takes the
 * reference), and the API's start and stop within machine_run.
 */
int machine_pause(struct machine *m);
void machine_resume(struct machine *m);
void machine_event(struct machine *m, const char *name, json_t *data);
int machine_api_init(struct machine *m);
void machine_api_exit(struct machine *m);
int machine_api_start(struct machine *m);
void machine_api_stop(struct machine *m, enum vm_exit_reason why);
/* With -v, after machine_run: per-vCPU exits and per-device counters. */
void machine_log_stats(struct machine *m);

/*
 * Init steps of the I/O half (vmm/machine_io.c), listed in machine.c;
 * machine_pci_init/exit run within the "devices" step.
 */
int machine_irq_init(struct machine *m);
void machine_irq_exit(struct machine *m);
int machine_iothreads_init(struct machine *m);
void machine_iothreads_exit(struct machine *m);
int machine_pci_init(struct machine *m);
void machine_pci_exit(struct machine *m);
int machine_iothreads_start(struct machine *m);
void machine_iothreads_stop(struct machine *m);

#endif
