// SPDX-License-Identifier: MIT
/*
 * Event round trip, as a Linux process sees it: write one byte, wait for
 * the one byte that answers it, N times; prints "rtt n=N mean=NS min=NS
 * median=NS p99=NS max=NS". Against an RT program in the realm
 * (tests/programs/rtfifo.c "pong") through the held cell's FIFO files:
 *
 *   fifo_rtt N PING_FILE PONG_FILE
 *
 * or natively, against a SCHED_FIFO 80 child pinned to CPU (the realm's CPU)
 * that answers through a pipe pair or an eventfd pair:
 *
 *   fifo_rtt N --native pipe|eventfd CPU
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void die(const char *what)
{
	fprintf(stderr, "fifo_rtt: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* One byte (or eventfd count) out on wfd, one back on rfd. */
static uint64_t round_trip(int wfd, int rfd, size_t len)
{
	uint64_t v = 1, t0 = now_ns();

	if (write(wfd, &v, len) != (ssize_t)len)
		die("write");
	if (read(rfd, &v, len) != (ssize_t)len)
		die("read");
	return now_ns() - t0;
}

static void child_echo(int rfd, int wfd, size_t len, int cpu)
{
	struct sched_param sp = { .sched_priority = 80 };
	cpu_set_t set;
	uint64_t v;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) || sched_setscheduler(0, SCHED_FIFO, &sp))
		die("the native echo's CPU or priority");
	while (read(rfd, &v, len) == (ssize_t)len)
		if (write(wfd, &v, len) != (ssize_t)len)
			break;
	_exit(0);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0;
	int wfd, rfd;
	size_t len = 1;
	pid_t child = -1;
	uint64_t *s, sum = 0;

	if (n <= 0 || argc != 4 + (argc > 2 && !strcmp(argv[2], "--native"))) {
		fprintf(stderr, "usage: fifo_rtt N PING PONG | fifo_rtt N --native pipe|eventfd CPU\n");
		return 64;
	}
	if (!strcmp(argv[2], "--native")) {
		int ping[2], pong[2];

		if (!strcmp(argv[3], "eventfd")) {
			ping[0] = ping[1] = eventfd(0, 0);
			pong[0] = pong[1] = eventfd(0, 0);
			len = 8;
			if (ping[0] < 0 || pong[0] < 0)
				die("eventfd");
		} else if (pipe(ping) || pipe(pong)) {
			die("pipe");
		}
		child = fork();
		if (child == 0)
			child_echo(ping[0], pong[1], len, atoi(argv[4]));
		wfd = ping[1];
		rfd = pong[0];
	} else {
		wfd = open(argv[2], O_WRONLY);
		rfd = open(argv[3], O_RDONLY);
		if (wfd < 0 || rfd < 0)
			die("open the FIFO files");
	}
	s = calloc((size_t)n, sizeof(*s));
	for (int i = 0; i < 100; i++)
		round_trip(wfd, rfd, len);	/* warm up */
	for (long i = 0; i < n; i++)
		s[i] = round_trip(wfd, rfd, len);
	for (long i = 0; i < n; i++)
		sum += s[i];
	qsort(s, (size_t)n, sizeof(*s), cmp_u64);
	printf("rtt n=%ld mean=%llu min=%llu median=%llu p99=%llu max=%llu\n", n,
	       (unsigned long long)(sum / (uint64_t)n), (unsigned long long)s[0],
	       (unsigned long long)s[n / 2], (unsigned long long)s[n * 99 / 100],
	       (unsigned long long)s[n - 1]);
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	return 0;
}
