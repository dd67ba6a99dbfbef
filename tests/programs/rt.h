/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the real-time test programs: pinning to one CPU (priorities
 * order only the threads that share a CPU), threads started at an explicit
 * policy and priority, and a bounded busy-wait. Scheduling goes through
 * pthread_setschedparam: musl's sched_setscheduler is a stub that fails
 * with ENOSYS (POSIX makes it per process, Linux per thread).
 */
#ifndef TESTS_PROGRAMS_RT_H
#define TESTS_PROGRAMS_RT_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

/*
 * Restrict the calling thread, and so the threads it creates afterwards, to
 * the first CPU of its affinity mask. Returns 0, or -1 with errno set.
 */
int rt_pin_one_cpu(void);

/* The number of CPUs the calling thread may run on, or -1. */
int rt_cpu_count(void);

/* Set the calling thread's policy and priority: 0 or an error number. */
int rt_set_self(int policy, int prio);

/* Start fn(arg) in a thread at policy and prio: 0 or an error number. */
int rt_thread_start(pthread_t *t, int policy, int prio, void *(*fn)(void *), void *arg);

/*
 * Return once every other thread on this CPU above priority 1 is blocked:
 * a SCHED_FIFO 1 thread runs only then, and posts to the caller. For
 * programs pinned to one CPU, to know their threads reached their waits.
 */
void rt_settle(void);

/* CLOCK_MONOTONIC in nanoseconds. */
long long rt_now_ns(void);

/* The absolute time ns from now on clock. */
struct timespec rt_deadline(clockid_t clock, long long ns);

/* Whether clock has reached when. */
int rt_passed(clockid_t clock, const struct timespec *when);

/* Sleep for ns, going back to sleep after signal handlers. */
void rt_nap(long long ns);

/* Spin until *stop is set or ns have passed; returns 1 when *stop ended it. */
int rt_spin(atomic_int *stop, long long ns);

#endif
