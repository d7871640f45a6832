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
#include "vmm/snapshot.h"

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

/*
 * run --restore DIR: the options the snapshotted VM was started with
 * (the manifest's argv) come first, this command line's over them. The
 * merged argv lives as long as the process (the config points into it).
 * 0 with *out set (NULL: nothing to merge), or 1 after a message.
 */
static int restore_args(const struct config *c, int argc, char **argv,
			char ***out, int *out_argc)
{
	struct snap_manifest mf;
	char why[512], **v;
	size_t i, n;
	int k = 0;

	*out = NULL;
	if (!c->restore_dir || c->help)
		return 0;
	if (snap_manifest_load(c->restore_dir, &mf, why, sizeof(why))) {
		pr_err("restore: %s", why);
		snap_manifest_free(&mf);
		return 1;
	}
	n = json_array_size(mf.argv);
	v = calloc(n + (size_t)argc + 1, sizeof(char *));
	if (!v) {
		snap_manifest_free(&mf);
		return 1;
	}
	v[k++] = argv[0];
	v[k++] = argv[1];	/* "run" */
	for (i = 0; i < n; i++)
		v[k++] = strdup(json_string_value(json_array_get(mf.argv, i)));
	for (i = 2; i < (size_t)argc; i++)
		v[k++] = argv[i];
	snap_manifest_free(&mf);
	*out = v;
	*out_argc = k;
	return 0;
}

int main(int argc, char **argv)
{
	/*
	 * The merged argv of a restore: the config points into it until the
	 * process ends. Static so that a leak checker sees it reachable.
	 */
	static char **merged;
	int merged_argc = 0;
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
	if (restore_args(&cfg, argc, argv, &merged, &merged_argc)) {
		config_free(&cfg);
		return 1;
	}
	if (merged) {
		config_free(&cfg);
		config_init(&cfg);
		if (config_parse_args(&cfg, merged_argc, merged)) {
			config_free(&cfg);
			return 1;
		}
		log_level = config_log_level(&cfg);
	}
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
