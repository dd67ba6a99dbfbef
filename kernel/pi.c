// SPDX-License-Identifier: MIT
/*
 * Priority inheritance. A thread's effective priority is the highest of its
 * base priority and the priorities of the top waiters of the rt_mutexes it
 * owns. When that changes for a thread that itself waits for an rt_mutex,
 * its place in that mutex's waiter list changes, and so may the owner's
 * priority: the walk goes up the chain until a priority stays the same.
 * Each step is O(waiters of one mutex + mutexes held by one thread).
 */
#include <kernel/panic.h>
#include <kernel/pi.h>

void rt_mutex_init(struct rt_mutex *m)
{
	m->owner = NULL;
	list_init(&m->waiters);
	list_init(&m->held_node);
}

struct thread *rt_mutex_top_waiter(const struct rt_mutex *m)
{
	if (list_empty(&m->waiters))
		return NULL;
	return list_first_entry(&m->waiters, struct thread, pi_node);
}

int pi_effective_prio(const struct thread *t)
{
	const struct rt_mutex *m;
	int prio = t->base_prio;

	list_for_each_entry(m, &t->pi_held, held_node) {
		struct thread *w = rt_mutex_top_waiter(m);

		if (w && w->prio > prio)
			prio = w->prio;
	}
	return prio;
}

/* Put t among m's waiters after those of higher or equal priority. */
static void waiter_insert(struct rt_mutex *m, struct thread *t)
{
	struct list_node *pos = m->waiters.next;

	while (pos != &m->waiters && list_entry(pos, struct thread, pi_node)->prio >= t->prio)
		pos = pos->next;
	list_insert(&t->pi_node, pos->prev, pos);
}

/*
 * t's effective priority may have changed: apply it and follow the chain.
 * Stops at the first thread whose priority does not change.
 */
static void pi_adjust_chain(struct thread *t)
{
	for (int depth = 0; t && depth <= PI_MAX_DEPTH; depth++) {
		int prio = pi_effective_prio(t);
		struct rt_mutex *m = t->blocked_on;

		if (prio == t->prio)
			return;
		sched_set_prio(t, prio);
		if (!m)
			return;
		list_del(&t->pi_node);
		waiter_insert(m, t);
		t = m->owner;
	}
}

void rt_mutex_set_owner(struct rt_mutex *m, struct thread *t)
{
	ASSERT(!m->owner);
	m->owner = t;
	list_add_tail(&t->pi_held, &m->held_node);
	pi_adjust_chain(t);
}

/* Whether the chain from m's owner leads back to t (or is too long to tell). */
static bool pi_chain_reaches(const struct rt_mutex *m, const struct thread *t)
{
	for (int depth = 0; m && m->owner; depth++) {
		if (m->owner == t || depth >= PI_MAX_DEPTH)
			return true;
		m = m->owner->blocked_on;
	}
	return false;
}

int rt_mutex_add_waiter(struct rt_mutex *m, struct thread *waiter)
{
	ASSERT(!waiter->blocked_on);
	if (pi_chain_reaches(m, waiter))
		return -EDEADLK;
	waiter->blocked_on = m;
	waiter_insert(m, waiter);
	pi_adjust_chain(m->owner);
	return 0;
}

void rt_mutex_remove_waiter(struct rt_mutex *m, struct thread *waiter)
{
	if (waiter->blocked_on != m)
		return;
	list_del(&waiter->pi_node);
	waiter->blocked_on = NULL;
	pi_adjust_chain(m->owner);
}

struct thread *rt_mutex_hand_over(struct rt_mutex *m)
{
	struct thread *old = m->owner, *next = rt_mutex_top_waiter(m);

	list_del(&m->held_node);
	m->owner = NULL;
	if (next) {
		list_del(&next->pi_node);
		next->blocked_on = NULL;
		rt_mutex_set_owner(m, next);
	}
	if (old)
		pi_adjust_chain(old);
	return next;
}

void thread_set_base_prio(struct thread *t, int prio)
{
	t->base_prio = prio;
	pi_adjust_chain(t);
}

void pi_forget_thread(struct thread *t)
{
	if (t->blocked_on)
		rt_mutex_remove_waiter(t->blocked_on, t);
	while (!list_empty(&t->pi_held)) {
		struct rt_mutex *m = list_first_entry(&t->pi_held, struct rt_mutex, held_node);

		list_del(&m->held_node);
		m->owner = NULL;
	}
}

void kmutex_init(struct kmutex *m)
{
	rt_mutex_init(&m->rt);
}

void kmutex_lock(struct kmutex *m)
{
	unsigned long flags = arch_irq_save();
	struct thread *self = thread_current();

	if (!m->rt.owner) {
		rt_mutex_set_owner(&m->rt, self);
	} else {
		if (rt_mutex_add_waiter(&m->rt, self))
			panic("kmutex: deadlock in %s", self->name);
		while (m->rt.owner != self)
			sched_wait(0, 0);	/* kmutex_unlock() hands it to us */
	}
	arch_irq_restore(flags);
}

void kmutex_unlock(struct kmutex *m)
{
	unsigned long flags = arch_irq_save();
	struct thread *next;

	ASSERT(m->rt.owner == thread_current());
	next = rt_mutex_hand_over(&m->rt);
	if (next)
		sched_wake(next);
	arch_irq_restore(flags);
	sched_preempt();
}
