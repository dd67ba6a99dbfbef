// SPDX-License-Identifier: MIT
/*
 * Futexes, served in the RT realm. A futex is named by the physical address
 * of its word (so private and shared futexes are the same thing here: all
 * RT memory is resident and never moves). Waiters queue by priority, FIFO
 * among equals, so FUTEX_WAKE wakes the most urgent first, as Linux's
 * plists do.
 *
 * PI futexes (LOCK_PI, UNLOCK_PI, TRYLOCK_PI, WAIT_REQUEUE_PI,
 * CMP_REQUEUE_PI) keep a pi_state per contended word: an rt_mutex (pi.c)
 * whose owner is the thread the word names, so that waiting boosts the
 * owner and the chain it waits on. Uncontended locking never enters the
 * kernel (glibc and musl use cmpxchg on the word); the kernel sets
 * FUTEX_WAITERS so that the owner's unlock comes here, and hands the lock
 * (and the word) to the top waiter.
 *
 * Robust futexes: when a thread exits, the futexes on its robust list that
 * it still owns get FUTEX_OWNER_DIED and a waiter is woken; PI futexes it
 * owns go to their top waiter with FUTEX_OWNER_DIED kept.
 *
 * Context: every operation runs masked from the first look at the word to
 * the wait (one CPU: nothing else changes the word meanwhile, except the
 * shadow, which never touches futex words).
 */
#include <kernel/clock.h>
#include <kernel/kmem.h>
#include <kernel/string.h>
#include <linuxabi/handlers.h>
#include <linuxabi/linux.h>
#include <linux/futex.h>
#include <linux/time.h>
#include <linux/time_types.h>

#define FUTEX_HASH_BITS		6
#define FUTEX_HASH_SIZE		(1u << FUTEX_HASH_BITS)
#define ROBUST_LIST_LIMIT	2048	/* as Linux: a corrupt list is not followed forever */

/* A waiter, on its own kernel stack while it waits. */
struct futex_q {
	struct list_node node;		/* in its bucket, by priority; self-linked once dequeued */
	uint64_t key;
	uint32_t bitset;
	struct thread *t;
	uint64_t pi_key;		/* WAIT_REQUEUE_PI: the PI futex it may be moved to */
	struct lx_pi_state *pi;		/* set when CMP_REQUEUE_PI moved it onto that lock */
	bool pi_acquired;		/* CMP_REQUEUE_PI took the lock for it */
};

struct lx_pi_state {
	struct rt_mutex rt;
	uint64_t key;
	struct list_node node;		/* in futex_pi_hash */
};

static struct list_node futex_hash[FUTEX_HASH_SIZE];
static struct list_node futex_pi_hash[FUTEX_HASH_SIZE];

static unsigned int futex_hash_of(uint64_t key)
{
	return (unsigned int)((key * 0x9e3779b97f4a7c15ull) >> (64 - FUTEX_HASH_BITS));
}

void lx_futex_init(void)
{
	for (unsigned int i = 0; i < FUTEX_HASH_SIZE; i++) {
		list_init(&futex_hash[i]);
		list_init(&futex_pi_hash[i]);
	}
}

static struct list_node *bucket(uint64_t key)
{
	return &futex_hash[futex_hash_of(key)];
}

/* The futex word at uaddr: its key and the kernel's pointer to it. */
static int futex_word(uint64_t uaddr, bool write, uint64_t *key, uint32_t **word)
{
	int err = user_word(uaddr, write, word);

	if (err)
		return err;
	*key = arch_virt_to_phys(*word);
	return 0;
}

static void queue_insert(struct futex_q *q)
{
	struct list_node *b = bucket(q->key), *pos = b->next;

	while (pos != b && list_entry(pos, struct futex_q, node)->t->prio >= q->t->prio)
		pos = pos->next;
	list_insert(&q->node, pos->prev, pos);
}

static bool queued(const struct futex_q *q)
{
	return !list_empty(&q->node);
}

/* Wake up to nr waiters of key whose bitset meets bitset. Returns how many. */
static int wake_key(uint64_t key, int nr, uint32_t bitset)
{
	struct list_node *b = bucket(key);
	struct futex_q *q, *tmp;
	int woken = 0;

	list_for_each_entry_safe(q, tmp, b, node) {
		if (woken >= nr)
			break;
		if (q->key != key || !(q->bitset & bitset))
			continue;
		list_del(&q->node);
		sched_wake(q->t);
		woken++;
	}
	return woken;
}

/* FUTEX_WAIT(_BITSET): sleep on uaddr while it holds val. */
static long futex_wait(uint64_t uaddr, uint32_t val, uint64_t deadline, uint32_t bitset,
		       bool relative)
{
	struct futex_q q = { .bitset = bitset, .t = thread_current() };
	unsigned long flags;
	uint32_t *word;
	int err;

	if (!bitset)
		return -EINVAL;
	flags = arch_irq_save();
	err = futex_word(uaddr, false, &q.key, &word);
	if (!err && __atomic_load_n(word, __ATOMIC_SEQ_CST) != val)
		err = -EAGAIN;
	if (err) {
		arch_irq_restore(flags);
		return err;
	}
	queue_insert(&q);
	err = sched_wait(deadline, WAIT_INTERRUPTIBLE);
	if (queued(&q)) {
		list_del(&q.node);
		/* Interrupted: restart after a handler (SA_RESTART), EINTR otherwise. */
		err = err == -ETIMEDOUT ? -ETIMEDOUT : relative ? -ERESTARTNOHAND : -ERESTARTSYS;
	} else {
		err = 0;	/* woken, whatever else happened meanwhile */
	}
	arch_irq_restore(flags);
	return err;
}

int lx_futex_wake(uint64_t uaddr, int nr)
{
	unsigned long flags = arch_irq_save();
	uint32_t *word;
	uint64_t key;
	int woken;

	woken = futex_word(uaddr, false, &key, &word) ?: wake_key(key, nr, FUTEX_BITSET_MATCH_ANY);
	arch_irq_restore(flags);
	if (woken > 0)
		sched_preempt();
	return woken;
}

/* Move waiters of key1: wake nr_wake, requeue up to nr_requeue onto key2. */
static int requeue(uint64_t key1, uint64_t key2, int nr_wake, int nr_requeue)
{
	struct list_node *b = bucket(key1);
	struct futex_q *q, *tmp;
	int woken = 0, moved = 0;

	list_for_each_entry_safe(q, tmp, b, node) {
		if (q->key != key1)
			continue;
		if (woken < nr_wake) {
			list_del(&q->node);
			sched_wake(q->t);
			woken++;
		} else if (moved < nr_requeue) {
			list_del(&q->node);
			q->key = key2;
			queue_insert(q);
			moved++;
		} else {
			break;
		}
	}
	return woken + moved;
}

static long futex_requeue(uint64_t uaddr, uint64_t uaddr2, int nr_wake, int nr_requeue,
			  bool cmp, uint32_t cmpval)
{
	unsigned long flags;
	uint32_t *w1, *w2;
	uint64_t k1, k2;
	long ret;

	if (nr_wake < 0 || nr_requeue < 0)
		return -EINVAL;
	flags = arch_irq_save();
	ret = futex_word(uaddr, false, &k1, &w1) ?: futex_word(uaddr2, false, &k2, &w2);
	if (!ret && cmp && __atomic_load_n(w1, __ATOMIC_SEQ_CST) != cmpval)
		ret = -EAGAIN;
	if (!ret)
		ret = requeue(k1, k2, nr_wake, nr_requeue);
	arch_irq_restore(flags);
	sched_preempt();
	return ret;
}

/* FUTEX_WAKE_OP's operation on *uaddr2 and its comparison (Linux's encoding). */
static int futex_atomic_op(uint32_t encoded, uint32_t *word, bool *cmp_true)
{
	unsigned int op = (encoded >> 28) & 7, cmp = (encoded >> 24) & 15;
	int32_t oparg = (int32_t)(encoded << 8) >> 20, cmparg = (int32_t)(encoded << 20) >> 20;
	int32_t old, new;

	if (encoded & (FUTEX_OP_OPARG_SHIFT << 28))
		oparg = (int32_t)(1u << (oparg & 31));
	old = (int32_t)__atomic_load_n(word, __ATOMIC_SEQ_CST);
	switch (op) {
	case FUTEX_OP_SET: new = oparg; break;
	case FUTEX_OP_ADD: new = (int32_t)((uint32_t)old + (uint32_t)oparg); break;
	case FUTEX_OP_OR: new = old | oparg; break;
	case FUTEX_OP_ANDN: new = old & ~oparg; break;
	case FUTEX_OP_XOR: new = old ^ oparg; break;
	default: return -ENOSYS;
	}
	switch (cmp) {
	case FUTEX_OP_CMP_EQ: *cmp_true = old == cmparg; break;
	case FUTEX_OP_CMP_NE: *cmp_true = old != cmparg; break;
	case FUTEX_OP_CMP_LT: *cmp_true = old < cmparg; break;
	case FUTEX_OP_CMP_LE: *cmp_true = old <= cmparg; break;
	case FUTEX_OP_CMP_GT: *cmp_true = old > cmparg; break;
	case FUTEX_OP_CMP_GE: *cmp_true = old >= cmparg; break;
	default: return -ENOSYS;
	}
	__atomic_store_n(word, (uint32_t)new, __ATOMIC_SEQ_CST);
	return 0;
}

static long futex_wake_op(uint64_t uaddr, uint64_t uaddr2, int nr, int nr2, uint32_t op)
{
	unsigned long flags = arch_irq_save();
	uint32_t *w1, *w2;
	uint64_t k1, k2;
	bool cmp = false;
	long ret;

	ret = futex_word(uaddr, false, &k1, &w1) ?: futex_word(uaddr2, true, &k2, &w2);
	ret = ret ?: futex_atomic_op(op, w2, &cmp);
	if (!ret) {
		ret = wake_key(k1, nr, FUTEX_BITSET_MATCH_ANY);
		if (cmp)
			ret += wake_key(k2, nr2, FUTEX_BITSET_MATCH_ANY);
	}
	arch_irq_restore(flags);
	sched_preempt();
	return ret;
}

/* ---- PI futexes ---- */

static struct lx_pi_state *pi_find(uint64_t key)
{
	struct lx_pi_state *ps;

	list_for_each_entry(ps, &futex_pi_hash[futex_hash_of(key)], node)
		if (ps->key == key)
			return ps;
	return NULL;
}

static void pi_put_if_unused(struct lx_pi_state *ps)
{
	if (!ps || !list_empty(&ps->rt.waiters))
		return;
	if (ps->rt.owner)
		list_del(&ps->rt.held_node);
	list_del(&ps->node);
	kfree(ps);
}

/* The word says who owns ps: the kernel follows (its owner left, or took it in user space). */
static void pi_follow_word(struct lx_pi_state *ps, struct thread *owner)
{
	if (ps->rt.owner == owner)
		return;
	if (ps->rt.owner)
		list_del(&ps->rt.held_node);
	ps->rt.owner = NULL;
	rt_mutex_set_owner(&ps->rt, owner);
}

/* The pi_state of a contended word owned by owner, made if needed. NULL: no memory. */
static struct lx_pi_state *pi_get(uint64_t key, struct thread *owner)
{
	struct lx_pi_state *ps = pi_find(key);

	if (ps) {
		pi_follow_word(ps, owner);
		return ps;
	}
	ps = kmalloc(sizeof(*ps));
	if (!ps)
		return NULL;
	rt_mutex_init(&ps->rt);
	ps->key = key;
	list_add_tail(&futex_pi_hash[futex_hash_of(key)], &ps->node);
	rt_mutex_set_owner(&ps->rt, owner);
	return ps;
}

/* Take a free PI word for tid; false if it is owned. */
static bool pi_try_take(uint32_t *word, uint32_t tid, bool waiters)
{
	uint32_t w = __atomic_load_n(word, __ATOMIC_SEQ_CST);

	if (w & FUTEX_TID_MASK)
		return false;
	/* A dead owner's lock (OWNER_DIED, tid 0) is taken with the bit kept: EOWNERDEAD. */
	return __atomic_compare_exchange_n(word, &w,
					   tid | (w & FUTEX_OWNER_DIED) | (waiters ? FUTEX_WAITERS : 0),
					   false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* The owner a contended PI word names, with FUTEX_WAITERS set. -ESRCH if nobody. */
static int pi_owner(uint32_t *word, struct thread **owner)
{
	uint32_t w = __atomic_load_n(word, __ATOMIC_SEQ_CST);
	struct lx_thread *lt = lx_find_thread((int)(w & FUTEX_TID_MASK));

	if (!lt)
		return -ESRCH;
	__atomic_fetch_or(word, FUTEX_WAITERS, __ATOMIC_SEQ_CST);
	*owner = lt->t;
	return 0;
}

/*
 * Wait for ps (the caller is queued as a waiter) until it is handed to us.
 * 0: we own it (and ps may be gone: an uncontended owner has no pi_state);
 * else -ETIMEDOUT or -EINTR, and we are no longer a waiter.
 */
static int pi_wait(struct lx_pi_state *ps, uint64_t deadline)
{
	struct thread *self = thread_current();
	int err = 0;

	sched_preempt();	/* a boosted owner may now run first */
	while (self->blocked_on == &ps->rt && err != -ETIMEDOUT && err != -EINTR)
		err = sched_wait(deadline, WAIT_INTERRUPTIBLE);
	if (self->blocked_on != &ps->rt)
		return 0;	/* rt_mutex_hand_over() made us the owner */
	rt_mutex_remove_waiter(&ps->rt, self);
	pi_put_if_unused(ps);
	return err;
}

static long futex_lock_pi(uint64_t uaddr, uint64_t deadline, bool trylock)
{
	struct lx_thread *self = lx_current();
	struct lx_pi_state *ps;
	struct thread *owner;
	unsigned long flags;
	uint32_t *word;
	uint64_t key;
	long err;

	flags = arch_irq_save();
	err = futex_word(uaddr, true, &key, &word);
	if (err)
		goto out;
	ps = pi_find(key);
	if (pi_try_take(word, (uint32_t)self->tid, ps && !list_empty(&ps->rt.waiters))) {
		if (ps)
			pi_get(key, self->t);
		goto out;
	}
	if ((__atomic_load_n(word, __ATOMIC_SEQ_CST) & FUTEX_TID_MASK) == (uint32_t)self->tid) {
		err = -EDEADLK;
		goto out;
	}
	if (trylock) {
		err = -EAGAIN;
		goto out;
	}
	err = pi_owner(word, &owner);
	if (err)
		goto out;
	ps = pi_get(key, owner);
	if (!ps) {
		err = -ENOMEM;
		goto out;
	}
	err = rt_mutex_add_waiter(&ps->rt, self->t);
	if (err) {
		pi_put_if_unused(ps);
		goto out;
	}
	err = pi_wait(ps, deadline);
	if (err == -EINTR)
		err = -ERESTARTNOINTR;	/* Linux: the lock is retried after the handler */
out:
	arch_irq_restore(flags);
	return err;
}

/* Give ps (owned by the caller or a dead thread) and its word to the top waiter. Masked. */
static void pi_hand_over(struct lx_pi_state *ps, uint32_t *word, uint32_t keep)
{
	struct thread *next = rt_mutex_hand_over(&ps->rt);

	if (next) {
		__atomic_store_n(word, (uint32_t)next->tid | FUTEX_WAITERS | keep, __ATOMIC_SEQ_CST);
		sched_wake(next);
	} else {
		__atomic_store_n(word, keep, __ATOMIC_SEQ_CST);
	}
	pi_put_if_unused(ps);
}

static long futex_unlock_pi(uint64_t uaddr)
{
	struct lx_thread *self = lx_current();
	struct lx_pi_state *ps;
	unsigned long flags;
	uint32_t *word;
	uint64_t key;
	long err;

	flags = arch_irq_save();
	err = futex_word(uaddr, true, &key, &word);
	if (!err && (__atomic_load_n(word, __ATOMIC_SEQ_CST) & FUTEX_TID_MASK) != (uint32_t)self->tid)
		err = -EPERM;
	if (!err) {
		ps = pi_find(key);
		if (ps) {
			pi_follow_word(ps, self->t);
			pi_hand_over(ps, word, 0);
		}
		else
			__atomic_store_n(word, 0, __ATOMIC_SEQ_CST);
	}
	arch_irq_restore(flags);
	sched_preempt();
	return err;
}

/* FUTEX_WAIT_REQUEUE_PI: wait on uaddr (a condition) to be moved to the PI lock uaddr2. */
static long futex_wait_requeue_pi(uint64_t uaddr, uint32_t val, uint64_t deadline, uint64_t uaddr2)
{
	struct futex_q q = { .bitset = FUTEX_BITSET_MATCH_ANY, .t = thread_current() };
	unsigned long flags;
	uint32_t *word, *word2;
	int err;

	if (uaddr == uaddr2)
		return -EINVAL;
	flags = arch_irq_save();
	err = futex_word(uaddr, false, &q.key, &word) ?: futex_word(uaddr2, true, &q.pi_key, &word2);
	if (!err && __atomic_load_n(word, __ATOMIC_SEQ_CST) != val)
		err = -EAGAIN;
	if (err)
		goto out;
	queue_insert(&q);
	err = sched_wait(deadline, WAIT_INTERRUPTIBLE);
	if (queued(&q)) {
		list_del(&q.node);
		err = err == -ETIMEDOUT ? -ETIMEDOUT : -ERESTARTNOINTR;
	} else if (q.pi_acquired) {
		err = 0;
	} else if (q.pi) {
		err = pi_wait(q.pi, deadline);	/* moved onto the lock: wait for it */
		if (err == -EINTR)
			err = -ERESTARTNOINTR;
	} else {
		err = -EAGAIN;			/* a plain FUTEX_WAKE */
	}
out:
	arch_irq_restore(flags);
	return err;
}

/* FUTEX_CMP_REQUEUE_PI: give uaddr2 to one waiter if free, move the others onto it. */
static long futex_cmp_requeue_pi(uint64_t uaddr, uint64_t uaddr2, int nr_wake, int nr_requeue,
				 uint32_t cmpval)
{
	struct futex_q *q, *tmp;
	unsigned long flags;
	uint32_t *word, *word2;
	uint64_t k1, k2;
	long ret;
	int tried = 0, woken = 0, moved = 0;

	if (nr_wake != 1 || nr_requeue < 0 || uaddr == uaddr2)
		return -EINVAL;
	flags = arch_irq_save();
	ret = futex_word(uaddr, false, &k1, &word) ?: futex_word(uaddr2, true, &k2, &word2);
	if (!ret && __atomic_load_n(word, __ATOMIC_SEQ_CST) != cmpval)
		ret = -EAGAIN;
	if (ret)
		goto out;
	list_for_each_entry_safe(q, tmp, bucket(k1), node) {
		struct lx_pi_state *ps;
		struct thread *owner;

		if (q->key != k1)
			continue;
		if (q->pi_key != k2) {
			ret = -EINVAL;
			break;
		}
		if (!tried && pi_try_take(word2, (uint32_t)q->t->tid, false)) {
			list_del(&q->node);
			q->pi_acquired = true;
			sched_wake(q->t);
			tried = woken = 1;
			continue;
		}
		tried = 1;
		if (moved >= nr_requeue || pi_owner(word2, &owner) || !(ps = pi_get(k2, owner)) ||
		    rt_mutex_add_waiter(&ps->rt, q->t))
			break;
		list_del(&q->node);
		q->pi = ps;
		moved++;
	}
	if (!ret)
		ret = woken + moved;
out:
	arch_irq_restore(flags);
	sched_preempt();
	return ret;
}

/* ---- Robust futexes ---- */

/* The exiting thread lt owned the futex at uaddr: mark its death, wake a waiter. */
static void robust_handle_death(struct lx_thread *lt, uint64_t uaddr, bool pi)
{
	uint32_t *word, w;
	uint64_t key;

	if (futex_word(uaddr, true, &key, &word))
		return;
	w = __atomic_load_n(word, __ATOMIC_SEQ_CST);
	if ((w & FUTEX_TID_MASK) != (uint32_t)lt->tid)
		return;
	__atomic_store_n(word, (w & FUTEX_WAITERS) | FUTEX_OWNER_DIED, __ATOMIC_SEQ_CST);
	if (!pi && (w & FUTEX_WAITERS))
		wake_key(key, 1, FUTEX_BITSET_MATCH_ANY);
}

/* Follow lt's robust list (struct robust_list_head in user memory). Masked. */
static void robust_walk(struct lx_thread *lt)
{
	struct robust_list_head head;
	uint64_t entry, pending;
	int n = 0;

	if (!lt->robust_list || copy_from_user(&head, lt->robust_list, sizeof(head)))
		return;
	entry = (uint64_t)(uintptr_t)head.list.next;
	pending = (uint64_t)(uintptr_t)head.list_op_pending;
	while (entry != lt->robust_list && n++ < ROBUST_LIST_LIMIT) {
		uint64_t next;

		if (copy_from_user(&next, entry & ~1ull, sizeof(next)))
			break;
		if (entry != pending)
			robust_handle_death(lt, (entry & ~1ull) + (uint64_t)head.futex_offset, entry & 1);
		entry = next;
	}
	if (pending)
		robust_handle_death(lt, (pending & ~1ull) + (uint64_t)head.futex_offset, pending & 1);
}

/* PI futexes lt still owns go to their top waiters, OWNER_DIED kept. Masked. */
static void pi_exit(struct lx_thread *lt)
{
	for (unsigned int i = 0; i < FUTEX_HASH_SIZE; i++) {
		struct lx_pi_state *ps, *tmp;

		list_for_each_entry_safe(ps, tmp, &futex_pi_hash[i], node) {
			uint32_t *word = arch_phys_to_virt(ps->key);

			if (ps->rt.owner != lt->t)
				continue;
			pi_hand_over(ps, word, __atomic_load_n(word, __ATOMIC_SEQ_CST) & FUTEX_OWNER_DIED);
		}
	}
}

void lx_robust_exit(struct lx_thread *lt)
{
	unsigned long flags = arch_irq_save();

	robust_walk(lt);
	pi_exit(lt);
	arch_irq_restore(flags);
}

long lx_futex(uint64_t uaddr, int op, uint32_t val, uint64_t utime, uint64_t uaddr2, uint32_t val3)
{
	int cmd = op & FUTEX_CMD_MASK;
	uint64_t clk = op & FUTEX_CLOCK_REALTIME ? CLOCK_REALTIME : CLOCK_MONOTONIC;
	uint64_t deadline;
	long err;

	if ((op & FUTEX_CLOCK_REALTIME) && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET &&
	    cmd != FUTEX_WAIT_REQUEUE_PI && cmd != FUTEX_LOCK_PI2)
		return -ENOSYS;
	switch (cmd) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
	case FUTEX_WAIT_REQUEUE_PI:
		err = lx_timeout_deadline(utime, cmd == FUTEX_WAIT, clk, &deadline);
		if (err)
			return err;
		if (cmd == FUTEX_WAIT_REQUEUE_PI)
			return futex_wait_requeue_pi(uaddr, val, deadline, uaddr2);
		return futex_wait(uaddr, val, deadline,
				  cmd == FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : val3, cmd == FUTEX_WAIT);
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET: {
		unsigned long flags = arch_irq_save();
		uint32_t *word;
		uint64_t key;

		if (cmd == FUTEX_WAKE_BITSET && !val3)
			err = -EINVAL;
		else
			err = futex_word(uaddr, false, &key, &word) ?:
			      wake_key(key, (int)MIN(val, (uint32_t)INT32_MAX),
				       cmd == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : val3);
		arch_irq_restore(flags);
		sched_preempt();
		return err;
	}
	case FUTEX_REQUEUE:
	case FUTEX_CMP_REQUEUE:
		/* The fourth argument is a count here, not a pointer. */
		return futex_requeue(uaddr, uaddr2, (int)val, (int)utime, cmd == FUTEX_CMP_REQUEUE, val3);
	case FUTEX_WAKE_OP:
		return futex_wake_op(uaddr, uaddr2, (int)val, (int)utime, val3);
	case FUTEX_LOCK_PI:
	case FUTEX_LOCK_PI2:
		err = lx_timeout_deadline(utime, false, cmd == FUTEX_LOCK_PI ? CLOCK_REALTIME : clk,
					  &deadline);
		return err ?: futex_lock_pi(uaddr, deadline, false);
	case FUTEX_TRYLOCK_PI:
		return futex_lock_pi(uaddr, 0, true);
	case FUTEX_UNLOCK_PI:
		return futex_unlock_pi(uaddr);
	case FUTEX_CMP_REQUEUE_PI:
		return futex_cmp_requeue_pi(uaddr, uaddr2, (int)val, (int)utime, val3);
	default:
		return -ENOSYS;
	}
}

long sys_futex(const uint64_t *a)
{
	return lx_futex(a[0], (int)a[1], (uint32_t)a[2], a[3], a[4], (uint32_t)a[5]);
}
