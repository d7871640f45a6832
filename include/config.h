/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The machine description: a JSON config file, then command-line options
 * on top of it (options win whatever their order relative to --config),
 * then config_validate to fill in defaults and refuse what cannot run.
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

#include "util.h"

#define CONFIG_DEFAULT_MEM	(512 * MiB)

enum config_cmd {
	CONFIG_CMD_NONE,	/* only --help or --version */
	CONFIG_CMD_RUN,
};

struct config {
	enum config_cmd cmd;
	char *config_path;	/* the --config file, if any */
	char *kernel, *initrd, *cmdline;

	u64 mem_size;		/* bytes */
	bool mem_hugepages;	/* back guest RAM with huge pages */
	bool mem_prefault;	/* touch every page before the guest starts */

	unsigned int nr_cpus;
	/* 0 means "not given": config_validate derives it. */
	unsigned int sockets, cores, threads;

	int verbose;		/* number of -v */
	bool quiet;		/* -q */
	bool help, version;
};

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
 * a non-zero multiple of 4 KiB (of 2 MiB with huge pages). 0 or -EINVAL
 * with a message.
 */
int config_validate(struct config *c, unsigned int max_vcpus);

/* The --help text. */
const char *config_usage(void);

/* The log level -v/-q ask for (main stores it in log_level). */
enum log_level config_log_level(const struct config *c);

#endif
