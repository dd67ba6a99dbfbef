// SPDX-License-Identifier: MIT
/*
 * The sampling thread: every period it sleeps to an absolute deadline
 * (clock_nanosleep, TIMER_ABSTIME, CLOCK_MONOTONIC), measures how late it
 * woke, generates one sample of a signal (a 4 Hz sine) and hands it to the
 * view through the ring. Its loop makes no call that can wait for anything
 * but its timer: no lock, no allocation, no output (memory is locked and
 * the lateness array touched before it starts).
 */
#include <math.h>
#include <time.h>
#include "scope.h"

#define SIGNAL_HZ 4.0

bool ring_put(struct ring *r, const struct sample *s)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (head - tail == RING_SLOTS) {
		atomic_store_explicit(&r->dropped,
				      atomic_load_explicit(&r->dropped, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		return false;
	}
	r->slot[head % RING_SLOTS] = *s;
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	return true;
}

unsigned ring_take(struct ring *r, struct sample *out, unsigned max)
{
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	unsigned n = 0;

	while (tail != head && n < max)
		out[n++] = r->slot[tail++ % RING_SLOTS];
	atomic_store_explicit(&r->tail, tail, memory_order_release);
	return n;
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static void ts_add_ns(struct timespec *t, long ns)
{
	t->tv_nsec += ns;
	while (t->tv_nsec >= 1000000000) {
		t->tv_nsec -= 1000000000;
		t->tv_sec++;
	}
}

static void record(struct scope *sc, int64_t late)
{
	if (sc->done < sc->late_cap)
		sc->late_ns[sc->done] = late > INT32_MAX ? INT32_MAX : (int32_t)late;
	if (sc->done == 0 || late < sc->late_min_ns)
		sc->late_min_ns = late;
	if (sc->done == 0 || late > sc->late_max_ns)
		sc->late_max_ns = late;
	sc->done++;
}

void *sample_thread(void *arg)
{
	struct scope *sc = arg;
	struct timespec next, now;
	int64_t first;

	clock_gettime(CLOCK_MONOTONIC, &next);
	ts_add_ns(&next, sc->period_ns);
	first = ts_ns(&next);
	while (!atomic_load(&sc->stop) && (sc->periods == 0 || sc->done < sc->periods)) {
		struct sample s;

		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		s.deadline_ns = ts_ns(&next) - first;
		s.late_ns = (int32_t)(ts_ns(&now) - ts_ns(&next));
		s.value = (float)sin(2 * M_PI * SIGNAL_HZ * (double)s.deadline_ns / 1e9);
		record(sc, ts_ns(&now) - ts_ns(&next));
		ring_put(&sc->ring, &s);
		ts_add_ns(&next, sc->period_ns);
	}
	atomic_store(&sc->sampling_done, true);
	return NULL;
}
