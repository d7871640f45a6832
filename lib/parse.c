// SPDX-License-Identifier: GPL-2.0
/*
 * Parsers for sizes, bounded integers and CPU lists, and the cpulist bitmap.
 * They never print: callers turn -EINVAL/-ERANGE into a message that names
 * the option or config key at fault.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/parse.h"

#define BITS_PER_LONG	(sizeof(unsigned long) * CHAR_BIT)
#define LONGS_FOR(n)	(((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/*
 * Read a run of decimal digits at *p into *v and advance *p past them.
 * -EINVAL when there is no digit, -ERANGE when the value exceeds max.
 */
static int take_digits(const char **p, u64 max, u64 *v)
{
	const char *s = *p;
	bool over = false;
	u64 n = 0;

	if (!is_digit(*s))
		return -EINVAL;
	for (; is_digit(*s); s++) {
		unsigned int d = *s - '0';

		if (n > (max - d) / 10)
			over = true;	/* keep going to consume the digits */
		else
			n = n * 10 + d;
	}
	*p = s;
	*v = n;
	return over ? -ERANGE : 0;
}

int parse_u32(const char *s, u32 min, u32 max, u32 *out)
{
	u64 v;
	int ret;

	if (!s)
		return -EINVAL;
	ret = take_digits(&s, UINT32_MAX, &v);
	if (ret == -EINVAL || *s)
		return -EINVAL;
	if (ret || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* The shift for a K/M/G/T suffix letter, or -1 for any other character. */
static int size_shift(char ch)
{
	switch (ch) {
	case 'k': case 'K': return 10;
	case 'm': case 'M': return 20;
	case 'g': case 'G': return 30;
	case 't': case 'T': return 40;
	}
	return -1;
}

/*
 * Read the optional ".digits" part as frac / 10^nd. Trailing zeros are
 * dropped so "1.50000000000000000000G" is as good as "1.5G"; more than 18
 * significant digits is refused (-EINVAL) rather than rounded.
 */
static int take_fraction(const char **p, u64 *frac, unsigned int *nd)
{
	const char *s = *p, *end;
	u64 f = 0;
	unsigned int n = 0;

	*frac = 0;
	*nd = 0;
	if (*s != '.')
		return 0;
	s++;
	if (!is_digit(*s))
		return -EINVAL;
	for (end = s; is_digit(*end); end++)
		;
	*p = end;
	while (end > s && end[-1] == '0')
		end--;
	if (end - s > 18)
		return -EINVAL;
	for (; s < end; s++, n++)
		f = f * 10 + (*s - '0');
	*frac = f;
	*nd = n;
	return 0;
}

int parse_size(const char *s, u64 *out)
{
	u64 whole, frac, pow10 = 1, v;
	unsigned __int128 part;
	unsigned int nd, i;
	int shift = 0, ret;

	if (!s)
		return -EINVAL;
	ret = take_digits(&s, UINT64_MAX, &whole);
	if (ret == -EINVAL)
		return ret;
	if (take_fraction(&s, &frac, &nd))
		return -EINVAL;
	/* Then "", "B", or a unit letter followed by "", "B" or "iB". */
	if (size_shift(*s) >= 0) {
		shift = size_shift(*s++);
		if ((*s == 'i' || *s == 'I') && (s[1] == 'b' || s[1] == 'B'))
			s++;
	}
	if (*s == 'b' || *s == 'B')
		s++;
	if (*s)
		return -EINVAL;
	if (ret)
		return -ERANGE;

	/* frac / 10^nd of one unit must come out as whole bytes. */
	for (i = 0; i < nd; i++)
		pow10 *= 10;
	part = (unsigned __int128)frac << shift;
	if (part % pow10)
		return -EINVAL;
	if (shift && whole > UINT64_MAX >> shift)
		return -ERANGE;
	v = whole << shift;
	if ((u64)(part / pow10) > UINT64_MAX - v)
		return -ERANGE;
	*out = v + (u64)(part / pow10);
	return 0;
}

int cpulist_init(struct cpulist *cl, unsigned int nbits)
{
	cl->bits = NULL;
	cl->nbits = 0;
	if (!nbits || nbits > CPULIST_MAX_CPUS)
		return -EINVAL;
	cl->bits = calloc(LONGS_FOR(nbits), sizeof(unsigned long));
	if (!cl->bits)
		return -ENOMEM;
	cl->nbits = nbits;
	return 0;
}

void cpulist_free(struct cpulist *cl)
{
	free(cl->bits);
	cl->bits = NULL;
	cl->nbits = 0;
}

void cpulist_zero(struct cpulist *cl)
{
	if (cl->bits)
		memset(cl->bits, 0, LONGS_FOR(cl->nbits) * sizeof(unsigned long));
}

int cpulist_set(struct cpulist *cl, unsigned int cpu)
{
	if (cpu >= cl->nbits)
		return -ERANGE;
	cl->bits[cpu / BITS_PER_LONG] |= 1UL << (cpu % BITS_PER_LONG);
	return 0;
}

void cpulist_clear(struct cpulist *cl, unsigned int cpu)
{
	if (cpu < cl->nbits)
		cl->bits[cpu / BITS_PER_LONG] &= ~(1UL << (cpu % BITS_PER_LONG));
}

bool cpulist_test(const struct cpulist *cl, unsigned int cpu)
{
	if (cpu >= cl->nbits)
		return false;
	return cl->bits[cpu / BITS_PER_LONG] & (1UL << (cpu % BITS_PER_LONG));
}

unsigned int cpulist_count(const struct cpulist *cl)
{
	unsigned int i, n = 0;

	for (i = 0; i < LONGS_FOR(cl->nbits); i++)
		n += __builtin_popcountl(cl->bits[i]);
	return n;
}

int cpulist_next(const struct cpulist *cl, int prev)
{
	unsigned int cpu = prev + 1;	/* -1 wraps to 0 */
	unsigned long w;

	while (cpu < cl->nbits) {
		w = cl->bits[cpu / BITS_PER_LONG] >> (cpu % BITS_PER_LONG);
		if (w)
			return cpu + __builtin_ctzl(w);
		cpu = (cpu / BITS_PER_LONG + 1) * BITS_PER_LONG;
	}
	return -1;
}

char *cpulist_format(const struct cpulist *cl)
{
	/* Worst case "0,2,4,...": each member costs its digits plus a comma. */
	size_t cap = (size_t)cpulist_count(cl) * 7 + 1, len = 0;
	char *buf = malloc(cap);
	int cpu, last;

	if (!buf)
		return NULL;
	buf[0] = '\0';
	cpu = cpulist_next(cl, -1);
	while (cpu >= 0) {
		last = cpu;
		while (cpulist_test(cl, last + 1))
			last++;
		len += snprintf(buf + len, cap - len, "%s%d", len ? "," : "", cpu);
		if (last > cpu)
			len += snprintf(buf + len, cap - len, "-%d", last);
		cpu = cpulist_next(cl, last);
	}
	return buf;
}

/* One "A" or "A-B" item at *p; on success *p points past it. */
static int take_cpu_range(const char **p, unsigned int nbits,
			  u64 *first, u64 *last)
{
	int r1, r2 = 0;

	r1 = take_digits(p, UINT32_MAX, first);
	if (r1 == -EINVAL)
		return r1;
	*last = *first;
	if (**p == '-') {
		(*p)++;
		r2 = take_digits(p, UINT32_MAX, last);
		if (r2 == -EINVAL)
			return r2;
	}
	if (**p && **p != ',')
		return -EINVAL;
	if (r1 || r2)
		return -ERANGE;
	if (*last < *first)
		return -EINVAL;
	if (*last >= nbits)
		return -ERANGE;
	return 0;
}

int parse_cpulist(const char *s, struct cpulist *cl)
{
	bool out_of_range = false;
	u64 first, last, cpu;
	int ret;

	if (!cl->bits)
		return -EINVAL;
	cpulist_zero(cl);
	if (!s || !*s)
		return -EINVAL;
	/*
	 * A range error is remembered but scanning goes on, so junk later in
	 * the string is still reported as the syntax error it is.
	 */
	for (;;) {
		ret = take_cpu_range(&s, cl->nbits, &first, &last);
		if (ret == -EINVAL)
			goto fail;
		if (ret)
			out_of_range = true;
		else
			for (cpu = first; cpu <= last; cpu++)
				cpulist_set(cl, cpu);
		if (!*s)
			break;
		s++;	/* the comma; an empty item after it fails above */
	}
	if (!out_of_range)
		return 0;
	ret = -ERANGE;
fail:
	cpulist_zero(cl);
	return ret;
}
