// SPDX-License-Identifier: MIT
/* The scheduling helpers behind rt.h, linked into the real-time programs. */
#define _GNU_SOURCE
#include <sched.h>
#include <semaphore.h>
#include <time.h>
#include "rt.h"

int rt_pin_one_cpu(void)
{
	cpu_set_t set;
	int cpu;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set); cpu++)
		;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

int rt_cpu_count(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	return CPU_COUNT(&set);
}

int rt_set_self(int policy, int prio)
{
	struct sched_param param = { .sched_priority = prio };

	return pthread_setschedparam(pthread_self(), policy, &param);
}

int rt_thread_start(pthread_t *t, int policy, int prio, void *(*fn)(void *), void *arg)
{
	struct sched_param param = { .sched_priority = prio };
	pthread_attr_t attr;
	int ret;

	pthread_attr_init(&attr);
	pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&attr, policy);
	pthread_attr_setschedparam(&attr, &param);
	ret = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return ret;
}

static void *settle_thread(void *arg)
{
	sem_post(arg);
	return NULL;
}

void rt_settle(void)
{
	pthread_t t;
	sem_t sem;

	sem_init(&sem, 0, 0);
	if (rt_thread_start(&t, SCHED_FIFO, 1, settle_thread, &sem) == 0) {
		sem_wait(&sem);
		pthread_join(t, NULL);
	}
	sem_destroy(&sem);
}

long long rt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct timespec rt_deadline(clockid_t clock, long long ns)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	ns += ts.tv_nsec;
	ts.tv_sec += ns / 1000000000LL;
	ts.tv_nsec = ns % 1000000000LL;
	return ts;
}

int rt_passed(clockid_t clock, const struct timespec *when)
{
	struct timespec now;

	clock_gettime(clock, &now);
	return now.tv_sec > when->tv_sec ||
	       (now.tv_sec == when->tv_sec && now.tv_nsec >= when->tv_nsec);
}

void rt_nap(long long ns)
{
	struct timespec ts = { ns / 1000000000LL, ns % 1000000000LL };

	while (nanosleep(&ts, &ts))
		;
}

int rt_spin(atomic_int *stop, long long ns)
{
	long long end = rt_now_ns() + ns;

	while (!atomic_load(stop))
		if (rt_now_ns() >= end)
			return 0;
	return 1;
}
