// SPDX-License-Identifier: MIT
/*
 * Threads of RT processes. clone() for threads, as glibc's and musl's
 * pthread_create issue it, makes an RT thread and, through the parent's
 * twin, a new twin in the shadow that will make the new thread's remote
 * calls: the RT thread's tid is its twin's, a real Linux tid. A thread
 * ends by exit() (its robust futexes marked, its clear_child_tid word
 * cleared and woken, its twin ended), or with its process.
 *
 * clone() without CLONE_THREAD makes a process (fork.c).
 */
#include <kernel/clock.h>
#include <kernel/kmem.h>
#include <kernel/pmm.h>
#include <kernel/printk.h>
#include <kernel/string.h>
#include <linuxabi/handlers.h>
#include <linuxabi/linux.h>
#include <linux/signal.h>

#define CLONE_THREAD_NEEDS	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)
#define CLONE_THREAD_MAY	(CLONE_THREAD_NEEDS | CLONE_SYSVSEM | CLONE_SETTLS | \
				 CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | \
				 CLONE_DETACHED | CSIGNAL)
#define ROBUST_LIST_HEAD_SIZE	24	/* sizeof(struct robust_list_head) */

/*
 * A record for tid in the channel's statistics: a free one, else the
 * oldest exited one, else the last record, which sums the threads that
 * found none (CRTOS_THREAD_OTHERS). Masked.
 */
static struct crtos_thread_stats *stats_record(struct lx_process *p, int tid)
{
	struct crtos_stats *st = p->stats;
	struct crtos_thread_stats *rec = NULL, *others = &st->threads[CRTOS_STATS_THREADS - 1];

	if (st->nr_threads < CRTOS_STATS_THREADS - 1) {
		rec = &st->threads[st->nr_threads++];
	} else {
		for (unsigned int i = 0; i < CRTOS_STATS_THREADS - 1 && !rec; i++)
			if (st->threads[i].state == CRTOS_THREAD_EXITED)
				rec = &st->threads[i];
	}
	if (!rec) {
		if (others->state != CRTOS_THREAD_OTHERS) {
			memset(others, 0, sizeof(*others));
			others->tid = -1;
			others->state = CRTOS_THREAD_OTHERS;
			st->nr_threads = CRTOS_STATS_THREADS;
		}
		return others;
	}
	memset(rec, 0, sizeof(*rec));
	rec->tid = tid;
	rec->state = CRTOS_THREAD_RUNNING;
	return rec;
}

/*
 * A free remote-call slot of p, its slot page allocated if this is the
 * page's first slot: the slot's number, or -1 (none left, or no memory).
 * Masked.
 */
static int slot_alloc(struct lx_process *p)
{
	for (unsigned int w = 0; w < ARRAY_SIZE(p->slots_used); w++) {
		unsigned int page;
		int slot;

		if (!~p->slots_used[w])
			continue;
		slot = (int)(w * 64) + __builtin_ctzll(~p->slots_used[w]);
		page = (unsigned int)slot / CRTOS_SLOTS_PER_PAGE;
		if (!p->slot_pages[page]) {
			paddr_t pa = pmm_alloc(0);

			if (pa == PADDR_INVALID)
				return -1;
			p->slot_pages[page] = arch_phys_to_virt(pa);
			memset(p->slot_pages[page], 0, PAGE_SIZE);
			p->chan->slot_page_gpa[page] = pa;
		}
		p->slots_used[w] |= 1ull << (slot % 64);
		return slot;
	}
	return -1;
}

static void slot_free(struct lx_process *p, int slot)
{
	p->slots_used[slot / 64] &= ~(1ull << (slot % 64));
}

/* The process is reaped: its slot pages go (the channel's own slots go with it). */
void lx_slot_pages_free(struct lx_process *p)
{
	for (unsigned int i = 1; i < CRTOS_SLOT_PAGES; i++) {
		if (p->slot_pages[i])
			pmm_free(arch_virt_to_phys(p->slot_pages[i]), 0);
		p->slot_pages[i] = NULL;
	}
}

/* A new thread of p that will run fn, with a slot, not started. NULL: no slot or memory. */
struct lx_thread *lx_thread_new(struct lx_process *p, int tid, int prio, void (*fn)(void *))
{
	struct lx_thread *lt = kzalloc(sizeof(*lt));
	unsigned long flags;
	int slot;

	if (!lt)
		return NULL;
	lt->t = thread_create("user", prio, fn, lt, true);
	if (!lt->t) {
		kfree(lt);
		return NULL;
	}
	flags = arch_irq_save();
	if (!p->slot_pages[0])
		p->slot_pages[0] = p->chan->slots;
	slot = slot_alloc(p);
	if (slot < 0) {
		thread_kill(lt->t);
		arch_irq_restore(flags);
		kfree(lt);
		return NULL;
	}
	lt->t->owner = lt;
	lt->t->as = &p->as;
	lt->t->tid = tid;
	lt->proc = p;
	lt->tid = tid;
	lt->slot = slot;
	lt->rc = &p->slot_pages[slot / CRTOS_SLOTS_PER_PAGE][slot % CRTOS_SLOTS_PER_PAGE];
	lt->syscall_nr = -1;
	lt->altstack.flags = SS_DISABLE;
	list_init(&lt->rwait_node);
	list_init(&lt->mixed_node);
	list_init(&lt->pending.queue);
	lt->stats = stats_record(p, tid);
	list_add_tail(&p->threads, &lt->proc_node);
	p->nr_threads++;
	arch_irq_restore(flags);
	return lt;
}

struct lx_thread *lx_find_tid(struct lx_process *p, int tid)
{
	struct lx_thread *lt;

	list_for_each_entry(lt, &p->threads, proc_node)
		if (lt->tid == tid && !lt->exiting)
			return lt;
	return NULL;
}

/* Apply a scheduling policy and priority (checked by the caller). */
void lx_set_sched(struct lx_thread *lt, int policy, int prio)
{
	int base = policy & ~SCHED_RESET_ON_FORK;

	lt->policy = policy;
	lt->prio = prio;
	lt->stats->policy = base;
	lt->stats->prio = prio;
	sched_set_sliced(lt->t, base != SCHED_FIFO);
	thread_set_base_prio(lt->t, base == SCHED_FIFO || base == SCHED_RR ? prio : 0);
}

/*
 * Put lt's CPU time and switches in its statistics record, once: the
 * shadow reads them when the process ends. The shared record of the
 * threads without one of their own sums them. Masked.
 */
void lx_thread_stats_close(struct lx_thread *lt)
{
	struct crtos_thread_stats *rec = lt->stats;
	uint64_t ns = clock_cycles_to_ns(thread_cpu_cycles(lt->t));

	if (lt->stats_closed)
		return;
	lt->stats_closed = true;
	if (rec->state == CRTOS_THREAD_OTHERS) {
		rec->cpu_ns += ns;
		rec->switches += lt->t->nr_switches;
	} else {
		rec->cpu_ns = ns;
		rec->switches = lt->t->nr_switches;
	}
}

/* Remove a thread from its process and free it. Masked. */
static void lx_thread_detach(struct lx_thread *lt)
{
	struct lx_process *p = lt->proc;

	rcall_forget(lt);
	list_del(&lt->mixed_node);	/* a thread killed in a mixed wait (rtfd_wait.c) */
	lx_thread_stats_close(lt);
	if (lt->stats->state != CRTOS_THREAD_OTHERS)
		lt->stats->state = CRTOS_THREAD_EXITED;
	p->exited_cpu_cycles += thread_cpu_cycles(lt->t);
	lx_signal_flush(&lt->pending);
	list_del(&lt->proc_node);
	if (!lt->exiting)
		p->nr_threads--;
	slot_free(p, lt->slot);
	lx_vfork_forget(lt->t);
	lt->t->owner = NULL;
	kfree(lt->clone_regs);
	kfree(lt);
}

/* Stop a thread of a dead process that is not running. Masked. */
void lx_thread_kill(struct lx_thread *lt)
{
	struct thread *t = lt->t;

	lx_thread_detach(lt);
	thread_kill(t);
}

/*
 * End the current thread with code. The last thread to end ends the
 * process (with code as its status, as Linux). Never returns.
 */
_Noreturn void lx_thread_exit(int code)
{
	struct lx_thread *lt = lx_current();
	struct lx_process *p = lt->proc;
	unsigned long flags = arch_irq_save();
	bool last = false;

	if (!lt->exiting) {
		lt->exiting = true;
		last = --p->nr_threads == 0;
	}
	arch_irq_restore(flags);
	if (last) {
		lx_process_kill(p, CRTOS_EXIT_CODE, code & 0xff);
	} else if (p->state != LX_PROC_ZOMBIE) {
		uint32_t zero = 0;

		lx_robust_exit(lt);
		if (lt->clear_child_tid && !copy_to_user(lt->clear_child_tid, &zero, sizeof(zero)))
			lx_futex_wake(lt->clear_child_tid, 1);
		rcall(CRTOS_SHADOW_THREAD_EXIT, 0, 0, 0, 0, 0, 0);
	}
	arch_irq_save();
	lx_thread_detach(lt);
	thread_exit();
}

/* A new thread's first steps: into user code with the registers clone() gave it. */
static void lx_clone_child(void *arg)
{
	struct lx_thread *lt = arg;
	arch_regs_t regs = *lt->clone_regs;

	kfree(lt->clone_regs);
	lt->clone_regs = NULL;
	arch_enter_user_regs(&regs);
}

static long lx_clone_flags_check(uint64_t flags)
{
	if ((flags & CLONE_THREAD_NEEDS) != CLONE_THREAD_NEEDS)
		return -EINVAL;
	return flags & ~(uint64_t)CLONE_THREAD_MAY ? lx_fallback(-EINVAL) : 0;
}

/* clone(flags, stack, parent_tid, child_tid, tls): a thread, or a process (fork.c). */
long sys_clone(const uint64_t *a)
{
	uint64_t flags = a[0], stack = a[1], parent_tid = a[2], child_tid = a[3], tls = a[4];
	struct lx_thread *self = lx_current(), *child;
	struct lx_process *p = self->proc;
	long err, tid;

	if (!(flags & CLONE_THREAD))
		return lx_clone_process(a);
	err = lx_clone_flags_check(flags);

	if (err)
		return err;
	if (p->nr_threads >= LX_MAX_THREADS)
		return -EAGAIN;
	child = lx_thread_new(p, 0, self->t->base_prio, lx_clone_child);
	if (!child)
		return -EAGAIN;
	child->clone_regs = kmalloc(sizeof(*child->clone_regs));
	tid = child->clone_regs ? rcall(CRTOS_SHADOW_CLONE, (uint64_t)child->slot,
					p->chan->slot_page_gpa[child->slot / CRTOS_SLOTS_PER_PAGE],
					0, 0, 0, 0) : -ENOMEM;
	if (tid <= 0) {
		unsigned long irq = arch_irq_save();

		lx_thread_kill(child);
		arch_irq_restore(irq);
		return tid < 0 ? (tid == -ENOMEM ? -EAGAIN : tid) : -EAGAIN;
	}
	child->tid = child->t->tid = (int)tid;
	if (child->stats->state != CRTOS_THREAD_OTHERS)
		child->stats->tid = (int)tid;
	*child->clone_regs = *self->regs;
	child->clone_regs->rax = 0;
	if (stack)
		child->clone_regs->rsp = stack;
	if (flags & CLONE_SETTLS)
		arch_thread_set_tls(&child->t->arch, tls, false);
	else
		arch_thread_set_tls(&child->t->arch, arch_thread_get_tls(&self->t->arch, true), false);
	arch_thread_set_gs(&child->t->arch, arch_thread_get_gs(&self->t->arch, true), false);
	arch_thread_copy_fpu(&child->t->arch);
	child->sigmask = self->sigmask;
	if (flags & CLONE_CHILD_CLEARTID)
		child->clear_child_tid = child_tid;
	if (flags & CLONE_PARENT_SETTID)
		copy_to_user(parent_tid, &child->tid, sizeof(child->tid));
	if (flags & CLONE_CHILD_SETTID)
		copy_to_user(child_tid, &child->tid, sizeof(child->tid));
	if (self->policy & SCHED_RESET_ON_FORK)
		lx_set_sched(child, SCHED_NORMAL, 0);
	else
		lx_set_sched(child, self->policy, self->prio);
	child->nice = self->nice;
	sched_wake(child->t);
	sched_preempt();
	return tid;
}

long sys_exit(const uint64_t *a)
{
	lx_thread_exit((int)a[0]);
}

long sys_exit_group(const uint64_t *a)
{
	lx_process_exit(CRTOS_EXIT_CODE, (int)(a[0] & 0xff));
}

long sys_set_tid_address(const uint64_t *a)
{
	struct lx_thread *lt = lx_current();

	lt->clear_child_tid = a[0];
	return lt->tid;
}

long sys_set_robust_list(const uint64_t *a)
{
	if (a[1] != ROBUST_LIST_HEAD_SIZE)
		return -EINVAL;
	lx_current()->robust_list = a[0];
	return 0;
}

/* get_robust_list(tid, head_ptr, len_ptr): of this thread (0) or another of the process. */
long sys_get_robust_list(const uint64_t *a)
{
	struct lx_thread *lt = a[0] ? lx_find_tid(lx_current()->proc, (int)a[0]) : lx_current();
	uint64_t len = ROBUST_LIST_HEAD_SIZE;

	if (!lt)
		return -ESRCH;
	if (copy_to_user(a[1], &lt->robust_list, sizeof(lt->robust_list)) ||
	    copy_to_user(a[2], &len, sizeof(len)))
		return -EFAULT;
	return 0;
}
