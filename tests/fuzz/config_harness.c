// SPDX-License-Identifier: GPL-2.0
/*
 * The config fuzz harness: everything an operator can type, through the
 * real parsers. The first byte picks the parser, the rest is its input:
 *
 *   0  a JSON config file (config_parse_file on a memfd), then validated
 *   1  a command line: "smpvisor run" plus the rest split at newlines
 *      (every option, --config included), then validated
 *   2  --cpus ARG       3  --memory ARG     4  --disk ARG     5  --net ARG
 *      (each as "smpvisor run --kernel k --OPT ARG", then validated)
 *   6  parse_cpulist    7  parse_size       8  parse_u32
 *   9  config_parse_mac
 *
 * Returns 0 when the input parsed (and validated), 1 when it was refused.
 * Messages are switched off: a refusal prints one line, which would only
 * slow the fuzzer down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harnesses.h"
#include "lib/parse.h"
#include "vmm/config.h"

#define FUZZ_MAX_TEXT	(64 * 1024)
#define FUZZ_MAX_ARGS	64
#define FUZZ_MAX_VCPUS	4096	/* config_validate's KVM limit here */

enum { P_JSON, P_ARGS, P_CPUS, P_MEMORY, P_DISK, P_NET, P_CPULIST, P_SIZE,
       P_U32, P_MAC, P_COUNT };

/* Parse argv as smpvisor's main does, then validate; 0 when all passed. */
static int run_args(int argc, char **argv)
{
	struct config c;
	int r;

	config_init(&c);
	r = config_parse_args(&c, argc, argv);
	if (!r && c.cmd == CONFIG_CMD_RUN && !c.help)
		r = config_validate(&c, FUZZ_MAX_VCPUS);
	config_free(&c);
	return r ? 1 : 0;
}

/* The text as a JSON config: a memfd, read back through /proc. */
static int run_json(const char *text, size_t len)
{
	char path[64];
	struct config c;
	int fd, r;

	fd = memfd_create("fuzz-config", MFD_CLOEXEC);
	if (fd < 0)
		return 1;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return 1;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	config_init(&c);
	r = config_parse_file(&c, path);
	if (!r)
		r = config_validate(&c, FUZZ_MAX_VCPUS);
	config_free(&c);
	close(fd);
	return r ? 1 : 0;
}

/* "smpvisor run" and the text's lines as arguments. */
static int run_cmdline(char *text)
{
	char *argv[FUZZ_MAX_ARGS + 3], *tok;
	int argc = 2;

	argv[0] = "smpvisor";
	argv[1] = "run";
	while (argc < FUZZ_MAX_ARGS + 2 && (tok = strsep(&text, "\n")))
		argv[argc++] = tok;
	argv[argc] = NULL;
	return run_args(argc, argv);
}

static int run_option(const char *opt, char *arg)
{
	char *argv[] = { "smpvisor", "run", "--kernel", "k", (char *)opt, arg,
			 NULL };

	return run_args(6, argv);
}

static int run_cpulist(const char *text)
{
	struct cpulist cl;
	char *s;
	int r;

	if (cpulist_init(&cl, CONFIG_HOST_CPUS))
		return 1;
	r = parse_cpulist(text, &cl);
	if (!r) {
		/* What parsed must format and parse back to the same set. */
		s = cpulist_format(&cl);
		if (s) {
			struct cpulist again;
			int cpu;

			if (cpulist_init(&again, CONFIG_HOST_CPUS))
				abort();
			if (parse_cpulist(s, &again) && *s)
				abort();
			if (cpulist_count(&again) != cpulist_count(&cl))
				abort();
			cpulist_for_each(cpu, &cl)
				if (!cpulist_test(&again, (unsigned)cpu))
					abort();
			cpulist_free(&again);
			free(s);
		}
	}
	cpulist_free(&cl);
	return r ? 1 : 0;
}

int fuzz_config_one(const u8 *data, size_t size)
{
	enum log_level old = log_level;
	u64 size_val;
	u32 u;
	u8 mac[6];
	char *text;
	size_t len;
	int r = 1;

	if (!size)
		return 1;
	len = MIN(size - 1, (size_t)FUZZ_MAX_TEXT);
	text = malloc(len + 1);
	if (!text)
		return 1;
	memcpy(text, data + 1, len);
	text[len] = '\0';	/* the C parsers stop at the first NUL */
	log_level = LOG_OFF;
	switch (data[0] % P_COUNT) {
	case P_JSON:
		r = run_json(text, len);
		break;
	case P_ARGS:
		r = run_cmdline(text);
		break;
	case P_CPUS:
		r = run_option("--cpus", text);
		break;
	case P_MEMORY:
		r = run_option("--memory", text);
		break;
	case P_DISK:
		r = run_option("--disk", text);
		break;
	case P_NET:
		r = run_option("--net", text);
		break;
	case P_CPULIST:
		r = run_cpulist(text);
		break;
	case P_SIZE:
		r = parse_size(text, &size_val) ? 1 : 0;
		break;
	case P_U32:
		r = parse_u32(text, 0, UINT32_MAX, &u) ? 1 : 0;
		break;
	case P_MAC:
		r = config_parse_mac(text, mac) ? 1 : 0;
		break;
	}
	log_level = old;
	free(text);
	return r;
}
