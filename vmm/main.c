// SPDX-License-Identifier: GPL-2.0
/*
 * smpvisor: boot a Linux guest on N vCPUs with KVM.
 *
 * Exit status: 0 when the guest powers off or resets (or the user quits),
 * 1 for a set-up error (one line on stderr), 2 when the guest dies.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/files.h"
#include "vmm/config.h"
#include "vmm/ctl.h"
#include "vmm/machine.h"

#define SMPVISOR_VERSION "0.1.0"

/*
 * Fail early, before /dev/kvm is touched, on files that cannot be read
 * or would block start-up (a FIFO given as a kernel, say). A disk that
 * does not exist is left to the disk's own set-up, which says why.
 */
static int check_files(const struct config *c)
{
	unsigned i;

	if (file_check("kernel", c->kernel, false))
		return -1;
	if (c->initrd && file_check("initrd", c->initrd, false))
		return -1;
	for (i = 0; i < c->nr_disks; i++) {
		const char *p = c->disks[i].path;

		if (p && !access(p, F_OK) && file_check("disk", p, true))
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct machine m;
	enum vm_exit_reason why;
	int r;

	if (argc > 1 && !strcmp(argv[1], "ctl"))
		return ctl_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "top"))
		return top_main(argc - 1, argv + 1);
	config_init(&cfg);
	r = config_parse_args(&cfg, argc, argv);
	if (r) {
		config_free(&cfg);
		return 1;
	}
	log_level = config_log_level(&cfg);
	if (cfg.help) {
		fputs(config_usage(), stdout);
		config_free(&cfg);
		return 0;
	}
	if (cfg.version) {
		printf("smpvisor %s\n", SMPVISOR_VERSION);
		config_free(&cfg);
		return 0;
	}
	if (cfg.cmd != CONFIG_CMD_RUN) {
		fputs(config_usage(), stderr);
		config_free(&cfg);
		return 1;
	}
	/* The KVM vCPU limit is checked once /dev/kvm is open. */
	if (config_validate(&cfg, UINT_MAX) || check_files(&cfg) ||
	    machine_init(&m, &cfg)) {
		config_free(&cfg);
		return 1;
	}
	why = machine_run(&m, (int)MIN(cfg.shutdown_timeout, 86400U) * 1000);
	machine_log_stats(&m);
	machine_destroy(&m);
	config_free(&cfg);
	numa_host_release();
	if (why == VM_EXIT_POWEROFF)
		pr_info("guest powered off");
	else if (why == VM_EXIT_RESET)
		pr_info("guest reset: VM ended");
	return machine_exit_status(why);
}
