/* SPDX-License-Identifier: GPL-2.0 */
/* smpvisor ctl: the control API's command-line client (vmm/ctl.c). */
#ifndef SMPVISOR_CTL_H
#define SMPVISOR_CTL_H

/* argv[0] is "ctl"; returns the process exit status. */
int ctl_main(int argc, char **argv);

#endif
