// SPDX-License-Identifier: MIT
/*
 * Many threads at once, and many one after the other.
 *
 *   threads [many]   200 threads at once, each making system calls that go
 *                    to Linux in the realm (write to a pipe, getppid) and
 *                    ones the realm serves (clock_gettime, sched_yield,
 *                    gettid, futexes through a mutex); joined, with a
 *                    checksum of what they did and of the pipe's bytes.
 *   threads churn    2000 threads in waves of 100: created, joined.
 *   threads limit    threads that wait until told, up to 1100, until
 *                    pthread_create fails: how many started and the error
 *                    (natively all 1100 start; tests say what to expect).
 *
 * Thread stacks are small and explicit (a browser's are too), so that the
 * output is the same with musl's and glibc's default stack sizes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "check.h"

#define MANY		200
#define CALLS		10	/* each kind of call, per thread */
#define WAVES		20
#define WAVE		100
#define LIMIT_MAX	1100
#define STACK_SIZE	(64 * 1024)
#define LIMIT_STACK	(32 * 1024)

static int pipe_fds[2];
static pid_t parent;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long total;		/* under lock: the sum of each thread's work */
static int bad_calls;			/* under lock: calls that answered wrongly */
/* Held for writing by "many" while it starts its threads: they all live at once. */
static pthread_rwlock_t all_started = PTHREAD_RWLOCK_INITIALIZER;

/* One thread of "many": its number n is what it writes and adds. */
static void *many_thread(void *arg)
{
	unsigned int n = (unsigned int)(uintptr_t)arg;
	unsigned char byte = (unsigned char)n;
	struct timespec ts;
	int bad = 0;

	pthread_rwlock_rdlock(&all_started);	/* wait until every thread exists */
	pthread_rwlock_unlock(&all_started);
	for (int i = 0; i < CALLS; i++) {
		bad += write(pipe_fds[1], &byte, 1) != 1;		/* Linux's, in the realm */
		bad += getppid() != parent;				/* Linux's */
		bad += clock_gettime(CLOCK_MONOTONIC, &ts) != 0;	/* the realm's */
		bad += sched_yield() != 0;				/* the realm's */
		bad += syscall(SYS_gettid) <= 0;
		pthread_mutex_lock(&lock);				/* futexes when contended */
		total += n;
		bad_calls += bad;
		bad = 0;
		pthread_mutex_unlock(&lock);
	}
	return (void *)(uintptr_t)(n * 3);
}

static int start(pthread_t *t, size_t stack, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, stack);
	err = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return err;
}

static void run_many(void)
{
	static pthread_t t[MANY];
	unsigned long joined = 0, bytes = 0, sum = 0, want = 0;
	unsigned char buf[256];
	int started = 0;
	ssize_t got;

	check_quiet("pipe", pipe(pipe_fds));
	parent = getppid();
	pthread_rwlock_wrlock(&all_started);
	for (int i = 0; i < MANY; i++)
		started += start(&t[i], STACK_SIZE, many_thread, (void *)(uintptr_t)i) == 0;
	pthread_rwlock_unlock(&all_started);
	check_long("threads started", started, MANY);
	for (int i = 0; i < started; i++) {
		void *ret;

		if (!pthread_join(t[i], &ret))
			joined += (uintptr_t)ret;
	}
	close(pipe_fds[1]);
	while ((got = read(pipe_fds[0], buf, sizeof(buf))) > 0) {
		bytes += (unsigned long)got;
		for (ssize_t i = 0; i < got; i++)
			sum += buf[i];
	}
	for (int i = 0; i < MANY; i++)
		want += (unsigned long)(i & 0xff) * CALLS;
	check_long("bytes through the pipe", (long)bytes, MANY * CALLS);
	check_long("checksum of the pipe's bytes", (long)sum, (long)want);
	check_long("checksum of the threads' work", (long)total,
		   (long)CALLS * MANY * (MANY - 1) / 2);
	check_long("checksum of the join values", (long)joined, 3L * MANY * (MANY - 1) / 2);
	check_long("calls that answered wrongly", bad_calls, 0);
	printf("checksum: %lu\n", total + sum + joined);
}

/* Open fds of this process, as /proc lists them. */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void *churn_thread(void *arg)
{
	return (void *)(uintptr_t)((uintptr_t)arg + (getppid() == parent));
}

static void run_churn(void)
{
	pthread_t t[WAVE];
	unsigned long sum = 0;
	int failed = 0, fds = open_fds();

	parent = getppid();
	for (int w = 0; w < WAVES; w++) {
		int n = 0;

		for (int i = 0; i < WAVE; i++) {
			if (start(&t[n], STACK_SIZE, churn_thread, (void *)(uintptr_t)i))
				failed++;
			else
				n++;
		}
		for (int i = 0; i < n; i++) {
			void *ret;

			if (!pthread_join(t[i], &ret))
				sum += (uintptr_t)ret;
		}
	}
	check_long("threads that failed to start", failed, 0);
	check_long("open fds after them, more than before", open_fds() - fds, 0);
	/* Each returns its index plus one (its getppid was right). */
	check_long("checksum of 2000 threads", (long)sum, (long)WAVES * WAVE * (WAVE + 1) / 2);
}

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate = PTHREAD_COND_INITIALIZER;
static int gate_open;

static void *waiting_thread(void *arg)
{
	pthread_mutex_lock(&gate_lock);
	while (!gate_open)
		pthread_cond_wait(&gate, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	return arg;
}

static void run_limit(void)
{
	static pthread_t t[LIMIT_MAX];
	int n = 0, err = 0, joined = 0;

	while (n < LIMIT_MAX && !(err = start(&t[n], LIMIT_STACK, waiting_thread, NULL)))
		n++;
	printf("threads started: %d\n", n);
	printf("then: %s\n", err ? errno_name(err) : "no error");
	pthread_mutex_lock(&gate_lock);
	gate_open = 1;
	pthread_cond_broadcast(&gate);
	pthread_mutex_unlock(&gate_lock);
	for (int i = 0; i < n; i++)
		joined += pthread_join(t[i], NULL) == 0;
	check_long("threads joined", joined, n);
	/* The process goes on: one more thread after all those ended. */
	check_errnum("a thread after they ended", start(&t[0], LIMIT_STACK, waiting_thread, NULL), 0);
	pthread_join(t[0], NULL);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "many";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "churn"))
		run_churn();
	else if (!strcmp(mode, "limit"))
		run_limit();
	else
		run_many();
	return check_done();
}
