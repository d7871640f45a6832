/* SPDX-License-Identifier: GPL-2.0 */
/* The machine's "sandbox" step: the confinement policy (vmm/sandbox.c). */
#ifndef SMPVISOR_VMM_SANDBOX_H
#define SMPVISOR_VMM_SANDBOX_H

struct config;
struct machine;
struct sandbox_policy;

/*
 * The policy for a config: rules per thread class, the user, Landlock
 * (a ruleset fd, and its ABI in *landlock_abi, 0 without). 0 or -errno
 * (said why).
 */
int sandbox_policy_build(const struct config *c, struct sandbox_policy *p,
			 int *landlock_abi);

/* Seal the process (lib/sandbox.h); 0 or -errno (said why). */
int machine_sandbox_init(struct machine *m);

#endif
