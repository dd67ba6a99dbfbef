// SPDX-License-Identifier: MIT
/*
 * The pthread synchronisation objects, checked on what they promise rather
 * than on timing: condition variables on CLOCK_MONOTONIC (a timed wait that
 * times out, never early, one that is signalled in time, a broadcast that
 * wakes every waiter), barriers over several rounds, read-write locks
 * (readers together, a writer alone), unnamed semaphores, robust mutexes
 * whose owner dies, pthread_join's value, thread-local storage and
 * membarrier's contract. Runs on
 * any number of CPUs. Timeouts that must expire are 20 ms, waits that must
 * not time out are given 5 s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "check.h"
#include "rt.h"

#define NTHREADS	4
#define ROUNDS		5
#define SHORT_NS	20000000LL	/* timeouts that should expire */
#define LONG_NS		5000000000LL	/* timeouts that should not */

static __thread int tls_value = 7;

/* Run fn in a new thread and return what it returned, as an int. */
static int in_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	void *ret = (void *)-1;

	if (pthread_create(&t, NULL, fn, arg) || pthread_join(t, &ret))
		return -1;
	return (int)(intptr_t)ret;
}

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;
static int waiting, woken, go, timeouts;

static void *cond_waiter(void *arg)
{
	struct timespec until = rt_deadline(CLOCK_MONOTONIC, LONG_NS);
	int rc = 0;

	(void)arg;
	pthread_mutex_lock(&mutex);
	waiting++;
	pthread_cond_broadcast(&cond);	/* the main thread waits for us too */
	while (!go && rc == 0)
		rc = pthread_cond_timedwait(&cond, &mutex, &until);
	woken += go;
	timeouts += rc == ETIMEDOUT;
	pthread_mutex_unlock(&mutex);
	return NULL;
}

static void test_cond(void)
{
	struct timespec until = rt_deadline(CLOCK_MONOTONIC, SHORT_NS);
	pthread_t t[NTHREADS];
	pthread_condattr_t attr;
	int i, rc = 0;

	pthread_condattr_init(&attr);
	check_errnum("pthread_condattr_setclock", pthread_condattr_setclock(&attr,
		     CLOCK_MONOTONIC), 0);
	pthread_cond_init(&cond, &attr);
	pthread_mutex_lock(&mutex);
	while (rc == 0)		/* wakeups may be spurious */
		rc = pthread_cond_timedwait(&cond, &mutex, &until);
	check_errnum("pthread_cond_timedwait, nobody signals", rc, ETIMEDOUT);
	check_true("pthread_cond_timedwait not early", rt_passed(CLOCK_MONOTONIC, &until));

	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, cond_waiter, NULL);
	until = rt_deadline(CLOCK_MONOTONIC, LONG_NS);
	for (rc = 0; waiting < NTHREADS && rc == 0;)
		rc = pthread_cond_timedwait(&cond, &mutex, &until);
	check_errnum("pthread_cond_timedwait, signalled in time", rc, 0);
	go = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mutex);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	check_true("pthread_cond_broadcast wakes every waiter", woken == NTHREADS && !timeouts);
	pthread_cond_destroy(&cond);
	pthread_condattr_destroy(&attr);
}

static pthread_barrier_t barrier;
static atomic_int arrived[ROUNDS], serial[ROUNDS], early;

static void *barrier_thread(void *arg)
{
	int r, rc;

	(void)arg;
	for (r = 0; r < ROUNDS; r++) {
		atomic_fetch_add(&arrived[r], 1);
		rc = pthread_barrier_wait(&barrier);
		if (rc == PTHREAD_BARRIER_SERIAL_THREAD)
			atomic_fetch_add(&serial[r], 1);
		else if (rc)
			atomic_fetch_add(&early, 1);	/* an error */
		if (atomic_load(&arrived[r]) != NTHREADS)
			atomic_fetch_add(&early, 1);
	}
	return NULL;
}

static void test_barrier(void)
{
	pthread_t t[NTHREADS];
	int i, ok = 1;

	pthread_barrier_init(&barrier, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, barrier_thread, NULL);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < ROUNDS; i++)
		ok &= atomic_load(&serial[i]) == 1;
	check_true("pthread_barrier_wait: nobody leaves before all arrive", !atomic_load(&early));
	check_true("pthread_barrier_wait: one serial thread a round", ok);
	pthread_barrier_destroy(&barrier);
}

static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static atomic_int readers;

static void *reader_thread(void *arg)
{
	int rc = pthread_rwlock_tryrdlock(&rwlock);

	(void)arg;
	if (rc == 0)
		atomic_fetch_add(&readers, 1);
	pthread_barrier_wait(&barrier);	/* all readers hold the lock */
	pthread_barrier_wait(&barrier);	/* the main thread has looked */
	if (rc == 0)
		pthread_rwlock_unlock(&rwlock);
	return NULL;
}

/* One attempt on the write-locked rwlock: 'r'ead, 'w'rite or 't'imed read. */
static void *rw_try(void *arg)
{
	struct timespec until = rt_deadline(CLOCK_REALTIME, SHORT_NS);
	int op = (intptr_t)arg, rc;

	rc = op == 'r' ? pthread_rwlock_tryrdlock(&rwlock) :
	     op == 'w' ? pthread_rwlock_trywrlock(&rwlock) :
	     pthread_rwlock_timedrdlock(&rwlock, &until);
	if (rc == 0)
		pthread_rwlock_unlock(&rwlock);
	return (void *)(intptr_t)rc;
}

static int rw_attempt(int op)
{
	return in_thread(rw_try, (void *)(intptr_t)op);
}

static void test_rwlock(void)
{
	pthread_t t[NTHREADS];
	int i;

	pthread_barrier_init(&barrier, NULL, NTHREADS + 1);
	pthread_rwlock_rdlock(&rwlock);
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, reader_thread, NULL);
	pthread_barrier_wait(&barrier);
	check_true("pthread_rwlock: readers hold it together", atomic_load(&readers) == NTHREADS);
	check_errnum("pthread_rwlock_trywrlock while read-locked", rw_attempt('w'), EBUSY);
	pthread_barrier_wait(&barrier);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_rwlock_unlock(&rwlock);
	pthread_barrier_destroy(&barrier);

	check_errnum("pthread_rwlock_wrlock", pthread_rwlock_wrlock(&rwlock), 0);
	check_errnum("pthread_rwlock_tryrdlock while write-locked", rw_attempt('r'), EBUSY);
	check_errnum("pthread_rwlock_trywrlock while write-locked", rw_attempt('w'), EBUSY);
	check_errnum("pthread_rwlock_timedrdlock while write-locked", rw_attempt('t'), ETIMEDOUT);
	pthread_rwlock_unlock(&rwlock);
	check_errnum("pthread_rwlock_trywrlock when free", rw_attempt('w'), 0);
}

static sem_t sem;

static void *late_post(void *arg)
{
	(void)arg;
	rt_nap(SHORT_NS / 2);
	sem_post(&sem);
	return NULL;
}

static void test_semaphore(void)
{
	struct timespec until = rt_deadline(CLOCK_REALTIME, SHORT_NS);
	pthread_t t;
	int value = -1;

	check_ok("sem_init", sem_init(&sem, 0, 0));
	check_err("sem_trywait at 0", sem_trywait(&sem), EAGAIN);
	check_ok("sem_post", sem_post(&sem));
	sem_getvalue(&sem, &value);
	check_long("sem_getvalue", value, 1);
	check_ok("sem_trywait at 1", sem_trywait(&sem));
	check_err("sem_timedwait, nobody posts", sem_timedwait(&sem, &until), ETIMEDOUT);
	check_true("sem_timedwait not early", rt_passed(CLOCK_REALTIME, &until));
	pthread_create(&t, NULL, late_post, NULL);
	check_ok("sem_wait, posted by a thread", sem_wait(&sem));
	pthread_join(t, NULL);
	check_ok("sem_destroy", sem_destroy(&sem));
}

static pthread_mutex_t robust;

/* Lock the robust mutex and die holding it, after arg ns. */
static void *die_holding(void *arg)
{
	pthread_mutex_lock(&robust);
	sem_post(&sem);
	rt_nap((intptr_t)arg);
	return NULL;
}

static void test_robust(void)
{
	pthread_mutexattr_t attr;
	pthread_t t;

	pthread_mutexattr_init(&attr);
	check_errnum("pthread_mutexattr_setrobust", pthread_mutexattr_setrobust(&attr,
		     PTHREAD_MUTEX_ROBUST), 0);
	pthread_mutex_init(&robust, &attr);
	sem_init(&sem, 0, 0);
	in_thread(die_holding, (void *)0);
	sem_wait(&sem);
	check_errnum("robust: pthread_mutex_lock", pthread_mutex_lock(&robust), EOWNERDEAD);
	check_errnum("robust: pthread_mutex_consistent", pthread_mutex_consistent(&robust), 0);
	check_errnum("robust: pthread_mutex_unlock", pthread_mutex_unlock(&robust), 0);
	check_errnum("robust: pthread_mutex_lock again", pthread_mutex_lock(&robust), 0);
	pthread_mutex_unlock(&robust);

	/* Blocked in lock while the owner exits: the exit wakes us. */
	pthread_create(&t, NULL, die_holding, (void *)(intptr_t)SHORT_NS);
	sem_wait(&sem);
	check_errnum("robust: waiter when the owner dies", pthread_mutex_lock(&robust),
		     EOWNERDEAD);
	pthread_join(t, NULL);
	check_errnum("robust: unlock, not consistent", pthread_mutex_unlock(&robust), 0);
	check_errnum("robust: lock after that", pthread_mutex_lock(&robust), ENOTRECOVERABLE);
	pthread_mutex_destroy(&robust);
	pthread_mutexattr_destroy(&attr);
	sem_destroy(&sem);
}

/* Return 42, or pthread_exit(arg) if arg is set. */
static void *exit_with(void *arg)
{
	if (arg)
		pthread_exit(arg);
	return (void *)42;
}

/* Whether this thread's id is one of the process's tasks, as Linux lists them. */
static int tid_is_a_task(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%ld", (long)syscall(SYS_gettid));
	return access(path, F_OK) == 0;
}

static void *tls_thread(void *arg)
{
	int id = (intptr_t)arg, ok = tls_value == 7;

	tls_value = 100 + id;
	ok &= tid_is_a_task();
	pthread_barrier_wait(&barrier);	/* everyone has written theirs */
	ok &= tls_value == 100 + id;
	return (void *)(intptr_t)ok;
}

static void test_threads(void)
{
	pthread_t t[NTHREADS];
	void *ret;
	int i, ok = 1;

	check_long("pthread_join gets the return value", in_thread(exit_with, NULL), 42);
	check_long("pthread_join gets the pthread_exit value", in_thread(exit_with, (void *)7), 7);
	tls_value = 1;
	pthread_barrier_init(&barrier, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, tls_thread, (void *)(intptr_t)(i + 1));
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], &ret);
		ok &= ret == (void *)1;
	}
	pthread_barrier_destroy(&barrier);
	check_true("__thread: each thread has its own, initialised; tids are the process's tasks",
		   ok && tls_value == 1 && tid_is_a_task());
}

static atomic_int stop_napping;

static void *nap_until_stopped(void *arg)
{
	while (!atomic_load(&stop_napping))
		usleep(1000);
	return arg;
}

/*
 * membarrier(2), as userspace RCU and language runtimes use it: the query
 * lists the private expedited command and its registration; the command
 * before its registration is refused (EPERM), after it served; an unknown
 * command and flags are refused (EINVAL).
 */
static void test_membarrier(void)
{
	long mask = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	pthread_t t;

	check_true("membarrier query lists PRIVATE_EXPEDITED and its registration",
		   mask > 0 && (mask & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
		   (mask & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED));
	check_err("membarrier PRIVATE_EXPEDITED before registering",
		  syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0), EPERM);
	check_ok("membarrier REGISTER_PRIVATE_EXPEDITED",
		 syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0));
	pthread_create(&t, NULL, nap_until_stopped, NULL);
	check_ok("membarrier PRIVATE_EXPEDITED with another thread",
		 syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0));
	atomic_store(&stop_napping, 1);
	pthread_join(t, NULL);
	check_err("membarrier with an unknown command", syscall(SYS_membarrier, 3, 0, 0), EINVAL);
	check_err("membarrier with flags", syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 1, 0),
		  EINVAL);
}

int main(void)
{
	test_membarrier();
	test_cond();
	test_barrier();
	test_rwlock();
	test_semaphore();
	test_robust();
	test_threads();
	return check_done();
}
