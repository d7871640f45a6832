// SPDX-License-Identifier: GPL-2.0
/*
 * Machine assembly. The init order lives in one table (steps[] below) with
 * each step's teardown beside it; machine_destroy runs the teardowns of the
 * completed steps in reverse, so a failure half way unwinds cleanly.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/sandbox.h"
#include "lib/layout.h"
#include "smp/pin.h"
#include "smp/pv.h"
#include "smp/vcpu_setup.h"
#include "vmm/acpi.h"
#include "vmm/machine.h"
#include "vmm/numa_place.h"
#include "vmm/sandbox.h"

/* --- the control interface devices and vCPUs use to stop the machine --- */

static void request_exit(void *opaque, enum vm_exit_reason why)
{
	struct machine *m = opaque;
	int none = VM_EXIT_NONE;
	u64 one = 1;

	/*
	 * A reset in place: park the vCPUs now (the one asking included,
	 * when it returns to its loop) and let the main thread reset.
	 */
	if (why == VM_EXIT_RESET && m->reset.ready &&
	    atomic_load(&m->exit_reason) == VM_EXIT_NONE) {
		vcpus_pause_async(&m->vcpus);
		atomic_store(&m->reset_pending, true);
		if (write(m->exit_fd, &one, sizeof(one)) < 0)
			pr_err("cannot wake the main thread: %s", strerror(errno));
		return;
	}
	/* The first reason wins; later ones (other vCPUs dying) are noise. */
	if (atomic_compare_exchange_strong(&m->exit_reason, &none, why)) {
		vcpus_stop(&m->vcpus);
		if (write(m->exit_fd, &one, sizeof(one)) < 0)
			pr_err("cannot wake the main thread: %s", strerror(errno));
	}
}

/*
 * An event from a vCPU or I/O thread: sent only while the API lives
 * (machine_run turns them off before machine_api_stop).
 */
static void thread_event(struct machine *m, const char *name, json_t *data)
{
	pthread_mutex_lock(&m->event_lock);
	if (!m->events_off)
		machine_event(m, name, data);
	else
		json_decref(data);
	pthread_mutex_unlock(&m->event_lock);
}

/*
 * pvpanic's report, on the vCPU thread that wrote the port: the event,
 * then the exit, or a pause handed to the main thread (machine_pause
 * waits for every vCPU to park, this one included).
 */
static void guest_panicked(void *opaque, u8 events)
{
	struct machine *m = opaque;
	bool pause = m->cfg->on_panic == CONFIG_ON_PANIC_PAUSE;
	u64 one = 1;

	if (events & PVPANIC_CRASH_LOADED)
		pr_info("guest: a crash kernel takes over");
	if (!(events & PVPANIC_PANICKED))
		return;
	pr_err("guest kernel panicked: %s", pause ? "pausing it" : "stopping");
	thread_event(m, "GUEST_PANICKED",
		     json_pack("{s:s}", "action", pause ? "pause" : "exit"));
	if (!pause) {
		vm_control_exit(&m->ctl, VM_EXIT_FATAL);
		return;
	}
	atomic_store(&m->panic_pause, true);
	if (write(m->exit_fd, &one, sizeof(one)) < 0)
		pr_err("cannot wake the main thread: %s", strerror(errno));
}

/* A device needs a reset by the guest (dm_device_error): DEVICE_ERROR. */
static void device_error(void *opaque, const char *dev, const char *reason)
{
	thread_event(opaque, "DEVICE_ERROR",
		     json_pack("{s:s,s:s}", "device", dev, "reason", reason));
}

static void set_irq_level(void *opaque, u32 gsi, int level)
{
	struct machine *m = opaque;

	kvm_irq_line(&m->kvm, gsi, level);
}

/* --- init steps --- */

/*
 * Check every pin of a validated config (vCPUs, I/O threads, VMM) against
 * the CPUs this process may use before anything is built. 0 or -EINVAL.
 */
static int check_pins(const struct config *c)
{
	char what[32];
	unsigned i;

	for (i = 0; c->vcpu_pin && i < c->nr_vcpu_pin; i++) {
		if (!c->vcpu_pin[i].bits)
			continue;
		snprintf(what, sizeof(what), "cpus.pin: vCPU %u", i);
		if (smp_pin_check(&c->vcpu_pin[i], what))
			return -EINVAL;
	}
	for (i = 0; i < c->nr_iothreads; i++) {
		if (!c->iothreads[i].pinned)
			continue;
		snprintf(what, sizeof(what), "iothreads[%u].pin", i);
		if (smp_pin_check(&c->iothreads[i].pin, what))
			return -EINVAL;
	}
	if (c->vmm_pinned && smp_pin_check(&c->vmm_pin, "vmm.pin"))
		return -EINVAL;
	return 0;
}

/*
 * The host side of the config, before anything is built: the host nodes
 * named exist and have room, the host can hold guest RAM at all, every
 * pin is inside the CPUs we may use.
 * The host's NUMA topology is the one read at start-up (numa_host_startup),
 * kept in m->host for the later steps.
 * Then the main thread takes its "vmm.pin" (threads it starts inherit it;
 * vCPU threads set their own).
 */
static int host_init(struct machine *m)
{
	const struct config *c = m->cfg;
	int r;

	m->host = numa_host_startup(&r);
	if (!m->host) {
		pr_err("cannot read the host NUMA topology: %s", strerror(-r));
		return r;
	}
	/* A node's binding first: its error names the node and its size. */
	r = numa_check_host(c, m->host);
	if (!r)
		r = guest_mem_check_host(c->mem_size, c->mem_overcommit);
	if (!r)
		r = check_pins(c);
	if (!r && c->vmm_pinned)
		r = smp_pin_self(&c->vmm_pin, "vmm.pin");
	return r;
}

/*
 * Large guests: APIC IDs must stay below KVM's vCPU id limit, and IDs
 * from 255 on need 32-bit x2APIC IDs in KVM's APIC emulation. (This and
 * the next step are in machine.h for the unit tests.)
 */
int machine_x2apic_init(struct machine *m)
{
	return vcpu_setup_x2apic_api(&m->kvm, &m->topo, m->cfg->nr_cpus);
}

/*
 * Dedicated-CPU mode: let the guest idle and spin on its own CPUs
 * without exits. KVM only takes this before the first vCPU exists.
 */
int machine_dedicated_init(struct machine *m)
{
	const u32 want = KVM_X86_DISABLE_EXITS_HLT | KVM_X86_DISABLE_EXITS_MWAIT |
			 KVM_X86_DISABLE_EXITS_PAUSE;
	int have;

	if (!m->cfg->dedicated)
		return 0;
	have = kvm_check_extension(&m->kvm, KVM_CAP_X86_DISABLE_EXITS);
	if (have < 0) {
		/* An error is not a bitmask of what KVM can do. */
		pr_warn("cpus.dedicated: KVM_CHECK_EXTENSION(KVM_CAP_X86_DISABLE_EXITS): %s: exits stay on",
			strerror(-have));
		return 0;
	}
	if ((have & want) != want)
		pr_warn("cpus.dedicated: KVM can only disable%s%s%s exits",
			have & KVM_X86_DISABLE_EXITS_HLT ? " HLT" : "",
			have & KVM_X86_DISABLE_EXITS_MWAIT ? " MWAIT" : "",
			have & KVM_X86_DISABLE_EXITS_PAUSE ? " PAUSE" : "");
	if (!(have & want))
		return 0;
	return kvm_enable_cap(&m->kvm, KVM_CAP_X86_DISABLE_EXITS,
			      have & want, 0);
}

/*
 * Halt polling: KVM spins a while on a halted vCPU before putting its
 * thread to sleep, which pays when the vCPU has a host CPU of its own.
 * With more vCPUs than host CPUs the spinning takes CPU time from vCPUs
 * that have work, so there it is off unless the config says otherwise.
 */
static int kvm_halt_poll_init(struct machine *m)
{
	const struct config *c = m->cfg;
	unsigned ns = c->halt_poll_ns, host = 0;
	struct cpulist cl;

	if (ns == CONFIG_HALT_POLL_AUTO) {
		if (!smp_pin_allowed(&cl)) {
			host = cpulist_count(&cl);
			cpulist_free(&cl);
		}
		if (!host || c->nr_cpus <= host)
			return 0;
		ns = 0;
	}
	if (kvm_check_extension(&m->kvm, KVM_CAP_HALT_POLL) <= 0) {
		if (c->halt_poll_ns != CONFIG_HALT_POLL_AUTO)
			pr_warn("cpus.halt_poll_ns: this KVM lacks KVM_CAP_HALT_POLL; its default applies");
		return 0;
	}
	if (c->halt_poll_ns == CONFIG_HALT_POLL_AUTO)
		pr_info("cpus: %u vCPUs on %u host CPUs: KVM halt polling off", c->nr_cpus, host);
	return kvm_enable_cap(&m->kvm, KVM_CAP_HALT_POLL, ns, 0);
}

static int kvm_init(struct machine *m)
{
	const struct config *c = m->cfg;
	int r;

	r = smp_topo_init(&m->topo, c->nr_cpus, c->sockets, c->cores,
			  c->threads);
	if (r)
		return r;
	r = kvm_open(&m->kvm, NULL);
	if (r)
		return r;
	r = kvm_require_caps(&m->kvm);
	if (r)
		return r;
	if (c->nr_cpus > (unsigned)m->kvm.max_vcpus) {
		pr_err("--cpus %u: KVM allows at most %d vCPUs", c->nr_cpus,
		       m->kvm.max_vcpus);
		return -EINVAL;
	}
	r = kvm_create_vm(&m->kvm);
	if (!r)
		r = machine_x2apic_init(m);
	if (!r)
		r = machine_dedicated_init(m);
	if (!r)
		r = kvm_halt_poll_init(m);
	return r;
}

static void kvm_exit(struct machine *m)
{
	kvm_close(&m->kvm);
}

/* Each guest node's RAM: laid out, mapped, bound, optionally populated. */
static int mem_place(struct machine *m)
{
	const struct config *c = m->cfg;
	u64 sizes[CONFIG_MAX_NODES];
	unsigned i;
	int r;

	for (i = 0; i < c->nr_nodes; i++)
		sizes[i] = c->nodes[i].mem_size;
	if (c->nr_nodes)
		r = guest_mem_layout_nodes(&m->mem, sizes, c->nr_nodes);
	else
		r = guest_mem_layout(&m->mem, c->mem_size);
	if (r)
		return r;
	/* A vhost-user back end maps guest RAM itself: memfds. */
	for (i = 0; i < c->nr_disks; i++)
		if (c->disks[i].vhost_user)
			guest_mem_set_shared(&m->mem);
	if (c->mem_hugepages)
		numa_mem_choose_pages(&m->mem, c, m->host);
	r = guest_mem_alloc(&m->mem);
	if (!r)
		r = numa_mem_bind(&m->mem, c);
	/* A restore touches what the snapshot holds, and only that. */
	if (!r && c->mem_prefault && !m->snap.active)
		r = numa_mem_prefault(&m->mem, c, m->host);
	return r;
}

static int mem_init(struct machine *m)
{
	unsigned i;
	int r;

	r = mem_place(m);
	if (r)
		return r;
	for (i = 0; i < m->mem.nr; i++) {
		struct guest_region *g = &m->mem.regions[i];

		r = kvm_set_memslot(&m->kvm, i, g->gpa, g->size, g->hva, 0);
		if (r)
			return r;
	}
	return 0;
}

static void mem_exit(struct machine *m)
{
	guest_mem_free(&m->mem);
}

static int irqchip_init(struct machine *m)
{
	int r;

	r = kvm_set_tss_addr(&m->kvm, KVM_TSS_ADDR);
	if (!r)
		r = kvm_set_identity_map_addr(&m->kvm, KVM_IDENTITY_MAP_ADDR);
	if (!r)
		r = kvm_create_irqchip(&m->kvm);
	if (!r)
		r = kvm_create_pit2(&m->kvm);
	return r;
}

/*
 * The platform devices of the PC: COM1, the i8042, CMOS, ACPI PM, POST,
 * pvpanic.
 * Each adds itself to the device manager, which destroys it; one that
 * fails cleans up after itself.
 */
static int legacy_init(struct machine *m)
{
	struct irq_line com1 = { set_irq_level, m, COM1_IRQ };
	struct irq_line sci = { set_irq_level, m, ACPI_SCI_IRQ };
	struct pvpanic_notify panic = { guest_panicked, m };
	int r;

	r = uart_init(&m->com1, &m->dm, &com1, STDOUT_FILENO);
	if (!r)
		r = i8042_init(&m->i8042, &m->dm, &m->ctl);
	if (!r)
		r = cmos_init(&m->cmos, &m->dm);
	if (!r)
		r = acpi_pm_init(&m->pm, &m->dm, &sci, &m->ctl);
	if (!r)
		r = post_init(&m->post, &m->dm);
	if (!r)
		r = pvpanic_init(&m->pvpanic, &m->dm, &panic);
	return r;
}

/*
 * Every device, each added to the device manager, which owns them from
 * then on: the legacy ones, then the PCI host and its functions
 * (machine_io.c). The I/O threads exist already (devices add their fds)
 * but start only with the last step.
 */
static int devices_init(struct machine *m)
{
	int r;

	bus_init(&m->pio, "pio");
	bus_init(&m->mmio, "mmio");
	dm_init(&m->dm, &m->kvm, &m->irq, &m->pio, &m->mmio);
	dm_set_error_handler(&m->dm, device_error, m);
	m->dm_ok = true;
	r = legacy_init(m);
	if (r) {
		pr_err("device set-up failed: %s", strerror(-r));
		return r;
	}
	/* Each PCI function's set-up says itself what went wrong. */
	return machine_pci_init(m);
}

/* Also after a failed devices_init: only what was set up is undone. */
static void devices_exit(struct machine *m)
{
	if (m->dm_ok)
		dm_destroy(&m->dm);
	m->dm_ok = false;
	machine_pci_exit(m);	/* the arrays the devices lived in */
	bus_free(&m->pio);
	bus_free(&m->mmio);
}

/* Every vCPU created and set up by smp/vcpu_setup.c. */
static int vcpus_init(struct machine *m)
{
	const struct config *c = m->cfg;
	struct vcpu_setup_opts o;
	int r;

	r = kvm_get_supported_cpuid(&m->kvm, &m->supported_cpuid);
	if (r)
		return r;
	vcpu_setup_opts_init(&o, &m->kvm, &m->topo, c->nr_cpus, ~c->pv,
			     c->dedicated);
	m->vcpus.pio = &m->pio;
	m->vcpus.mmio = &m->mmio;
	m->vcpus.ctl = &m->ctl;
	return vcpus_setup(&m->vcpus, &m->kvm, m->supported_cpuid, &m->topo,
			   &o, c->vcpu_pin, c->nr_vcpu_pin);
}

static void vcpus_exit(struct machine *m)
{
	vcpus_setup_free(&m->vcpus);
	free(m->supported_cpuid);
	m->supported_cpuid = NULL;
}

static int acpi_init(struct machine *m)
{
	const struct config *c = m->cfg;
	struct acpi_machine mc = { .nr_cpus = m->vcpus.nr };
	u8 *dist = NULL;
	u32 *ids;
	unsigned i;
	int r = -ENOMEM;

	ids = calloc(m->vcpus.nr, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (i = 0; i < m->vcpus.nr; i++)
		ids[i] = m->vcpus.v[i].apic_id;
	mc.apic_ids = ids;
	mc.pci_ecam = true;
	pci_mmio64_window(guest_mem_end(&m->mem), &mc.pci_mmio64_base,
			  &mc.pci_mmio64_size);
	if (c->nr_nodes) {
		dist = numa_slit(c);
		if (!dist)
			goto out;
		mc.nr_nodes = c->nr_nodes;
		mc.cpu_node = c->vcpu_node;
		mc.distance = dist;
	}
	r = acpi_build(&m->mem, &mc, &m->rsdp);
out:
	free(dist);
	free(ids);
	return r;
}

static int boot_init(struct machine *m);

/* A restore loads the guest's own state instead (machine_restore.c). */
static int acpi_step(struct machine *m)
{
	return m->snap.active ? 0 : acpi_init(m);
}

static int boot_step(struct machine *m)
{
	return m->snap.active ? 0 : boot_init(m);
}

int machine_load_guest(struct machine *m)
{
	int r = acpi_init(m);

	return r ? r : boot_init(m);
}

static int boot_init(struct machine *m)
{
	struct boot_cfg bc = {
		.kernel = m->cfg->kernel,
		.initrd = m->cfg->initrd,
		.kernel_fd = m->reset.kernel_fd,
		.initrd_fd = m->reset.initrd_fd,
		.cmdline = m->cfg->cmdline ? m->cfg->cmdline : "console=ttyS0",
		.rsdp_gpa = m->rsdp,
	};
	struct kvm_sregs s;
	struct kvm_regs r;
	struct kvm_vcpu *bsp = &m->vcpus.v[0].kv;
	int err;

	err = boot_load_linux(&m->mem, &bc, &m->boot);
	if (err)
		return err;
	/* The BSP starts at the 64-bit entry; APs wait for INIT/SIPI. */
	err = kvm_vcpu_get_sregs(bsp, &s);
	if (err)
		return err;
	boot_setup_sregs(&m->boot, &s);
	err = kvm_vcpu_set_sregs(bsp, &s);
	if (err)
		return err;
	memset(&r, 0, sizeof(r));
	boot_setup_regs(&m->boot, &r);
	return kvm_vcpu_set_regs(bsp, &r);
}

static const struct step {
	const char *name;
	int (*init)(struct machine *m);
	void (*exit)(struct machine *m);
} steps[] = {
	{ "host",	host_init,	NULL },
	{ "restore-check", machine_restore_check, machine_restore_exit },
	{ "incoming-accept", machine_incoming_accept, machine_incoming_exit },
	{ "kvm",	kvm_init,	kvm_exit },
	{ "memory",	mem_init,	mem_exit },
	{ "restore-memory", machine_restore_memory, NULL },
	{ "incoming-memory", machine_incoming_memory, NULL },
	{ "irqchip",	irqchip_init,	NULL },
	{ "irq",	machine_irq_init,	machine_irq_exit },
	{ "iothreads",	machine_iothreads_init,	machine_iothreads_exit },
	{ "devices",	devices_init,	devices_exit },
	{ "vcpus",	vcpus_init,	vcpus_exit },
	{ "reset-state", machine_reset_init, machine_reset_exit },
	{ "acpi",	acpi_step,	NULL },
	{ "boot",	boot_step,	NULL },
	{ "restore-state", machine_restore_state, NULL },
	{ "api",	machine_api_init,	machine_api_exit },
	{ "migrate",	machine_migrate_init,	machine_migrate_exit },
	{ "sandbox",	machine_sandbox_init,	NULL },
	{ "io-start",	machine_iothreads_start, machine_iothreads_stop },
	{ "incoming-ack", machine_incoming_ack,	NULL },
};

/*
 * A step that fails has its own teardown run too, before the earlier
 * steps': every exit function copes with a step that stopped half way
 * (everything it frees is NULL, -1, counted or flagged until set up).
 */
int machine_init(struct machine *m, const struct config *cfg)
{
	int r;

	memset(m, 0, sizeof(*m));
	m->cfg = cfg;
	/* Threads started from here on wait for the sandbox step. */
	sandbox_expect_seal();
	m->kvm.sys_fd = m->kvm.vm_fd = -1;
	m->incoming_fd = -1;
	m->ctl = (struct vm_control){ request_exit, m };
	pthread_mutex_init(&m->run_lock, NULL);
	pthread_mutex_init(&m->event_lock, NULL);
	atomic_init(&m->exit_reason, VM_EXIT_NONE);
	atomic_init(&m->panic_pause, false);
	atomic_init(&m->reset_pending, false);
	atomic_init(&m->reset_by_host, false);
	atomic_init(&m->snapshot_exit, false);
	m->exit_fd = eventfd(0, EFD_CLOEXEC);
	if (m->exit_fd < 0) {
		r = -errno;
		pr_err("eventfd: %s", strerror(-r));
		return r;
	}
	for (m->steps_done = 0; m->steps_done < (int)ARRAY_SIZE(steps); m->steps_done++) {
		const struct step *st = &steps[m->steps_done];

		pr_debug("init: %s", st->name);
		r = st->init(m);
		if (r) {
			pr_debug("init: %s failed: %s", st->name, strerror(-r));
			m->steps_done++;	/* its teardown runs first */
			machine_destroy(m);
			return r;
		}
	}
	return 0;
}

void machine_destroy(struct machine *m)
{
	sandbox_abort();	/* threads still waiting for a seal: set-up failed */
	while (m->steps_done > 0) {
		const struct step *st = &steps[--m->steps_done];

		if (st->exit)
			st->exit(m);
	}
	if (m->exit_fd >= 0)
		close(m->exit_fd);
	m->exit_fd = -1;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * exit_fd woke the main thread: a stop request (the loop ends), or a
 * guest panic to pause on (on_panic pause), which only this thread can
 * do since the vCPU that reported it must park too.
 */
static void take_panic_pause(struct machine *m)
{
	u64 n;

	if (read(m->exit_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		pr_err("exit eventfd: %s", strerror(errno));
	if (!atomic_exchange(&m->panic_pause, false) ||
	    atomic_load(&m->exit_reason) != VM_EXIT_NONE)
		return;
	if (machine_pause(m))
		pr_err("cannot pause the panicked guest: it runs on");
	else if (!m->api_ok)
		pr_warn("the panicked guest is paused; a signal ends it");
}

/*
 * The main thread waits here: for a stop request (eventfd), or SIGINT /
 * SIGTERM (signalfd; they are blocked in every thread so they come here).
 * The first signal presses the power button; a second one, or the grace
 * period running out, stops the guest hard.
 */
enum vm_exit_reason machine_run(struct machine *m, int grace_ms)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[2];
	long deadline = -1;
	sigset_t sigs, old;
	int sfd, r;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		/* Blocked with nobody reading them, they could not stop us. */
		pr_err("signalfd: %s", strerror(errno));
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return VM_EXIT_SETUP;
	}

	bus_seal(&m->pio);
	bus_seal(&m->mmio);
	if (vcpus_init_signals() || vcpus_start(&m->vcpus)) {
		close(sfd);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return VM_EXIT_SETUP;	/* no vCPU ran: a set-up error */
	}
	if (console_start(&m->console, &m->com1, &m->ctl))
		pr_warn("console input is not available");
	if (machine_api_start(m))
		m->ctl.request_exit(m, VM_EXIT_SETUP);
	/* Last: a filter is inherited by the threads this one starts. */
	if (sandbox_main())
		m->ctl.request_exit(m, VM_EXIT_SETUP);

	pfd[0] = (struct pollfd){ .fd = m->exit_fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	while (atomic_load(&m->exit_reason) == VM_EXIT_NONE) {
		int timeout = deadline < 0 ? -1 : (int)MAX(deadline - now_ms(), 0);

		r = poll(pfd, 2, timeout);
		if (r > 0 && (pfd[0].revents & POLLIN))
			take_panic_pause(m);
		if (atomic_exchange(&m->reset_pending, false) &&
		    atomic_load(&m->exit_reason) == VM_EXIT_NONE &&
		    machine_restart(m))
			m->ctl.request_exit(m, VM_EXIT_FATAL);
		if (r == 0) {
			pr_warn("guest did not power off within %d ms: stopping it", grace_ms);
			m->ctl.request_exit(m, VM_EXIT_USER);
			break;
		}
		if (r > 0 && (pfd[1].revents & POLLIN) &&
		    read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (deadline >= 0 || grace_ms <= 0) {
				m->ctl.request_exit(m, VM_EXIT_USER);
				break;
			}
			pr_info("signal %u: pressing the ACPI power button", si.ssi_signo);
			acpi_pm_power_button(&m->pm);
			deadline = now_ms() + grace_ms;
		}
	}
	pthread_mutex_lock(&m->event_lock);
	m->events_off = true;
	pthread_mutex_unlock(&m->event_lock);
	machine_api_stop(m, atomic_load(&m->exit_reason));
	console_stop(&m->console);
	vcpus_stop(&m->vcpus);
	vcpus_join(&m->vcpus);
	pv_report_use(&m->vcpus);
	close(sfd);
	return atomic_load(&m->exit_reason);
}

int machine_exit_status(enum vm_exit_reason why)
{
	switch (why) {
	case VM_EXIT_POWEROFF:
	case VM_EXIT_RESET:
	case VM_EXIT_USER:
		return 0;
	case VM_EXIT_SETUP:
		return 1;
	default:
		return 2;
	}
}
