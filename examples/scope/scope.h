/* SPDX-License-Identifier: MIT */
/*
 * scope: a real-time sampler and its X11 view (an ordinary Linux program,
 * unaware of crtos). The sampling thread (sample.c) owns the statistics
 * and the ring's head; the view (view.c) owns the ring's tail and its own
 * running figures. The two share nothing else but the atomics below.
 */
#ifndef SCOPE_H
#define SCOPE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* One period of the sampling thread: what it generated and how late it woke. */
struct sample {
	int64_t deadline_ns;	/* since the first deadline */
	int32_t late_ns;	/* wake-up minus deadline */
	float value;		/* the generated signal, -1..1 */
};

/*
 * A single-producer single-consumer ring: the sampling thread writes, the
 * view reads. Lock-free on purpose: with a mutex the sampling thread could
 * find it held by the view thread, which runs at SCHED_OTHER and may be
 * preempted (natively by any Linux task; in the realm it may sit in a
 * remote call to the X server) while holding it, and the real-time thread
 * would wait for Xlib. Here each side writes only its own index: the
 * producer fills a slot, then publishes head (release); the consumer reads
 * head (acquire), copies the slots, then publishes tail (release). When it
 * is full the producer drops the sample and counts it: it never waits.
 */
#define RING_SLOTS 4096		/* a power of two: 4 s of 1 ms samples */
struct ring {
	_Atomic uint32_t head;	/* written by the producer only */
	_Atomic uint32_t tail;	/* written by the consumer only */
	_Atomic uint64_t dropped;	/* written by the producer only */
	struct sample slot[RING_SLOTS];
};

/* Producer side: never blocks; false (and counted) when the ring is full. */
bool ring_put(struct ring *r, const struct sample *s);
/* Consumer side: up to max samples into out; returns how many. */
unsigned ring_take(struct ring *r, struct sample *out, unsigned max);

struct scope {
	/* Set before the threads start, read-only afterwards. */
	long period_ns;
	long periods;		/* how many to run; 0: until stopped */
	int prio;		/* SCHED_FIFO priority asked for */
	bool realtime;		/* whether the sampling thread got it */
	const char *geometry;	/* "WxH+X+Y", or NULL */

	struct ring ring;
	atomic_bool stop;	/* anyone: the window closed, a signal, the end */
	atomic_bool sampling_done;	/* the sampling thread: it returned */

	/* Written by the sampling thread only; read after it is joined. */
	int32_t *late_ns;	/* every period's lateness, up to late_cap */
	long late_cap;
	long done;		/* periods run */
	int64_t late_min_ns, late_max_ns;
};

/* sample.c: the sampling thread's body (a pthread start routine). */
void *sample_thread(void *scope);

/*
 * view.c: view_open connects to the X server and maps the window: 0, or -1
 * when there is no display (said on stderr). view_run then draws until
 * sampling ends or the window is closed (which sets stop).
 */
int view_open(struct scope *sc);
void view_run(struct scope *sc);

#endif
