/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Strict parsers for the small textual values users type: sizes ("4G"),
 * bounded integers and CPU lists ("0-3,8,10-11"), plus the CPU-set type the
 * lists parse into.
 *
 * Every parse_* function is silent: it returns 0, -EINVAL (not the expected
 * syntax) or -ERANGE (well formed but too large / out of bounds) and leaves
 * the message to the caller, which knows which option or key was wrong.
 */
#ifndef SMPVISOR_PARSE_H
#define SMPVISOR_PARSE_H

#include "lib/util.h"

/*
 * A size in bytes: digits, an optional decimal fraction, an optional
 * K/M/G/T suffix (powers of 1024), then an optional "B" or "iB"; all letters
 * case-insensitive, no spaces, no sign. "512M", "4GiB", "1.5g", "65536" and
 * "64KB" are accepted. A fraction is allowed only when the result is a whole
 * number of bytes ("1.5K" = 1536, but "1.3K" and "0.5" are -EINVAL).
 * -ERANGE when the value does not fit in 64 bits.
 */
int parse_size(const char *s, u64 *out);

/* A decimal integer in [min, max]; -ERANGE outside it. */
int parse_u32(const char *s, u32 min, u32 max, u32 *out);

/* The largest CPU count a cpulist may be created for. */
#define CPULIST_MAX_CPUS 65536U

/* A set of CPU numbers 0 .. nbits-1, allocated by cpulist_init. */
struct cpulist {
	unsigned long *bits;
	unsigned int nbits;
};

/* Allocate an empty set able to hold CPUs 0 .. nbits-1. */
int cpulist_init(struct cpulist *cl, unsigned int nbits);
void cpulist_free(struct cpulist *cl);
void cpulist_zero(struct cpulist *cl);
/* -ERANGE when cpu >= cl->nbits. */
int cpulist_set(struct cpulist *cl, unsigned int cpu);
void cpulist_clear(struct cpulist *cl, unsigned int cpu);
/* False for CPUs beyond the set's size. */
bool cpulist_test(const struct cpulist *cl, unsigned int cpu);
unsigned int cpulist_count(const struct cpulist *cl);
/* The first member greater than prev (pass -1 to start), or -1. */
int cpulist_next(const struct cpulist *cl, int prev);
/* Canonical "0-3,8,10-11" form (ranges merged); "" when empty. Free it. */
char *cpulist_format(const struct cpulist *cl);

#define cpulist_for_each(cpu, cl) \
	for ((cpu) = cpulist_next((cl), -1); (cpu) >= 0; \
	     (cpu) = cpulist_next((cl), (cpu)))

/*
 * Parse "0-3,8,10-11" into cl, which cpulist_init sized: the set is emptied
 * first and left empty on error. Items are a number or an ascending range
 * "A-B"; overlaps are allowed. An empty string, an empty item, a reversed
 * range or junk is -EINVAL; a CPU >= cl->nbits is -ERANGE.
 */
int parse_cpulist(const char *s, struct cpulist *cl);

#endif
