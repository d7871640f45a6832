// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration, second part: the command line ("smpvisor run [options]")
 * and its --help text. The k=v fields of --cpus, --disk and --net are
 * parsed, refused and listed in --help from the option tables the JSON
 * file uses (vmm/config_keys.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/parse.h"
#include "vmm/config.h"
#include "vmm/config_keys.h"

/* ---- k=v fields ---- */

/* What key's k=v field needs, after its name: "needs on or off". */
static const char *kv_want(const struct cfg_key *k, char *buf, size_t len)
{
	u32 max = k->max ? k->max : UINT32_MAX;

	switch (k->type) {
	case CFG_BOOL:
		return "takes no value";
	case CFG_UINT:
	case CFG_INT:
		if (k->min == 1 && max == UINT32_MAX)
			return "needs a positive integer value";
		snprintf(buf, len, "needs an integer from %u to %u", k->min, max);
		return buf;
	case CFG_ONOFF:
		return "needs on or off";
	case CFG_MAC:
		return "needs a unicast address xx:xx:xx:xx:xx:xx";
	case CFG_STRING:
		return k->flags & (CFG_NONEMPTY | CFG_ARG_NONEMPTY) ?
		       "needs a non-empty value" : "needs a value";
	default:
		return "is not a k=v field";
	}
}

/* Store val (NULL: "name" without "=") per k into base: 0 or -EINVAL. */
static int kv_store(const struct cfg_key *k, const char *val, void *base)
{
	char *field = (char *)base + k->off;
	u32 n;

	if (k->type == CFG_BOOL) {
		if (val)
			return -EINVAL;
		*(bool *)field = true;
		return 0;
	}
	if (!val)
		return -EINVAL;
	switch (k->type) {
	case CFG_STRING:
		if (!*val && (k->flags & (CFG_NONEMPTY | CFG_ARG_NONEMPTY)))
			return -EINVAL;
		return cfg_set_string((char **)field, val);
	case CFG_UINT:
	case CFG_INT:
		if (parse_u32(val, k->min, k->max ? k->max : UINT32_MAX, &n))
			return -EINVAL;
		if (k->type == CFG_UINT)
			*(unsigned int *)field = n;
		else
			*(int *)field = n;
		return 0;
	case CFG_ONOFF:
		if (strcmp(val, "on") && strcmp(val, "off"))
			return -EINVAL;
		*(int *)field = !strcmp(val, "on");
		return 0;
	case CFG_MAC:
		if (config_parse_mac(val, (u8 *)field))
			return -EINVAL;
		*(bool *)((char *)base + k->given) = true;
		return 0;
	default:
		return -EINVAL;
	}
}

/* "name=META" of a k=v field, or "name" for a flag. */
static void kv_name(char *buf, size_t len, const struct cfg_key *k)
{
	snprintf(buf, len, "%s%s%s", k->arg, k->meta ? "=" : "",
		 k->meta ? k->meta : "");
}

/* "sockets=S, cores=C or threads=T": every k=v field of t. */
static void kv_list(char *buf, size_t len, const struct cfg_keys *t)
{
	size_t i, n = 0, done = 0, at = 0;
	char one[64];

	for (i = 0; i < t->nr; i++)
		n += t->keys[i].arg != NULL;
	buf[0] = '\0';
	for (i = 0; i < t->nr && at < len; i++) {
		if (!t->keys[i].arg)
			continue;
		kv_name(one, sizeof(one), &t->keys[i]);
		at += snprintf(buf + at, len - at, "%s%s",
			       !done ? "" : done + 1 == n ? " or " : ", ", one);
		done++;
	}
}

int config_kv_fields(const char *opt, const char *arg, char *rest,
		     const struct cfg_keys *t, void *base)
{
	char *f, *val, buf[64], list[256];
	size_t i;
	int ret;

	while ((f = strsep(&rest, ","))) {
		val = strchr(f, '=');
		if (val)
			*val++ = '\0';
		for (i = 0; i < t->nr; i++)
			if (t->keys[i].arg && !strcmp(t->keys[i].arg, f))
				break;
		if (i == t->nr) {
			kv_list(list, sizeof(list), t);
			pr_err("%s %s: unknown field \"%s\" (expected %s)", opt,
			       arg, f, list);
			return -EINVAL;
		}
		ret = kv_store(&t->keys[i], val, base);
		if (ret == -ENOMEM)
			return ret;
		if (ret) {
			pr_err("%s %s: bad field \"%s%s%s\": %s %s", opt, arg, f,
			       val ? "=" : "", val ? val : "", f,
			       kv_want(&t->keys[i], buf, sizeof(buf)));
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- options and --help ---- */

enum {
	OPT_CONFIG = 256,
	OPT_KERNEL,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_CPUS,
	OPT_MEMORY,
	OPT_DISK,
	OPT_NET,
	OPT_API_SOCKET,
	OPT_ON_PANIC,
	OPT_SECCOMP,
	OPT_ON_REBOOT,
	OPT_USER,
	OPT_RESTORE,
	OPT_FORCE,
	OPT_INCOMING,
};

static const struct option run_opts[] = {
	{ "config",	required_argument, NULL, OPT_CONFIG },
	{ "kernel",	required_argument, NULL, OPT_KERNEL },
	{ "initrd",	required_argument, NULL, OPT_INITRD },
	{ "cmdline",	required_argument, NULL, OPT_CMDLINE },
	{ "cpus",	required_argument, NULL, OPT_CPUS },
	{ "memory",	required_argument, NULL, OPT_MEMORY },
	{ "disk",	required_argument, NULL, OPT_DISK },
	{ "net",	required_argument, NULL, OPT_NET },
	{ "api-socket",	required_argument, NULL, OPT_API_SOCKET },
	{ "on-panic",	required_argument, NULL, OPT_ON_PANIC },
	{ "seccomp",	required_argument, NULL, OPT_SECCOMP },
	{ "on-reboot",	required_argument, NULL, OPT_ON_REBOOT },
	{ "user",	required_argument, NULL, OPT_USER },
	{ "restore",	required_argument, NULL, OPT_RESTORE },
	{ "force",	no_argument, NULL, OPT_FORCE },
	{ "incoming",	required_argument, NULL, OPT_INCOMING },
	{ "verbose",	no_argument, NULL, 'v' },
	{ "quiet",	no_argument, NULL, 'q' },
	{ "help",	no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* '+': stop at the first non-option; ':': report a missing argument. */
#define RUN_SHORT_OPTS "+:vqh"

/*
 * One entry of --help's option list: the syntax, with the k=v fields of a
 * table appended ("[,queues=N]"; only those with every flag in need), then
 * what it does, wrapped to fit.
 */
static const struct run_help {
	const char *syntax;
	const struct cfg_keys *fields;
	unsigned need;
	const char *text;
} run_help[] = {
	{ "--config FILE", NULL, 0,
	  "read the machine description from the JSON file FILE; the other "
	  "options override it, wherever they appear" },
	{ "--kernel PATH", NULL, 0,
	  "guest kernel (bzImage); required here or in the config" },
	{ "--initrd PATH", NULL, 0, "initial ramdisk" },
	{ "--cmdline STR", NULL, 0, "kernel command line" },
	{ "--cpus N", &config_cpus_keys, 0,
	  "N vCPUs (default 1) as S sockets of C cores of T threads; any of "
	  "the three may be left out (sockets and threads default to 1, cores "
	  "to whatever makes up N, so --cpus N is 1 socket of N cores); "
	  "S x C x T must equal N. Replaces the config's whole \"cpus\" "
	  "setting, its pins and dedicated mode included" },
	{ "--memory SIZE", NULL, 0,
	  "guest RAM (default 512M); more than the host's RAM and swap "
	  "together is refused unless the config file says \"memory\": "
	  "{\"overcommit\": true}" },
	{ "--disk PATH", &config_disk_keys, 0,
	  "a virtio-blk disk on the raw image or block device PATH "
	  "(repeatable): ro read-only, N queues (default one per vCPU), all "
	  "served by I/O thread K (default: spread over all), S the serial id "
	  "(20 bytes at most)" },
	{ "--disk vhost-user=SOCKET", &config_disk_keys, CFG_VHOST_USER_OK,
	  "a virtio-blk disk served by the vhost-user-blk back end listening "
	  "on the UNIX socket SOCKET (qemu-storage-daemon --export "
	  "type=vhost-user-blk); N queues (default: one per vCPU, at most "
	  "what the back end has); guest RAM is then shared memory (memfd)" },
	{ "--net", &config_net_keys, 0,
	  "a virtio-net device on the host tap interface NAME (repeatable; "
	  "created if it does not exist): N queue pairs (default 1; N > 1 "
	  "needs a multi_queue tap), M the MAC address (default: a random "
	  "local one); the rings are served by vhost-net where /dev/vhost-net "
	  "exists (vhost=on: required, off: by smpvisor's I/O threads)" },
	{ "--api-socket PATH", NULL, 0,
	  "serve the control API (QMP) on the unix socket PATH, mode 0600; "
	  "smpvisor ctl PATH talks to it" },
	{ "--on-panic exit|pause", NULL, 0,
	  "what a guest kernel panic (reported by the pvpanic device) leads "
	  "to, after a GUEST_PANICKED event: exit ends the VM with exit "
	  "status 2 (the default), pause keeps it paused for a look through "
	  "the control API" },
	{ "--on-reboot exit|restart", NULL, 0,
	  "what a guest reboot (or system_reset on the control API) leads "
	  "to: exit ends smpvisor with exit status 0 (the default), restart "
	  "resets the machine in place (vCPUs, interrupt controllers, every "
	  "device, the kernel loaded again) and boots the guest anew, with a "
	  "RESET event" },
	{ "--seccomp on|log|off", NULL, 0,
	  "the seccomp filters of every thread (default on: a forbidden "
	  "system call ends smpvisor with exit status 1 and one line naming "
	  "the thread and the call; log: allowed but logged by the kernel, to "
	  "find a missing rule; off: no filters)" },
	{ "--user NAME", NULL, 0,
	  "once set-up is done (/dev/kvm, taps, disks, sockets open), run as "
	  "the user NAME and its primary group, with no capabilities" },
	{ "--restore DIR", NULL, 0,
	  "rebuild the VM that the snapshot in DIR holds (smpvisor ctl "
	  "SOCKET snapshot DIR) and resume it where it stopped; the options "
	  "the snapshotted VM was started with are applied first, those given "
	  "here over them; the result must match the snapshot (vCPUs, "
	  "topology, memory per node, devices, disks unchanged)" },
	{ "--force", NULL, 0,
	  "with --restore: take disks whose size or modification time "
	  "changed since the snapshot" },
	{ "--incoming unix:PATH|tcp:HOST:PORT", NULL, 0,
	  "wait there for a VM that smpvisor ctl SOCKET migrate sends, and run "
	  "it; the options describe the same machine (vCPUs, topology, "
	  "memory per node, devices, the same disk paths), its placement may "
	  "differ" },
	{ "-v, --verbose", NULL, 0, "more messages (-v info, -vv debug)" },
	{ "-q, --quiet", NULL, 0, "errors only" },
	{ "-h, --help", NULL, 0, "this text" },
};

static const char usage_head[] =
"usage: smpvisor run [options]\n"
"       smpvisor ctl SOCKET COMMAND [ARG=VALUE...]   (smpvisor ctl --help)\n"
"       smpvisor top SOCKET [--once] [--interval S]\n"
"       smpvisor --help | --version\n"
"\n"
"Run a Linux guest under KVM; operate a running one through its control\n"
"API (--api-socket).\n"
"\n"
"Options of \"run\":\n";

static const char usage_tail[] =
"\n"
"SIZE is a byte count with an optional K, M, G or T suffix (powers of 1024,\n"
"case-insensitive, optionally followed by B or iB): 512M, 4G, 1.5GiB.\n"
"\n"
"The config file is a JSON object; every key is optional:\n"
"  {\"kernel\": PATH, \"initrd\": PATH, \"cmdline\": STR,\n"
"   \"cpus\": N or {\"count\": N, \"sockets\": S, \"cores\": C, \"threads\": T,\n"
"            \"pin\": {VCPUS: CPUS, ...} or \"auto\", \"dedicated\": BOOL,\n"
"            \"halt_poll_ns\": N},\n"
"   \"memory\": SIZE or {\"size\": SIZE, \"hugepages\": BOOL, \"prefault\": BOOL,\n"
"              \"prefault_threads\": N, \"overcommit\": BOOL},\n"
"   \"numa\": \"auto\" or [{\"cpus\": VCPUS, \"memory\": SIZE, \"host_nodes\": NODES,\n"
"             \"policy\": \"bind\"|\"preferred\"|\"interleave\",\n"
"             \"distances\": [D, ...]}, ...],\n"
"   \"iothreads\": N or [{\"pin\": CPUS}, ...],\n"
"   \"vmm\": {\"pin\": CPUS, \"shutdown_timeout\": SECONDS},\n"
"   \"pv\": {\"kvmclock\"|\"pv_eoi\"|\"pv_tlb_flush\"|\"pv_sched_yield\"|\n"
"          \"pv_spinlocks\"|\"steal_time\"|\"pv_send_ipi\"|\"poll_control\": BOOL},\n"
"   \"disks\": [{\"path\": PATH, \"readonly\": BOOL, \"queues\": N, \"iothread\": K,\n"
"              \"serial\": STR} or {\"vhost_user\": SOCKET, \"queues\": N}, ...],\n"
"   \"net\": [{\"tap\": NAME, \"queues\": N, \"mac\": MAC, \"vhost\": BOOL}, ...],\n"
"   \"rng\": BOOL (a virtio-rng device, default true),\n"
"   \"api\": {\"socket\": PATH},\n"
"   \"on_panic\": \"exit\"|\"pause\", \"on_reboot\": \"exit\"|\"restart\",\n"
"   \"sandbox\": {\"seccomp\": \"on\"|\"log\"|\"off\", \"user\": NAME,\n"
"               \"landlock\": BOOL}}\n"
"where SIZE is a string as above or an integer of bytes; VCPUS, CPUS and\n"
"NODES are lists such as \"0-3,8\" (vCPU ids, host CPUs, host nodes); D is\n"
"a SLIT distance (10 for the node itself). Every vCPU belongs to exactly\n"
"one node and node memory adds up to memory.size. \"auto\" places nodes\n"
"and vCPUs on the host's NUMA nodes and prints the plan. Unknown keys are\n"
"errors. Paths are used as given (relative to the current directory).\n"
"\n"
"Top-level options:\n"
"  --help            this text\n"
"  --version         print the version and exit\n";

#define HELP_COL	20	/* where the descriptions start */
#define HELP_WIDTH	78

struct help_buf {
	char text[8192];
	size_t len;
};

static void help_add(struct help_buf *h, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (h->len >= sizeof(h->text))
		return;
	va_start(ap, fmt);
	n = vsnprintf(h->text + h->len, sizeof(h->text) - h->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		h->len = MIN(h->len + n, sizeof(h->text) - 1);
}

/* "  SYNTAX" padded to HELP_COL (or on a line of its own), then text wrapped. */
static void help_entry(struct help_buf *h, const struct run_help *e)
{
	const char *w = e->text, *end;
	size_t i, col;
	char one[64];

	help_add(h, "  %s", e->syntax);
	for (i = 0; e->fields && i < e->fields->nr; i++) {
		const struct cfg_key *k = &e->fields->keys[i];

		if (!k->arg || (k->flags & e->need) != e->need)
			continue;
		kv_name(one, sizeof(one), k);
		if (k->flags & CFG_ARG_FIRST)
			help_add(h, " %s", one);
		else
			help_add(h, "[,%s]", one);
	}
	/* The text so far ends with a newline: the head or an entry. */
	col = h->len - (size_t)(strrchr(h->text, '\n') + 1 - h->text);
	if (col + 2 > HELP_COL) {
		help_add(h, "\n");
		col = 0;
	}
	while (*w) {
		end = w;
		/* Take words while they fit; a word longer than a line goes alone. */
		while (*end) {
			const char *next = strchr(end + 1, ' ');

			if (!next)
				next = end + strlen(end);
			if (end != w && HELP_COL + (next - w) > HELP_WIDTH)
				break;
			end = next;
		}
		help_add(h, "%*s%.*s\n", (int)(HELP_COL - col), "", (int)(end - w), w);
		col = 0;
		w = *end ? end + 1 : end;
	}
}

const char *config_usage(void)
{
	static struct help_buf h;
	size_t i;

	if (h.len)
		return h.text;
	help_add(&h, "%s", usage_head);
	for (i = 0; i < ARRAY_SIZE(run_help); i++)
		help_entry(&h, &run_help[i]);
	help_add(&h, "%s", usage_tail);
	return h.text;
}

/* ---- parsing ---- */

enum log_level config_log_level(const struct config *c)
{
	if (c->quiet)
		return LOG_ERR;
	if (c->verbose >= 2)
		return LOG_DEBUG;
	return c->verbose ? LOG_INFO : LOG_WARN;
}

/*
 * --cpus N[,sockets=S][,cores=C][,threads=T]: replaces the whole CPU
 * setting, as "cpus" in the file does (pins and dedicated mode included).
 */
static int cli_cpus(struct config *c, const char *arg)
{
	char *dup = strdup(arg), *rest, *field;
	int ret = 0;

	if (!dup)
		return -ENOMEM;
	rest = dup;
	field = strsep(&rest, ",");
	if (parse_u32(field, 0, UINT32_MAX, &c->nr_cpus)) {
		pr_err("--cpus %s: \"%s\" is not a vCPU count", arg, field);
		ret = -EINVAL;
		goto free_dup;
	}
	config_cpus_reset(c);
	if (rest)
		ret = config_kv_fields("--cpus", arg, rest, &config_cpus_keys, c);
free_dup:
	free(dup);
	return ret;
}

static int cli_memory(struct config *c, const char *arg)
{
	int ret = parse_size(arg, &c->mem_size);

	c->mem_size_given = true;

	if (ret == -ERANGE)
		pr_err("--memory %s: too large", arg);
	else if (ret)
		pr_err("--memory %s: invalid size (use a number with an optional K, M, G or T suffix, e.g. 512M or 4G)",
		       arg);
	return ret ? -EINVAL : 0;
}

static int cli_bad_option(int opt, char **argv)
{
	/* argv[optind - 1] is the offending word; optopt the short letter. */
	const char *word = argv[optind - 1];

	if (opt == ':')
		pr_err("run: option %s needs an argument", word);
	else if (optopt)
		pr_err("run: unknown option -%c", optopt);
	else
		pr_err("run: unknown option %s", word);
	return -EINVAL;
}

/* Apply one option of the second pass, where the config file is loaded. */
static int cli_apply(struct config *c, int opt, const char *arg)
{
	switch (opt) {
	case OPT_KERNEL:
		return cfg_set_string(&c->kernel, arg);
	case OPT_INITRD:
		return cfg_set_string(&c->initrd, arg);
	case OPT_CMDLINE:
		return cfg_set_string(&c->cmdline, arg);
	case OPT_CPUS:
		return cli_cpus(c, arg);
	case OPT_MEMORY:
		return cli_memory(c, arg);
	case OPT_DISK:
		return config_disk_arg(c, arg);
	case OPT_NET:
		return config_net_arg(c, arg);
	case OPT_API_SOCKET:
		if (!*arg) {
			pr_err("run: --api-socket needs a path");
			return -EINVAL;
		}
		return cfg_set_string(&c->api_socket, arg);
	case OPT_ON_PANIC:
		if (config_on_panic_parse(arg, &c->on_panic)) {
			pr_err("run: --on-panic is exit or pause, not \"%s\"", arg);
			return -EINVAL;
		}
		return 0;
	case OPT_ON_REBOOT:
		if (config_on_reboot_parse(arg, &c->on_reboot)) {
			pr_err("run: --on-reboot is exit or restart, not \"%s\"", arg);
			return -EINVAL;
		}
		return 0;
	case OPT_SECCOMP:
		if (config_seccomp_parse(arg, &c->seccomp)) {
			pr_err("run: --seccomp is on, log or off, not \"%s\"", arg);
			return -EINVAL;
		}
		return 0;
	case OPT_USER:
		if (!*arg) {
			pr_err("run: --user needs a user name");
			return -EINVAL;
		}
		return cfg_set_string(&c->sandbox_user, arg);
	case OPT_RESTORE:
		if (!*arg) {
			pr_err("run: --restore needs a snapshot directory");
			return -EINVAL;
		}
		return cfg_set_string(&c->restore_dir, arg);
	case OPT_FORCE:
		c->restore_force = true;
		return 0;
	case OPT_INCOMING:
		if (strncmp(arg, "unix:", 5) && strncmp(arg, "tcp:", 4)) {
			pr_err("run: --incoming is unix:PATH or tcp:HOST:PORT, not \"%s\"", arg);
			return -EINVAL;
		}
		return cfg_set_string(&c->incoming, arg);
	case 'v':
		c->verbose++;
		return 0;
	case 'q':
		c->quiet = true;
		return 0;
	}
	return 0;	/* --config and --help were handled in the first pass */
}

/*
 * "run" options, argv[0] being "run". Two passes so the config file is
 * applied before every other option: the first finds --config and --help
 * and rejects unknown options, the second applies the rest.
 */
static int parse_run(struct config *c, int argc, char **argv)
{
	const char *cfg_file = NULL;
	int opt, ret;

	c->cmd = CONFIG_CMD_RUN;
	c->run_argv = argv + 1;
	c->run_argc = argc - 1;
	opterr = 0;
	optind = 0;	/* glibc: full re-initialisation of getopt */
	while ((opt = getopt_long(argc, argv, RUN_SHORT_OPTS, run_opts,
				  NULL)) != -1) {
		if (opt == '?' || opt == ':')
			return cli_bad_option(opt, argv);
		if (opt == 'h')
			c->help = true;
		else if (opt == OPT_CONFIG)
			cfg_file = optarg;
	}
	if (optind < argc) {
		pr_err("run: unexpected argument \"%s\"", argv[optind]);
		return -EINVAL;
	}
	if (c->help)
		return 0;
	if (cfg_file) {
		ret = config_parse_file(c, cfg_file);
		if (ret)
			return ret;
	}

	optind = 0;
	while ((opt = getopt_long(argc, argv, RUN_SHORT_OPTS, run_opts,
				  NULL)) != -1) {
		ret = cli_apply(c, opt, optarg);
		if (ret)
			return ret;
	}
	return 0;
}

int config_parse_args(struct config *c, int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		pr_err("no command given: try \"smpvisor --help\"");
		return -EINVAL;
	}
	if (!strcmp(cmd, "run"))
		return parse_run(c, argc - 1, argv + 1);
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
		c->help = true;
	else if (!strcmp(cmd, "--version"))
		c->version = true;
	else if (cmd[0] == '-') {
		pr_err("unknown option %s: try \"smpvisor --help\"", cmd);
		return -EINVAL;
	} else {
		pr_err("unknown command \"%s\": try \"smpvisor --help\"", cmd);
		return -EINVAL;
	}
	if (argc > 2) {
		pr_err("%s takes no arguments (got \"%s\")", cmd, argv[2]);
		return -EINVAL;
	}
	return 0;
}

