// SPDX-License-Identifier: MIT
/* The scheduling trace (kernel/trace.h). */
#include <kernel/arch.h>
#include <kernel/clock.h>
#include <kernel/cmdline.h>
#include <kernel/printk.h>
#include <kernel/thread.h>
#include <kernel/trace.h>

#define TRACE_EVENTS	2048

struct trace_rec {
	uint64_t tsc;
	int32_t tid;		/* the running thread's */
	uint16_t type;
	int64_t a, b;
};

bool trace_on;
static struct trace_rec trace_ring[TRACE_EVENTS];
static uint64_t trace_count;

void trace_init(void)
{
	trace_on = cmdline_has("trace");
}

void trace_event(enum trace_type type, int64_t a, int64_t b)
{
	unsigned long flags = arch_irq_save();
	struct trace_rec *r = &trace_ring[trace_count++ % TRACE_EVENTS];

	r->tsc = arch_read_tsc();
	r->tid = thread_current()->tid;
	r->type = (uint16_t)type;
	r->a = a;
	r->b = b;
	arch_irq_restore(flags);
}

static const char *const trace_names[] = {
	[TRACE_SWITCH] = "switch", [TRACE_WAKE] = "wake", [TRACE_RCALL] = "rcall",
	[TRACE_KICK] = "kick", [TRACE_TIMER] = "timer", [TRACE_USER] = "user",
};

void trace_dump(void)
{
	uint64_t n = trace_count < TRACE_EVENTS ? trace_count : TRACE_EVENTS;
	uint64_t first = trace_count - n, t0;

	if (!trace_on || !n)
		return;
	t0 = trace_ring[first % TRACE_EVENTS].tsc;
	pr_info("trace: last %lu events (us since the first, running tid, event, a, b)\n",
		(unsigned long)n);
	for (uint64_t i = first; i < trace_count; i++) {
		struct trace_rec *r = &trace_ring[i % TRACE_EVENTS];

		pr_info("trace: %10lu %7d %-6s %ld %ld\n",
			(unsigned long)(clock_cycles_to_ns(r->tsc - t0) / 1000), r->tid,
			trace_names[r->type], (long)r->a, (long)r->b);
	}
	trace_count = 0;
}
