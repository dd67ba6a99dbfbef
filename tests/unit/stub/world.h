/* SPDX-License-Identifier: MIT */
/*
 * A scheduler world for unit tests that compile kernel/sched.c (world.c):
 * the real scheduler over stub RAM, with threads the test creates and
 * acts as. The stub arch does not switch stacks: a context switch only
 * changes thread_current(), and the test then plays that thread (see
 * stub_switch_hook in stub.h to let a wait end as on real hardware).
 */
#ifndef STUB_WORLD_H
#define STUB_WORLD_H

#include <string.h>
#include <kernel/thread.h>
#include "harness.h"

#define WORLD_T0	1000000ull	/* the TSC when a test starts */
#define WORLD_QUANTUM	1000ull		/* sched_quantum() in a test */

/* The idle thread (the boot context) of the current world. */
extern struct thread *world_idle;

/*
 * Start a test: a fresh scheduler (sched_init) whose idle thread runs, the
 * TSC at WORLD_T0, interrupts unmasked, the timer floor at
 * TIMER_FLOOR_NONE. Also installs world_end() as the failure cleanup.
 */
void world_begin(void);

/*
 * End a test: every thread blocks until idle runs, then is killed and
 * reaped. Fails the test if a timer stays armed, memory leaked or the
 * interrupt mask saves and restores did not pair up.
 */
void world_end(void);

/* world_end() kills and frees t (made by thread_create). Returns t. */
struct thread *world_track(struct thread *t);

/* A new thread at prio, not started (thread_create); world_end() frees it. */
struct thread *world_thread(const char *name, int prio);

/* The same, started (sched_wake): ready. */
struct thread *world_spawn(const char *name, int prio);

/* The current thread blocks (sched_block, masked); returns the thread that runs next. */
struct thread *world_block(void);

/*
 * Who runs, in order: from the current thread (or, if idle runs, from the
 * one a yield of idle picks), each blocks in turn as if it were done, until
 * idle runs. Returns the first letters of their names (a static buffer).
 */
const char *world_order(void);

#define EXPECT_ORDER(want) \
	do { \
		const char *got_ = world_order(); \
		if (strcmp(got_, (want))) \
			harness_fail(__FILE__, __LINE__, "run order \"%s\", expected \"%s\"", \
				     got_, (want)); \
	} while (0)

/* thread_reap(), forgetting the dead threads it frees. */
void world_reap(void);

/* Set the TSC and run the due timers (what the timer interrupt does). */
void world_advance(uint64_t tsc);

#endif
