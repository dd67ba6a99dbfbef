// SPDX-License-Identifier: MIT
/*
 * kernel/sched.c on the host: the run queues (priority order, FIFO among
 * equals, head or tail per POSIX), waiting with deadlines and interrupts,
 * time slices, killing, and what the scheduler asks of the arch layer.
 *
 * The stub arch does not switch stacks (tests/unit/stub/world.h): a switch
 * changes thread_current() and returns, and the test goes on as the thread
 * that now runs. What a thread would see when it runs again is checked
 * through stub_switch_hook: the hook plays the rest of the world while the
 * thread is switched out and ends by switching back to it, so its
 * sched_wait() returns as it would on hardware.
 */
#include <kernel/aspace.h>
#include <kernel/irq.h>
#include <kernel/kmem.h>
#include <kernel/pmm.h>
#include <kernel/timer.h>
#include "harness.h"
#include "stub.h"
#include "world.h"

#define Q	WORLD_QUANTUM

/* The hardware timer holds deadline (0: disarmed), and timer.c agrees. */
#define EXPECT_HW(deadline) \
	do { \
		EXPECT_EQ(stub_timer_deadline, (deadline)); \
		EXPECT_EQ(timer_hw_deadline(), (deadline)); \
	} while (0)

/* sched_wait() masked, with meanwhile() run while the thread is switched out. */
static int wait_meanwhile(uint64_t deadline, unsigned int flags, void (*meanwhile)(void))
{
	unsigned long irq = arch_irq_save();
	int ret;

	stub_switch_hook = meanwhile;
	ret = sched_wait(deadline, flags);
	stub_switch_hook = NULL;	/* not consumed: the wait did not block */
	arch_irq_restore(irq);
	return ret;
}

/* Masked thread_kill(), as its contract wants. */
static void kill(struct thread *t)
{
	unsigned long irq = arch_irq_save();

	thread_kill(t);
	arch_irq_restore(irq);
}

TEST(sched_boot_context_becomes_the_idle_thread)
{
	long switches;

	world_begin();
	switches = stub_switches;
	EXPECT(world_idle != NULL);
	EXPECT_EQ(world_idle->prio, PRIO_IDLE);
	EXPECT_EQ(world_idle->state, THREAD_RUNNING);
	EXPECT_EQ(world_idle->magic, THREAD_MAGIC);
	EXPECT(world_idle->arch.adopted);
	EXPECT(world_idle->kstack == NULL);
	/* Nothing ready: idle keeps running whatever it does. */
	EXPECT(!sched_need_resched());
	EXPECT(!sched_others_ready());
	sched_preempt();
	sched_yield();
	EXPECT(thread_current() == world_idle);
	EXPECT_EQ(stub_switches, switches);
	world_end();
}

TEST(sched_runs_the_highest_priority_first_fifo_among_equals)
{
	world_begin();
	world_spawn("a", 10);
	world_spawn("b", 30);
	world_spawn("c", 10);
	world_spawn("d", 20);
	world_spawn("e", 30);
	/* Waking does not switch: the caller preempts at its next preemption point. */
	EXPECT(thread_current() == world_idle);
	EXPECT(sched_need_resched());
	EXPECT_ORDER("bedac");
	EXPECT(!sched_need_resched());
	world_end();
}

TEST(sched_levels_span_0_to_99_across_both_bitmap_words)
{
	static const struct { const char *name; int prio; } spawn[] = {
		{ "e63", 63 }, { "d64", 64 }, { "h0", 0 }, { "a99", 99 },
		{ "f62", 62 }, { "c65", 65 }, { "g1", 1 }, { "b98", 98 },
	};

	world_begin();
	for (size_t i = 0; i < ARRAY_SIZE(spawn); i++)
		world_spawn(spawn[i].name, spawn[i].prio);
	EXPECT_ORDER("abcdefgh");
	/* The word boundary alone: 64 beats 63, and 0 beats idle. */
	world_spawn("y63", 63);
	world_spawn("x64", 64);
	EXPECT_ORDER("xy");
	world_spawn("z0", 0);
	EXPECT_ORDER("z");
	world_end();
}

TEST(sched_refuses_priorities_outside_0_to_99)
{
	static const int bad[] = { PRIO_LEVELS, -1 };

	world_begin();
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct thread *t = world_thread("bad", bad[i]);

		EXPECT_PANIC(sched_wake(t));
		/* The panic left sched_wake() masked with t half-made ready. */
		stub_irq_saves = 0;
		stub_irq_masked = false;
		EXPECT(list_empty(&t->run_node));
		t->state = THREAD_BLOCKED;
		t->prio = t->base_prio = 1;
	}
	EXPECT(!sched_need_resched());
	world_end();
}

TEST(sched_preempt_switches_only_to_a_higher_thread)
{
	struct thread *a, *b, *c;

	world_begin();
	a = world_spawn("a", 10);
	sched_preempt();
	EXPECT(thread_current() == a);
	EXPECT_EQ(a->state, THREAD_RUNNING);
	c = world_spawn("c", 10);
	EXPECT(!sched_need_resched());
	sched_preempt();			/* an equal priority does not preempt */
	EXPECT(thread_current() == a);
	b = world_spawn("b", 20);
	EXPECT(thread_current() == a);		/* not before the preemption point */
	EXPECT_EQ(b->state, THREAD_READY);
	EXPECT(sched_need_resched());
	sched_preempt();
	EXPECT(thread_current() == b);
	EXPECT_EQ(a->state, THREAD_READY);
	EXPECT_EQ(c->state, THREAD_READY);
	EXPECT(stub_switch_prev == &a->arch && stub_switch_next == &b->arch);
	EXPECT_ORDER("bac");
	world_end();
}

TEST(sched_preempted_thread_resumes_before_its_peers)
{
	world_begin();
	world_spawn("a", 10);
	world_spawn("c", 10);
	sched_preempt();
	EXPECT_EQ(thread_current()->name[0], 'a');
	world_spawn("h", 20);
	sched_preempt();
	/* a was preempted: it goes back to the head of level 10, before c. */
	EXPECT_ORDER("hac");
	world_end();
}

TEST(sched_yield_goes_to_the_tail_and_gives_way_to_equal_or_higher_only)
{
	struct thread *a, *c;
	long switches;

	world_begin();
	a = world_spawn("a", 10);
	world_spawn("x", 5);
	sched_preempt();
	EXPECT(thread_current() == a);
	/* Only a lower thread is ready: a goes on. */
	switches = stub_switches;
	sched_yield();
	EXPECT(thread_current() == a);
	EXPECT_EQ(a->state, THREAD_RUNNING);
	EXPECT_EQ(stub_switches, switches);
	c = world_spawn("c", 10);
	sched_yield();
	EXPECT(thread_current() == c);
	EXPECT_EQ(a->state, THREAD_READY);
	sched_yield();
	EXPECT(thread_current() == a);
	EXPECT_ORDER("acx");
	EXPECT_EQ(stub_irq_saves, 0);
	world_end();
}

TEST(sched_woken_thread_goes_to_the_tail_of_its_level)
{
	struct thread *a, *b;

	world_begin();
	a = world_spawn("a", 10);
	b = world_spawn("b", 10);
	world_spawn("c", 10);
	sched_preempt();
	EXPECT(thread_current() == a);
	EXPECT(world_block() == b);
	EXPECT_EQ(a->state, THREAD_BLOCKED);
	sched_wake(a);
	EXPECT_EQ(a->state, THREAD_READY);
	EXPECT(!sched_need_resched());
	EXPECT_ORDER("bca");
	world_end();
}

TEST(sched_set_prio_requeues_raised_at_the_tail_lowered_at_the_head)
{
	struct thread *b, *c, *d;

	world_begin();
	world_spawn("a", 10);
	b = world_spawn("b", 10);
	c = world_spawn("c", 10);
	d = world_spawn("d", 20);
	world_spawn("e", 20);
	sched_set_prio(c, 20);		/* raised: level 20 is d e c */
	sched_set_prio(d, 10);		/* lowered: level 10 is d a b */
	sched_set_prio(b, 10);		/* unchanged: stays where it is */
	EXPECT_EQ(c->prio, 20);
	EXPECT_EQ(c->base_prio, 10);	/* the effective priority only */
	EXPECT_ORDER("ecdab");
	world_end();
}

TEST(sched_set_prio_of_the_running_and_of_a_blocked_thread)
{
	struct thread *a, *w;

	world_begin();
	a = world_spawn("a", 10);
	world_spawn("b", 10);
	sched_preempt();
	EXPECT(thread_current() == a);
	sched_set_prio(a, 30);		/* raised while running: nothing to do */
	EXPECT(!sched_need_resched());
	sched_set_prio(a, 5);		/* lowered below b: no preemption yet */
	EXPECT(thread_current() == a);
	EXPECT(sched_need_resched());
	sched_preempt();		/* a goes to the head of level 5 */
	EXPECT_EQ(thread_current()->name[0], 'b');
	world_spawn("c", 5);
	EXPECT_ORDER("bac");

	w = world_spawn("w", 10);
	sched_preempt();
	EXPECT(thread_current() == w);
	world_block();
	sched_set_prio(w, 30);		/* blocked: it only takes the new priority */
	EXPECT_EQ(w->state, THREAD_BLOCKED);
	EXPECT(!sched_need_resched());
	world_spawn("y", 20);
	sched_wake(w);
	EXPECT_ORDER("wy");
	world_end();
}

TEST(sched_idle_runs_when_nothing_is_ready)
{
	struct thread *a;

	world_begin();
	a = world_spawn("a", 0);
	EXPECT(sched_need_resched());	/* even SCHED_OTHER beats idle */
	EXPECT(sched_others_ready());
	sched_preempt();
	EXPECT(thread_current() == a);
	EXPECT(!sched_others_ready());	/* if a blocks, idle runs */
	EXPECT(world_block() == world_idle);
	EXPECT_EQ(world_idle->state, THREAD_RUNNING);
	EXPECT_EQ(a->state, THREAD_BLOCKED);
	EXPECT(stub_switch_prev == &a->arch && stub_switch_next == &world_idle->arch);
	EXPECT(!sched_need_resched());
	sched_yield();
	EXPECT(thread_current() == world_idle);
	world_end();
}

/* The state tests share with their stub_switch_hook functions. */
static struct thread *waiter;
static uint64_t deadline;
static int woken_with;

/* Time passes until the waiter's deadline; then it runs again. */
static void reach_deadline(void)
{
	EXPECT(thread_current() == world_idle);
	EXPECT_EQ(waiter->state, THREAD_BLOCKED);
	EXPECT(timer_armed(&waiter->wait_timer));
	EXPECT_EQ(timer_next_deadline(), deadline);
	world_advance(deadline - 1);
	EXPECT_EQ(waiter->state, THREAD_BLOCKED);
	world_advance(deadline);
	EXPECT_EQ(waiter->state, THREAD_READY);
	sched_preempt();
}

TEST(sched_wait_times_out_when_its_timer_fires)
{
	struct list_node q = LIST_INIT(q);

	world_begin();
	waiter = world_spawn("a", 10);
	sched_preempt();
	deadline = WORLD_T0 + 500;
	list_add_tail(&q, &waiter->wait_node);
	EXPECT_EQ(wait_meanwhile(deadline, WAIT_INTERRUPTIBLE, reach_deadline), -ETIMEDOUT);
	EXPECT(thread_current() == waiter);
	EXPECT(list_empty(&q));			/* whatever ends the wait unlinks it */
	EXPECT(!timer_armed(&waiter->wait_timer));
	EXPECT_EQ(timer_next_deadline(), 0);
	EXPECT_HW(0);
	EXPECT(!waiter->waiting);
	world_end();
}

TEST(sched_wait_with_a_past_deadline_times_out_at_once)
{
	struct list_node q = LIST_INIT(q);
	struct thread *a;
	long switches;

	world_begin();
	a = world_spawn("a", 10);
	sched_preempt();
	switches = stub_switches;
	list_add_tail(&q, &a->wait_node);
	EXPECT_EQ(wait_meanwhile(stub_tsc, 0, NULL), -ETIMEDOUT);
	EXPECT(list_empty(&q));
	list_add_tail(&q, &a->wait_node);
	EXPECT_EQ(wait_meanwhile(stub_tsc - 1, WAIT_KILLABLE, NULL), -ETIMEDOUT);
	EXPECT(list_empty(&q));
	EXPECT(thread_current() == a);
	EXPECT_EQ(a->state, THREAD_RUNNING);
	EXPECT_EQ(stub_switches, switches);
	EXPECT_EQ(timer_next_deadline(), 0);
	world_end();
}

static void wake_twice(void)
{
	sched_wake_with(waiter, woken_with);
	EXPECT_EQ(waiter->state, THREAD_READY);
	EXPECT(!timer_armed(&waiter->wait_timer));
	sched_wake_with(waiter, -1);		/* no longer waiting: no effect */
	EXPECT_EQ(waiter->wait_result, woken_with);
	sched_preempt();
}

TEST(sched_wake_with_passes_its_result_and_cancels_the_deadline)
{
	struct list_node q = LIST_INIT(q);

	world_begin();
	waiter = world_spawn("a", 10);
	sched_preempt();
	list_add_tail(&q, &waiter->wait_node);
	woken_with = 42;
	EXPECT_EQ(wait_meanwhile(WORLD_T0 + 10000, WAIT_INTERRUPTIBLE, wake_twice), 42);
	EXPECT(list_empty(&q));
	EXPECT_EQ(timer_next_deadline(), 0);
	woken_with = 0;
	EXPECT_EQ(wait_meanwhile(0, 0, wake_twice), 0);
	woken_with = -EAGAIN;
	EXPECT_EQ(wait_meanwhile(0, WAIT_KILLABLE, wake_twice), -EAGAIN);
	/* Waking the running thread does nothing. */
	sched_wake_with(waiter, 5);
	EXPECT_EQ(waiter->state, THREAD_RUNNING);
	EXPECT(!sched_need_resched());
	world_end();
}

TEST(sched_wake_starts_a_new_thread_once)
{
	struct thread *t;

	world_begin();
	t = world_thread("t", 10);
	EXPECT_EQ(t->state, THREAD_BLOCKED);
	thread_interrupt(t, false);		/* not waiting: it does not start it */
	EXPECT_EQ(t->state, THREAD_BLOCKED);
	sched_wake(t);
	EXPECT_EQ(t->state, THREAD_READY);
	sched_wake(t);
	EXPECT_ORDER("t");			/* queued once */
	EXPECT_EQ(t->nr_switches, 1);
	world_end();
}

static int interrupt_step;

/* thread_interrupt() the waiter as interrupt_step says; it runs again if it woke. */
static void interrupt_waiter(void)
{
	switch (interrupt_step) {
	case 0:		/* an interruptible wait ends at once */
		thread_interrupt(waiter, false);
		EXPECT_EQ(waiter->state, THREAD_READY);
		break;
	case 1:		/* a killable one only for a fatal interrupt */
		thread_interrupt(waiter, false);
		EXPECT_EQ(waiter->state, THREAD_BLOCKED);
		thread_interrupt(waiter, true);
		EXPECT_EQ(waiter->state, THREAD_READY);
		break;
	case 2:		/* an uninterruptible one not even then */
		thread_interrupt(waiter, false);
		thread_interrupt(waiter, true);
		EXPECT_EQ(waiter->state, THREAD_BLOCKED);
		sched_wake_with(waiter, 9);
		break;
	}
	sched_preempt();
}

TEST(thread_interrupt_ends_waits_by_their_flags)
{
	struct list_node q = LIST_INIT(q);

	world_begin();
	waiter = world_spawn("a", 10);
	sched_preempt();
	interrupt_step = 0;
	list_add_tail(&q, &waiter->wait_node);
	EXPECT_EQ(wait_meanwhile(WORLD_T0 + 1000, WAIT_INTERRUPTIBLE, interrupt_waiter), -EINTR);
	EXPECT(list_empty(&q));
	EXPECT(!timer_armed(&waiter->wait_timer));
	EXPECT(waiter->interrupt_pending && !waiter->killed);
	thread_clear_interrupt(waiter);

	interrupt_step = 1;
	list_add_tail(&q, &waiter->wait_node);
	EXPECT_EQ(wait_meanwhile(0, WAIT_KILLABLE, interrupt_waiter), -EINTR);
	EXPECT(list_empty(&q));
	EXPECT(waiter->killed);
	thread_clear_interrupt(waiter);
	EXPECT(waiter->killed);			/* never cleared */

	waiter = world_spawn("b", 20);
	sched_preempt();
	interrupt_step = 2;
	EXPECT_EQ(wait_meanwhile(0, 0, interrupt_waiter), 9);
	EXPECT(waiter->killed && waiter->interrupt_pending);
	world_end();
}

static void wake_with_3(void)
{
	sched_wake_with(waiter, 3);
	sched_preempt();
}

TEST(thread_interrupt_pending_fails_the_next_interruptible_wait_at_once)
{
	struct list_node q = LIST_INIT(q);
	long switches;

	world_begin();
	waiter = world_spawn("a", 10);
	sched_preempt();
	thread_interrupt(waiter, false);	/* while it runs: only noted */
	EXPECT_EQ(waiter->state, THREAD_RUNNING);
	switches = stub_switches;
	list_add_tail(&q, &waiter->wait_node);
	EXPECT_EQ(wait_meanwhile(WORLD_T0 + 100, WAIT_INTERRUPTIBLE, NULL), -EINTR);
	EXPECT(list_empty(&q));
	EXPECT_EQ(stub_switches, switches);
	EXPECT_EQ(timer_next_deadline(), 0);
	/* Pending until cleared: again. */
	EXPECT_EQ(wait_meanwhile(0, WAIT_INTERRUPTIBLE, NULL), -EINTR);
	/* A non-fatal interrupt does not end killable or uninterruptible waits. */
	EXPECT_EQ(wait_meanwhile(0, WAIT_KILLABLE, wake_with_3), 3);
	EXPECT_EQ(wait_meanwhile(0, 0, wake_with_3), 3);
	thread_clear_interrupt(waiter);
	EXPECT_EQ(wait_meanwhile(0, WAIT_INTERRUPTIBLE, wake_with_3), 3);

	/* Fatal: killable waits fail at once too, even after a clear. */
	thread_interrupt(waiter, true);
	thread_clear_interrupt(waiter);
	list_add_tail(&q, &waiter->wait_node);
	EXPECT_EQ(wait_meanwhile(0, WAIT_KILLABLE, NULL), -EINTR);
	EXPECT(list_empty(&q));
	EXPECT_EQ(wait_meanwhile(0, WAIT_INTERRUPTIBLE, NULL), -EINTR);
	EXPECT_EQ(wait_meanwhile(0, 0, wake_with_3), 3);
	EXPECT_EQ(stub_switches, switches + 8);	/* 4 waits blocked: there and back */
	world_end();
}

/* Two sliced threads at level 10 and one unsliced below; a runs from WORLD_T0. */
static struct thread *sliced_pair(struct thread **b)
{
	struct thread *a = world_thread("a", 10);

	*b = world_thread("b", 10);
	sched_set_sliced(a, true);
	sched_set_sliced(*b, true);
	EXPECT(a->sched_flags & THREAD_SLICED);
	EXPECT_EQ(a->slice_left, Q);
	sched_wake(a);
	sched_wake(*b);
	world_spawn("x", 5);
	sched_preempt();
	EXPECT(thread_current() == a);
	return a;
}

TEST(sched_sliced_thread_rotates_when_its_quantum_is_used)
{
	struct thread *a, *b;

	world_begin();
	timer_init();			/* the timer interrupt: the first test registers it */
	a = sliced_pair(&b);
	/* b is ready at a's level: a's quantum runs, and must interrupt whatever. */
	EXPECT_EQ(timer_next_deadline(), WORLD_T0 + Q);
	EXPECT_HW(WORLD_T0 + Q);
	world_advance(WORLD_T0 + Q - 1);
	EXPECT(!sched_need_resched());
	stub_tsc = WORLD_T0 + Q;
	irq_dispatch(CRTOS_VEC_TIMER);	/* the timer interrupt ... */
	EXPECT(thread_current() == a);
	EXPECT(sched_need_resched());
	irq_exit();			/* ... and its preemption point */
	EXPECT(thread_current() == b);
	EXPECT_EQ(a->state, THREAD_READY);
	EXPECT_EQ(a->slice_left, Q);	/* a fresh quantum for next time */
	EXPECT_EQ(a->run_cycles, Q);
	EXPECT_EQ(timer_next_deadline(), WORLD_T0 + 2 * Q);
	world_advance(WORLD_T0 + 2 * Q);
	sched_preempt();
	EXPECT(thread_current() == a);
	EXPECT_ORDER("abx");		/* a is at the head; b at the tail of level 10 */
	world_end();
}

TEST(sched_sliced_thread_alone_at_its_level_keeps_running)
{
	struct thread *a;

	world_begin();
	a = world_thread("a", 10);
	sched_set_sliced(a, true);
	sched_wake(a);
	world_spawn("x", 5);
	world_spawn("h", 20);
	sched_preempt();
	world_block();			/* h runs first and blocks */
	EXPECT(thread_current() == a);
	EXPECT_EQ(timer_next_deadline(), 0);	/* no quantum to time: no interrupt */
	world_advance(WORLD_T0 + 10 * Q);
	EXPECT(!sched_need_resched());
	sched_preempt();
	EXPECT(thread_current() == a);
	/*
	 * A peer arrives half-way through a's eleventh quantum (alone, a ran
	 * on fresh quanta, as Linux refills them): a rotates when it ends.
	 */
	world_advance(WORLD_T0 + 10 * Q + Q / 2);
	world_spawn("b", 10);
	EXPECT(!sched_need_resched());
	EXPECT_EQ(timer_next_deadline(), WORLD_T0 + 11 * Q);
	world_advance(WORLD_T0 + 11 * Q - 1);
	EXPECT(!sched_need_resched());
	world_advance(WORLD_T0 + 11 * Q);
	EXPECT(sched_need_resched());
	sched_preempt();
	EXPECT_ORDER("bax");
	world_end();
}

TEST(sched_preempted_sliced_thread_keeps_the_rest_of_its_quantum)
{
	struct thread *a, *b, *h;

	world_begin();
	a = sliced_pair(&b);
	stub_tsc = WORLD_T0 + 300;
	h = world_spawn("h", 20);
	sched_preempt();
	EXPECT(thread_current() == h);
	EXPECT_EQ(a->slice_left, Q - 300);
	EXPECT_EQ(timer_next_deadline(), 0);	/* h is not sliced */
	stub_tsc = WORLD_T0 + 500;
	EXPECT(world_block() == a);		/* a, first in its level again */
	EXPECT_EQ(timer_next_deadline(), WORLD_T0 + 500 + Q - 300);
	world_advance(WORLD_T0 + 500 + Q - 301);
	EXPECT(!sched_need_resched());
	world_advance(WORLD_T0 + 500 + Q - 300);
	EXPECT(sched_need_resched());
	sched_preempt();
	EXPECT(thread_current() == b);
	EXPECT_ORDER("bax");
	world_end();
}

TEST(sched_unsliced_threads_never_rotate)
{
	struct thread *a;

	world_begin();
	a = world_spawn("a", 10);
	world_spawn("b", 10);
	sched_preempt();
	EXPECT(!(a->sched_flags & THREAD_SLICED));
	EXPECT_EQ(timer_next_deadline(), 0);
	world_advance(WORLD_T0 + 100 * Q);
	sched_preempt();
	EXPECT(thread_current() == a);
	/* Sliced, then not again: its quantum timer goes with it (it ran 100 whole quanta). */
	sched_set_sliced(a, true);
	EXPECT_EQ(timer_next_deadline(), WORLD_T0 + 101 * Q);
	sched_set_sliced(a, false);
	EXPECT_EQ(timer_next_deadline(), 0);
	EXPECT_HW(0);
	world_advance(WORLD_T0 + 200 * Q);
	sched_preempt();
	EXPECT(thread_current() == a);
	EXPECT_ORDER("ab");
	world_end();
}

TEST(sched_quantum_is_settable_and_never_zero)
{
	struct thread *t;

	world_begin();
	EXPECT_EQ(sched_quantum(), Q);
	sched_set_quantum(0);
	EXPECT_EQ(sched_quantum(), 1);
	sched_set_quantum(5000);
	EXPECT_EQ(sched_quantum(), 5000);
	t = world_thread("t", 1);
	EXPECT_EQ(t->slice_left, 5000);
	world_end();
}

TEST(thread_kill_takes_ready_and_waiting_threads_out)
{
	struct list_node q = LIST_INIT(q);
	struct thread *a, *w, *n;
	size_t objects;

	world_begin();
	/* Ready, alone at level 64: the level must look empty afterwards. */
	a = world_spawn("a", 64);
	world_spawn("b", 63);
	kill(a);
	EXPECT_EQ(a->state, THREAD_DEAD);
	EXPECT_ORDER("b");

	/* Waiting, with a deadline and on a wait queue. */
	w = world_spawn("w", 10);
	sched_preempt();
	list_add_tail(&q, &w->wait_node);
	wait_meanwhile(WORLD_T0 + 100, WAIT_INTERRUPTIBLE, NULL);	/* we go on as idle */
	EXPECT(thread_current() == world_idle);
	EXPECT(timer_armed(&w->wait_timer));
	kill(w);
	EXPECT_EQ(w->state, THREAD_DEAD);
	EXPECT(list_empty(&q));
	EXPECT(!w->waiting);
	EXPECT_EQ(timer_next_deadline(), 0);
	sched_wake(w);				/* late wake-ups do nothing */
	thread_interrupt(w, true);
	EXPECT_EQ(w->state, THREAD_DEAD);
	world_advance(WORLD_T0 + 200);
	EXPECT_EQ(w->state, THREAD_DEAD);

	/* New, never started. */
	n = world_thread("n", 10);
	kill(n);
	sched_wake(n);
	EXPECT_EQ(n->state, THREAD_DEAD);
	EXPECT(!sched_need_resched());

	/* The idle thread frees them: thread, stack and arch state. */
	objects = kmem_live_objects();
	world_reap();
	EXPECT_EQ(kmem_live_objects(), objects - 3);
	world_reap();				/* nothing left to free */
	EXPECT_EQ(kmem_live_objects(), objects - 3);
	world_end();
}

TEST(thread_kill_refuses_the_running_thread_and_unmasked_callers)
{
	struct thread *a, *b;

	world_begin();
	a = world_spawn("a", 10);
	b = world_spawn("b", 5);
	sched_preempt();
	stub_irq_masked = true;
	EXPECT_PANIC(thread_kill(a));
	stub_irq_masked = false;
	EXPECT_PANIC(thread_kill(b));
	EXPECT_EQ(a->state, THREAD_RUNNING);
	EXPECT_EQ(b->state, THREAD_READY);
	EXPECT_ORDER("ab");
	world_end();
}

static void nothing(void *arg __unused)
{
}

TEST(thread_create_makes_a_blocked_thread_or_nothing)
{
	size_t objects, pages;
	struct thread *t;
	int arg;

	world_begin();
	t = world_track(thread_create("u", 42, nothing, &arg, true));
	EXPECT_EQ(t->magic, THREAD_MAGIC);
	EXPECT_EQ(t->state, THREAD_BLOCKED);
	EXPECT_EQ(t->prio, 42);
	EXPECT_EQ(t->base_prio, 42);
	EXPECT(t->fn == nothing && t->arg == &arg);
	EXPECT(!strcmp(t->name, "u"));
	EXPECT_EQ(t->nr_switches, 0);
	EXPECT(!t->waiting && !t->blocked_on && !timer_armed(&t->wait_timer));
	EXPECT(list_empty(&t->run_node) && list_empty(&t->wait_node));
	EXPECT(list_empty(&t->pi_node) && list_empty(&t->pi_held));
	EXPECT(IS_ALIGNED(arch_virt_to_phys(t->kstack), PAGE_SIZE));
	EXPECT(t->arch.inited && t->arch.user && t->arch.entry);
	EXPECT(t->arch.kstack == t->kstack);
	EXPECT_EQ(t->arch.kstack_size, KSTACK_SIZE);
	t = world_thread("k", 1);
	EXPECT(!t->arch.user);

	objects = kmem_live_objects();
	pages = pmm_free_pages();
	stub_thread_init_error = -ENOMEM;
	EXPECT(thread_create("x", 1, nothing, NULL, true) == NULL);
	stub_thread_init_error = 0;
	EXPECT_EQ(kmem_live_objects(), objects);
	EXPECT_EQ(pmm_free_pages(), pages);
	world_end();
}

static struct thread *ran_as;
static bool ran_masked;

static void record_run(void *arg)
{
	ran_as = thread_current();
	ran_masked = arch_irqs_masked();
	*(int *)arg += 1;
}

TEST(thread_runs_its_function_unmasked_then_exits)
{
	struct thread *t, *b;
	int runs = 0;

	world_begin();
	t = world_track(thread_create("t", 10, record_run, &runs, false));
	b = world_spawn("b", 5);
	sched_wake(t);
	sched_preempt();
	EXPECT(thread_current() == t);
	EXPECT(stub_switch_next == &t->arch);
	/*
	 * The first switch to t would enter arch.entry masked. On hardware
	 * thread_exit() never returns; here its switch to b does, and
	 * thread_exit() says so with a panic.
	 */
	arch_irq_save();
	EXPECT_PANIC(t->arch.entry());
	EXPECT_EQ(runs, 1);
	EXPECT(ran_as == t && !ran_masked);
	EXPECT_EQ(t->state, THREAD_DEAD);
	EXPECT(thread_current() == b);
	EXPECT(stub_switch_prev == &t->arch);
	EXPECT_EQ(stub_irq_saves, 1);		/* the dead thread's mask: b's now */
	arch_irq_restore(0);
	world_reap();
	EXPECT_ORDER("b");
	world_end();
}

TEST(sched_loads_the_address_space_of_the_next_thread)
{
	struct aspace as1 = { .root = 0x5000 }, as2 = { .root = 0x6000 };
	struct thread *a, *b, *c;
	long loads;

	world_begin();
	a = world_spawn("a", 40);
	b = world_spawn("b", 30);
	world_spawn("k", 20);			/* a kernel thread: runs in any */
	c = world_spawn("c", 10);
	a->as = b->as = &as1;
	c->as = &as2;
	loads = stub_aspace_activations;
	sched_preempt();
	EXPECT_EQ(stub_aspace_activations, loads + 1);
	EXPECT_EQ(stub_aspace_root, 0x5000);
	world_block();				/* to b: same address space */
	world_block();				/* to k: none needed */
	EXPECT_EQ(stub_aspace_activations, loads + 1);
	world_block();				/* to c */
	EXPECT_EQ(stub_aspace_activations, loads + 2);
	EXPECT_EQ(stub_aspace_root, 0x6000);
	sched_forget_aspace(&as1);		/* not loaded: nothing to do */
	EXPECT_EQ(stub_aspace_activations, loads + 2);
	sched_forget_aspace(&as2);		/* loaded: the kernel's instead */
	EXPECT_EQ(stub_aspace_activations, loads + 3);
	EXPECT_EQ(stub_aspace_root, STUB_KERNEL_ROOT);
	sched_wake(b);
	EXPECT_ORDER("cb");			/* b needs as1 loaded again */
	EXPECT_EQ(stub_aspace_activations, loads + 4);
	EXPECT_EQ(stub_aspace_root, 0x5000);
	sched_forget_aspace(&as1);		/* leave no stack pointer behind */
	world_end();
}

TEST(sched_accounts_cpu_time_and_switches)
{
	struct thread *a, *b;
	uint64_t switches;

	world_begin();
	a = world_spawn("a", 10);
	b = world_spawn("b", 10);
	switches = sched_switches();
	sched_preempt();
	EXPECT_EQ(sched_switches(), switches + 1);
	EXPECT_EQ(a->run_since, WORLD_T0);
	stub_tsc = WORLD_T0 + 100;
	EXPECT_EQ(thread_cpu_cycles(a), 100);
	EXPECT_EQ(thread_cpu_cycles(b), 0);
	sched_yield();
	EXPECT_EQ(sched_switches(), switches + 2);
	stub_tsc = WORLD_T0 + 350;
	EXPECT_EQ(thread_cpu_cycles(a), 100);
	EXPECT_EQ(thread_cpu_cycles(b), 250);
	sched_yield();
	EXPECT_EQ(a->run_cycles, 100);
	EXPECT_EQ(b->run_cycles, 250);
	EXPECT_EQ(a->nr_switches, 2);
	EXPECT_EQ(b->nr_switches, 1);
	EXPECT_EQ(sched_switches(), switches + 3);
	EXPECT(world_block() == b);
	sched_yield();				/* alone at its level: no switch */
	EXPECT_EQ(sched_switches(), switches + 4);
	EXPECT_EQ(b->nr_switches, 2);
	world_end();
}

TEST(sched_catches_a_kernel_stack_overflow_at_the_switch)
{
	struct thread *a, *b;
	uint64_t canary;

	world_begin();
	a = world_spawn("a", 10);
	b = world_spawn("b", 10);
	sched_preempt();
	canary = *(uint64_t *)a->kstack;
	*(uint64_t *)a->kstack = 0;		/* a ran off the bottom of its stack */
	EXPECT_PANIC(world_block());
	/* Put the world back as it was at the panic: a blocking, b taken off its queue. */
	stub_irq_saves = 0;
	stub_irq_masked = false;
	*(uint64_t *)a->kstack = canary;
	EXPECT(thread_current() == a);
	kill(b);
	world_end();
}

static uint64_t sleep_deadline;

TEST(sched_hardware_timer_interrupts_only_for_threads_it_would_preempt)
{
	struct thread *h, *l;

	world_begin();
	timer_init();
	/* h sleeps while l runs: h's deadline must interrupt l. */
	h = world_spawn("h", 20);
	l = world_spawn("l", 10);
	sched_preempt();
	EXPECT(thread_current() == h);
	sleep_deadline = WORLD_T0 + 700;
	wait_meanwhile(sleep_deadline, 0, NULL);
	EXPECT(thread_current() == l);
	EXPECT_HW(sleep_deadline);
	stub_tsc = sleep_deadline;
	irq_dispatch(CRTOS_VEC_TIMER);
	EXPECT_EQ(h->state, THREAD_READY);
	EXPECT_EQ(h->wait_result, -ETIMEDOUT);
	irq_exit();
	EXPECT(thread_current() == h);
	EXPECT_HW(0);

	/* l sleeps while h runs: l would not preempt h, so no interrupt. */
	sched_set_prio(h, 5);
	sched_preempt();
	EXPECT(thread_current() == l);
	wait_meanwhile(WORLD_T0 + 2000, 0, NULL);
	EXPECT(thread_current() == h);
	sched_set_prio(h, 20);
	EXPECT_EQ(timer_next_deadline(), WORLD_T0 + 2000);
	EXPECT_HW(0);
	sched_set_prio(h, 5);		/* now it would: the floor follows h's priority */
	EXPECT_HW(WORLD_T0 + 2000);
	sched_set_prio(h, 20);
	/* Idle polls: it needs no interrupt at all. */
	world_block();
	EXPECT(thread_current() == world_idle);
	EXPECT_HW(0);
	world_advance(WORLD_T0 + 2000);
	EXPECT_EQ(l->state, THREAD_READY);
	EXPECT_ORDER("l");
	world_end();
}

static int idle_exits;
static struct thread *idle_exit_wakes;

static void on_idle_exit(void)
{
	idle_exits++;
	if (idle_exit_wakes) {
		sched_wake(idle_exit_wakes);
		idle_exit_wakes = NULL;
	}
}

TEST(sched_idle_exit_hook_runs_when_idle_gives_the_cpu_away)
{
	struct thread *w;

	world_begin();
	idle_exits = 0;
	sched_set_idle_exit_hook(on_idle_exit);
	world_spawn("a", 10);
	w = world_thread("w", 20);
	idle_exit_wakes = w;
	sched_preempt();			/* the hook makes w ready: w runs first */
	EXPECT_EQ(idle_exits, 1);
	EXPECT(thread_current() == w);
	sched_yield();				/* between threads: not called */
	EXPECT_EQ(idle_exits, 1);
	EXPECT_ORDER("wa");
	EXPECT_EQ(idle_exits, 1);
	world_end();
}
