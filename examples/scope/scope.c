// SPDX-License-Identifier: MIT
/*
 * scope: a rich real-time process as an example. One SCHED_FIFO thread
 * samples a generated signal every period (1 ms) at absolute deadlines;
 * an X11 thread draws it as a scrolling trace with the live lateness
 * figures and their histogram. An ordinary Linux program: the same binary
 * runs natively and in the crtos realm (crtos run -- build/examples/scope).
 * At the end it prints the lateness statistics ("# lateness us: ...", as
 * tests/programs/cyclic does) and, with --hist, a histogram in 1 us bins.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "scope.h"

#define LATE_CAP_DEFAULT 600000	/* periods kept for the percentiles when running unbounded */
#define SAMPLING_STACK (256 * 1024)

static struct scope the_scope;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: scope [options]\n"
"\n"
"A real-time thread (SCHED_FIFO) samples a 4 Hz sine every period at absolute\n"
"deadlines; a window draws it as a scrolling trace with the thread's wake-up\n"
"lateness: the live min, median and max, and their histogram. At the end it\n"
"prints the lateness statistics. Run it natively or in the crtos realm\n"
"(crtos run -- scope): the same binary.\n"
"\n"
"  --seconds N      run N seconds, print the statistics and exit (default: until\n"
"                   the window is closed or Ctrl-C)\n"
"  --period US      the sampling period in microseconds (default 1000)\n"
"  --prio N         the sampling thread's SCHED_FIFO priority (default 80)\n"
"  --geometry WxH+X+Y  the window's size and place (default 640x480+0+0)\n"
"  --headless       no window: sample and print the statistics only\n"
"  --hist FILE      write the lateness histogram to FILE: \"US COUNT\" lines,\n"
"                   1 us bins\n"
"  -h, --help\n"
"\n"
"Without the privilege for SCHED_FIFO or mlockall it says so and runs anyway,\n"
"at SCHED_OTHER or with its memory unlocked. Exit status 0, 1 when the\n"
"display cannot be opened, 64 bad usage.\n");
}

static long parse_long(const char *opt, const char *s, long min)
{
	char *end;
	long v;

	errno = 0;
	v = s ? strtol(s, &end, 10) : 0;
	if (!s || errno || *end || v < min) {
		fprintf(stderr, "scope: %s needs a number >= %ld\n", opt, min);
		exit(64);
	}
	return v;
}

struct options {
	long seconds, period_us, prio;
	bool headless;
	const char *hist, *geometry;
};

static void parse_options(int argc, char **argv, struct options *o)
{
	*o = (struct options){ .period_us = 1000, .prio = 80, .geometry = "640x480+0+0" };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--headless")) {
			o->headless = true;
			continue;
		} else if (!strcmp(a, "--seconds")) {
			o->seconds = parse_long(a, v, 1);
		} else if (!strcmp(a, "--period")) {
			o->period_us = parse_long(a, v, 50);
		} else if (!strcmp(a, "--prio")) {
			o->prio = parse_long(a, v, 1);
		} else if (!strcmp(a, "--hist") && v) {
			o->hist = v;
		} else if (!strcmp(a, "--geometry") && v) {
			o->geometry = v;
		} else {
			fprintf(stderr, "scope: unknown option or missing value: %s\n", a);
			usage(stderr);
			exit(64);
		}
		i++;
	}
}

/* Lock memory first: a page fault in the sampling loop is a late wake-up. */
static void lock_memory(void)
{
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		printf("scope: memory not locked (mlockall: %s): page faults may make it late\n",
		       strerror(errno));
}

/*
 * Start the sampling thread at SCHED_FIFO prio; without the privilege
 * (EPERM) start it at SCHED_OTHER and say so. Returns pthread_create's result.
 * A small stack: with mlockall(MCL_FUTURE) an unprivileged process may lock
 * only RLIMIT_MEMLOCK, less than the default 8 MiB stack.
 */
static int start_sampling(struct scope *sc, pthread_t *t)
{
	struct sched_param sp = { .sched_priority = sc->prio };
	pthread_attr_t attr;
	int ret;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, SAMPLING_STACK);
	pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
	pthread_attr_setschedparam(&attr, &sp);
	ret = pthread_create(t, &attr, sample_thread, sc);
	sc->realtime = ret == 0;
	if (ret == EPERM) {
		printf("scope: no privilege for SCHED_FIFO %d (EPERM): the sampling thread runs at "
		       "SCHED_OTHER, as late as Linux lets it be\n", sc->prio);
		pthread_attr_setinheritsched(&attr, PTHREAD_INHERIT_SCHED);
		ret = pthread_create(t, &attr, sample_thread, sc);
	}
	pthread_attr_destroy(&attr);
	return ret;
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&the_scope.stop, true);
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

static double pct_us(const int32_t *sorted, long n, double p)
{
	long i = (long)(p * (double)(n - 1) + 0.5);

	return sorted[i] / 1000.0;
}

/* The statistics of the periods kept (all of them unless over late_cap). */
static void print_stats(struct scope *sc)
{
	long n = sc->done < sc->late_cap ? sc->done : sc->late_cap;
	uint64_t dropped = atomic_load(&sc->ring.dropped);

	printf("# periods %ld of %ld us, %s, the view's ring dropped %llu\n", sc->done,
	       sc->period_ns / 1000, sc->realtime ? "SCHED_FIFO" : "SCHED_OTHER",
	       (unsigned long long)dropped);
	if (n == 0) {
		printf("# lateness us: no periods\n");
		return;
	}
	qsort(sc->late_ns, (size_t)n, sizeof(*sc->late_ns), cmp_i32);
	printf("# lateness us: min %.1f median %.1f p99 %.1f p99.9 %.1f max %.1f\n",
	       sc->late_min_ns / 1000.0, pct_us(sc->late_ns, n, 0.5), pct_us(sc->late_ns, n, 0.99),
	       pct_us(sc->late_ns, n, 0.999), sc->late_max_ns / 1000.0);
}

/* "US COUNT" for each 1 us bin that has samples (late_ns sorted). */
static int write_histogram(struct scope *sc, const char *path)
{
	long n = sc->done < sc->late_cap ? sc->done : sc->late_cap;
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "scope: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (long i = 0; i < n;) {
		long us = sc->late_ns[i] < 0 ? 0 : sc->late_ns[i] / 1000, count = 0;

		while (i < n && (sc->late_ns[i] < 0 ? 0 : sc->late_ns[i] / 1000) == us) {
			count++;
			i++;
		}
		fprintf(f, "%ld %ld\n", us, count);
	}
	return fclose(f);
}

int main(int argc, char **argv)
{
	struct scope *sc = &the_scope;
	struct options o;
	pthread_t t;
	int ret, status = 0;

	parse_options(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	lock_memory();
	sc->period_ns = o.period_us * 1000;
	sc->periods = o.seconds * 1000000 / o.period_us;
	sc->prio = (int)o.prio;
	sc->geometry = o.geometry;
	sc->late_cap = sc->periods ? sc->periods : LATE_CAP_DEFAULT;
	sc->late_ns = calloc((size_t)sc->late_cap, sizeof(*sc->late_ns));
	if (!sc->late_ns) {
		fprintf(stderr, "scope: out of memory for %ld periods\n", sc->late_cap);
		return 1;
	}
	memset(sc->late_ns, 0, (size_t)sc->late_cap * sizeof(*sc->late_ns));	/* touch every page */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if (!o.headless && view_open(sc) < 0)
		return 1;
	ret = start_sampling(sc, &t);
	if (ret) {
		fprintf(stderr, "scope: cannot start the sampling thread: %s\n", strerror(ret));
		return 1;
	}
	if (sc->realtime)
		printf("scope: sampling every %ld us at SCHED_FIFO %d%s\n", o.period_us, sc->prio,
		       o.headless ? ", no window" : "");
	else
		printf("scope: sampling every %ld us at SCHED_OTHER%s\n", o.period_us,
		       o.headless ? ", no window" : "");
	if (!o.headless)
		view_run(sc);
	pthread_join(t, NULL);
	print_stats(sc);
	if (o.hist && write_histogram(sc, o.hist))
		status = 1;
	return status;
}
