/* SPDX-License-Identifier: MIT */
/*
 * Sleeping until a TSC deadline. Tickless: sleepers wait in a list ordered
 * by deadline; the idle loop polls the earliest one, and the TSC-deadline
 * timer is armed for it so that a sleeper whose deadline passes while a
 * lower-priority thread runs (or while the CPU halts) preempts it.
 */
#ifndef KERNEL_TIMER_H
#define KERNEL_TIMER_H

#include <kernel/thread.h>

struct timer_wait {
	uint64_t deadline;		/* TSC */
	struct thread *t;
	int result;			/* 0: deadline reached, -EINTR: interrupted */
	struct list_node node;
};

/* Set up the timer interrupt. */
void timer_init(void);

/* Block the current thread until the TSC reaches deadline. 0, or -EINTR (timer_interrupt). */
int timer_sleep_until(uint64_t deadline);

/* Wake t early from timer_sleep_until() with -EINTR, if it sleeps there. Masked. */
void timer_interrupt(struct thread *t);

/* Wake the sleepers whose deadline passed; re-arm the timer. Masked. Returns whether it woke any. */
bool timer_poll(void);

/* The earliest deadline, or 0 if nobody sleeps. */
uint64_t timer_next_deadline(void);

#endif
