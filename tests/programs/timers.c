// SPDX-License-Identifier: MIT
/*
 * Timers, the ways real-time programs are woken: POSIX timers (a signal to
 * the process or, Linux-specific, to one thread; gettime, overruns,
 * delete), timerfd, alarm and setitimer with sigsuspend, and the FPU/SSE
 * state (registers and rounding mode) of code interrupted by timer signals
 * whose handler does floating point, and the CPU time getrusage and times
 * report. signals.c has the rest of signals.
 *
 * Counts of timer signals depend on timing, so they are only checked within
 * loose bounds; exact counts go to "# " lines. Takes about 1.5 s (alarm).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fenv.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "rt.h"

#ifndef sigev_notify_thread_id		/* glibc before 2.38 */
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define MS		1000000LL

static volatile sig_atomic_t ticks, alarms;
static volatile pid_t tick_tid;
static volatile double fp_sink;

static pid_t tid(void)
{
	return syscall(SYS_gettid);
}

/* SIGUSR1: count, note the thread, and use the FPU the way user code would. */
static void on_tick(int sig)
{
	double x = sig;
	long double y = sig;
	int i;

	fesetround(FE_UPWARD);
	for (i = 1; i <= 32; i++) {
		x = x * 1.000001 + 1.0 / i;
		y = y * 0.999999L + 1.0L / i;
	}
	fp_sink = x + (double)y;
	ticks++;
	tick_tid = tid();
}

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void handle(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa = { .sa_handler = fn, .sa_flags = flags };

	check_quiet("sigaction", sigaction(sig, &sa, NULL));
}

static sigset_t set_of(int sig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	return set;
}

static void block(int sig, int how)
{
	sigset_t set = set_of(sig);

	pthread_sigmask(how, &set, NULL);
}

static timer_t timer_new(int notify, int sig, int value, pid_t target)
{
	struct sigevent sev = { .sigev_notify = notify, .sigev_signo = sig };
	timer_t t = 0;

	sev.sigev_value.sival_int = value;
	sev.sigev_notify_thread_id = target;
	check_quiet("timer_create", timer_create(CLOCK_MONOTONIC, &sev, &t));
	return t;
}

static void timer_arm(timer_t t, long long value, long long interval)
{
	struct itimerspec its = { { 0, interval }, { 0, value } };

	check_quiet("timer_settime", timer_settime(t, 0, &its, NULL));
}

/* 20 signals from a 10 ms timer: none early, all within 2 s. */
static void test_timer_signal(void)
{
	timer_t t = timer_new(SIGEV_SIGNAL, SIGUSR1, 0, 0);
	long long start = rt_now_ns(), took;
	struct itimerspec its;

	ticks = 0;
	timer_arm(t, 10 * MS, 10 * MS);
	check_true("timer_gettime: interval and value", !timer_gettime(t, &its) &&
		   its.it_interval.tv_nsec == 10 * MS && its.it_value.tv_sec == 0 &&
		   its.it_value.tv_nsec > 0 && its.it_value.tv_nsec <= 10 * MS);
	while (ticks < 20 && rt_now_ns() - start < 2000 * MS)
		rt_nap(MS);
	took = rt_now_ns() - start;
	printf("# 10 ms timer: %d signals in %lld us\n", (int)ticks, took / 1000);
	check_true("10 ms timer: 20 signals in 200 ms to 2 s", ticks >= 20 && took >= 200 * MS);
	check_ok("timer_delete", timer_delete(t));
	check_err("timer_gettime after timer_delete", timer_gettime(t, &its), EINVAL);
}

static void *tick_target(void *arg)
{
	int i;

	*(volatile pid_t *)arg = tid();
	for (i = 0; i < 1000 && !ticks; i++)	/* wait up to 1 s */
		rt_nap(MS);
	return NULL;
}

static void test_timer_thread_id(void)
{
	volatile pid_t target = 0;
	pthread_t thread;
	timer_t t;

	ticks = 0;
	pthread_create(&thread, NULL, tick_target, (void *)&target);
	while (!target)
		rt_nap(MS);
	t = timer_new(SIGEV_THREAD_ID, SIGUSR1, 0, target);
	timer_arm(t, 10 * MS, 0);
	pthread_join(thread, NULL);
	check_true("SIGEV_THREAD_ID: the handler runs in that thread", ticks == 1 &&
		   tick_tid == target);
	timer_delete(t);
}

static void test_timer_overrun(void)
{
	timer_t t = timer_new(SIGEV_SIGNAL, SIGUSR2, 77, 0);
	struct timespec wait = { 1, 0 };
	sigset_t set = set_of(SIGUSR2);
	siginfo_t si;

	block(SIGUSR2, SIG_BLOCK);
	timer_arm(t, 2 * MS, 2 * MS);
	rt_nap(30 * MS);
	check_true("sigtimedwait: the timer's signal", sigtimedwait(&set, &si, &wait) == SIGUSR2);
	check_true("siginfo: SI_TIMER and the sigev_value", si.si_code == SI_TIMER &&
		   si.si_value.sival_int == 77);
	printf("# 2 ms timer, signal blocked 30 ms: overrun %d\n", timer_getoverrun(t));
	check_true("timer_getoverrun counts the missed expirations", timer_getoverrun(t) >= 5);
	timer_delete(t);
	/* A 2-ms period may have queued one more before the delete (a slow machine): take it. */
	while (sigtimedwait(&set, &si, &(struct timespec){ 0, 0 }) == SIGUSR2)
		;
	block(SIGUSR2, SIG_UNBLOCK);
}

static void test_timerfd(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec its = { { 0, 5 * MS }, { 1, 0 } };
	long long start, bound;
	uint64_t count = 0;

	check_ok("timerfd_create", fd);
	check_ok("timerfd_settime", timerfd_settime(fd, 0, &its, NULL));
	check_err("timerfd read before it expires", read(fd, &count, 8), EAGAIN);
	timerfd_gettime(fd, &its);
	check_true("timerfd_gettime: interval and value", its.it_interval.tv_nsec == 5 * MS &&
		   its.it_value.tv_sec == 0 && its.it_value.tv_nsec > 0);
	start = rt_now_ns();
	its.it_value = its.it_interval;
	timerfd_settime(fd, 0, &its, NULL);
	rt_nap(23 * MS);
	check_long("timerfd read", read(fd, &count, 8), 8);
	bound = (rt_now_ns() - start) / (5 * MS) + 1;
	printf("# 5 ms timerfd: %llu expirations in 23 ms\n", (unsigned long long)count);
	check_true("timerfd read: expirations so far", count >= 1 && (long long)count <= bound);

	its = (struct itimerspec){ { 0, 0 }, rt_deadline(CLOCK_MONOTONIC, 10 * MS) };
	timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
	fcntl(fd, F_SETFL, 0);
	check_long("timerfd read, blocking, TFD_TIMER_ABSTIME", read(fd, &count, 8), 8);
	check_true("timerfd: one expiration, not early", count == 1 &&
		   rt_passed(CLOCK_MONOTONIC, &its.it_value));
	timerfd_gettime(fd, &its);
	check_true("timerfd_gettime: disarmed", !its.it_value.tv_sec && !its.it_value.tv_nsec);
	close(fd);
}

/* alarm, and sigsuspend with SIGALRM blocked outside it. */
static void test_alarm(void)
{
	sigset_t none, mask;

	sigemptyset(&none);
	alarms = 0;
	block(SIGALRM, SIG_BLOCK);
	check_long("alarm(5)", alarm(5), 0);
	check_long("alarm(1) returns the seconds left", alarm(1), 5);
	check_err("sigsuspend", sigsuspend(&none), EINTR);
	check_long("SIGALRM handled", alarms, 1);
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	check_true("sigsuspend restores the mask", sigismember(&mask, SIGALRM));
}

static void test_itimer(void)
{
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } }, old;
	sigset_t none;

	sigemptyset(&none);
	alarms = 0;
	check_ok("setitimer(ITIMER_REAL)", setitimer(ITIMER_REAL, &it, NULL));
	check_ok("getitimer(ITIMER_REAL)", getitimer(ITIMER_REAL, &it));
	check_true("getitimer: interval and value", it.it_interval.tv_usec == 20000 &&
		   it.it_value.tv_usec > 0 && it.it_value.tv_usec <= 20000);
	sigsuspend(&none);
	sigsuspend(&none);
	check_long("setitimer: SIGALRM each period", alarms, 2);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, &old);
	check_true("setitimer returns the old interval", old.it_interval.tv_usec == 20000);
	block(SIGALRM, SIG_UNBLOCK);
}

/* Eight sums live in SSE registers and one on the x87 stack, all the loop long. */
static double fp_work(volatile double *seed)
{
	double a0 = *seed, a1 = 1, a2 = 2, a3 = 3, a4 = 4, a5 = 5, a6 = 6, a7 = 7, r;
	long double x = *seed;
	int i;

	for (i = 1; i <= 20000; i++) {
		r = 1.0 / i;
		a0 = a0 * 0.999999 + r;
		a1 = a1 * 0.999998 + r;
		a2 = a2 * 0.999997 + r;
		a3 = a3 * 0.999996 + r;
		a4 = a4 * 0.999995 + r;
		a5 = a5 * 0.999994 + r;
		a6 = a6 * 0.999993 + r;
		a7 = a7 * 0.999992 + r;
		x = x * 0.9999999L + 1.0L / i;
	}
	return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + (double)x;
}

static void test_fpu(void)
{
	volatile double seed = 0.5;
	timer_t t = timer_new(SIGEV_SIGNAL, SIGUSR1, 0, 0);
	long long end = rt_now_ns() + 2000 * MS;
	double want, got;
	int rounds = 0, wrong = 0;

	fesetround(FE_TOWARDZERO);
	want = fp_work(&seed);
	ticks = 0;
	timer_arm(t, MS, MS);
	while (ticks < 50 && rt_now_ns() < end) {
		got = fp_work(&seed);
		wrong += memcmp(&got, &want, sizeof(got)) != 0;
		rounds++;
	}
	timer_delete(t);
	printf("# FPU: %d rounds, %d signals\n", rounds, (int)ticks);
	check_true("FPU: signals interrupted the computation", ticks >= 50);
	check_explain("FPU: results unchanged by handlers", !wrong, "%d of %d rounds", wrong,
		      rounds);
	check_true("FPU: rounding mode unchanged by handlers", fegetround() == FE_TOWARDZERO);
	fesetround(FE_TONEAREST);
}

static long tv_us(struct timeval tv)
{
	return tv.tv_sec * 1000000 + tv.tv_usec;
}

/* CPU time: 50 ms of spinning shows in getrusage (process, thread) and times. */
static void test_cpu_usage(void)
{
	struct timespec start, now;
	struct rusage self, thread, children;
	struct tms t;
	volatile unsigned long spin = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		for (int i = 0; i < 10000; i++)
			spin++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - start.tv_sec) * 1000000000L + now.tv_nsec - start.tv_nsec < 50000000L);
	check_ok("getrusage(RUSAGE_SELF)", getrusage(RUSAGE_SELF, &self));
	check_explain("  user+system time at least 40 ms",
		      tv_us(self.ru_utime) + tv_us(self.ru_stime) >= 40000, "%ld us",
		      tv_us(self.ru_utime) + tv_us(self.ru_stime));
	check_ok("getrusage(RUSAGE_THREAD)", getrusage(RUSAGE_THREAD, &thread));
	check_true("  the thread's time is at most the process's",
		   tv_us(thread.ru_utime) + tv_us(thread.ru_stime) <=
		   tv_us(self.ru_utime) + tv_us(self.ru_stime) + 10000);
	check_ok("getrusage(RUSAGE_CHILDREN)", getrusage(RUSAGE_CHILDREN, &children));
	check_err("getrusage(99)", getrusage(99, &self), EINVAL);
	check_true("times() counts", times(&t) != (clock_t)-1);
	check_true("  its user+system ticks at least 4", t.tms_utime + t.tms_stime >= 4);
}

int main(void)
{
	handle(SIGUSR1, on_tick, 0);
	handle(SIGALRM, on_alarm, 0);
	test_timer_signal();
	test_timer_thread_id();
	test_timer_overrun();
	test_timerfd();
	test_alarm();
	test_itimer();
	test_fpu();
	test_cpu_usage();
	return check_done();
}
