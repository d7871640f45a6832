// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for vmm/config.c: the JSON file (fixtures in configs/ next to
 * this file, plus inline snippets), the command line, validation and the
 * help text. Error paths are checked for the message too: stderr is
 * captured around each call and must name the file, key or option.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/config.h"

#include "capture.h"

#define KVM_MAX 1024

/* ---- helpers ---- */

/* tests/unit/configs/NAME, found from this file's own path. */
static const char *fixture(const char *name)
{
	static char path[512];
	const char *slash = strrchr(__FILE__, '/');
	int dir = slash ? (int)(slash - __FILE__ + 1) : 0;

	snprintf(path, sizeof(path), "%.*sconfigs/%s", dir, __FILE__, name);
	return path;
}

/* Write json to a fresh temporary file; returns its path (free it). */
static char *write_temp(const char *json)
{
	char *path = strdup("/tmp/smpvisor-config-XXXXXX.json");
	int fd;

	assert_non_null(path);
	fd = mkstemps(path, 5);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	return path;
}

/* Parse a file into a fresh config; *msg gets the stderr output. */
static int parse_file(struct config *c, const char *path, char **msg)
{
	struct capture cap;
	int ret;

	config_init(c);
	capture_begin(&cap);
	ret = config_parse_file(c, path);
	*msg = capture_end(&cap);
	return ret;
}

static int parse_args(struct config *c, int argc, char **argv, char **msg)
{
	struct capture cap;
	int ret;

	config_init(c);
	capture_begin(&cap);
	ret = config_parse_args(c, argc, argv);
	*msg = capture_end(&cap);
	return ret;
}

/* "smpvisor" then the NULL-terminated words given. */
static int run_args(struct config *c, char **msg, ...)
{
	char *argv[32] = { "smpvisor" };
	int argc = 1;
	va_list ap;

	va_start(ap, msg);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	return parse_args(c, argc, argv, msg);
}

#define PARSE_ARGS(c, msg, ...) run_args((c), (msg), __VA_ARGS__, (char *)NULL)

static int validate(struct config *c, unsigned int max, char **msg)
{
	struct capture cap;
	int ret;

	capture_begin(&cap);
	ret = config_validate(c, max);
	*msg = capture_end(&cap);
	return ret;
}

/* ---- config file ---- */

static void test_defaults(void **state)
{
	struct config c;

	config_init(&c);
	assert_int_equal(c.cmd, CONFIG_CMD_NONE);
	assert_int_equal(c.nr_cpus, 1);
	assert_true(c.mem_size == 512 * MiB);
	assert_null(c.kernel);
	assert_null(c.initrd);
	assert_null(c.cmdline);
	assert_null(c.config_path);
	assert_false(c.mem_hugepages);
	assert_int_equal(c.shutdown_timeout, 10);
	assert_true(c.halt_poll_ns == CONFIG_HALT_POLL_AUTO);
	assert_int_equal(config_log_level(&c), LOG_WARN);
	config_free(&c);
	config_free(&c);	/* idempotent */
}

static void test_file_minimal(void **state)
{
	struct config c;
	char *msg;

	assert_int_equal(parse_file(&c, fixture("good-minimal.json"), &msg), 0);
	assert_string_equal(msg, "");
	assert_string_equal(c.kernel, "/boot/vmlinuz");
	assert_string_equal(c.config_path, fixture("good-minimal.json"));
	assert_null(c.initrd);
	free(msg);
	assert_int_equal(validate(&c, KVM_MAX, &msg), 0);
	assert_int_equal(c.nr_cpus, 1);
	assert_int_equal(c.sockets, 1);
	assert_int_equal(c.cores, 1);
	assert_int_equal(c.threads, 1);
	assert_true(c.mem_size == 512 * MiB);
	free(msg);
	config_free(&c);
}

/* "vmm.shutdown_timeout": seconds between the power button and a hard stop. */
static void test_file_shutdown_timeout(void **state)
{
	struct config c;
	char *path, *msg;

	path = write_temp("{\"kernel\": \"k\", \"vmm\": {\"shutdown_timeout\": 90}}");
	assert_int_equal(parse_file(&c, path, &msg), 0);
	assert_int_equal(c.shutdown_timeout, 90);
	unlink(path);
	free(path);
	free(msg);
	config_free(&c);
}

static void test_file_full(void **state)
{
	struct config c;
	char *msg;

	assert_int_equal(parse_file(&c, fixture("good-full.json"), &msg), 0);
	free(msg);
	assert_string_equal(c.kernel, "guest/bzImage");
	assert_string_equal(c.initrd, "guest/initrd.cpio");
	assert_string_equal(c.cmdline, "console=ttyS0 quiet");
	assert_int_equal(c.nr_cpus, 8);
	assert_int_equal(c.sockets, 2);
	assert_int_equal(c.cores, 2);
	assert_int_equal(c.threads, 2);
	assert_true(c.mem_size == 4 * GiB);
	assert_true(c.mem_hugepages);
	assert_true(c.mem_prefault);
	assert_int_equal(validate(&c, KVM_MAX, &msg), 0);
	free(msg);

	/* Loading a second file over the first replaces strings, no leak. */
	assert_int_equal(config_parse_file(&c, fixture("good-short-forms.json")),
			 0);
	assert_string_equal(c.kernel, "bzImage");
	assert_string_equal(c.initrd, "guest/initrd.cpio");	/* kept */
	config_free(&c);
}

static void test_file_short_forms(void **state)
{
	struct config c;
	char *msg;

	assert_int_equal(parse_file(&c, fixture("good-short-forms.json"), &msg),
			 0);
	free(msg);
	assert_int_equal(c.nr_cpus, 16);
	assert_int_equal(c.sockets, 0);		/* left to validation */
	assert_true(c.mem_size == 3 * GiB / 2);
	assert_int_equal(validate(&c, KVM_MAX, &msg), 0);
	assert_int_equal(c.sockets, 1);
	assert_int_equal(c.cores, 16);
	assert_int_equal(c.threads, 1);
	free(msg);
	config_free(&c);

	assert_int_equal(parse_file(&c, fixture("good-memory-bytes.json"), &msg),
			 0);
	free(msg);
	assert_true(c.mem_size == 256 * MiB);
	assert_false(c.mem_hugepages);
	assert_int_equal(validate(&c, KVM_MAX, &msg), 0);
	assert_int_equal(c.sockets, 1);
	assert_int_equal(c.cores, 3);
	assert_int_equal(c.threads, 2);
	free(msg);
	config_free(&c);
}

/* Bad fixtures: the error names the file and what is wrong. */
static void test_file_bad_fixtures(void **state)
{
	static const struct {
		const char *file, *want;
	} cases[] = {
		{ "bad-unknown-nested-key.json", "unknown key \"cpus.foo\"" },
		{ "bad-unknown-top-key.json", "unknown key \"kernal\"" },
		{ "bad-type.json",
		  "\"memory.hugepages\" must be true or false, not a string" },
		{ "bad-syntax.json", "bad-syntax.json:4:1: string or '}' expected" },
		{ "bad-size.json", "invalid size \"4 gigabytes\"" },
	};
	struct config c;
	size_t i;
	char *msg;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(parse_file(&c, fixture(cases[i].file), &msg),
				 -EINVAL);
		capture_assert_has(msg, "config ");
		capture_assert_has(msg, cases[i].file);
		capture_assert_has(msg, cases[i].want);
		free(msg);
		config_free(&c);
	}

	/* Parses, but the topology does not add up. */
	assert_int_equal(parse_file(&c, fixture("bad-topology.json"), &msg), 0);
	free(msg);
	assert_int_equal(validate(&c, KVM_MAX, &msg), -EINVAL);
	capture_assert_has(msg, "sockets=2 x cores=3 x threads=1 does not make 8 vCPUs");
	free(msg);
	config_free(&c);
}

static void test_file_missing(void **state)
{
	struct config c;
	char *msg;

	assert_int_equal(parse_file(&c, "/nonexistent/vm.json", &msg), -ENOENT);
	capture_assert_has(msg, "config /nonexistent/vm.json: No such file or directory");
	free(msg);
	config_free(&c);
}

/* Inline snippets for every kind of mistake, each with its message. */
static void test_file_bad_inline(void **state)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "", ":1:0: '[' or '{' expected near end of file" },
		{ "[1, 2]", "top level must be an object, not an array" },
		{ "{\"cpus\": 1, \"cpus\": 2}", ":1:18: duplicate object key" },
		{ "{\"kernel\": \"x\"\n\"cpus\": 4}", ":2:6: '}' expected" },
		{ "{\"kernel\": 5}", "\"kernel\" must be a string, not an integer" },
		{ "{\"initrd\": null}", "\"initrd\" must be a string, not null" },
		{ "{\"cmdline\": [\"a\"]}", "\"cmdline\" must be a string, not an array" },
		{ "{\"cpus\": \"8\"}",
		  "\"cpus\" must be an integer or an object, not a string" },
		{ "{\"cpus\": 4.0}",
		  "\"cpus\" must be an integer or an object, not a real number" },
		{ "{\"cpus\": 0}", "\"cpus\" is 0, must be between 1 and" },
		{ "{\"cpus\": -3}", "\"cpus\" is -3, must be between 1 and" },
		{ "{\"cpus\": 4294967296}", "\"cpus\" is 4294967296" },
		{ "{\"cpus\": {\"sockets\": 2}}", "\"cpus.count\" is required" },
		{ "{\"cpus\": {\"count\": \"8\"}}",
		  "\"cpus.count\" must be an integer, not a string" },
		{ "{\"cpus\": {\"count\": 8, \"threads\": true}}",
		  "\"cpus.threads\" must be an integer, not a boolean" },
		{ "{\"cpus\": {\"count\": 8, \"sockets\": 0}}",
		  "\"cpus.sockets\" is 0, must be between 1" },
		{ "{\"cpus\": {\"count\": 8, \"pinned\": \"0-7\"}}",
		  "unknown key \"cpus.pinned\"" },
		{ "{\"memory\": true}", "\"memory\" must be a size" },
		{ "{\"memory\": -5}", "\"memory\" is negative" },
		{ "{\"memory\": \"4X\"}", "\"memory\": invalid size \"4X\"" },
		{ "{\"memory\": \"99999999999T\"}", "size \"99999999999T\" is too large" },
		{ "{\"memory\": {\"size\": []}}", "\"memory.size\" must be a size" },
		{ "{\"memory\": {\"size\": \"1G\", \"huge\": true}}",
		  "unknown key \"memory.huge\"" },
		{ "{\"memory\": {\"prefault\": 1}}",
		  "\"memory.prefault\" must be true or false, not an integer" },
		{ "{\"numa\": {}}", "\"numa\" must be an array of node objects" },
		{ "{\"vmm\": {\"shutdown_timeout\": \"60\"}}",
		  "\"vmm.shutdown_timeout\" must be an integer, not a string" },
		{ "{\"vmm\": {\"shutdown_timeout\": -1}}", "\"vmm.shutdown_timeout\" is -1" },
		{ "{\"cpus\": {\"count\": 2, \"halt_poll_ns\": -1}}",
		  "\"cpus.halt_poll_ns\" is -1, must be between 0" },
		{ "{\"cpus\": {\"count\": 2, \"halt_poll_ns\": \"0\"}}",
		  "\"cpus.halt_poll_ns\" must be an integer, not a string" },
	};
	struct config c;
	size_t i;
	char *path, *msg;
	int ret;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		path = write_temp(cases[i].json);
		ret = parse_file(&c, path, &msg);
		unlink(path);
		if (ret != -EINVAL || !strstr(msg, cases[i].want) ||
		    !strstr(msg, path))
			fail_msg("%s: ret %d, message \"%s\", want \"%s\"",
				 cases[i].json, ret, msg, cases[i].want);
		free(path);
		free(msg);
		config_free(&c);
	}
}

/* "cpus.halt_poll_ns" as given, 0 included (auto is the default). */
static void test_file_halt_poll(void **state)
{
	static const unsigned want[] = { 0, 50000 };
	struct config c;
	char json[64], *path, *msg;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		snprintf(json, sizeof(json), "{\"cpus\": {\"count\": 2, \"halt_poll_ns\": %u}}",
			 want[i]);
		path = write_temp(json);
		assert_int_equal(parse_file(&c, path, &msg), 0);
		unlink(path);
		free(path);
		free(msg);
		assert_int_equal(c.halt_poll_ns, want[i]);
		config_free(&c);
	}
}

/*
 * Parse json as a config file: want its return value and a message
 * holding msg ("" for any); c is left for the caller to look at and free.
 */
static void parse_json_case(struct config *c, const char *json, int want,
			    const char *msg)
{
	char *path = write_temp(json), *got;

	assert_int_equal(parse_file(c, path, &got), want);
	unlink(path);
	free(path);
	if (!strstr(got, msg))
		fail_msg("%s: got \"%s\"", json, got);
	free(got);
}

/* "on_panic" and --on-panic: exit (the default) or pause; nothing else. */
static void test_on_panic(void **state)
{
	static const struct {
		const char *json, *msg;
		int ret;
		enum config_on_panic want;
	} t[] = {
		{ "{\"on_panic\": \"pause\"}", "", 0, CONFIG_ON_PANIC_PAUSE },
		{ "{\"on_panic\": \"exit\"}", "", 0, CONFIG_ON_PANIC_EXIT },
		{ "{\"on_panic\": \"reboot\"}", "is \"reboot\", must be \"exit\"", -EINVAL, 0 },
		{ "{\"on_panic\": 1}", "\"pause\", not an integer", -EINVAL, 0 },
	};
	struct config c;
	char *msg;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		parse_json_case(&c, t[i].json, t[i].ret, t[i].msg);
		if (!t[i].ret)
			assert_int_equal(c.on_panic, t[i].want);
		config_free(&c);
	}
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--kernel", "k",
				    "--on-panic", "pause"), 0);
	assert_int_equal(c.on_panic, CONFIG_ON_PANIC_PAUSE);
	free(msg);
	config_free(&c);
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--kernel", "k",
				    "--on-panic", "stop"), -EINVAL);
	assert_non_null(strstr(msg, "--on-panic is exit or pause, not \"stop\""));
	free(msg);
	config_free(&c);
}

/*
 * "on_reboot" (exit or restart) and "sandbox" (seccomp on, log or off; a
 * user; landlock), and their options; nothing else.
 */
static void test_on_reboot_and_sandbox(void **state)
{
	static const struct {
		const char *json, *msg;
		int ret;
	} t[] = {
		{ "{\"on_reboot\": \"restart\", \"sandbox\": {\"seccomp\": \"log\", "
		  "\"user\": \"nobody\", \"landlock\": false}}", "", 0 },
		{ "{\"on_reboot\": \"halt\"}", "is \"halt\", must be \"exit\" or \"restart\"", -EINVAL },
		{ "{\"sandbox\": {\"seccomp\": \"strict\"}}",
		  "is \"strict\", must be \"on\", \"log\" or \"off\"", -EINVAL },
		{ "{\"sandbox\": {\"user\": \"\"}}", "sandbox.user", -EINVAL },
		{ "{\"sandbox\": {\"chroot\": \"/\"}}", "sandbox.chroot", -EINVAL },
		{ "{\"sandbox\": true}", "an object", -EINVAL },
	};
	struct config c;
	char *msg;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		parse_json_case(&c, t[i].json, t[i].ret, t[i].msg);
		if (!t[i].ret) {
			assert_int_equal(c.on_reboot, CONFIG_ON_REBOOT_RESTART);
			assert_int_equal(c.seccomp, SANDBOX_SECCOMP_LOG);
			assert_string_equal(c.sandbox_user, "nobody");
			assert_false(c.landlock);
		}
		config_free(&c);
	}
	/* Defaults: exit, seccomp on, no user, Landlock on. */
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--kernel", "k"), 0);
	assert_int_equal(c.on_reboot, CONFIG_ON_REBOOT_EXIT);
	assert_int_equal(c.seccomp, SANDBOX_SECCOMP_ON);
	assert_null(c.sandbox_user);
	assert_true(c.landlock);
	free(msg);
	config_free(&c);
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--kernel", "k", "--on-reboot",
				    "restart", "--seccomp", "off", "--user", "u1"), 0);
	assert_int_equal(c.on_reboot, CONFIG_ON_REBOOT_RESTART);
	assert_int_equal(c.seccomp, SANDBOX_SECCOMP_OFF);
	assert_string_equal(c.sandbox_user, "u1");
	free(msg);
	config_free(&c);
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--kernel", "k", "--seccomp",
				    "maybe"), -EINVAL);
	assert_non_null(strstr(msg, "--seccomp is on, log or off, not \"maybe\""));
	free(msg);
	config_free(&c);
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--kernel", "k", "--on-reboot",
				    "again"), -EINVAL);
	assert_non_null(strstr(msg, "--on-reboot is exit or restart, not \"again\""));
	free(msg);
	config_free(&c);
}

/* ---- command line ---- */

static void test_args_top_level(void **state)
{
	struct config c;
	char *msg, *argv0[] = { "smpvisor", NULL };

	assert_int_equal(PARSE_ARGS(&c, &msg, "--help"), 0);
	assert_true(c.help);
	assert_int_equal(c.cmd, CONFIG_CMD_NONE);
	free(msg);
	assert_int_equal(PARSE_ARGS(&c, &msg, "-h"), 0);
	assert_true(c.help);
	free(msg);
	assert_int_equal(PARSE_ARGS(&c, &msg, "--version"), 0);
	assert_true(c.version);
	assert_false(c.help);
	free(msg);
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--help"), 0);
	assert_true(c.help);
	assert_int_equal(c.cmd, CONFIG_CMD_RUN);
	free(msg);
	/* --help wins before the config file is even opened. */
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--config", "/nonexistent",
				    "-h"), 0);
	assert_true(c.help);
	assert_null(c.config_path);
	free(msg);

	assert_int_equal(parse_args(&c, 1, argv0, &msg), -EINVAL);
	capture_assert_has(msg, "no command given");
	free(msg);
	assert_int_equal(PARSE_ARGS(&c, &msg, "bogus"), -EINVAL);
	capture_assert_has(msg, "unknown command \"bogus\"");
	free(msg);
	assert_int_equal(PARSE_ARGS(&c, &msg, "--bogus"), -EINVAL);
	capture_assert_has(msg, "unknown option --bogus");
	free(msg);
	assert_int_equal(PARSE_ARGS(&c, &msg, "--version", "x"), -EINVAL);
	capture_assert_has(msg, "--version takes no arguments");
	free(msg);
	config_free(&c);
}

static void test_args_run(void **state)
{
	struct config c;
	char *msg;

	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--kernel", "vmlinuz",
				    "--initrd", "initrd.img", "--cmdline",
				    "console=ttyS0 root=/dev/vda",
				    "--cpus", "8", "--memory", "2G",
				    "-v", "--verbose"), 0);
	assert_string_equal(msg, "");
	free(msg);
	assert_int_equal(c.cmd, CONFIG_CMD_RUN);
	assert_string_equal(c.kernel, "vmlinuz");
	assert_string_equal(c.initrd, "initrd.img");
	assert_string_equal(c.cmdline, "console=ttyS0 root=/dev/vda");
	assert_int_equal(c.nr_cpus, 8);
	assert_true(c.mem_size == 2 * GiB);
	assert_int_equal(config_log_level(&c), LOG_DEBUG);
	assert_false(c.help);
	assert_int_equal(validate(&c, KVM_MAX, &msg), 0);
	assert_int_equal(c.cores, 8);
	free(msg);
	config_free(&c);

	/* "--opt=value" form, -q, a repeated option: the last one wins. */
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--kernel=a", "-q",
				    "--kernel=b", "--memory=64M"), 0);
	free(msg);
	assert_string_equal(c.kernel, "b");
	assert_true(c.mem_size == 64 * MiB);
	assert_int_equal(config_log_level(&c), LOG_ERR);
	config_free(&c);

	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "-v"), 0);
	assert_int_equal(config_log_level(&c), LOG_INFO);
	free(msg);
	config_free(&c);
}

/* The file is applied first; options override it wherever they stand. */
static void test_args_override_config(void **state)
{
	const char *full = fixture("good-full.json");
	char *file = strdup(full);
	struct config c;
	char *msg;

	assert_non_null(file);
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--kernel", "cli-kernel",
				    "--memory", "1G", "--config", file), 0);
	free(msg);
	assert_string_equal(c.config_path, file);
	assert_string_equal(c.kernel, "cli-kernel");
	assert_string_equal(c.initrd, "guest/initrd.cpio");	/* from file */
	assert_true(c.mem_size == 1 * GiB);
	assert_true(c.mem_hugepages);				/* from file */
	assert_int_equal(c.nr_cpus, 8);
	assert_int_equal(c.sockets, 2);
	config_free(&c);

	/* --cpus replaces the file's whole CPU setting, topology too. */
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--config", file,
				    "--cpus", "4"), 0);
	free(msg);
	assert_int_equal(c.nr_cpus, 4);
	assert_int_equal(validate(&c, KVM_MAX, &msg), 0);
	assert_int_equal(c.sockets, 1);
	assert_int_equal(c.cores, 4);
	assert_int_equal(c.threads, 1);
	free(msg);
	config_free(&c);

	/* A broken config file fails the whole parse with its message. */
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--kernel", "k",
				    "--config", "/nonexistent.json"), -ENOENT);
	capture_assert_has(msg, "config /nonexistent.json: No such file or directory");
	free(msg);
	config_free(&c);
	free(file);
}

/*
 * --cpus replaces the whole CPU setting as "cpus" in the file does: pins,
 * "pin": "auto", dedicated mode and halt polling of the file are gone, so
 * a pin never outlives the vCPU count it was written for.
 */
static void test_args_cpus_resets_pins(void **state)
{
	static const char *const files[] = {
		"{\"kernel\": \"k\", \"cpus\": {\"count\": 2, \"dedicated\": true,"
		" \"halt_poll_ns\": 0, \"pin\": {\"0\": \"0\", \"1\": \"1\"}}}",
		"{\"kernel\": \"k\", \"cpus\": {\"count\": 2, \"pin\": \"auto\"}}",
	};
	struct config c;
	size_t i;
	char *path, *msg;

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		path = write_temp(files[i]);
		assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--cpus", "4,sockets=2",
					    "--config", path), 0);
		free(msg);
		unlink(path);
		free(path);
		assert_int_equal(c.nr_cpus, 4);
		assert_int_equal(c.sockets, 2);
		assert_int_equal(c.nr_pins, 0);
		assert_null(c.pins);
		assert_false(c.pin_auto);
		assert_false(c.dedicated);
		assert_int_equal(c.halt_poll_ns, CONFIG_HALT_POLL_AUTO);
		/* Without the reset, vCPUs 2 and 3 fail dedicated mode here. */
		assert_int_equal(validate(&c, KVM_MAX, &msg), 0);
		free(msg);
		assert_null(c.vcpu_pin[0].bits);
		config_free(&c);
	}
}

static void test_args_cpus_topology(void **state)
{
	static const struct {
		const char *arg;
		unsigned int n, s, c, t;	/* after validation */
	} good[] = {
		{ "8,sockets=2,cores=4,threads=1", 8, 2, 4, 1 },
		{ "8,sockets=2", 8, 2, 4, 1 },
		{ "8,threads=2", 8, 1, 4, 2 },
		{ "12,threads=2,sockets=3", 12, 3, 2, 2 },
		{ "6,cores=3,threads=2", 6, 1, 3, 2 },
	};
	static const struct {
		const char *arg, *want;
	} bad[] = {
		{ "x", "\"x\" is not a vCPU count" },
		{ "-1", "\"-1\" is not a vCPU count" },
		{ "", "\"\" is not a vCPU count" },
		{ "8,socks=2", "unknown field \"socks\"" },
		{ "8,sockets", "sockets needs a positive integer value" },
		{ "8,sockets=", "sockets needs a positive integer value" },
		{ "8,sockets=0", "sockets needs a positive integer value" },
		{ "8,cores=2x", "cores needs a positive integer value" },
		{ "8,", "unknown field \"\"" },
	};
	struct config c;
	size_t i;
	char *msg;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--kernel", "k",
					    "--cpus", (char *)good[i].arg), 0);
		free(msg);
		assert_int_equal(validate(&c, KVM_MAX, &msg), 0);
		free(msg);
		if (c.nr_cpus != good[i].n || c.sockets != good[i].s ||
		    c.cores != good[i].c || c.threads != good[i].t)
			fail_msg("--cpus %s gave %u = %ux%ux%u", good[i].arg,
				 c.nr_cpus, c.sockets, c.cores, c.threads);
		config_free(&c);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int ret = PARSE_ARGS(&c, &msg, "run", "--cpus",
				     (char *)bad[i].arg);

		if (ret != -EINVAL || !strstr(msg, bad[i].want) ||
		    !strstr(msg, "--cpus"))
			fail_msg("--cpus %s: ret %d, message \"%s\"", bad[i].arg,
				 ret, msg);
		free(msg);
		config_free(&c);
	}
}

static void test_args_errors(void **state)
{
	struct config c;
	char *msg;

	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--frobnicate"), -EINVAL);
	capture_assert_has(msg, "unknown option --frobnicate");
	free(msg);
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "-x"), -EINVAL);
	capture_assert_has(msg, "unknown option -x");
	free(msg);
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--kernel"), -EINVAL);
	capture_assert_has(msg, "option --kernel needs an argument");
	free(msg);
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--kernel", "k", "extra"),
			 -EINVAL);
	capture_assert_has(msg, "unexpected argument \"extra\"");
	free(msg);
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--memory", "4Q"), -EINVAL);
	capture_assert_has(msg, "--memory 4Q: invalid size");
	free(msg);
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--memory", "20000000T"),
			 -EINVAL);
	capture_assert_has(msg, "--memory 20000000T: too large");
	free(msg);
	/* An error found on the second pass still fails after the first. */
	assert_int_equal(PARSE_ARGS(&c, &msg, "run", "--config",
				    (char *)fixture("good-minimal.json"),
				    "--cpus", "two"), -EINVAL);
	capture_assert_has(msg, "--cpus two");
	free(msg);
	config_free(&c);
}

/* getopt state is reset: the same arguments parse the same way twice. */
static void test_args_repeatable(void **state)
{
	struct config a, b;
	char *msg;

	/*
	 * Stop inside a cluster of short options, leaving "h" unread: a
	 * getopt that is not fully reset would read it in the next parse.
	 */
	assert_int_equal(PARSE_ARGS(&a, &msg, "run", "-xh"), -EINVAL);
	free(msg);
	config_free(&a);
	assert_int_equal(PARSE_ARGS(&a, &msg, "run", "-v", "--cpus", "3",
				    "--kernel", "k"), 0);
	free(msg);
	assert_int_equal(PARSE_ARGS(&b, &msg, "run", "-v", "--cpus", "3",
				    "--kernel", "k"), 0);
	free(msg);
	assert_false(a.help);
	assert_int_equal(a.nr_cpus, b.nr_cpus);
	assert_int_equal(a.verbose, 1);
	assert_int_equal(b.verbose, 1);
	assert_string_equal(a.kernel, b.kernel);
	config_free(&a);
	config_free(&b);
}

/* ---- validation ---- */

static void test_validate(void **state)
{
	struct config c;
	char *msg;

	config_init(&c);
	assert_int_equal(validate(&c, KVM_MAX, &msg), -EINVAL);
	capture_assert_has(msg, "no kernel given: use --kernel PATH or \"kernel\" in the config");
	free(msg);
	c.kernel = strdup("");
	assert_int_equal(validate(&c, KVM_MAX, &msg), -EINVAL);
	capture_assert_has(msg, "no kernel given");
	free(msg);
	free(c.kernel);
	c.kernel = strdup("bzImage");

	c.nr_cpus = 0;
	assert_int_equal(validate(&c, KVM_MAX, &msg), -EINVAL);
	capture_assert_has(msg, "--cpus 0: need at least one vCPU");
	free(msg);
	c.nr_cpus = 2000;
	assert_int_equal(validate(&c, KVM_MAX, &msg), -EINVAL);
	capture_assert_has(msg, "--cpus 2000: KVM allows at most 1024 vCPUs");
	free(msg);
	c.nr_cpus = KVM_MAX;
	assert_int_equal(validate(&c, KVM_MAX, &msg), 0);
	free(msg);

	c.nr_cpus = 8;
	c.sockets = 3;
	c.cores = c.threads = 0;
	assert_int_equal(validate(&c, KVM_MAX, &msg), -EINVAL);
	capture_assert_has(msg, "--cpus 8: 3 sockets x 1 threads per core do not divide 8 vCPUs");
	free(msg);
	c.sockets = 2;
	c.cores = 2;
	c.threads = 1;
	assert_int_equal(validate(&c, KVM_MAX, &msg), -EINVAL);
	capture_assert_has(msg, "sockets=2 x cores=2 x threads=1 does not make 8 vCPUs");
	free(msg);
	c.sockets = 16;
	c.cores = 1;
	c.threads = 0;
	assert_int_equal(validate(&c, KVM_MAX, &msg), -EINVAL);
	free(msg);
	c.sockets = 2;
	c.cores = 2;
	c.threads = 2;
	assert_int_equal(validate(&c, KVM_MAX, &msg), 0);
	free(msg);

	c.mem_size = 0;
	assert_int_equal(validate(&c, KVM_MAX, &msg), -EINVAL);
	capture_assert_has(msg, "--memory 0");
	free(msg);
	c.mem_size = 1000;
	assert_int_equal(validate(&c, KVM_MAX, &msg), -EINVAL);
	capture_assert_has(msg, "--memory 1000: not a multiple of 4 KiB");
	free(msg);
	c.mem_size = 3 * MiB;
	assert_int_equal(validate(&c, KVM_MAX, &msg), 0);
	free(msg);
	c.mem_hugepages = true;
	assert_int_equal(validate(&c, KVM_MAX, &msg), -EINVAL);
	capture_assert_has(msg, "not a multiple of 2 MiB");
	free(msg);
	c.mem_size = 4 * GiB;
	assert_int_equal(validate(&c, KVM_MAX, &msg), 0);
	free(msg);

	c.cmdline = calloc(1, 64 * KiB + 1);
	assert_non_null(c.cmdline);
	memset(c.cmdline, 'x', 64 * KiB);
	assert_int_equal(validate(&c, KVM_MAX, &msg), -EINVAL);
	capture_assert_has(msg, "--cmdline: 65536 bytes");
	free(msg);
	c.cmdline[64 * KiB - 1] = '\0';
	assert_int_equal(validate(&c, KVM_MAX, &msg), 0);
	free(msg);
	config_free(&c);
}

static void test_usage(void **state)
{
	static const char *const words[] = {
		"smpvisor run", "--config FILE", "--kernel PATH",
		"--initrd PATH", "--cmdline STR", "--cpus N",
		"[,sockets=S][,cores=C][,threads=T]", "--memory SIZE", "--verbose",
		"-q", "--help", "--version", "K, M, G or T", "512M",
	};
	const char *u = config_usage();
	size_t i;

	for (i = 0; i < ARRAY_SIZE(words); i++)
		capture_assert_has(u, words[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_file_minimal),
		cmocka_unit_test(test_file_full),
		cmocka_unit_test(test_file_shutdown_timeout),
		cmocka_unit_test(test_file_short_forms),
		cmocka_unit_test(test_file_bad_fixtures),
		cmocka_unit_test(test_file_missing),
		cmocka_unit_test(test_file_bad_inline),
		cmocka_unit_test(test_file_halt_poll),
		cmocka_unit_test(test_on_panic),
		cmocka_unit_test(test_on_reboot_and_sandbox),
		cmocka_unit_test(test_args_top_level),
		cmocka_unit_test(test_args_run),
		cmocka_unit_test(test_args_override_config),
		cmocka_unit_test(test_args_cpus_topology),
		cmocka_unit_test(test_args_cpus_resets_pins),
		cmocka_unit_test(test_args_errors),
		cmocka_unit_test(test_args_repeatable),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_usage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
