// SPDX-License-Identifier: GPL-2.0
/*
 * A reset in place ("on_reboot": "restart", system_reset): the machine
 * goes back to the state it had before the guest first ran, as a power
 * cycle would, and boots the guest anew without a new process.
 *
 * KVM has no "reset this vCPU": what a reset needs is captured once at
 * set-up, after the vCPUs and interrupt controllers are configured and
 * before the kernel is loaded (every vCPU's whole state, the PICs, the
 * IOAPIC and the PIT), and written back at the reset. Writing the MSRs
 * back is what stops KVM from updating the old kernel's kvmclock, steal
 * time and PV EOI pages in memory the new kernel now owns.
 *
 * The order at a reset (main thread): every vCPU parked; every device
 * reset through the device model, as a driver writing reset would do;
 * the interrupt controllers and each vCPU restored; the ACPI tables and
 * the kernel written again (the old guest may have scribbled on them),
 * the boot vCPU pointed at its entry; the vCPUs let go.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/machine.h"

int machine_reset_init(struct machine *m)
{
	struct machine_reset *rs = &m->reset;
	u32 *msrs = NULL;
	unsigned i, nr = 0;
	int r;

	if (m->cfg->on_reboot != CONFIG_ON_REBOOT_RESTART || !m->vcpus.nr)
		return 0;
	/*
	 * The kernel and initrd stay open: after the seal the process may
	 * not open them again (Landlock, and a main thread without openat).
	 */
	rs->kernel_fd = open(m->cfg->kernel, O_RDONLY | O_CLOEXEC);
	if (rs->kernel_fd < 0 || (m->cfg->initrd &&
	    (rs->initrd_fd = open(m->cfg->initrd, O_RDONLY | O_CLOEXEC)) < 0)) {
		r = -errno;
		pr_err("on_reboot restart: %s: %s", rs->kernel_fd < 0 ?
		       m->cfg->kernel : m->cfg->initrd, strerror(errno));
		return r;
	}
	r = kvm_vcpu_msr_list(&m->vcpus.v[0].kv, &msrs, &nr);
	if (r) {
		pr_err("on_reboot restart: the MSR list: %s", strerror(-r));
		return r;
	}
	rs->vcpu = calloc(m->vcpus.nr, sizeof(*rs->vcpu));
	if (!rs->vcpu) {
		free(msrs);
		return -ENOMEM;
	}
	for (i = 0; i < m->vcpus.nr; i++) {
		r = kvm_vcpu_state_get(&m->vcpus.v[i].kv, msrs, nr, &rs->vcpu[i]);
		if (r) {
			pr_err("on_reboot restart: vcpu %u state: %s", i, strerror(-r));
			break;
		}
		rs->nr = i + 1;
	}
	free(msrs);
	if (!r)
		r = kvm_get_irqchip_state(&m->kvm, &rs->chip);
	if (r)
		return r;
	pr_debug("on_reboot restart: %u vCPU states of %u MSRs kept", rs->nr, nr);
	rs->ready = true;
	return 0;
}

void machine_reset_exit(struct machine *m)
{
	struct machine_reset *rs = &m->reset;
	unsigned i;

	for (i = 0; i < rs->nr; i++)
		kvm_vcpu_state_free(&rs->vcpu[i]);
	free(rs->vcpu);
	if (rs->kernel_fd > 0)
		close(rs->kernel_fd);
	if (rs->initrd_fd > 0)
		close(rs->initrd_fd);
	memset(rs, 0, sizeof(*rs));
}

/* The machine as captured: interrupt controllers, then every vCPU. */
static int restore(struct machine *m)
{
	struct machine_reset *rs = &m->reset;
	unsigned i;
	int r;

	r = kvm_set_irqchip_state(&m->kvm, &rs->chip);
	if (r) {
		pr_err("reset: interrupt controllers: %s", strerror(-r));
		return r;
	}
	for (i = 0; i < rs->nr; i++) {
		r = kvm_vcpu_state_set(&m->vcpus.v[i].kv, &rs->vcpu[i]);
		if (r) {
			pr_err("reset: vcpu %u: %s", i, strerror(-r));
			return r;
		}
	}
	return 0;
}

/*
 * Main thread: the reset itself. A guest paused through the API stays
 * paused (its devices are reset running, then paused again). A failure
 * ends the VM: a half-reset machine must not run.
 */
int machine_restart(struct machine *m)
{
	bool paused;
	int r;

	pthread_mutex_lock(&m->run_lock);
	paused = m->paused;
	r = vcpus_pause(&m->vcpus, MACHINE_PAUSE_TIMEOUT_MS);
	if (r) {
		pthread_mutex_unlock(&m->run_lock);
		pr_err("reset: the vCPUs did not stop: %s", strerror(-r));
		return r;
	}
	if (paused)
		dm_resume(&m->dm);
	dm_reset(&m->dm);
	r = restore(m);
	if (!r)
		r = machine_load_guest(m);
	if (paused)
		dm_pause(&m->dm);
	else if (!r)
		vcpus_resume(&m->vcpus);
	m->resets++;
	pthread_mutex_unlock(&m->run_lock);
	if (r)
		return r;
	pr_info("guest reset: restarted in place (%llu so far)",
		(unsigned long long)m->resets);
	if (!atomic_exchange(&m->reset_by_host, false))
		machine_event(m, "RESET", json_pack("{s:b,s:s}", "guest", true,
						    "reason", "guest-reset"));
	return 0;
}
