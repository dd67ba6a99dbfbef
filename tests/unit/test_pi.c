// SPDX-License-Identifier: MIT
/*
 * kernel/pi.c on the host, with the real scheduler (kernel/sched.c):
 * priority inheritance along chains of rt_mutexes, waiter order, hand-over,
 * deadlock and depth limits, and kmutex. Waiters here are mostly threads
 * that never run: pi.c only keeps the bookkeeping and the priorities, and
 * blocking is the caller's business. Where a thread must really wait
 * (kmutex_lock contended), stub_switch_hook plays the owner (world.h).
 */
#include <kernel/kmem.h>
#include <kernel/pi.h>
#include <kernel/timer.h>
#include "harness.h"
#include "stub.h"
#include "world.h"

#define CHAIN	(PI_MAX_DEPTH + 1)

static struct rt_mutex m1, m2, m3, m4;
static struct rt_mutex chain_mutex[CHAIN];

/* Masked, as pi.c wants. */
static void own(struct rt_mutex *m, struct thread *t)
{
	unsigned long irq = arch_irq_save();

	rt_mutex_set_owner(m, t);
	arch_irq_restore(irq);
}

static int wait_on(struct rt_mutex *m, struct thread *t)
{
	unsigned long irq = arch_irq_save();
	int ret = rt_mutex_add_waiter(m, t);

	arch_irq_restore(irq);
	return ret;
}

static void give_up(struct rt_mutex *m, struct thread *t)
{
	unsigned long irq = arch_irq_save();

	rt_mutex_remove_waiter(m, t);
	arch_irq_restore(irq);
}

static struct thread *hand_over(struct rt_mutex *m)
{
	unsigned long irq = arch_irq_save();
	struct thread *next = rt_mutex_hand_over(m);

	arch_irq_restore(irq);
	return next;
}

static void pi_begin(void)
{
	world_begin();
	rt_mutex_init(&m1);
	rt_mutex_init(&m2);
	rt_mutex_init(&m3);
	rt_mutex_init(&m4);
}

/* m's waiters, first letters of their names, in queue order (a static buffer). */
static const char *waiters(const struct rt_mutex *m)
{
	static char names[64];
	const struct thread *t;
	int n = 0;

	list_for_each_entry(t, &m->waiters, pi_node) {
		if (t->blocked_on != m)
			harness_fail(__FILE__, __LINE__, "%s queued but not waiting", t->name);
		if (n < (int)sizeof(names) - 1)
			names[n++] = t->name[0];
	}
	names[n] = 0;
	return names;
}

#define EXPECT_WAITERS(m, want) \
	do { \
		const char *got_ = waiters(m); \
		if (strcmp(got_, (want))) \
			harness_fail(__FILE__, __LINE__, "waiters \"%s\", expected \"%s\"", \
				     got_, (want)); \
	} while (0)

#define EXPECT_PRIO(t, p) \
	do { \
		EXPECT_EQ((t)->prio, (p)); \
		EXPECT_EQ(pi_effective_prio(t), (p)); \
	} while (0)

TEST(pi_waiter_boosts_the_owner)
{
	struct thread *o, *w, *l;

	pi_begin();
	world_spawn("x", 30);
	o = world_spawn("o", 10);		/* ready: a boost requeues it */
	w = world_thread("w", 30);
	l = world_thread("l", 5);
	own(&m1, o);
	EXPECT(m1.owner == o);
	EXPECT(rt_mutex_top_waiter(&m1) == NULL);
	EXPECT_EQ(wait_on(&m1, l), 0);		/* a lower waiter: no boost */
	EXPECT_PRIO(o, 10);
	EXPECT_EQ(wait_on(&m1, w), 0);
	EXPECT(w->blocked_on == &m1);
	EXPECT(rt_mutex_top_waiter(&m1) == w);
	EXPECT_WAITERS(&m1, "wl");
	EXPECT_PRIO(o, 30);
	EXPECT_EQ(o->base_prio, 10);
	EXPECT_PRIO(w, 30);			/* waiters keep their own */
	EXPECT_ORDER("xo");			/* raised: at the tail of level 30 */
	world_end();
}

/* The chain: b owns m1, c owns m2, d owns m3; c waits for m3, e and then b for m2. */
struct chain {
	struct thread *a, *b, *c, *d, *e;
};

static struct chain chain_begin(void)
{
	struct chain ch;

	pi_begin();
	ch.a = world_thread("a", 50);
	ch.b = world_thread("b", 10);
	ch.c = world_thread("c", 5);
	ch.d = world_thread("d", 1);
	ch.e = world_thread("e", 20);
	own(&m1, ch.b);
	own(&m2, ch.c);
	own(&m3, ch.d);
	EXPECT_EQ(wait_on(&m3, ch.c), 0);
	EXPECT_EQ(wait_on(&m2, ch.e), 0);
	EXPECT_EQ(wait_on(&m2, ch.b), 0);
	return ch;
}

TEST(pi_boost_follows_a_chain_of_mutexes)
{
	struct chain ch = chain_begin();
	struct thread *a = ch.a, *b = ch.b, *c = ch.c, *d = ch.d;

	EXPECT_WAITERS(&m2, "eb");
	EXPECT_PRIO(c, 20);
	EXPECT_PRIO(d, 20);
	/* a waits for b's m1: b, c and d run at a's priority. */
	EXPECT_EQ(wait_on(&m1, a), 0);
	EXPECT_PRIO(b, 50);
	EXPECT_PRIO(c, 50);
	EXPECT_PRIO(d, 50);
	EXPECT_WAITERS(&m2, "be");		/* b moved up among m2's waiters */
	EXPECT(rt_mutex_top_waiter(&m3) == c);
	world_end();
}

TEST(pi_removed_waiter_takes_its_boost_off_the_chain)
{
	struct chain ch = chain_begin();
	struct thread *a = ch.a, *b = ch.b, *c = ch.c, *d = ch.d, *e = ch.e;

	EXPECT_EQ(wait_on(&m1, a), 0);
	EXPECT_PRIO(d, 50);
	give_up(&m2, a);			/* not waiting there: nothing happens */
	EXPECT_PRIO(d, 50);
	give_up(&m1, a);			/* a timed out */
	EXPECT(a->blocked_on == NULL);
	EXPECT(rt_mutex_top_waiter(&m1) == NULL);
	EXPECT_PRIO(b, 10);
	EXPECT_PRIO(c, 20);			/* e still waits for c */
	EXPECT_PRIO(d, 20);
	EXPECT_WAITERS(&m2, "eb");
	give_up(&m2, e);
	EXPECT_PRIO(c, 10);
	EXPECT_PRIO(d, 10);
	give_up(&m2, b);
	give_up(&m3, c);
	EXPECT_PRIO(c, 5);
	EXPECT_PRIO(d, 1);
	world_end();
}

static struct thread *waiter;
static uint64_t deadline;

static void time_out(void)
{
	world_advance(deadline);
	sched_preempt();
}

TEST(pi_waiter_that_times_out_drops_the_boost)
{
	struct thread *o;

	pi_begin();
	o = world_thread("o", 10);		/* asleep: the idle loop sees the deadline */
	waiter = world_spawn("w", 40);
	sched_preempt();
	EXPECT(thread_current() == waiter);
	own(&m1, o);
	/* As a PI futex waits: queue, sleep with a deadline, give up on timeout. */
	{
		unsigned long irq = arch_irq_save();
		int ret;

		EXPECT_EQ(rt_mutex_add_waiter(&m1, waiter), 0);
		EXPECT_PRIO(o, 40);
		deadline = WORLD_T0 + 500;
		stub_switch_hook = time_out;
		ret = sched_wait(deadline, WAIT_INTERRUPTIBLE);
		EXPECT_EQ(ret, -ETIMEDOUT);
		EXPECT(thread_current() == waiter);
		rt_mutex_remove_waiter(&m1, waiter);
		arch_irq_restore(irq);
	}
	EXPECT_PRIO(o, 10);
	EXPECT_ORDER("w");
	world_end();
}

TEST(pi_waiters_are_ordered_by_priority_fifo_among_equals)
{
	static const struct { const char *name; int prio; } w[] = {
		{ "a", 20 }, { "b", 30 }, { "c", 20 }, { "d", 10 }, { "e", 30 }, { "f", 20 },
	};
	struct thread *o;

	pi_begin();
	o = world_thread("o", 1);
	own(&m1, o);
	for (size_t i = 0; i < ARRAY_SIZE(w); i++)
		EXPECT_EQ(wait_on(&m1, world_thread(w[i].name, w[i].prio)), 0);
	EXPECT_WAITERS(&m1, "beacfd");
	EXPECT_PRIO(o, 30);
	/* Hand-over takes them in that order, each the owner in turn. */
	for (const char *p = "beacfd"; *p; p++) {
		struct thread *next = hand_over(&m1);

		EXPECT(next != NULL);
		EXPECT_EQ(next->name[0], *p);
		EXPECT(m1.owner == next);
		EXPECT(next->blocked_on == NULL);
	}
	EXPECT(hand_over(&m1) == NULL);
	EXPECT(m1.owner == NULL);
	EXPECT_PRIO(o, 1);
	world_end();
}

TEST(pi_hand_over_makes_the_top_waiter_owner_and_unboosts_the_old_one)
{
	struct thread *o, *w, *v, *u;

	pi_begin();
	o = world_spawn("o", 10);
	w = world_thread("w", 5);
	v = world_thread("v", 20);
	u = world_thread("u", 25);
	sched_preempt();
	EXPECT(thread_current() == o);
	own(&m1, o);
	own(&m2, o);
	EXPECT_EQ(wait_on(&m1, v), 0);
	EXPECT_EQ(wait_on(&m2, u), 0);
	EXPECT_PRIO(o, 25);
	thread_set_base_prio(w, 30);		/* w: 30 before it waits */
	EXPECT_EQ(wait_on(&m1, w), 0);
	EXPECT_PRIO(o, 30);
	EXPECT_WAITERS(&m1, "wv");

	/* o lets m1 go: w owns it, boosted by v; o keeps u's boost from m2. */
	EXPECT(hand_over(&m1) == w);
	EXPECT(m1.owner == w);
	EXPECT_EQ(w->state, THREAD_BLOCKED);	/* waking it is the caller's */
	EXPECT_PRIO(w, 30);
	EXPECT_PRIO(o, 25);
	EXPECT_WAITERS(&m1, "v");
	thread_set_base_prio(w, 5);
	EXPECT_PRIO(w, 20);			/* v's boost */

	/* o lets m2 go: back to its base. */
	EXPECT(hand_over(&m2) == u);
	EXPECT_PRIO(o, 10);
	EXPECT(list_empty(&o->pi_held));
	EXPECT(hand_over(&m1) == v);
	EXPECT_PRIO(w, 5);
	EXPECT(hand_over(&m1) == NULL);
	EXPECT(hand_over(&m2) == NULL);
	EXPECT(m1.owner == NULL && m2.owner == NULL);
	EXPECT(list_empty(&v->pi_held) && list_empty(&u->pi_held));
	world_end();
}

TEST(pi_base_prio_change_of_a_waiter_resorts_and_propagates)
{
	struct thread *o, *p, *a, *b;

	pi_begin();
	o = world_thread("o", 1);
	p = world_thread("p", 2);
	a = world_thread("a", 10);
	b = world_thread("b", 20);
	own(&m1, o);
	own(&m2, p);
	EXPECT_EQ(wait_on(&m2, o), 0);		/* o waits for p's m2 */
	EXPECT_EQ(wait_on(&m1, a), 0);
	EXPECT_EQ(wait_on(&m1, b), 0);
	EXPECT_WAITERS(&m1, "ba");
	EXPECT_PRIO(p, 20);
	thread_set_base_prio(a, 30);
	EXPECT_EQ(a->base_prio, 30);
	EXPECT_WAITERS(&m1, "ab");
	EXPECT_PRIO(o, 30);
	EXPECT_PRIO(p, 30);
	thread_set_base_prio(a, 5);
	EXPECT_WAITERS(&m1, "ba");
	EXPECT_PRIO(o, 20);
	EXPECT_PRIO(p, 20);
	/* A boosted owner's base changes under its boost, or above it. */
	thread_set_base_prio(o, 15);
	EXPECT_PRIO(o, 20);
	EXPECT_EQ(o->base_prio, 15);
	thread_set_base_prio(o, 40);
	EXPECT_PRIO(o, 40);
	EXPECT_PRIO(p, 40);
	thread_set_base_prio(o, 1);
	EXPECT_PRIO(p, 20);
	world_end();
}

TEST(pi_refuses_waits_that_would_deadlock_and_changes_nothing)
{
	struct thread *a, *b, *c;

	pi_begin();
	a = world_thread("a", 10);
	b = world_thread("b", 20);
	c = world_thread("c", 30);
	own(&m1, a);
	own(&m2, b);
	own(&m3, c);
	/* Self-deadlock: a waits for its own m1. */
	EXPECT_EQ(wait_on(&m1, a), -EDEADLK);
	EXPECT(a->blocked_on == NULL);
	EXPECT(rt_mutex_top_waiter(&m1) == NULL);
	/* 2-cycle: a waits for b's m2, then b for a's m1. */
	EXPECT_EQ(wait_on(&m2, a), 0);
	EXPECT_EQ(wait_on(&m1, b), -EDEADLK);
	EXPECT(b->blocked_on == NULL);
	EXPECT(rt_mutex_top_waiter(&m1) == NULL);
	EXPECT_PRIO(a, 10);
	EXPECT_PRIO(b, 20);
	/* 3-cycle: b waits for c's m3; c for a's m1 would close a -> b -> c -> a. */
	EXPECT_EQ(wait_on(&m3, b), 0);
	EXPECT_PRIO(c, 30);
	EXPECT_EQ(wait_on(&m1, c), -EDEADLK);
	EXPECT(c->blocked_on == NULL);
	EXPECT(rt_mutex_top_waiter(&m1) == NULL);
	EXPECT_PRIO(a, 10);
	EXPECT_PRIO(b, 20);
	EXPECT_PRIO(c, 30);
	/* Not a cycle: another thread may wait anywhere on the chain. */
	EXPECT_EQ(wait_on(&m1, world_thread("d", 40)), 0);
	EXPECT_PRIO(c, 40);
	world_end();
}

/* A chain of n owners: chain_mutex[first + i] owned by t[i], each waiting for the next. */
static void build_chain(struct thread **t, int n)
{
	for (int i = 0; i < n; i++) {
		rt_mutex_init(&chain_mutex[i]);
		t[i] = world_thread("chain", 1);
		own(&chain_mutex[i], t[i]);
	}
	for (int i = n - 2; i >= 0; i--)
		if (wait_on(&chain_mutex[i + 1], t[i]))
			harness_fail(__FILE__, __LINE__, "chain link %d refused", i);
}

TEST(pi_follows_chains_up_to_the_depth_limit_and_refuses_longer_ones)
{
	static struct thread *t[CHAIN];
	struct thread *w, *v;

	pi_begin();
	build_chain(t, CHAIN);
	w = world_thread("w", 50);
	/* From chain_mutex[1]: PI_MAX_DEPTH owners, boosted to the end. */
	EXPECT_EQ(wait_on(&chain_mutex[1], w), 0);
	EXPECT_PRIO(t[1], 50);
	EXPECT_PRIO(t[CHAIN - 1], 50);
	EXPECT_PRIO(t[0], 1);
	give_up(&chain_mutex[1], w);
	EXPECT_PRIO(t[CHAIN - 1], 1);
	/* From chain_mutex[0]: one owner more than PI_MAX_DEPTH. */
	v = world_thread("v", 60);
	EXPECT_EQ(wait_on(&chain_mutex[0], v), -EDEADLK);
	EXPECT(v->blocked_on == NULL);
	EXPECT(rt_mutex_top_waiter(&chain_mutex[0]) == NULL);
	EXPECT_PRIO(t[0], 1);
	EXPECT_PRIO(t[CHAIN - 1], 1);
	world_end();
}

TEST(pi_forget_thread_leaves_waits_and_owned_mutexes)
{
	struct thread *o, *a, *b, *c;

	pi_begin();
	o = world_thread("o", 1);
	a = world_thread("a", 10);
	b = world_thread("b", 20);
	c = world_thread("c", 30);
	own(&m1, o);
	own(&m2, o);
	own(&m3, a);
	EXPECT_EQ(wait_on(&m1, b), 0);
	EXPECT_EQ(wait_on(&m2, c), 0);
	EXPECT_EQ(wait_on(&m1, a), 0);		/* a owns m3, waits for o's m1 */
	EXPECT_PRIO(o, 30);
	/* A waiter ends: it leaves m1's queue and o's boost from it goes. */
	pi_forget_thread(b);
	EXPECT(b->blocked_on == NULL);
	EXPECT_WAITERS(&m1, "a");
	EXPECT_PRIO(o, 30);
	pi_forget_thread(c);
	EXPECT_PRIO(o, 10);
	/* The owner ends: its mutexes are ownerless, their waiters stay queued. */
	pi_forget_thread(o);
	EXPECT(m1.owner == NULL && m2.owner == NULL);
	EXPECT(list_empty(&o->pi_held));
	EXPECT_WAITERS(&m1, "a");
	EXPECT(a->blocked_on == &m1);
	/* Someone takes the ownerless mutex over: the waiter boosts it at once. */
	own(&m1, b);
	EXPECT_PRIO(b, 20);
	thread_set_base_prio(b, 5);
	EXPECT_PRIO(b, 10);
	world_end();
}

TEST(pi_killed_waiter_unboosts_the_chain)
{
	struct thread *o, *p, *a;
	unsigned long irq;

	pi_begin();
	o = world_thread("o", 1);
	p = world_thread("p", 2);
	a = world_spawn("a", 30);
	own(&m1, o);
	own(&m2, p);
	EXPECT_EQ(wait_on(&m2, o), 0);
	sched_preempt();			/* a runs, waits for m1 */
	EXPECT_EQ(wait_on(&m1, a), 0);
	world_block();
	EXPECT_PRIO(p, 30);
	irq = arch_irq_save();
	thread_kill(a);
	arch_irq_restore(irq);
	EXPECT(a->blocked_on == NULL);
	EXPECT(rt_mutex_top_waiter(&m1) == NULL);
	EXPECT_PRIO(o, 1);
	EXPECT_PRIO(p, 2);
	world_end();
}

/*
 * A sleeping waiter boosted by PI must be woken by its deadline as its new
 * priority says: its timer interrupts threads it now preempts.
 */
TEST(pi_boost_of_a_sleeping_thread_makes_its_deadline_interrupt)
{
	struct thread *t, *o, *h, *m;

	pi_begin();
	t = world_spawn("t", 10);
	o = world_thread("o", 5);		/* m1's owner: asleep */
	sched_preempt();
	EXPECT(thread_current() == t);
	own(&m1, o);
	own(&m2, t);
	{
		unsigned long irq = arch_irq_save();

		EXPECT_EQ(rt_mutex_add_waiter(&m1, t), 0);
		sched_wait(WORLD_T0 + 1000, WAIT_INTERRUPTIBLE);	/* t sleeps; idle runs */
		arch_irq_restore(irq);
	}
	EXPECT(thread_current() == world_idle);
	h = world_spawn("h", 50);
	m = world_spawn("m", 30);
	sched_preempt();
	EXPECT(thread_current() == h);
	EXPECT_EQ(wait_on(&m2, h), 0);		/* h waits for t's m2: t runs at 50 */
	EXPECT_PRIO(t, 50);
	EXPECT(world_block() == m);		/* h sleeps; m runs at 30 */
	EXPECT_EQ(timer_next_deadline(), WORLD_T0 + 1000);
	EXPECT_EQ(timer_hw_deadline(), WORLD_T0 + 1000);	/* t would preempt m */
	EXPECT_EQ(stub_timer_deadline, WORLD_T0 + 1000);
	/* Unboosted, it would not: the hardware need not interrupt m. */
	give_up(&m2, h);
	EXPECT_PRIO(t, 10);
	EXPECT_EQ(timer_hw_deadline(), 0);
	world_advance(WORLD_T0 + 1000);
	EXPECT_EQ(t->state, THREAD_READY);
	EXPECT_EQ(t->wait_result, -ETIMEDOUT);
	world_end();
}

TEST(kmutex_uncontended_lock_and_unlock)
{
	static struct kmutex km;
	struct thread *a;
	long switches;

	pi_begin();
	kmutex_init(&km);
	EXPECT(km.rt.owner == NULL);
	a = world_spawn("a", 10);
	world_spawn("b", 10);
	sched_preempt();
	switches = stub_switches;
	kmutex_lock(&km);
	EXPECT(km.rt.owner == a);
	EXPECT(!list_empty(&a->pi_held));
	EXPECT_PRIO(a, 10);
	kmutex_unlock(&km);			/* nobody higher ready: no switch */
	EXPECT(km.rt.owner == NULL);
	EXPECT(list_empty(&a->pi_held));
	EXPECT(thread_current() == a);
	EXPECT_EQ(stub_switches, switches);
	kmutex_lock(&km);
	kmutex_unlock(&km);
	EXPECT_EQ(stub_irq_saves, 0);
	EXPECT(!stub_irq_masked);
	world_end();
}

static struct kmutex contended;
static struct thread *locker, *holder;

/* While locker waits in kmutex_lock: holder runs, boosted, and unlocks. */
static void holder_unlocks(void)
{
	EXPECT(thread_current() == holder);
	EXPECT_PRIO(holder, locker->prio);
	EXPECT(locker->blocked_on == &contended.rt);
	kmutex_unlock(&contended);		/* hands it over and is preempted by locker */
}

TEST(kmutex_contended_lock_waits_for_the_unlock_with_pi)
{
	pi_begin();
	kmutex_init(&contended);
	holder = world_spawn("h", 10);
	sched_preempt();
	kmutex_lock(&contended);
	locker = world_spawn("l", 20);
	sched_preempt();
	EXPECT(thread_current() == locker);
	stub_switch_hook = holder_unlocks;
	kmutex_lock(&contended);
	EXPECT(stub_switch_hook == NULL);	/* it did block */
	EXPECT(thread_current() == locker);
	EXPECT(contended.rt.owner == locker);
	EXPECT(locker->blocked_on == NULL);
	EXPECT_PRIO(holder, 10);
	EXPECT_EQ(holder->state, THREAD_READY);
	kmutex_unlock(&contended);
	EXPECT(contended.rt.owner == NULL);
	EXPECT_ORDER("lh");
	world_end();
}

TEST(kmutex_panics_on_recursion_and_foreign_unlock)
{
	static struct kmutex km;
	struct thread *b;

	pi_begin();
	kmutex_init(&km);
	world_spawn("a", 10);
	b = world_spawn("b", 5);
	sched_preempt();
	kmutex_lock(&km);
	EXPECT_PANIC(kmutex_lock(&km));		/* not recursive: a deadlock */
	stub_irq_saves = 0;
	stub_irq_masked = false;
	EXPECT(thread_current()->blocked_on == NULL);
	world_block();				/* b runs */
	EXPECT(thread_current() == b);
	EXPECT_PANIC(kmutex_unlock(&km));	/* b does not own it */
	stub_irq_saves = 0;
	stub_irq_masked = false;
	world_end();
}
