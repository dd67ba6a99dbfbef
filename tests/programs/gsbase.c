// SPDX-License-Identifier: MIT
/*
 * The GS base is a thread's own: set with arch_prctl(ARCH_SET_GS) or, where
 * the CPU and kernel allow it (AT_HWCAP2 has FSGSBASE), with wrgsbase. Each
 * of three threads points GS at its own cookie and checks, through %gs:0,
 * ARCH_GET_GS and rdgsbase, that it stays so across yields, sleeps, system
 * calls and preemption by the others.
 *
 * Usage: gsbase [ROUNDS]
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <asm/prctl.h>
#include "check.h"

#define THREADS		3
#define HWCAP2_FSGSBASE	(1u << 1)	/* arch/x86/include/uapi/asm/hwcap2.h */

struct worker {
	uint64_t cookie;		/* first: what %gs:0 reads */
	int id;
	int bad_gs, bad_get, bad_rd;	/* rounds where a view of GS was wrong */
};

static int rounds = 200;
static int use_insn;

static long set_gs(uint64_t v)
{
	return syscall(SYS_arch_prctl, ARCH_SET_GS, v);
}

static uint64_t get_gs(void)
{
	uint64_t v = 0;

	syscall(SYS_arch_prctl, ARCH_GET_GS, &v);
	return v;
}

static uint64_t read_gs0(void)
{
	uint64_t v;

	__asm__ volatile("movq %%gs:0, %0" : "=r"(v));
	return v;
}

static uint64_t rdgsbase(void)
{
	uint64_t v;

	__asm__ volatile("rdgsbase %0" : "=r"(v));
	return v;
}

static void wrgsbase(uint64_t v)
{
	__asm__ volatile("wrgsbase %0" : : "r"(v) : "memory");
}

/* One round's disturbance: each kind of kernel entry in turn. */
static void disturb(int r)
{
	struct timespec ts = { 0, 100000 };
	volatile uint64_t spin = 0;

	switch (r % 4) {
	case 0:
		sched_yield();
		break;
	case 1:
		nanosleep(&ts, NULL);
		break;
	case 2:
		(void)getppid();	/* a call the kernel may pass on */
		break;
	default:
		for (int i = 0; i < 20000; i++)
			spin += (uint64_t)i;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t mine = (uint64_t)(uintptr_t)w;

	if (use_insn && w->id % 2)
		wrgsbase(mine);
	else if (set_gs(mine))
		return (void *)1;
	for (int r = 0; r < rounds; r++) {
		disturb(r + w->id);
		w->bad_gs += read_gs0() != w->cookie;
		w->bad_get += get_gs() != mine;
		if (use_insn)
			w->bad_rd += rdgsbase() != mine;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker w[THREADS];
	pthread_t t[THREADS];
	char what[64];
	long ret;

	if (argc > 1 && (rounds = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: gsbase [ROUNDS]\n");
		return 2;
	}
	/* A kernel that keeps GS for itself says EINVAL; then nothing else is tried. */
	ret = set_gs((uint64_t)(uintptr_t)&w[0]);
	check_ok("arch_prctl(ARCH_SET_GS)", ret);
	if (ret)
		return check_done();
	set_gs(0);
	use_insn = !!(getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .cookie = 0x6773000000000000ull + (uint64_t)i, .id = i };
		check_quiet("pthread_create", -(long)pthread_create(&t[i], NULL, worker_main, &w[i]));
	}
	for (int i = 0; i < THREADS; i++) {
		void *res;

		pthread_join(t[i], &res);
		snprintf(what, sizeof(what), "thread %d: GS set", i);
		check_true(what, res == NULL);
		snprintf(what, sizeof(what), "thread %d: %%gs:0 is its cookie", i);
		check_explain(what, !w[i].bad_gs, "%d of %d rounds", w[i].bad_gs, rounds);
		snprintf(what, sizeof(what), "thread %d: ARCH_GET_GS", i);
		check_explain(what, !w[i].bad_get, "%d of %d rounds", w[i].bad_get, rounds);
		snprintf(what, sizeof(what), "thread %d: rdgsbase", i);
		check_explain(what, !w[i].bad_rd, "%d of %d rounds", w[i].bad_rd, rounds);
	}
	check_long("main thread's GS after the others", (long)get_gs(), 0);
	return check_done();
}
