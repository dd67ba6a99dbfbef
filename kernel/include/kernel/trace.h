/* SPDX-License-Identifier: MIT */
/*
 * A scheduling trace for debugging: the last TRACE_EVENTS events (context
 * switches, wake-ups, the personality's own), kept only when the command
 * line says "trace", printed by trace_dump(). A store into a ring when on,
 * one load and a branch when off.
 */
#ifndef KERNEL_TRACE_H
#define KERNEL_TRACE_H

#include <kernel/types.h>

enum trace_type {
	TRACE_SWITCH,		/* a: next tid, b: next prio */
	TRACE_WAKE,		/* a: tid woken, b: result */
	TRACE_RCALL,		/* a: nr, b: 0 start, 1 done */
	TRACE_KICK,		/* an interrupt from Linux */
	TRACE_TIMER,		/* a hardware timer interrupt */
	TRACE_USER,		/* a, b: the caller's */
};

extern bool trace_on;

void trace_init(void);
void trace_event(enum trace_type type, int64_t a, int64_t b);
void trace_dump(void);

static inline void trace(enum trace_type type, int64_t a, int64_t b)
{
	if (trace_on)
		trace_event(type, a, b);
}

#endif
