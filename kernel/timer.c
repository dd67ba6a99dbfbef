// SPDX-License-Identifier: MIT
/*
 * The timer list, earliest deadline first. Arming is O(n) in the number of
 * armed timers, scanning from the latest end (new deadlines are usually the
 * latest); firing the earliest is O(1). The hardware timer holds the
 * earliest deadline above the floor (timer.h), so a timer fires on time
 * whether the idle loop polls, the CPU halts, or a thread runs that it
 * must preempt; finding it scans from the earliest, usually one step.
 * Programming the hardware costs a service call (~8 us): it happens only
 * when that deadline changes.
 */
#include <kernel/irq.h>
#include <kernel/thread.h>
#include <kernel/timer.h>
#include <kernel/trace.h>

static struct list_node timer_list = LIST_INIT(timer_list);
static int timer_floor = TIMER_FLOOR_NONE;
static uint64_t timer_hw;		/* what the hardware holds */

/* Program the hardware for the earliest timer above the floor. Masked. */
static void timer_rearm_hw(void)
{
	struct timer *tm;
	uint64_t want = 0;

	list_for_each_entry(tm, &timer_list, node) {
		if (tm->urgency > timer_floor) {
			want = tm->deadline;
			break;
		}
	}
	if (want != timer_hw) {
		timer_hw = want;
		arch_timer_set_deadline(want);
	}
}

uint64_t timer_hw_deadline(void)
{
	return timer_hw;
}

void timer_setup(struct timer *tm, timer_fn_t fn)
{
	tm->deadline = 0;
	tm->fn = fn;
	tm->urgency = TIMER_URGENT;
	list_init(&tm->node);
}

void timer_set_urgency(struct timer *tm, int urgency)
{
	unsigned long flags = arch_irq_save();

	tm->urgency = urgency;
	if (timer_armed(tm))
		timer_rearm_hw();
	arch_irq_restore(flags);
}

void timer_set_floor(int floor)
{
	unsigned long flags = arch_irq_save();

	if (floor != timer_floor) {
		timer_floor = floor;
		timer_rearm_hw();
	}
	arch_irq_restore(flags);
}

uint64_t timer_next_deadline(void)
{
	if (list_empty(&timer_list))
		return 0;
	return list_first_entry(&timer_list, struct timer, node)->deadline;
}

static void timer_insert(struct timer *tm)
{
	struct list_node *pos = timer_list.prev;

	while (pos != &timer_list && list_entry(pos, struct timer, node)->deadline > tm->deadline)
		pos = pos->prev;
	list_insert(&tm->node, pos, pos->next);
}

void timer_arm(struct timer *tm, uint64_t deadline)
{
	unsigned long flags = arch_irq_save();
	bool was_hw = timer_armed(tm) && tm->deadline == timer_hw;

	list_del(&tm->node);
	tm->deadline = deadline;
	timer_insert(tm);
	if (was_hw || (tm->urgency > timer_floor && (!timer_hw || deadline < timer_hw)))
		timer_rearm_hw();
	arch_irq_restore(flags);
}

bool timer_cancel(struct timer *tm)
{
	unsigned long flags = arch_irq_save();
	bool armed = timer_armed(tm);

	list_del(&tm->node);
	if (armed && tm->deadline == timer_hw)
		timer_rearm_hw();
	arch_irq_restore(flags);
	return armed;
}

bool timer_poll(void)
{
	unsigned long flags = arch_irq_save();
	uint64_t now = arch_read_tsc();
	bool fired = false;

	while (!list_empty(&timer_list)) {
		struct timer *tm = list_first_entry(&timer_list, struct timer, node);

		if (tm->deadline > now)
			break;
		list_del(&tm->node);
		tm->fn(tm);
		fired = true;
	}
	timer_rearm_hw();
	arch_irq_restore(flags);
	return fired;
}


static void timer_irq(unsigned int vector __unused, void *arg __unused)
{
	trace(TRACE_TIMER, 0, 0);
	timer_poll();
}

void timer_init(void)
{
	irq_register(CRTOS_VEC_TIMER, timer_irq, NULL);
}

int timer_sleep_until(uint64_t deadline)
{
	unsigned long flags;
	int ret;

	if (deadline <= arch_read_tsc())
		return 0;
	flags = arch_irq_save();
	ret = sched_wait(deadline, WAIT_INTERRUPTIBLE);
	arch_irq_restore(flags);
	return ret == -ETIMEDOUT ? 0 : ret;
}
