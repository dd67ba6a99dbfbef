/* SPDX-License-Identifier: MIT */
/*
 * One-shot timers on TSC deadlines. Tickless: armed timers wait in a list
 * ordered by deadline (equal deadlines fire in the order they were armed);
 * the idle loop polls the earliest one.
 *
 * The per-CPU TSC-deadline timer interrupts only when it must, because an
 * interrupt costs the CPU 50-100 us here (docs/architecture.md): it is
 * armed for the earliest timer whose urgency is above the floor, and the
 * scheduler sets the floor to the running thread's priority. A sleeping
 * thread's timer has its priority as urgency, so it interrupts only threads
 * it would preempt; timers whose functions must run on time whatever runs
 * (signals, quanta) are TIMER_URGENT. The polling idle loop needs no
 * interrupt at all (floor TIMER_FLOOR_POLLING); a halting one needs every
 * deadline (TIMER_FLOOR_NONE).
 *
 * Everything here runs masked. A timer's function runs masked, from the
 * timer interrupt or the idle loop, with the timer already disarmed; it may
 * re-arm it (periodic timers) or arm and cancel others. It must not block.
 */
#ifndef KERNEL_TIMER_H
#define KERNEL_TIMER_H

#include <kernel/list.h>

struct timer;
typedef void (*timer_fn_t)(struct timer *tm);

#define TIMER_URGENT		1000	/* above every priority */
#define TIMER_FLOOR_NONE	(-1000)	/* every timer interrupts (a halted CPU) */
#define TIMER_FLOOR_POLLING	TIMER_URGENT	/* no timer interrupts (the idle loop polls) */

struct timer {
	uint64_t deadline;		/* TSC; valid while armed */
	timer_fn_t fn;			/* what to do when it expires */
	int urgency;			/* interrupts a context whose floor is lower (TIMER_URGENT default) */
	struct list_node node;		/* in the ordered list while armed; self-linked otherwise */
};

/* Set up the timer interrupt. */
void timer_init(void);

/* A disarmed timer that will call fn, TIMER_URGENT. */
void timer_setup(struct timer *tm, timer_fn_t fn);

/* Set tm's urgency (takes effect for the hardware timer at once). */
void timer_set_urgency(struct timer *tm, int urgency);

/* The running context's floor: timers above it must interrupt it on time. */
void timer_set_floor(int floor);

/* Arm tm for deadline (re-arms it if armed). A deadline in the past fires at the next poll. */
void timer_arm(struct timer *tm, uint64_t deadline);

/* Disarm tm. Returns whether it was armed (false: it fired, or was never armed). */
bool timer_cancel(struct timer *tm);

static inline bool timer_armed(const struct timer *tm)
{
	return !list_empty(&tm->node);
}

/* Run the functions of the timers whose deadline passed; re-arm the hardware. Returns whether any fired. */
bool timer_poll(void);

/* The earliest deadline, or 0 if no timer is armed. */
uint64_t timer_next_deadline(void);

/* The deadline the hardware timer holds (0: disarmed). */
uint64_t timer_hw_deadline(void);

/*
 * Block the current thread until the TSC reaches deadline: 0, or -EINTR if
 * thread_interrupt() woke it first.
 */
int timer_sleep_until(uint64_t deadline);

#endif
