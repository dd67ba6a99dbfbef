// SPDX-License-Identifier: MIT
/*
 * lat_syscall: the latency of single system calls, each timed on its own
 * with CLOCK_MONOTONIC (lmbench's lat_syscall, with percentiles instead of a
 * mean). An ordinary Linux program: the same binary runs natively and in the
 * crtos RT realm, where write() is a remote call and getppid()... see below.
 *
 *   lat_syscall [ITERATIONS]
 *
 * Prints one line per call: name, samples, and min/median/p90/p99/p99.9/max
 * in nanoseconds. The clock read itself is included in every sample (its
 * own cost is printed as the "clock" line).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "../lib/timing.h"

static void report(const char *name, long long *t, int n)
{
	sort_ns(t, n);
	printf("%-22s n=%d min=%lld median=%lld p90=%lld p99=%lld p99.9=%lld max=%lld\n", name, n,
	       t[0], t[n / 2], t[n * 90 / 100], t[n * 99 / 100], t[n * 999 / 1000], t[n - 1]);
}

#define MEASURE(name, n, t, call) \
	do { \
		for (int i_ = 0; i_ < (n) / 10; i_++) \
			call; /* warm up */ \
		for (int i_ = 0; i_ < (n); i_++) { \
			long long t0_ = now_ns(); \
			call; \
			(t)[i_] = now_ns() - t0_; \
		} \
		report(name, t, n); \
	} while (0)

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	long long *t = calloc((size_t)n, sizeof(*t));
	int fd = open("/dev/null", O_WRONLY);
	char c = 'x';

	if (!t || fd < 0 || n < 1000) {
		fprintf(stderr, "usage: lat_syscall [ITERATIONS >= 1000]\n");
		return 1;
	}
	MEASURE("clock", n, t, (void)0);
	MEASURE("write 1 byte /dev/null", n, t, (void)!write(fd, &c, 1));
	MEASURE("getppid", n, t, (void)syscall(SYS_getppid));
	MEASURE("gettid", n, t, (void)syscall(SYS_gettid));
	return 0;
}
