// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for lib/termfilter.c, the filter between a hostile guest's
 * console output and the host's terminal: what draws passes unchanged,
 * what would make the terminal act is dropped whole, however the bytes
 * are split into calls, and nothing is held without bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/termfilter.h"

#define ESC "\x1b"

/* Filter in[0..n) in chunks of at most chunk bytes; checks the bounds. */
static size_t filter_chunked(const u8 *in, size_t n, size_t chunk, u8 *out)
{
	struct termfilter f;
	size_t at, k, w = 0, got;

	termfilter_init(&f);
	for (at = 0; at < n; at += k) {
		k = MIN(chunk, n - at);
		got = termfilter_run(&f, in + at, k, out + w);
		assert_true(got <= TERMFILTER_OUT_MAX(k));
		w += got;
		assert_true(w <= at + k);
		assert_int_equal(at + k, w + f.dropped + f.len);
		assert_true(f.len <= TERMFILTER_HOLD);
	}
	return w;
}

/*
 * in gives want: in one call, byte by byte and split at every point in
 * two, which must all agree.
 */
static void expect(const char *in, size_t n, const char *want, size_t wn)
{
	u8 *one = malloc(n + 1), *part = malloc(n + 1);
	struct termfilter f;
	size_t w, cut, w1;

	assert_non_null(one);
	assert_non_null(part);
	w = filter_chunked((const u8 *)in, n, n ? n : 1, one);
	if (w != wn || memcmp(one, want, wn)) {
		size_t i;

		print_error("input:");
		for (i = 0; i < n; i++)
			print_error(" %02x", (u8)in[i]);
		print_error("\noutput:");
		for (i = 0; i < w; i++)
			print_error(" %02x", one[i]);
		print_error("\n");
		fail_msg("%zu bytes out, %zu wanted", w, wn);
	}
	assert_int_equal(filter_chunked((const u8 *)in, n, 1, part), w);
	assert_memory_equal(part, one, w);
	for (cut = 1; cut < n; cut++) {
		termfilter_init(&f);
		w1 = termfilter_run(&f, (const u8 *)in, cut, part);
		w1 += termfilter_run(&f, (const u8 *)in + cut, n - cut, part + w1);
		assert_int_equal(w1, w);
		assert_memory_equal(part, one, w);
	}
	free(one);
	free(part);
}

/* String literals, NULs included: sizeof, not strlen. */
#define EXPECT(in, want)	expect(in, sizeof(in) - 1, want, sizeof(want) - 1)
#define PASSES(in)		EXPECT(in, in)
#define DROPPED(in)		EXPECT("<" in ">", "<>")

static void test_text_and_utf8_unchanged(void **state)
{
	PASSES("Hello, world! 0123456789 ~`!@#$%^&*()_+-={}[]|\\:;\"'<>,.?/");
	PASSES("\tcol\r\nnext line\bX\n");
	PASSES("caf\xc3\xa9 \xc2\xa0nbsp \xe2\x82\xac \xe4\xb8\xad\xe6\x96\x87 "
	       "\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xef\xbf\xbd");
	PASSES("");
}

/*
 * UTF-8 forms a terminal could read as controls, and bytes no character
 * is made of: dropped, the text around them kept.
 */
static void test_bad_utf8_and_c1_dropped(void **state)
{
	EXPECT("<\xc2\x9b" "6n>", "<6n>");	/* U+009B: CSI to xterm and VTE */
	EXPECT("<\xc2\x9d" "0;t\x07>", "<0;t>");	/* U+009D OSC: its text is text */
	DROPPED("\x9b\x9d\x90\x80\xbf");	/* raw C1 and stray continuations */
	DROPPED("\xc0\x9b\xc1\x80\xe0\x80\x9b\xf0\x80\x80\x9b"); /* overlong */
	DROPPED("\xed\xa0\x80");		/* a surrogate */
	DROPPED("\xf4\x90\x80\x80\xf5\x80\x80\x80\xff\xfe");	/* past U+10FFFF */
	EXPECT("\xe4\xb8" "a\xf0\x9f\x98" ESC "[1m", "a" ESC "[1m");	/* cut short */
	EXPECT("\xe2\x82" "\xe2\x82\xac", "\xe2\x82\xac");
}

static void test_c0_controls(void **state)
{
	DROPPED("\x00\x01\x02\x03\x04\x05\x06\x07\x0b\x0c\x0e\x0f");
	DROPPED("\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1c\x1d\x1e\x1f\x7f");
	EXPECT("a\x05" "b\x07" "c\x0e" "d", "abcd");	/* ENQ answers, SO shifts */
}

static void test_sgr_and_drawing_pass(void **state)
{
	PASSES(ESC "[m" ESC "[0m" ESC "[1;31m" "red" ESC "[38;5;196m" ESC "[48;2;1;2;3m"
	       ESC "[38:2::10:20:30m" ESC "[4:3m" ESC "[0;1;4;5;7;8m");
	PASSES(ESC "[H" ESC "[10;20H" ESC "[5;5f" ESC "[A" ESC "[2B" ESC "[3C" ESC "[4D"
	       ESC "[E" ESC "[F" ESC "[7G" ESC "[3d");
	PASSES(ESC "[J" ESC "[0J" ESC "[1J" ESC "[2J" ESC "[K" ESC "[2K");
	PASSES(ESC "[@" ESC "[3P" ESC "[X" ESC "[2L" ESC "[M");
	PASSES(ESC "7" "saved" ESC "8" ESC "D" ESC "E" ESC "M");
}

/* The terminal would answer on its input: the guest could type there. */
static void test_reports_dropped(void **state)
{
	DROPPED(ESC "[6n");		/* DSR: cursor position */
	DROPPED(ESC "[5n");
	DROPPED(ESC "[?6n");
	DROPPED(ESC "[c");		/* DA */
	DROPPED(ESC "[0c");
	DROPPED(ESC "[>c");		/* DA2 */
	DROPPED(ESC "[=c");		/* DA3 */
	DROPPED(ESC "[21t");		/* window title report */
	DROPPED(ESC "[14t");
	DROPPED(ESC "[8;100;300t");	/* window resize */
	DROPPED(ESC "[x");		/* DECREQTPARM */
	DROPPED(ESC "[?1$p");		/* DECRQM */
	DROPPED(ESC "Z");		/* DECID */
	DROPPED("\x05");		/* ENQ: answerback */
}

/* Modes and everything else that outlives the VM or is not drawing. */
static void test_modes_and_others_dropped(void **state)
{
	DROPPED(ESC "[?25l");
	DROPPED(ESC "[?25h");
	DROPPED(ESC "[?1049h");
	DROPPED(ESC "[?1000h");		/* mouse reports */
	DROPPED(ESC "[?2004h");		/* bracketed paste */
	DROPPED(ESC "[4h");
	DROPPED(ESC "[20h");		/* LNM: Enter would send CR LF */
	DROPPED(ESC "[>4;1m");		/* xterm modifyOtherKeys, an 'm' */
	DROPPED(ESC "[3J");		/* the host's scrollback */
	DROPPED(ESC "[1;24r");
	DROPPED(ESC "[!p");		/* DECSTR */
	DROPPED(ESC "[2 q");		/* cursor style */
	DROPPED(ESC "[5i");		/* media copy */
	DROPPED(ESC "[65535b");		/* REP */
	DROPPED(ESC "[s" ESC "[u" ESC "[S" ESC "[T" ESC "[g");
	DROPPED(ESC "c");		/* RIS */
	DROPPED(ESC "(0" ESC ")B" ESC "#8" ESC " F");
	DROPPED(ESC "=" ESC ">" ESC "N" ESC "O" ESC "H" ESC "\\");
	EXPECT(ESC "(0lqqk", "lqqk");	/* the final byte ends it */
}

static void test_strings_dropped(void **state)
{
	DROPPED(ESC "]0;pwned title\x07");
	DROPPED(ESC "]2;pwned title" ESC "\\");
	DROPPED(ESC "]52;c;aGVsbG8gY2xpcGJvYXJk\x07");
	DROPPED(ESC "]52;c;aGVsbG8gY2xpcGJvYXJk" ESC "\\");
	EXPECT("<" ESC "]8;;http://x\x07" "link" ESC "]8;;\x07>", "<link>");
	EXPECT("<" ESC "]8;;http://x" ESC "\\" "link" ESC "]8;;" ESC "\\>", "<link>");
	DROPPED(ESC "P+q544e\x07" "still inside" ESC "\\");	/* BEL does not end DCS */
	DROPPED(ESC "P1$r0m" ESC "\\");
	DROPPED(ESC "_Gf=24;AAAA" ESC "\\");	/* APC: kitty graphics */
	DROPPED(ESC "^private" ESC "\\");
	DROPPED(ESC "Xsos" ESC "\\");
	DROPPED(ESC "]0;\xc3\xa9\xc2\x9c" "still title\x07");
}

/* CAN and SUB end a sequence; ESC ends it and starts the next one. */
static void test_aborts(void **state)
{
	EXPECT(ESC "[31\x18" "x", "x");
	EXPECT(ESC "]0;title\x1a" "x", "x");
	EXPECT(ESC "P+q\x18" "x", "x");
	EXPECT(ESC "]0;title" ESC "[1mx", ESC "[1mx");
	EXPECT(ESC "[12" ESC "[2Jx", ESC "[2Jx");
	EXPECT(ESC ESC ESC "[m", ESC "[m");
	EXPECT(ESC "[1\n2m", ESC "[12m");	/* a C0 inside is dropped */
	EXPECT(ESC "[1;\xc3\xa9m" "x", "x");
	EXPECT(ESC "[1 \x18" "x", "x");
	EXPECT(ESC "\xc3\xa9" "x", "x");	/* ESC ends at any byte */
}

/* The longest CSI held passes; one byte more and it is dropped whole. */
static void test_overlong_csi(void **state)
{
	char in[TERMFILTER_HOLD + 16], want[TERMFILTER_HOLD + 16];
	size_t n = 0;

	n += (size_t)sprintf(in, ESC "[");
	for (; n < TERMFILTER_HOLD; n++)
		in[n] = n % 3 ? '1' : ';';
	in[n++] = 'm';
	memcpy(want, in, n);
	memcpy(in + n, "ok", 2);
	memcpy(want + n, "ok", 2);
	expect(in, n + 2, want, n + 2);

	memmove(in + 3, in + 2, n);	/* one more parameter byte */
	in[2] = '1';
	expect(in, n + 3, "ok", 2);
}

/*
 * An OSC (and a CSI) that never ends: nothing comes out and nothing is
 * held, and text after its end shows.
 */
static void test_endless_strings(void **state)
{
	size_t n = 1 << 20, i;
	u8 *in = malloc(n), out[TERMFILTER_OUT_MAX(4096)];
	struct termfilter f;
	const char *kinds[] = { ESC "]", ESC "P", ESC "[", ESC "_" };
	unsigned k;

	assert_non_null(in);
	for (k = 0; k < ARRAY_SIZE(kinds); k++) {
		termfilter_init(&f);
		assert_int_equal(termfilter_run(&f, (const u8 *)kinds[k], 2, out), 0);
		memset(in, k == 2 ? '7' : 'A', n);
		for (i = 0; i < n; i += 4096) {
			assert_int_equal(termfilter_run(&f, in + i, 4096, out), 0);
			assert_true(f.len <= TERMFILTER_HOLD);
		}
		assert_int_equal(f.dropped + f.len, n + 2);
		/* BEL ends only the OSC, ST the strings, a final byte the CSI. */
		i = termfilter_run(&f, (const u8 *)(k == 2 ? "m" : ESC "\\"),
				   k == 2 ? 1 : 2, out);
		assert_int_equal(i, 0);
		assert_int_equal(termfilter_run(&f, (const u8 *)"ok\n", 3, out), 3);
		assert_memory_equal(out, "ok\n", 3);
	}
	free(in);
}

/* Random input: every split gives what one call gives, within bounds. */
static void test_random_splits(void **state)
{
	static const char alphabet[] = "\x1b\x1b\x1b[[]]P_^X\\\x07\x18\x1a" "0123;:?>m6nctJhH"
				       "\xc2\x9b\xe2\x82\xac\xf0\x9f" "ab \n";
	u8 in[256], one[256], part[256 + TERMFILTER_HOLD];
	unsigned seed = 12345, round;
	size_t i, n, w;

	for (round = 0; round < 20000; round++) {
		n = rand_r(&seed) % sizeof(in);
		for (i = 0; i < n; i++)
			in[i] = rand_r(&seed) % 8 ? (u8)alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)]
						  : (u8)rand_r(&seed);
		w = filter_chunked(in, n, n ? n : 1, one);
		assert_true(w <= n);
		assert_int_equal(filter_chunked(in, n, 1 + rand_r(&seed) % 9, part), w);
		assert_memory_equal(part, one, w);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_and_utf8_unchanged),
		cmocka_unit_test(test_bad_utf8_and_c1_dropped),
		cmocka_unit_test(test_c0_controls),
		cmocka_unit_test(test_sgr_and_drawing_pass),
		cmocka_unit_test(test_reports_dropped),
		cmocka_unit_test(test_modes_and_others_dropped),
		cmocka_unit_test(test_strings_dropped),
		cmocka_unit_test(test_aborts),
		cmocka_unit_test(test_overlong_csi),
		cmocka_unit_test(test_endless_strings),
		cmocka_unit_test(test_random_splits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
