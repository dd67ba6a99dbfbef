/* SPDX-License-Identifier: MIT */
/*
 * Priority-inheritance mutexes: the kernel half of a lock whose fast path
 * lives elsewhere (a PI futex word in user memory). While threads wait for
 * an rt_mutex, its owner runs at the priority of the highest of them, and
 * if the owner itself waits for another rt_mutex the boost travels along
 * that chain, as far as it changes anything.
 *
 * These functions only keep the bookkeeping and priorities right: blocking
 * and waking the waiters is the caller's (sched_wait/sched_wake_with), and
 * so is preemption (sched_preempt() once the caller is done). Masked.
 */
#ifndef KERNEL_PI_H
#define KERNEL_PI_H

#include <kernel/thread.h>

#define PI_MAX_DEPTH	1024	/* longest chain followed (Linux's max_lock_depth) */

struct rt_mutex {
	struct thread *owner;		/* NULL: free, or its owner is gone */
	struct list_node waiters;	/* thread.pi_node, highest priority first, FIFO among equals */
	struct list_node held_node;	/* in owner->pi_held */
};

void rt_mutex_init(struct rt_mutex *m);

/* Make t the owner of m (which has no owner). */
void rt_mutex_set_owner(struct rt_mutex *m, struct thread *t);

/*
 * Queue waiter (not yet waiting for anything) on m and raise the priorities
 * along the chain m's owner heads. -EDEADLK, with nothing changed, if the
 * chain leads back to waiter or is longer than PI_MAX_DEPTH.
 */
int rt_mutex_add_waiter(struct rt_mutex *m, struct thread *waiter);

/* Take waiter off m (it gave up: timeout, signal) and lower the chain's priorities again. */
void rt_mutex_remove_waiter(struct rt_mutex *m, struct thread *waiter);

/* The waiter that would get m next, or NULL. */
struct thread *rt_mutex_top_waiter(const struct rt_mutex *m);

/*
 * m's owner lets go: its top waiter (if any) is dequeued and becomes the
 * owner, and the old owner's priority falls back. Returns the new owner
 * (NULL: m is free); the caller wakes it.
 */
struct thread *rt_mutex_hand_over(struct rt_mutex *m);

/* Set t's base priority; its effective priority and its chain follow. */
void thread_set_base_prio(struct thread *t, int prio);

/* The priority t must run at: its base, or its highest waiter's if higher. */
int pi_effective_prio(const struct thread *t);

/* t is ending: stop waiting, and leave what it owns ownerless (waiters stay queued). */
void pi_forget_thread(struct thread *t);

/*
 * A sleeping lock for kernel code that blocks while holding it (remote
 * calls), with priority inheritance. Not recursive; waits are not
 * interruptible. Thread context only.
 */
struct kmutex {
	struct rt_mutex rt;
};

void kmutex_init(struct kmutex *m);
void kmutex_lock(struct kmutex *m);
void kmutex_unlock(struct kmutex *m);

#endif
