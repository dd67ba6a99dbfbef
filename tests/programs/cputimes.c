// SPDX-License-Identifier: MIT
/*
 * CPU times and scheduling attributes, as a program sees them: times() and
 * getrusage() count the CPU a busy loop burned (loosely: at least half of
 * it, nothing absurd), for the process and for the thread; their errors;
 * sched_getattr/sched_setattr read and set SCHED_OTHER with a nice value,
 * SCHED_FIFO with a priority and reset-on-fork, and refuse what Linux
 * refuses. Run as root (SCHED_FIFO). Prints nothing that depends on times.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
/* struct sched_attr from the UAPI header, whose struct sched_param the C library has too. */
#define sched_param uapi_sched_param
#include <linux/sched/types.h>
#undef sched_param
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

#ifndef SCHED_FLAG_RESET_ON_FORK
#define SCHED_FLAG_RESET_ON_FORK	0x01	/* <linux/sched.h>, which clashes with <sched.h> */
#endif

static long long cpu_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Burn about ms of this thread's CPU. */
static void burn(int ms)
{
	long long until = cpu_ns(CLOCK_THREAD_CPUTIME_ID) + ms * 1000000LL;
	volatile unsigned long x = 0;

	while (cpu_ns(CLOCK_THREAD_CPUTIME_ID) < until)
		x++;
}

static long long tv_ms(struct timeval tv)
{
	return tv.tv_sec * 1000LL + tv.tv_usec / 1000;
}

static void test_times(void)
{
	long hz = sysconf(_SC_CLK_TCK);
	struct tms before, after;
	clock_t t0, t1;
	long ticks;

	t0 = times(&before);
	burn(300);
	t1 = times(&after);
	ticks = (after.tms_utime + after.tms_stime) - (before.tms_utime + before.tms_stime);
	check_true("times: clock ticks go on", t1 >= t0 && t0 > 0);
	check_explain("times: 300 ms of CPU counted", ticks >= hz * 150 / 1000 && ticks <= hz * 5,
		      "%ld ticks at %ld Hz", ticks, hz);
	check_true("times: with no buffer", times(NULL) > 0);
	check_err("times: a bad buffer", syscall(SYS_times, (void *)8), EFAULT);
}

static void test_getrusage(void)
{
	struct rusage self0, self1, thr;
	long long used, thread_used;

	check_ok("getrusage self", getrusage(RUSAGE_SELF, &self0));
	burn(300);
	check_ok("getrusage self again", getrusage(RUSAGE_SELF, &self1));
	check_ok("getrusage thread", getrusage(RUSAGE_THREAD, &thr));
	used = tv_ms(self1.ru_utime) + tv_ms(self1.ru_stime) - tv_ms(self0.ru_utime) -
	       tv_ms(self0.ru_stime);
	thread_used = tv_ms(thr.ru_utime) + tv_ms(thr.ru_stime);
	check_explain("getrusage: 300 ms of CPU counted", used >= 150 && used <= 5000, "%lld ms", used);
	check_explain("getrusage: the thread's CPU at least that", thread_used >= 450, "%lld ms",
		      thread_used);
	check_ok("getrusage children", getrusage(RUSAGE_CHILDREN, &self0));
	check_err("getrusage: who 7", getrusage(7, &self0), EINVAL);
	check_err("getrusage: a bad buffer", syscall(SYS_getrusage, RUSAGE_SELF, (void *)8), EFAULT);
}

static long getattr(struct sched_attr *at, unsigned int size, unsigned int flags)
{
	memset(at, 0xff, sizeof(*at));
	return syscall(SYS_sched_getattr, 0, at, size, flags);
}

static long setattr(const struct sched_attr *at)
{
	return syscall(SYS_sched_setattr, 0, at, 0);
}

static void test_sched_attr(void)
{
	struct sched_attr at;
	struct sched_attr set = { .size = sizeof(set), .sched_policy = SCHED_OTHER, .sched_nice = 5 };

	check_ok("sched_setattr SCHED_OTHER nice 5", setattr(&set));
	check_ok("sched_getattr", getattr(&at, sizeof(at), 0));
	check_long("  size", at.size, sizeof(at));
	check_long("  policy", at.sched_policy, SCHED_OTHER);
	check_long("  nice", at.sched_nice, 5);
	check_long("  priority", at.sched_priority, 0);
	set = (struct sched_attr){ .size = SCHED_ATTR_SIZE_VER0, .sched_policy = SCHED_FIFO,
				   .sched_priority = 10, .sched_flags = SCHED_FLAG_RESET_ON_FORK };
	check_ok("sched_setattr SCHED_FIFO 10, reset on fork", setattr(&set));
	check_ok("sched_getattr, the first version's size", getattr(&at, SCHED_ATTR_SIZE_VER0, 0));
	check_long("  size", at.size, SCHED_ATTR_SIZE_VER0);
	check_long("  policy", at.sched_policy, SCHED_FIFO);
	check_long("  priority", at.sched_priority, 10);
	check_long("  flags", (long)at.sched_flags, SCHED_FLAG_RESET_ON_FORK);
	check_true("sched_getscheduler agrees",
		   syscall(SYS_sched_getscheduler, 0) == (SCHED_FIFO | SCHED_RESET_ON_FORK));
	set.sched_priority = 100;
	check_err("sched_setattr priority 100", setattr(&set), EINVAL);
	set = (struct sched_attr){ .size = 8 };
	check_err("sched_setattr size 8", setattr(&set), E2BIG);
	check_long("  the size it knows is written back", set.size >= SCHED_ATTR_SIZE_VER0, 1);
	check_err("sched_getattr size 8", getattr(&at, 8, 0), EINVAL);
	check_err("sched_getattr flags 1", getattr(&at, sizeof(at), 1), EINVAL);
	check_err("sched_setattr flags 1", syscall(SYS_sched_setattr, 0, &set, 1), EINVAL);
	set = (struct sched_attr){ .size = sizeof(set), .sched_policy = 42 };
	check_err("sched_setattr policy 42", setattr(&set), EINVAL);
	set = (struct sched_attr){ .size = sizeof(set), .sched_policy = SCHED_OTHER };
	check_ok("back to SCHED_OTHER nice 0", setattr(&set));
}

int main(void)
{
	test_times();
	test_getrusage();
	test_sched_attr();
	return check_done();
}
