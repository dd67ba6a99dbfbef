// SPDX-License-Identifier: MIT
/*
 * The sleeper list, earliest deadline first. Insertion is O(n) in the
 * number of sleepers (small: one per sleeping thread); waking the earliest
 * is O(1). The hardware timer always holds the earliest deadline, so a
 * sleeper is woken on time whether the idle loop polls, the CPU halts, or
 * another thread runs.
 */
#include <kernel/irq.h>
#include <kernel/timer.h>

static struct list_node timer_sleepers = LIST_INIT(timer_sleepers);

static void timer_rearm(void)
{
	arch_timer_set_deadline(timer_next_deadline());
}

uint64_t timer_next_deadline(void)
{
	if (list_empty(&timer_sleepers))
		return 0;
	return list_first_entry(&timer_sleepers, struct timer_wait, node)->deadline;
}

bool timer_poll(void)
{
	uint64_t now = arch_read_tsc();
	bool woke = false;

	while (!list_empty(&timer_sleepers)) {
		struct timer_wait *w = list_first_entry(&timer_sleepers, struct timer_wait, node);

		if (w->deadline > now)
			break;
		list_del(&w->node);
		w->result = 0;
		sched_wake(w->t);
		woke = true;
	}
	timer_rearm();
	return woke;
}

static void timer_irq(unsigned int vector __unused, void *arg __unused)
{
	timer_poll();
}

void timer_init(void)
{
	irq_register(CRTOS_VEC_TIMER, timer_irq, NULL);
}

int timer_sleep_until(uint64_t deadline)
{
	struct timer_wait w = { .deadline = deadline, .t = thread_current(), .result = 0 };
	unsigned long flags = arch_irq_save();
	struct timer_wait *pos;

	if (deadline <= arch_read_tsc()) {
		arch_irq_restore(flags);
		return 0;
	}
	list_for_each_entry(pos, &timer_sleepers, node)
		if (pos->deadline > deadline)
			break;
	list_insert(&w.node, pos->node.prev, &pos->node);
	timer_rearm();
	w.t->sleep = &w;
	sched_block();
	w.t->sleep = NULL;
	arch_irq_restore(flags);
	return w.result;
}

void timer_interrupt(struct thread *t)
{
	struct timer_wait *w = t->sleep;

	if (!w || t->state != THREAD_BLOCKED)
		return;
	list_del(&w->node);
	w->result = -EINTR;
	sched_wake(t);
	timer_rearm();
}
