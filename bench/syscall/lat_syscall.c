// SPDX-License-Identifier: MIT
/*
 * lat_syscall: the latency of single system calls, each timed on its own
 * with CLOCK_MONOTONIC (lmbench's lat_syscall, with a distribution instead
 * of a mean only). An ordinary Linux program: the same binary runs natively
 * and in the crtos RT realm.
 *
 *   lat_syscall [--read PATH] [--write PATH] [--open PATH] [--fifo] [ITERATIONS]
 *
 * The calls, as lmbench names them: null (getppid, lmbench's choice; remote
 * in the realm), a local null call (gettid), read 1 byte (default
 * /dev/zero), write 1 byte (default /dev/null), open+close (default
 * /dev/null). --fifo says the read and write paths are FIFOs (an RT-FIFO
 * in the realm): both are opened read-write, and an untimed write before
 * each timed read (an untimed read after each timed write) keeps them
 * neither empty nor full.
 *
 * Prints one line per call: name, samples, mean, min, median, p90, p99,
 * p99.9 and max in nanoseconds, and the path for the file calls. The clock
 * read itself is included in every sample (its own cost is the "clock"
 * line).
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "../lib/timing.h"

static void report(const char *name, const char *path, long long *t, int n)
{
	long long sum = 0;

	for (int i = 0; i < n; i++)
		sum += t[i];
	sort_ns(t, n);
	printf("%-22s n=%d mean=%lld min=%lld median=%lld p90=%lld p99=%lld p99.9=%lld max=%lld%s%s\n",
	       name, n, sum / n, t[0], t[n / 2], t[n * 90 / 100], t[n * 99 / 100], t[n * 999 / 1000],
	       t[n - 1], path ? " path=" : "", path ? path : "");
}

/* Time CALL n times (after n/10 untimed), with BEFORE and AFTER untimed around each. */
#define MEASURE(name, path, n, t, before, call, after) \
	do { \
		for (int i_ = 0; i_ < (n) / 10; i_++) { \
			before; call; after; /* warm up */ \
		} \
		for (int i_ = 0; i_ < (n); i_++) { \
			before; \
			long long t0_ = now_ns(); \
			call; \
			(t)[i_] = now_ns() - t0_; \
			after; \
		} \
		report(name, path, t, n); \
	} while (0)

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

static void usage(void)
{
	fprintf(stderr, "usage: lat_syscall [--read PATH] [--write PATH] [--open PATH] [--fifo] "
		"[ITERATIONS >= 1000]\n");
	exit(64);
}

int main(int argc, char **argv)
{
	const char *rpath = "/dev/zero", *wpath = "/dev/null", *opath = "/dev/null";
	bool fifo = false;
	int n = 20000, rfd, wfd;
	long long *t;
	char c = 'x';

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--fifo"))
			fifo = true;
		else if (i + 1 < argc && !strcmp(argv[i], "--read"))
			rpath = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--write"))
			wpath = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--open"))
			opath = argv[++i];
		else if (argv[i][0] != '-')
			n = atoi(argv[i]);
		else
			usage();
	}
	t = calloc((size_t)(n > 0 ? n : 1), sizeof(*t));
	if (!t || n < 1000)
		usage();
	rfd = open_or_die(rpath, fifo ? O_RDWR : O_RDONLY);
	wfd = open_or_die(wpath, fifo ? O_RDWR : O_WRONLY);
	MEASURE("clock", NULL, n, t, (void)0, (void)0, (void)0);
	MEASURE("getppid", NULL, n, t, (void)0, (void)syscall(SYS_getppid), (void)0);
	MEASURE("gettid", NULL, n, t, (void)0, (void)syscall(SYS_gettid), (void)0);
	MEASURE("read 1 byte", rpath, n, t, if (fifo) (void)!write(rfd, &c, 1),
		(void)!read(rfd, &c, 1), (void)0);
	MEASURE("write 1 byte", wpath, n, t, (void)0, (void)!write(wfd, &c, 1),
		if (fifo) (void)!read(wfd, &c, 1));
	MEASURE("open+close", opath, n, t, (void)0, close(open(opath, O_RDONLY)), (void)0);
	return 0;
}
