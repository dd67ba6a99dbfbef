// SPDX-License-Identifier: MIT
/*
 * Vector registers survive everything the kernel does to a thread: worker
 * threads on one CPU each keep their own values in the SSE, AVX and AVX-512
 * registers (and the AVX-512 mask registers) while they yield, sleep, take
 * a signal whose handler loads other values, spin while a higher-priority
 * thread preempts them, and make system calls. Each round loads a pattern
 * unique to (thread, round, register, lane), does one such thing inside the
 * same asm block, and reads every register back.
 *
 * Usage: fpu [auto|sse|avx|avx512] [ROUNDS]. auto: what CPUID and XGETBV
 * say the OS enables (as glibc decides); a named set is used as told (the
 * caller knows the registers exist). Only the checks are printed: the set
 * used and the counts of events are "# " lines, which tests do not compare.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "rt.h"

#define WORKERS		4
#define DEFAULT_ROUNDS	5000
#define SPIN		100000	/* iterations of the busy loop inside a round */
#define MAX_BYTES	(32 * 64 + 8 * 8)	/* zmm0-31 and k0-7 */

enum regset { SET_SSE = 1, SET_AVX, SET_AVX512 };
enum action { ACT_SPIN, ACT_YIELD, ACT_SLEEP, ACT_SIGNAL, ACT_SYSCALL, ACT_COUNT };

static enum regset regset;
static int rounds = DEFAULT_ROUNDS;
static atomic_int workers_left = WORKERS;
static atomic_long signals_taken, ticks;

static size_t regset_bytes(enum regset s)
{
	return s == SET_SSE ? 16 * 16 : s == SET_AVX ? 16 * 32 : MAX_BYTES;
}

/* Byte b of register state for (who, round): distinct for every thread and round. */
static void pattern(uint8_t *buf, size_t n, unsigned who, unsigned round)
{
	for (size_t b = 0; b < n; b++)
		buf[b] = (uint8_t)(b * 7 + who * 31 + round * 13 + (b >> 8));
}

/* One syscall's arguments, run inside the asm block between load and store. */
struct call {
	long nr, a0, a1, a2;
};

#define LOAD_SSE(i)	"movdqu " #i "*16(%[in]), %%xmm" #i "\n"
#define STORE_SSE(i)	"movdqu %%xmm" #i ", " #i "*16(%[out])\n"
#define LOAD_AVX(i)	"vmovdqu " #i "*32(%[in]), %%ymm" #i "\n"
#define STORE_AVX(i)	"vmovdqu %%ymm" #i ", " #i "*32(%[out])\n"
#define LOAD_Z(i)	"vmovdqu64 " #i "*64(%[in]), %%zmm" #i "\n"
#define STORE_Z(i)	"vmovdqu64 %%zmm" #i ", " #i "*64(%[out])\n"
#define LOAD_K(i)	"kmovq 2048+" #i "*8(%[in]), %%k" #i "\n"
#define STORE_K(i)	"kmovq %%k" #i ", 2048+" #i "*8(%[out])\n"
#define X16(m)	m(0) m(1) m(2) m(3) m(4) m(5) m(6) m(7) m(8) m(9) m(10) m(11) m(12) m(13) m(14) m(15)
#define X16B(m)	m(16) m(17) m(18) m(19) m(20) m(21) m(22) m(23) m(24) m(25) m(26) m(27) m(28) \
		m(29) m(30) m(31)
#define X8(m)	m(0) m(1) m(2) m(3) m(4) m(5) m(6) m(7)

/* The call (if nr >= 0), then `spin` iterations, with rax/rcx/r11 as the syscall leaves them. */
#define CALL_AND_SPIN \
	"	test %%rax, %%rax\n" \
	"	js 1f\n" \
	"	syscall\n" \
	"1:	mov %[spin], %%rcx\n" \
	"2:	dec %%rcx\n" \
	"	jnz 2b\n"

#define XMM_CLOBBERS "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", \
	"xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"
#define XMM_HI_CLOBBERS "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", \
	"xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31"
#define K_CLOBBERS "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"

static void round_sse(const uint8_t *in, uint8_t *out, const struct call *c, long spin)
{
	register long a3 __asm__("r10") = 0;
	long nr = c->nr;

	__asm__ volatile(X16(LOAD_SSE) CALL_AND_SPIN X16(STORE_SSE)
			 : "+a"(nr), "+r"(a3)
			 : [in] "r"(in), [out] "r"(out), [spin] "r"(spin), "D"(c->a0), "S"(c->a1),
			   "d"(c->a2)
			 : "rcx", "r11", "memory", XMM_CLOBBERS);
}

__attribute__((target("avx")))
static void round_avx(const uint8_t *in, uint8_t *out, const struct call *c, long spin)
{
	register long a3 __asm__("r10") = 0;
	long nr = c->nr;

	__asm__ volatile(X16(LOAD_AVX) CALL_AND_SPIN X16(STORE_AVX) "vzeroupper\n"
			 : "+a"(nr), "+r"(a3)
			 : [in] "r"(in), [out] "r"(out), [spin] "r"(spin), "D"(c->a0), "S"(c->a1),
			   "d"(c->a2)
			 : "rcx", "r11", "memory", XMM_CLOBBERS);
}

__attribute__((target("avx512f,avx512bw")))
static void round_avx512(const uint8_t *in, uint8_t *out, const struct call *c, long spin)
{
	register long a3 __asm__("r10") = 0;
	long nr = c->nr;

	__asm__ volatile(X16(LOAD_Z) X16B(LOAD_Z) X8(LOAD_K) CALL_AND_SPIN
			 X16(STORE_Z) X16B(STORE_Z) X8(STORE_K) "vzeroupper\n"
			 : "+a"(nr), "+r"(a3)
			 : [in] "r"(in), [out] "r"(out), [spin] "r"(spin), "D"(c->a0), "S"(c->a1),
			   "d"(c->a2)
			 : "rcx", "r11", "memory", XMM_CLOBBERS, XMM_HI_CLOBBERS, K_CLOBBERS);
}

static void run_round(const uint8_t *in, uint8_t *out, const struct call *c, long spin)
{
	if (regset == SET_SSE)
		round_sse(in, out, c, spin);
	else if (regset == SET_AVX)
		round_avx(in, out, c, spin);
	else
		round_avx512(in, out, c, spin);
}

/* Loads registers of its own (another "thread" number): sigreturn must bring the worker's back. */
static void on_signal(int sig)
{
	uint8_t in[MAX_BYTES] __attribute__((aligned(64))), out[MAX_BYTES] __attribute__((aligned(64)));

	(void)sig;
	pattern(in, sizeof(in), 100, (unsigned)atomic_fetch_add(&signals_taken, 1));
	run_round(in, out, &(struct call){ .nr = -1 }, 10);
}

static struct call call_for(enum action a, pid_t tid, struct timespec *ts)
{
	switch (a) {
	case ACT_YIELD:
		return (struct call){ .nr = SYS_sched_yield };
	case ACT_SLEEP:
		*ts = (struct timespec){ .tv_nsec = 20000 };
		return (struct call){ .nr = SYS_nanosleep, .a0 = (long)ts };
	case ACT_SIGNAL:
		return (struct call){ .nr = SYS_tgkill, .a0 = getpid(), .a1 = tid, .a2 = SIGUSR1 };
	case ACT_SYSCALL:
		return (struct call){ .nr = SYS_gettid };
	default:
		return (struct call){ .nr = -1 };
	}
}

struct worker {
	pthread_t thread;
	unsigned id;
	long mismatches[ACT_COUNT];
	long first_bad_round;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t in[MAX_BYTES] __attribute__((aligned(64))), out[MAX_BYTES] __attribute__((aligned(64)));
	size_t n = regset_bytes(regset);
	pid_t tid = (pid_t)syscall(SYS_gettid);
	struct timespec ts;

	w->first_bad_round = -1;
	for (int r = 0; r < rounds; r++) {
		enum action a = (enum action)((r + w->id) % ACT_COUNT);
		struct call c = call_for(a, tid, &ts);

		pattern(in, n, w->id, (unsigned)r);
		memset(out, 0, n);
		run_round(in, out, &c, SPIN);
		if (memcmp(in, out, n)) {
			w->mismatches[a]++;
			if (w->first_bad_round < 0)
				w->first_bad_round = r;
		}
	}
	atomic_fetch_sub(&workers_left, 1);
	return NULL;
}

/* Higher priority than the workers: sleeps 500 us at a time, clobbering registers, preempting them. */
static void *ticker_main(void *arg)
{
	uint8_t in[MAX_BYTES] __attribute__((aligned(64))), out[MAX_BYTES] __attribute__((aligned(64)));
	struct timespec period = { .tv_nsec = 500000 };

	(void)arg;
	while (atomic_load(&workers_left) > 0) {
		clock_nanosleep(CLOCK_MONOTONIC, 0, &period, NULL);
		pattern(in, sizeof(in), 200, (unsigned)atomic_fetch_add(&ticks, 1));
		run_round(in, out, &(struct call){ .nr = -1 }, 10);
	}
	return NULL;
}

/* What the OS has enabled, decided as glibc does: CPUID feature bits, OSXSAVE, then XCR0. */
static enum regset regset_auto(void)
{
	unsigned a, b, c, d;
	uint32_t xcr0_lo, xcr0_hi;

	__cpuid_count(1, 0, a, b, c, d);
	if (!(c & bit_OSXSAVE) || !(c & bit_AVX))
		return SET_SSE;
	__asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
	if ((xcr0_lo & 0x6) != 0x6)
		return SET_SSE;
	__cpuid_count(7, 0, a, b, c, d);
	if ((b & bit_AVX512F) && (b & bit_AVX512BW) && (xcr0_lo & 0xe0) == 0xe0)
		return SET_AVX512;
	return SET_AVX;
}

static int parse_args(int argc, char **argv)
{
	const char *set = argc > 1 ? argv[1] : "auto";

	if (!strcmp(set, "auto"))
		regset = regset_auto();
	else if (!strcmp(set, "sse"))
		regset = SET_SSE;
	else if (!strcmp(set, "avx"))
		regset = SET_AVX;
	else if (!strcmp(set, "avx512"))
		regset = SET_AVX512;
	else
		return -1;
	if (argc > 2 && (rounds = atoi(argv[2])) <= 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "spin", "yield", "sleep", "signal", "syscall" };
	static struct worker workers[WORKERS];
	pthread_t ticker;
	int ticker_err;

	if (parse_args(argc, argv)) {
		fprintf(stderr, "usage: fpu [auto|sse|avx|avx512] [ROUNDS]\n");
		return 2;
	}
	printf("# registers: %s\n", regset == SET_SSE ? "sse" : regset == SET_AVX ? "avx" : "avx512");
	check_quiet("pin to one CPU", rt_pin_one_cpu());
	check_quiet("SIGUSR1 handler", signal(SIGUSR1, on_signal) == SIG_ERR ? -1 : 0);
	/* The ticker preempts where priorities can (root); otherwise it only interleaves. */
	ticker_err = rt_thread_start(&ticker, SCHED_FIFO, 50, ticker_main, NULL);
	if (ticker_err)
		ticker_err = pthread_create(&ticker, NULL, ticker_main, NULL);
	check_errnum("ticker thread", ticker_err, 0);
	for (unsigned i = 0; i < WORKERS; i++) {
		workers[i].id = i;
		check_errnum("worker thread", pthread_create(&workers[i].thread, NULL, worker_main,
							     &workers[i]), 0);
	}
	for (unsigned i = 0; i < WORKERS; i++)
		pthread_join(workers[i].thread, NULL);
	pthread_join(ticker, NULL);
	for (unsigned i = 0; i < WORKERS; i++) {
		for (int a = 0; a < ACT_COUNT; a++) {
			char what[64];

			snprintf(what, sizeof(what), "worker %u registers intact across %s", i, names[a]);
			check_explain(what, workers[i].mismatches[a] == 0, "%ld of %d rounds differ, "
				      "first in round %ld", workers[i].mismatches[a], rounds / ACT_COUNT,
				      workers[i].first_bad_round);
		}
	}
	printf("# %ld signals handled, %ld ticker wake-ups\n", atomic_load(&signals_taken),
	       atomic_load(&ticks));
	return check_done();
}
