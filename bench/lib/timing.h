/* SPDX-License-Identifier: MIT */
/* What the latency benchmarks share: the clock they time with, and sorting samples. */
#ifndef BENCH_TIMING_H
#define BENCH_TIMING_H

#include <stdlib.h>
#include <time.h>

static inline long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static inline int cmp_ns(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* Sort n samples, for their percentiles. */
static inline void sort_ns(long long *t, int n)
{
	qsort(t, (size_t)n, sizeof(*t), cmp_ns);
}

#endif
