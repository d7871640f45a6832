/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How a device or a vCPU thread asks the machine to stop, and why: the
 * machine supplies a struct vm_control, devices and the vCPU loop call
 * vm_control_exit.
 */
#ifndef SMPVISOR_VM_CONTROL_H
#define SMPVISOR_VM_CONTROL_H

enum vm_exit_reason {
	VM_EXIT_NONE,
	VM_EXIT_POWEROFF,	/* ACPI S5 */
	VM_EXIT_RESET,		/* i8042 pulse, ACPI reset register */
	VM_EXIT_FATAL,
	VM_EXIT_USER,		/* the user asked to quit (console Ctrl-A x) */
	VM_EXIT_SETUP,		/* the machine could not start (exit status 1) */
};

/*
 * How a device asks the machine to stop: the machine supplies it; it must
 * be safe to call from any vCPU thread and from the console thread, and it
 * must not call back into the device (devices may hold their lock).
 */
struct vm_control {
	void (*request_exit)(void *opaque, enum vm_exit_reason why);
	void *opaque;
};

static inline void vm_control_exit(const struct vm_control *ctl,
				   enum vm_exit_reason why)
{
	if (ctl && ctl->request_exit)
		ctl->request_exit(ctl->opaque, why);
}

#endif
