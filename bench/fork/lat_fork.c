// SPDX-License-Identifier: MIT
/*
 * lat_fork: the cost of making a process, each cycle timed on its own with
 * CLOCK_MONOTONIC: fork + _exit + waitpid with more or less written memory
 * (the RT realm copies it eagerly, Linux copies on write), and vfork +
 * execve of a small static program + waitpid. An ordinary Linux program:
 * the same binary runs natively and in the crtos RT realm.
 *
 *   lat_fork [ITERATIONS]
 *
 * Prints one line per case: name, samples, and min/median/p90/p99/max in
 * nanoseconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "../lib/timing.h"

static void report(const char *name, long long *t, int n)
{
	sort_ns(t, n);
	printf("%-22s n=%d min=%lld median=%lld p90=%lld p99=%lld max=%lld\n", name, n, t[0],
	       t[n / 2], t[n * 90 / 100], t[n * 99 / 100], t[n - 1]);
	fflush(stdout);
}

/* fork + _exit + waitpid, n times, with mib MiB of written heap in the parent. */
static void bench_fork(int n, int mib, long long *t)
{
	size_t len = (size_t)mib << 20;
	char *mem = len ? malloc(len) : NULL, name[32];

	if (len)
		memset(mem, 1, len);
	for (int i = 0; i < n; i++) {
		long long t0 = now_ns();
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		waitpid(pid, NULL, 0);
		t[i] = now_ns() - t0;
	}
	snprintf(name, sizeof(name), "fork+exit+wait %dM", mib);
	report(name, t, n);
	free(mem);
}

/* vfork + execve(self, "exit") + waitpid, n times. */
static void bench_vfork_exec(int n, const char *self, long long *t)
{
	char *argv[] = { "lat_fork", "exit", NULL }, *envp[] = { NULL };

	for (int i = 0; i < n; i++) {
		long long t0 = now_ns();
		pid_t pid = vfork();

		if (pid == 0) {
			execve(self, argv, envp);
			_exit(127);
		}
		waitpid(pid, NULL, 0);
		t[i] = now_ns() - t0;
	}
	report("vfork+exec+wait", t, n);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200;
	long long *t;
	char self[4096];
	ssize_t len;

	if (argc > 1 && !strcmp(argv[1], "exit"))
		return 0;
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 10 || len < 0) {
		fprintf(stderr, "usage: lat_fork [ITERATIONS >= 10]\n");
		return 2;
	}
	self[len] = '\0';
	t = calloc((size_t)n, sizeof(*t));
	bench_fork(n, 0, t);
	bench_fork(n, 4, t);
	bench_fork(n / 4 > 10 ? n / 4 : 10, 32, t);
	bench_vfork_exec(n, self, t);
	free(t);
	return 0;
}
