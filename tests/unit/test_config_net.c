// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for vmm/config_net.c and the "rng" key: "net" in the JSON
 * file, --net on the command line (appended after the file's devices),
 * MAC address parsing, validation and its messages.
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

static char *write_temp(const char *json)
{
	char *path = strdup("/tmp/smpvisor-net-XXXXXX.json");
	int fd;

	assert_non_null(path);
	fd = mkstemps(path, 5);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	return path;
}

/* "smpvisor run --kernel k" and the NULL-terminated words given. */
static int run_args(struct config *c, char **msg, ...)
{
	char *argv[32] = { "smpvisor", "run", "--kernel", "k" };
	struct capture cap;
	int argc = 4, ret;
	va_list ap;

	va_start(ap, msg);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	config_init(c);
	capture_begin(&cap);
	ret = config_parse_args(c, argc, argv);
	if (!ret)
		ret = config_validate(c, 64);
	*msg = capture_end(&cap);
	return ret;
}

#define ARGS(c, msg, ...) run_args((c), (msg), __VA_ARGS__, (char *)NULL)

/* Parse the JSON file text (and validate it) into a fresh config. */
static int run_json(struct config *c, const char *json, char **msg)
{
	char *path = write_temp(json);
	int ret;

	ret = ARGS(c, msg, "--config", path);
	unlink(path);
	free(path);
	return ret;
}

static void test_mac(void **state)
{
	static const char *bad[] = {
		"", "02:11:22:33:44", "02:11:22:33:44:55:66", "02-11-22-33-44-55",
		"02:11:22:33:44:5g", "2:11:22:33:44:55", "02:11:22:33:44:555",
		"01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", " 02:11:22:33:44:55",
		"02:11:22:33:44:55 ", "02:+1:22:33:44:55",
	};
	u8 mac[6];
	size_t i;

	assert_int_equal(config_parse_mac("02:aB:00:Ff:10:9c", mac), 0);
	assert_memory_equal(mac, ((u8[]){ 2, 0xab, 0, 0xff, 0x10, 0x9c }), 6);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (config_parse_mac(bad[i], mac) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
}

static void test_args(void **state)
{
	struct config c;
	char *msg;

	assert_int_equal(ARGS(&c, &msg, "--net", "tap=tap0",
			      "--net", "queues=4,tap=vm1,mac=52:54:00:12:34:56",
			      "--net", "tap=v2,vhost=on", "--net", "tap=v3,vhost=off"), 0);
	assert_string_equal(msg, "");
	assert_int_equal(c.nr_nets, 4);
	assert_int_equal(c.nets[0].vhost, -1);	/* if /dev/vhost-net exists */
	assert_int_equal(c.nets[2].vhost, 1);
	assert_int_equal(c.nets[3].vhost, 0);
	assert_string_equal(c.nets[0].tap, "tap0");
	assert_int_equal(c.nets[0].queues, 1);	/* the default */
	assert_false(c.nets[0].mac_given);
	assert_string_equal(c.nets[1].tap, "vm1");
	assert_int_equal(c.nets[1].queues, 4);
	assert_true(c.nets[1].mac_given);
	assert_memory_equal(c.nets[1].mac,
			    ((u8[]){ 0x52, 0x54, 0, 0x12, 0x34, 0x56 }), 6);
	assert_true(c.rng);			/* on by default */
	free(msg);
	config_free(&c);
}

static void test_args_errors(void **state)
{
	static const struct {
		const char *arg, *want;
	} cases[] = {
		{ "tap=t0,queues=0", "queues=0" },
		{ "tap=t0,queues=257", "queues=257" },
		{ "tap=t0,queues=x", "queues=x" },
		{ "tap=t0,mac=01:02:03:04:05:06", "mac=01:02:03:04:05:06" },
		{ "tap=t0,mac=02:02", "mac=02:02" },
		{ "tap=t0,colour=blue", "colour" },
		{ "tap=t0,vhost=yes", "vhost=yes" },
		{ "tap=t0,vhost", "vhost" },
		{ "tap=", "tap=" },
		{ "queues=2", "no tap=NAME" },
		{ "tap=abcdefghijklmnop", "not a valid interface name" },
		{ "tap=a/b", "not a valid interface name" },
	};
	struct config c;
	size_t i;
	char *msg;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (ARGS(&c, &msg, "--net", cases[i].arg) != -EINVAL)
			fail_msg("--net %s accepted", cases[i].arg);
		capture_assert_has(msg, cases[i].want);
		/* One line. */
		assert_ptr_equal(strchr(msg, '\n'), msg + strlen(msg) - 1);
		free(msg);
		config_free(&c);
	}
	assert_int_equal(ARGS(&c, &msg, "--net", "tap=x0", "--net", "tap=x0"),
			 -EINVAL);
	capture_assert_has(msg, "net x0: tap named twice");
	free(msg);
	config_free(&c);
}

static void test_json(void **state)
{
	struct config c;
	char *msg, *path;
	int ret;

	assert_int_equal(run_json(&c, "{\"net\": [{\"tap\": \"t0\", \"queues\": 2,"
				  " \"mac\": \"02:00:00:00:00:07\", \"vhost\": false}, {\"tap\": \"t1\"}],"
				  " \"rng\": false}", &msg), 0);
	assert_string_equal(msg, "");
	assert_int_equal(c.nr_nets, 2);
	assert_string_equal(c.nets[0].tap, "t0");
	assert_int_equal(c.nets[0].queues, 2);
	assert_true(c.nets[0].mac_given);
	assert_int_equal(c.nets[0].mac[5], 7);
	assert_int_equal(c.nets[1].queues, 1);
	assert_int_equal(c.nets[0].vhost, 0);
	assert_int_equal(c.nets[1].vhost, -1);
	assert_false(c.rng);
	free(msg);
	config_free(&c);

	/* --net appends to the file's devices, whatever the order. */
	path = write_temp("{\"net\": [{\"tap\": \"f0\"}]}");
	ret = ARGS(&c, &msg, "--net", "tap=c0", "--config", path);
	unlink(path);
	free(path);
	assert_int_equal(ret, 0);
	assert_int_equal(c.nr_nets, 2);
	assert_string_equal(c.nets[0].tap, "f0");
	assert_string_equal(c.nets[1].tap, "c0");
	free(msg);
	config_free(&c);
}

static void test_json_errors(void **state)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "{\"net\": {\"tap\": \"t0\"}}", "\"net\" must be an array" },
		{ "{\"net\": [\"t0\"]}", "\"net[0]\" must be an object" },
		{ "{\"net\": [{\"queues\": 2}]}", "\"net[0].tap\" is required" },
		{ "{\"net\": [{\"tap\": \"t0\", \"speed\": 1}]}", "unknown key \"net[0].speed\"" },
		{ "{\"net\": [{\"tap\": \"t0\"}, {\"tap\": 3}]}", "\"net[1].tap\" has a bad value" },
		{ "{\"net\": [{\"tap\": \"t0\", \"queues\": 0}]}", "\"net[0].queues\" has a bad value" },
		{ "{\"net\": [{\"tap\": \"t0\", \"queues\": \"2\"}]}", "\"net[0].queues\" has a bad value" },
		{ "{\"net\": [{\"tap\": \"t0\", \"mac\": \"03:00:00:00:00:01\"}]}", "\"net[0].mac\" has a bad value" },
		{ "{\"rng\": 0}", "\"rng\"" },
	};
	struct config c;
	size_t i;
	char *msg;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (run_json(&c, cases[i].json, &msg) != -EINVAL)
			fail_msg("%s accepted", cases[i].json);
		capture_assert_has(msg, cases[i].want);
		free(msg);
		config_free(&c);
	}
}

static void test_usage(void **state)
{
	const char *u = config_usage();

	capture_assert_has(u, "--net tap=NAME[,queues=N][,mac=M][,vhost=on|off]");
	capture_assert_has(u, "\"net\": [{\"tap\": NAME, \"queues\": N, \"mac\": MAC, \"vhost\": BOOL}");
	capture_assert_has(u, "\"rng\": BOOL");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_args_errors),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_usage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
