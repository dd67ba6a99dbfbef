// SPDX-License-Identifier: MIT
/*
 * A cyclic real-time loop, as cyclictest runs it: "cyclic [PERIOD_US [LOOPS]]"
 * (1000 us, 1000 loops by default) sleeps to an absolute CLOCK_MONOTONIC
 * deadline that advances by one period each loop, and measures how late
 * each wakeup was. It runs at SCHED_FIFO 80 with its memory locked when it
 * may (else it says "# not real-time" and goes on).
 *
 * A benchmark as much as a test: the lateness statistics go to "# " lines,
 * and the checks are only what holds anywhere, that no wakeup came before
 * its deadline and that every loop was done. The loop itself calls nothing
 * but clock_nanosleep and clock_gettime: no output, no allocation, so that
 * nothing in it leaves the real-time path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "check.h"
#include "rt.h"

#define PRIO		80
#define MAX_LOOPS	10000000L
#define NSEC		1000000000L

/* A positive number no larger than max, or -1. */
static long parse(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > max)
		return -1;
	return v;
}

static long long ts_ns(const struct timespec *ts)
{
	return ts->tv_sec * (long long)NSEC + ts->tv_nsec;
}

static void ts_add(struct timespec *ts, long ns)
{
	ts->tv_nsec += ns;
	while (ts->tv_nsec >= NSEC) {
		ts->tv_nsec -= NSEC;
		ts->tv_sec++;
	}
}

/* SCHED_FIFO and locked memory when allowed; notes on "# " lines otherwise. */
static void go_real_time(void)
{
	int ret = rt_set_self(SCHED_FIFO, PRIO);

	if (ret)
		printf("# not real-time: SCHED_FIFO %d: %s\n", PRIO, errno_name(ret));
	else
		printf("# SCHED_FIFO %d\n", PRIO);
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		printf("# memory not locked: mlockall: %s\n", errno_name(errno));
}

/*
 * The loop. Fills lateness[] (ns, now - deadline) and returns the number of
 * loops done; stops early only if clock_nanosleep fails.
 */
static long run(long period_ns, long loops, long long *lateness)
{
	struct timespec next, now;
	long i;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &next);
	ts_add(&next, period_ns);
	for (i = 0; i < loops; i++) {
		do
			ret = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		while (ret == EINTR);
		if (ret)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		lateness[i] = ts_ns(&now) - ts_ns(&next);
		ts_add(&next, period_ns);
	}
	return i;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* The sample at fraction p of the sorted array, in microseconds. */
static double pct_us(const long long *sorted, long n, double p)
{
	return sorted[(long)((n - 1) * p)] / 1000.0;
}

static void print_stats(long long *lateness, long n)
{
	qsort(lateness, n, sizeof(*lateness), cmp_ll);
	printf("# lateness us: min %.1f median %.1f p99 %.1f p99.9 %.1f max %.1f\n",
	       pct_us(lateness, n, 0), pct_us(lateness, n, 0.5), pct_us(lateness, n, 0.99),
	       pct_us(lateness, n, 0.999), pct_us(lateness, n, 1));
}

int main(int argc, char **argv)
{
	long period_us = argc > 1 ? parse(argv[1], NSEC / 1000) : 1000;
	long loops = argc > 2 ? parse(argv[2], MAX_LOOPS) : 1000;
	long long *lateness;
	long done;

	if (period_us < 0 || loops < 0 || argc > 3) {
		fprintf(stderr, "usage: cyclic [PERIOD_US [LOOPS]] (at most 1 s, %ld loops)\n",
			MAX_LOOPS);
		return 2;
	}
	go_real_time();
	lateness = malloc(loops * sizeof(*lateness));
	if (!lateness) {
		check_ok("malloc", -1);
		return check_done();
	}
	memset(lateness, 0, loops * sizeof(*lateness));	/* fault it in now */
	printf("# period %ld us, %ld loops\n", period_us, loops);
	fflush(stdout);
	done = run(period_us * 1000, loops, lateness);
	check_explain("all loops done", done == loops, "%ld of %ld, then clock_nanosleep failed",
		      done, loops);
	if (done == 0)
		return check_done();
	print_stats(lateness, done);
	check_explain("never early", lateness[0] >= 0, "%lld ns early", -lateness[0]);
	return check_done();
}
