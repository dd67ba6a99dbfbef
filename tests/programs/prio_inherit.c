// SPDX-License-Identifier: MIT
/*
 * Priority inversion, with and without priority inheritance. On one CPU a
 * low thread (SCHED_FIFO 10) holds a mutex, a medium thread (20) spins and a
 * high thread (30) asks for the mutex. With PTHREAD_PRIO_INHERIT the low
 * thread runs at the high thread's priority until it unlocks, so the high
 * thread gets the mutex while the medium thread is still spinning. With
 * PTHREAD_PRIO_NONE the medium thread keeps the low one off the CPU and the
 * high thread waits for the whole spin: the inversion inheritance prevents.
 * A third scene puts a chain thread (15) in between: it holds the mutex the
 * high thread wants while waiting for the low thread's, so the boost has to
 * pass through it to the low thread.
 *
 * The threads append to an event log and the checks are on its order, not
 * on times. The main thread (SCHED_FIFO 40) sets each scene up, waits until
 * the lock holders are blocked (rt_settle), then steps aside; from there on
 * each step is a semaphore post or a mutex hand-over on the one CPU. The
 * medium spin is bounded (50 ms, or the first argument in ms: creating a
 * thread must take less than that), so a broken scheduler fails, not hangs.
 *
 * The program locks its memory first (mlockall), as real-time programs do.
 *
 * Usage: prio_inherit [SPIN_MS]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "check.h"
#include "rt.h"

#define PRIO_MAIN	40
#define PRIO_HIGH	30
#define PRIO_MEDIUM	20
#define PRIO_CHAIN	15
#define PRIO_LOW	10
#define MEDIUM_SPIN_MS	50
#define MAX_EVENTS	16

enum event {
	LOW_LOCKS,
	CHAIN_LOCKS,		/* holds mutex_b, now waits for mutex_a */
	MEDIUM_STARTS,
	HIGH_WAITS,
	LOW_UNLOCKS,
	CHAIN_UNLOCKS,		/* got mutex_a, releases both */
	HIGH_LOCKS,
	MEDIUM_ENDS,
};

static const char *const event_names[] = {
	"low-locks", "chain-locks", "medium-starts", "high-waits",
	"low-unlocks", "chain-unlocks", "high-locks", "medium-ends",
};

static const struct scene {
	const char *name;
	int protocol;
	int chain;		/* high waits for mutex_b, held by the chain thread */
	int high_first;		/* high locks before medium ends */
	const char *want;	/* the event log */
} scenes[] = {
	{ "PTHREAD_PRIO_INHERIT", PTHREAD_PRIO_INHERIT, 0, 1,
	  "low-locks medium-starts high-waits low-unlocks high-locks medium-ends" },
	{ "PTHREAD_PRIO_NONE", PTHREAD_PRIO_NONE, 0, 0,
	  "low-locks medium-starts high-waits medium-ends low-unlocks high-locks" },
	{ "PTHREAD_PRIO_INHERIT chain", PTHREAD_PRIO_INHERIT, 1, 1,
	  "low-locks chain-locks medium-starts high-waits low-unlocks chain-unlocks "
	  "high-locks medium-ends" },
};

static pthread_mutex_t mutex_a;	/* the low thread's */
static pthread_mutex_t mutex_b;	/* the chain thread's */
static pthread_mutex_t *high_wants;
static sem_t low_locked;	/* posted by low, holding mutex_a */
static sem_t low_go;		/* low waits here until the others are ready */
static sem_t medium_go;		/* medium waits here until every thread exists */
static sem_t medium_started;	/* posted by medium, about to spin */
static atomic_int high_done;	/* ends the medium spin early */
static long long medium_ns;	/* how long medium spun, for a "# " line */
static long long medium_spin_ns = MEDIUM_SPIN_MS * 1000000LL;

static struct {
	atomic_int n;
	enum event ev[MAX_EVENTS];
} events;

static void event_add(enum event ev)
{
	int i = atomic_fetch_add(&events.n, 1);

	if (i < MAX_EVENTS)
		events.ev[i] = ev;
}

/* The log as "name name ...". */
static const char *event_order(void)
{
	static char buf[256];
	int i, n = atomic_load(&events.n);

	buf[0] = '\0';
	for (i = 0; i < n && i < MAX_EVENTS; i++) {
		strcat(buf, i ? " " : "");
		strcat(buf, event_names[events.ev[i]]);
	}
	return buf;
}

static int event_index(enum event ev)
{
	int i;

	for (i = 0; i < atomic_load(&events.n) && i < MAX_EVENTS; i++)
		if (events.ev[i] == ev)
			return i;
	return MAX_EVENTS;
}

static void *low_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mutex_a);
	event_add(LOW_LOCKS);
	sem_post(&low_locked);
	sem_wait(&low_go);
	/* Ready again, but at priority 10 unless a waiter boosts us. */
	event_add(LOW_UNLOCKS);
	pthread_mutex_unlock(&mutex_a);
	return NULL;
}

static void *chain_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mutex_b);
	event_add(CHAIN_LOCKS);
	pthread_mutex_lock(&mutex_a);
	event_add(CHAIN_UNLOCKS);
	pthread_mutex_unlock(&mutex_a);
	pthread_mutex_unlock(&mutex_b);
	return NULL;
}

static void *medium_thread(void *arg)
{
	long long start = rt_now_ns();

	(void)arg;
	sem_wait(&medium_go);
	event_add(MEDIUM_STARTS);
	sem_post(&medium_started);	/* the high thread runs at once */
	rt_spin(&high_done, medium_spin_ns);
	medium_ns = rt_now_ns() - start;
	event_add(MEDIUM_ENDS);
	return NULL;
}

static void *high_thread(void *arg)
{
	(void)arg;
	sem_wait(&medium_started);
	event_add(HIGH_WAITS);
	pthread_mutex_lock(high_wants);
	event_add(HIGH_LOCKS);
	pthread_mutex_unlock(high_wants);
	atomic_store(&high_done, 1);
	return NULL;
}

/* "scene: what", for check names. */
static const char *label(const struct scene *s, const char *what)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "%s: %s", s->name, what);
	return buf;
}

static void scene_init(const struct scene *s)
{
	pthread_mutexattr_t attr;
	int got = -1;

	atomic_store(&events.n, 0);
	atomic_store(&high_done, 0);
	sem_init(&low_locked, 0, 0);
	sem_init(&low_go, 0, 0);
	sem_init(&medium_go, 0, 0);
	sem_init(&medium_started, 0, 0);
	pthread_mutexattr_init(&attr);
	check_errnum(label(s, "pthread_mutexattr_setprotocol"),
		     pthread_mutexattr_setprotocol(&attr, s->protocol), 0);
	pthread_mutexattr_getprotocol(&attr, &got);
	check_true(label(s, "pthread_mutexattr_getprotocol"), got == s->protocol);
	pthread_mutex_init(&mutex_a, &attr);
	pthread_mutex_init(&mutex_b, &attr);
	pthread_mutexattr_destroy(&attr);
	high_wants = s->chain ? &mutex_b : &mutex_a;
}

static void scene_fini(void)
{
	pthread_mutex_destroy(&mutex_a);
	pthread_mutex_destroy(&mutex_b);
	sem_destroy(&low_locked);
	sem_destroy(&low_go);
	sem_destroy(&medium_go);
	sem_destroy(&medium_started);
}

static void start(pthread_t *t, int prio, void *(*fn)(void *))
{
	int ret = rt_thread_start(t, SCHED_FIFO, prio, fn, NULL);

	if (ret)
		check_errnum("start thread", ret, 0);
}

/*
 * Low takes mutex_a, the chain thread mutex_b; once both wait, medium and
 * high are created, and only then are low and medium made ready: then the
 * main thread steps aside. (Medium waits for its go: a thread creation may
 * block the main thread, and in crtos it waits for the new thread's twin
 * to start in Linux, which in the test VM under load took longer than the
 * whole medium spin, so that medium spun to its end before high existed.)
 */
static void scene_play(const struct scene *s)
{
	pthread_t low, chain, medium, high;

	start(&low, PRIO_LOW, low_thread);
	sem_wait(&low_locked);
	if (s->chain)
		start(&chain, PRIO_CHAIN, chain_thread);
	rt_settle();
	start(&medium, PRIO_MEDIUM, medium_thread);
	start(&high, PRIO_HIGH, high_thread);
	sem_post(&low_go);
	sem_post(&medium_go);
	pthread_join(high, NULL);
	pthread_join(medium, NULL);
	if (s->chain)
		pthread_join(chain, NULL);
	pthread_join(low, NULL);
}

static void test_scene(const struct scene *s)
{
	const char *what = s->high_first ? "high locks while medium spins" :
					   "high locks only after medium ends";
	int high_first;

	scene_init(s);
	scene_play(s);
	scene_fini();
	printf("# %s: medium spun %lld us\n", s->name, medium_ns / 1000);
	high_first = event_index(HIGH_LOCKS) < event_index(MEDIUM_ENDS);
	check_explain(label(s, what), high_first == s->high_first, "%s", event_order());
	check_explain(label(s, "event order"), !strcmp(event_order(), s->want),
		      "%s", event_order());
}

int main(int argc, char **argv)
{
	size_t i;
	int ret;

	if (argc > 1 && (medium_spin_ns = atoll(argv[1]) * 1000000LL) <= 0) {
		fprintf(stderr, "usage: prio_inherit [SPIN_MS]\n");
		return 2;
	}
	check_quiet("pin to one CPU", rt_pin_one_cpu());
	/*
	 * As real-time programs do: a major page fault (code not yet read from
	 * its file, as on the test VM's 9p root) blocks the faulting thread and
	 * lets a lower one run, which would change the order checked here.
	 */
	check_quiet("lock memory", mlockall(MCL_CURRENT | MCL_FUTURE));
	check_true("one CPU", rt_cpu_count() == 1);
	ret = rt_set_self(SCHED_FIFO, PRIO_MAIN);
	check_errnum("main thread SCHED_FIFO", ret, 0);
	if (ret)	/* not root: nothing else can work */
		return check_done();
	for (i = 0; i < sizeof(scenes) / sizeof(scenes[0]); i++)
		test_scene(&scenes[i]);
	return check_done();
}
