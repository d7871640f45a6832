// SPDX-License-Identifier: GPL-2.0
/*
 * loops.c - the CPU workloads: agent.cpuloop, agent.lockloop, agent.pingpong.
 *
 * A fixed integer loop on every CPU, the same loop under one shared lock,
 * and round trips between two CPUs (spinning or on a futex).
 */
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"

/* ---- agent.cpuloop: a fixed integer loop on every CPU ---------------- */

struct loop_thr {
	int cpu;
	long ms;
	uint64_t iters;
	int *go;			/* set once every thread exists */
	pthread_mutex_t *lock;		/* agent.lockloop: the shared lock */
	uint64_t *shared;		/* and what it guards */
	pthread_t tid;
};

/*
 * agent.lockloop: every iteration takes the one shared mutex, does a few
 * steps of the same integer loop on the shared state and drops it, so all
 * CPUs contend on one cache line and, when it is held, sleep on its futex.
 */
static uint64_t lock_iters(struct loop_thr *t, uint64_t end)
{
	uint64_t n = 0, x;
	int i, k;

	do {
		for (i = 0; i < 256; i++) {
			pthread_mutex_lock(t->lock);
			x = *t->shared;
			for (k = 0; k < 16; k++) {
				x = x * 6364136223846793005ull + 1442695040888963407ull;
				x ^= x >> 29;
			}
			*t->shared = x;
			pthread_mutex_unlock(t->lock);
		}
		n += 256;
	} while (now_ns() < end);
	return n;
}

static void *loop_worker(void *arg)
{
	struct loop_thr *t = arg;
	uint64_t x = t->cpu + 1, n = 0, end;
	int i;

	pin_to(t->cpu);
	while (!__atomic_load_n(t->go, __ATOMIC_ACQUIRE))
		sched_yield();
	end = now_ns() + t->ms * 1000000ull;
	if (t->lock) {
		t->iters = lock_iters(t, end);
		return NULL;
	}
	do {
		for (i = 0; i < 4096; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			x ^= x >> 29;
			__asm__ volatile("" : "+r"(x));
		}
		n += 4096;
	} while (now_ns() < end);
	t->iters = n;
	return NULL;
}

/* agent.cpuloop (lock false) or agent.lockloop (lock true). */
void cpu_loop(long ms, bool lock)
{
	const char *what = lock ? "lockloop" : "cpuloop";
	struct loop_thr *t = calloc(nr_online, sizeof(*t));
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct jb j = { 0 };
	uint64_t total = 0, shared = 1;
	int i, n, go = 0;

	if (!t || ms <= 0) {
		agent_err("%s: %s", what, t ? "bad duration" : "out of memory");
		free(t);
		return;
	}
	for (n = 0; n < nr_online; n++) {
		t[n] = (struct loop_thr){ .cpu = online[n], .ms = ms, .go = &go,
					  .lock = lock ? &mu : NULL, .shared = &shared };
		if (pthread_create(&t[n].tid, NULL, loop_worker, &t[n])) {
			agent_err("%s: cannot start thread %d", what, n);
			break;
		}
	}
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (i = 0; i < n; i++)
		pthread_join(t[i].tid, NULL);
	jb_open(&j, '{');
	jb_kint(&j, "ms", ms);
	jb_key(&j, "per_cpu");
	jb_open(&j, '[');
	for (i = 0; i < n; i++) {
		jb_open(&j, '{');
		jb_kint(&j, "cpu", t[i].cpu);
		jb_kint(&j, "iters", (long long)t[i].iters);
		jb_close(&j, '}');
		total += t[i].iters;
	}
	jb_close(&j, ']');
	jb_kint(&j, "total", (long long)total);
	jb_close(&j, '}');
	jb_emit(&j, lock ? "AGENT-LOCKLOOP" : "AGENT-CPULOOP");
	free(t);
}

/* ---- agent.pingpong: round trips between two CPUs -------------------- */

struct pp {
	int seq;			/* odd: A's turn done, even: B's */
	int iters;
	bool spin;
	int cpu_a, cpu_b;
	uint64_t *rtt;
};

static void pp_wait(struct pp *p, int want)
{
	int v;

	while ((v = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE)) != want) {
		if (p->spin)
			__asm__ volatile("pause");
		else
			syscall(SYS_futex, &p->seq, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
	}
}

static void pp_post(struct pp *p, int v)
{
	__atomic_store_n(&p->seq, v, __ATOMIC_RELEASE);
	if (!p->spin)
		syscall(SYS_futex, &p->seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *pp_b(void *arg)
{
	struct pp *p = arg;
	int i;

	pin_to(p->cpu_b);
	for (i = 0; i < p->iters; i++) {
		pp_wait(p, 2 * i + 1);
		pp_post(p, 2 * i + 2);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool cpu_online(int cpu)
{
	int i;

	for (i = 0; i < nr_online; i++)
		if (online[i] == cpu)
			return true;
	return false;
}

/* agent.pingpong=A,B[,ITERS[,spin|futex]] */
void ping_pong(const char *v)
{
	struct pp p = { .iters = 10000 };
	char mode[16] = "futex";
	struct jb j = { 0 };
	pthread_t tid;
	uint64_t t0, sum = 0;
	int i, n = sscanf(v, "%d,%d,%d,%15s", &p.cpu_a, &p.cpu_b, &p.iters, mode);

	if (n < 2 || p.iters <= 0 || (strcmp(mode, "futex") && strcmp(mode, "spin")) ||
	    !cpu_online(p.cpu_a) || !cpu_online(p.cpu_b)) {
		agent_err("bad agent.pingpong=%s (want A,B[,ITERS[,spin|futex]] "
			  "with A and B online)", v);
		return;
	}
	p.spin = !strcmp(mode, "spin") && p.cpu_a != p.cpu_b;
	p.rtt = calloc(p.iters, sizeof(*p.rtt));
	if (!p.rtt || pin_to(p.cpu_a) || pthread_create(&tid, NULL, pp_b, &p)) {
		agent_err("pingpong: cannot start");
		free(p.rtt);
		pin_to(-1);
		return;
	}
	for (i = 0; i < p.iters; i++) {
		t0 = now_ns();
		pp_post(&p, 2 * i + 1);
		pp_wait(&p, 2 * i + 2);
		p.rtt[i] = now_ns() - t0;
		sum += p.rtt[i];
	}
	pthread_join(tid, NULL);
	pin_to(-1);
	qsort(p.rtt, p.iters, sizeof(*p.rtt), cmp_u64);
	jb_open(&j, '{');
	jb_kint(&j, "cpu_a", p.cpu_a);
	jb_kint(&j, "cpu_b", p.cpu_b);
	jb_kint(&j, "iters", p.iters);
	jb_kstr(&j, "mode", p.spin ? "spin" : "futex");
	jb_kint(&j, "median_ns", (long long)p.rtt[p.iters / 2]);
	jb_kint(&j, "min_ns", (long long)p.rtt[0]);
	jb_kint(&j, "max_ns", (long long)p.rtt[p.iters - 1]);
	jb_kint(&j, "mean_ns", (long long)(sum / p.iters));
	jb_close(&j, '}');
	jb_emit(&j, "AGENT-PINGPONG");
	free(p.rtt);
}
