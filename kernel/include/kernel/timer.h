/* SPDX-License-Identifier: MIT */
/*
 * One-shot timers on TSC deadlines. Tickless: armed timers wait in a list
 * ordered by deadline (equal deadlines fire in the order they were armed);
 * the idle loop polls the earliest one, and the per-CPU TSC-deadline timer
 * is armed for it so that a deadline that passes while a thread runs (or
 * while the CPU halts) interrupts it.
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

struct timer {
	uint64_t deadline;		/* TSC; valid while armed */
	timer_fn_t fn;			/* what to do when it expires */
	struct list_node node;		/* in the ordered list while armed; self-linked otherwise */
};

/* Set up the timer interrupt. */
void timer_init(void);

/* A disarmed timer that will call fn. */
void timer_setup(struct timer *tm, timer_fn_t fn);

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

/*
 * Block the current thread until the TSC reaches deadline: 0, or -EINTR if
 * thread_interrupt() woke it first.
 */
int timer_sleep_until(uint64_t deadline);

#endif
