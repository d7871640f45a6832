/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by every folder: logging, sizes, array length.
 * Logging is quiet by default: pr_info/pr_debug print only when the
 * process-wide log level (set once at start-up, read-only afterwards)
 * allows it.
 */
#ifndef SMPVISOR_UTIL_H
#define SMPVISOR_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <errno.h>
#include <stdatomic.h>
#include <time.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The struct of type `type` whose member `member` ptr points to: how an
 * object gets back to itself from a member it handed out (a callback's
 * handler, an embedded transport). Refuses to compile when ptr is not a
 * pointer to that member's type.
 */
#define container_of(ptr, type, member) ({				\
	_Static_assert(__builtin_types_compatible_p(__typeof__(*(ptr)),	\
			__typeof__(((type *)0)->member)),		\
		       "container_of: ptr is not a " #member " of " #type); \
	(type *)((char *)(ptr) - offsetof(type, member)); })

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

enum log_level { LOG_OFF = -1, LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Set once by main before any thread starts; never written afterwards. */
extern enum log_level log_level;

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Nanoseconds on the monotonic clock. */
static inline u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

/*
 * Pacing for work a guest can make the host do at will (an ioctl per
 * register write, say): after a burst of `burst` operations, at most one
 * per `interval_ns`, the excess slept off by the thread asking, which is
 * the offending vCPU's own. The schedule is one atomic word.
 */
struct pace {
	_Atomic u64 next;	/* when the next operation is due, 0: never ran */
	u64 interval_ns, burst;
	_Atomic u64 slept_ns;	/* stats */
};

#define PACE_INIT(per_sec, burst_ops) \
	{ 0, 1000000000ULL / (per_sec), (burst_ops), 0 }

static inline void pace_wait(struct pace *p)
{
	u64 now = now_ns(), slack = p->interval_ns * p->burst;
	u64 next = atomic_load(&p->next), due, want;
	struct timespec ts;

	do {
		due = next + slack > now ? next : now - slack;
		want = due + p->interval_ns;
	} while (!atomic_compare_exchange_weak(&p->next, &next, want));
	if (due <= now)
		return;
	atomic_fetch_add(&p->slept_ns, due - now);
	ts.tv_sec = (time_t)((due - now) / 1000000000ULL);
	ts.tv_nsec = (long)((due - now) % 1000000000ULL);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

#endif
