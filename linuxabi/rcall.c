// SPDX-License-Identifier: MIT
/*
 * Remote system calls: the calling RT thread writes its slot in the
 * channel, rings its process's doorbell (an ioeventfd: ~3 us, no VM exit)
 * unless its twin is spinning on the slot, and blocks; other RT threads run
 * meanwhile. The idle loop polls the slots
 * of blocked callers (a shared-memory load each); when the kernel may not be
 * polling (it is about to halt, or other threads keep it busy) the slot's
 * wake flag asks the shadow to kick it with an interrupt.
 *
 * The slot protocol is in crtos/channel.h; the shadow side is
 * tools/shadow/shadow.c.
 */
#include <kernel/clock.h>
#include <kernel/kernel.h>
#include <kernel/trace.h>
#include <linuxabi/linux.h>
#include <crtos/mmio.h>

#define RCALL_SPIN_NS	(200 * NSEC_PER_USEC)

static struct list_node rcall_waiters = LIST_INIT(rcall_waiters);

/* Ring lt's process's doorbell for lt's slot: its rung bit first, for the dispatcher. */
static void rcall_ring(struct lx_thread *lt)
{
	const struct crtos_boot_params *bp = kernel_boot_params();
	struct lx_process *p = lt->proc;
	volatile uint64_t *bell = arch_phys_to_virt(bp->mmio_gpa + CRTOS_MMIO_DOORBELL(p->index));

	__atomic_fetch_or(&p->chan->rung[lt->slot / 64], 1ull << (lt->slot % 64), __ATOMIC_SEQ_CST);
	*bell = p->chan->doorbell;
}

static bool rcall_done(const struct crtos_rcall *s)
{
	return __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == CRTOS_RCALL_DONE;
}

/*
 * While no other thread wants the CPU, wait for the answer right here: a
 * load per iteration, no context switch. Bounded, then the caller blocks
 * and the idle loop (or a kick) takes over.
 */
static void rcall_spin(const struct lx_thread *lt, const struct crtos_rcall *s)
{
	uint64_t start = arch_read_tsc(), limit = clock_ns_to_cycles(RCALL_SPIN_NS);

	while (!rcall_done(s) && !sched_need_resched() && !READ_ONCE(lt->rcall_cut) &&
	       arch_read_tsc() - start < limit)
		arch_cpu_relax();
}

/*
 * Execute nr with args in the shadow, on behalf of the current thread; the
 * shadow's result (or -errno) is returned unchanged. Blocks. May be called
 * before the thread first enters user mode (exec uses it).
 */
long rcall_regs(long nr, const uint64_t args[6])
{
	struct lx_thread *lt = lx_current();
	struct crtos_rcall *s = lt->rc;
	unsigned long flags;
	long ret;

	/* The process is ending: its shadow may be gone, nobody would answer. */
	if (lt->proc->state == LX_PROC_ZOMBIE || thread_current()->killed)
		return -EINTR;
	s->nr = nr;
	for (int i = 0; i < 6; i++)
		s->args[i] = args[i];
	s->prio = thread_current()->prio;
	s->tid = lt->tid;
	s->sigmask = lt->sigmask;
	s->wake = 0;
	s->interrupt = 0;
	__atomic_store_n(&s->state, CRTOS_RCALL_REQUEST, __ATOMIC_SEQ_CST);
	if (READ_ONCE(lt->rcall_cut))	/* cut short before it began (rtfd.c's mixed poll) */
		__atomic_store_n(&s->interrupt, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&s->polling, __ATOMIC_SEQ_CST))
		rcall_ring(lt);
	lt->stats->remote_calls++;
	trace(TRACE_RCALL, nr, 0);
	if (nr >= 0 && nr < CRTOS_STATS_SYSCALLS)
		lt->proc->stats->remote_by_nr[nr]++;
	rcall_spin(lt, s);

	flags = arch_irq_save();
	while (!rcall_done(s)) {
		if (thread_current()->killed) {
			/* The process ends: do not wait for a shadow that may be gone. */
			arch_irq_restore(flags);
			return -EINTR;
		}
		list_add_tail(&rcall_waiters, &lt->rwait_node);
		/* A signal (or an RT fd change) came while we spun: it needs the call cut short. */
		if (thread_current()->interrupt_pending || READ_ONCE(lt->rcall_cut))
			rcall_interrupt(lt);
		/* Other ready threads (of any priority) keep the idle loop from polling: ask for a kick. */
		if (sched_others_ready()) {
			__atomic_store_n(&s->wake, 1, __ATOMIC_SEQ_CST);
			if (rcall_done(s)) {
				list_del(&lt->rwait_node);
				break;
			}
		}
		sched_wait(0, WAIT_KILLABLE);
		rcall_forget(lt);	/* still queued if a kill woke us */
	}
	arch_irq_restore(flags);
	ret = s->ret;
	trace(TRACE_RCALL, nr, 1);
	__atomic_store_n(&s->state, CRTOS_RCALL_FREE, __ATOMIC_RELAXED);
	return ret;
}

long rcall(long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	const uint64_t args[6] = { a0, a1, a2, a3, a4, a5 };

	return rcall_regs(nr, args);
}

static struct crtos_rcall *waiter_slot(struct lx_thread *lt)
{
	return lt->rc;
}

/* Wake the callers whose calls completed. Masked. Returns whether it woke any. */
bool rcall_poll(void)
{
	struct lx_thread *lt, *tmp;
	bool woke = false;

	list_for_each_entry_safe(lt, tmp, &rcall_waiters, rwait_node) {
		if (rcall_done(waiter_slot(lt))) {
			list_del(&lt->rwait_node);
			sched_wake(lt->t);
			woke = true;
		}
	}
	return woke;
}

/* The kernel is about to halt: every pending caller needs a kick. Masked. */
void rcall_set_wake_all(void)
{
	struct lx_thread *lt;

	list_for_each_entry(lt, &rcall_waiters, rwait_node)
		__atomic_store_n(&waiter_slot(lt)->wake, 1, __ATOMIC_SEQ_CST);
}

/*
 * A signal must run a handler in lt, which waits for a remote call: ask the
 * shadow to cut the call short (it fails with EINTR if it blocks in Linux;
 * a call that completes anyway completes). Masked.
 */
void rcall_interrupt(struct lx_thread *lt)
{
	struct crtos_rcall *s = waiter_slot(lt);

	if (list_empty(&lt->rwait_node) || __atomic_load_n(&s->interrupt, __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&s->interrupt, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&s->wake, 1, __ATOMIC_SEQ_CST);
	rcall_ring(lt);
}

/* Forget a waiter that will never be woken (its process is being torn down). Masked. */
void rcall_forget(struct lx_thread *lt)
{
	if (!list_empty(&lt->rwait_node))
		list_del(&lt->rwait_node);
}
