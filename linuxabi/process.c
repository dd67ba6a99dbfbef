// SPDX-License-Identifier: MIT
/*
 * RT processes: created empty when the VMM asks (CRTOS_CTL_SPAWN), started
 * when the shadow has filled in its exec request, ended by exit_group(), by
 * the exit of its last thread or by a fatal signal, and freed only when the
 * VMM says the shadow is gone (CRTOS_CTL_REAP): until then the shadow may
 * still be finishing a remote call that writes into the process's memory,
 * so that memory must not be reused.
 */
#include <kernel/clock.h>
#include <kernel/kernel.h>
#include <kernel/kmem.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <kernel/printk.h>
#include <kernel/string.h>
#include <kernel/timer.h>
#include <kernel/trace.h>
#include <linuxabi/linux.h>
#include <linuxabi/rtfd.h>
#include <crtos/mmio.h>

#define CHANNEL_ORDER	5		/* 128 KiB */

static struct list_node lx_processes = LIST_INIT(lx_processes);
static uint64_t lx_index_used[CRTOS_MAX_PROCESSES / 64];

static int lx_index_alloc(void)
{
	for (unsigned int i = 0; i < CRTOS_MAX_PROCESSES; i++) {
		if (!(lx_index_used[i / 64] & (1ull << (i % 64)))) {
			lx_index_used[i / 64] |= 1ull << (i % 64);
			return (int)i;
		}
	}
	return -EAGAIN;
}

static void lx_index_free(unsigned int i)
{
	lx_index_used[i / 64] &= ~(1ull << (i % 64));
}

struct lx_process *lx_find_index(unsigned int index)
{
	struct lx_process *p;

	list_for_each_entry(p, &lx_processes, link)
		if (p->index == index)
			return p;
	return NULL;
}

/* The running RT process with this pid, or NULL. Masked. */
struct lx_process *lx_find_pid(int pid)
{
	struct lx_process *p;

	list_for_each_entry(p, &lx_processes, link)
		if (p->pid == pid && p->state == LX_PROC_RUNNING)
			return p;
	return NULL;
}

/* A thread of any running RT process, by tid. Masked. */
struct lx_thread *lx_find_thread(int tid)
{
	struct lx_process *p;
	struct lx_thread *lt;

	list_for_each_entry(p, &lx_processes, link)
		if (p->state == LX_PROC_RUNNING && (lt = lx_find_tid(p, tid)))
			return lt;
	return NULL;
}

/* CRTOS_CTL_SPAWN: an empty process and its channel. The lx-ctl thread. */
int lx_process_spawn(uint64_t *chan_gpa, unsigned int *index)
{
	_Static_assert(CRTOS_CHANNEL_SIZE == PAGE_SIZE << CHANNEL_ORDER, "channel order");
	struct lx_process *p = kzalloc(sizeof(*p));
	int idx = lx_index_alloc();
	paddr_t chan = pmm_alloc(CHANNEL_ORDER);
	unsigned long flags;

	if (!p || idx < 0 || chan == PADDR_INVALID || aspace_init(&p->as))
		goto err;
	aspace_share(&p->as, kernel_aspace(), kernel_window_base(), CRTOS_KERNEL_WINDOW);
	p->magic = LX_PROCESS_MAGIC;
	p->index = (unsigned int)idx;
	p->chan_pa = chan;
	p->chan = arch_phys_to_virt(chan);
	memset(p->chan, 0, CRTOS_CHANNEL_SIZE);
	p->chan->magic = CRTOS_CHANNEL_MAGIC;
	p->chan->abi_version = CRTOS_ABI_VERSION;
	p->chan->size = CRTOS_CHANNEL_SIZE;
	p->chan->doorbell = (uint32_t)idx + 1;
	p->chan->doorbell_index = (uint32_t)idx;
	for (uint32_t i = 0; i < CRTOS_SIGRING; i++)
		p->chan->sigring[i].seq = i;
	p->stats = (struct crtos_stats *)((uint8_t *)p->chan + CRTOS_CHANNEL_STATS);
	list_init(&p->vmas);
	list_init(&p->threads);
	list_init(&p->ptimers);
	list_init(&p->shared_pending.queue);
	list_init(&p->stop_parked);
	kmutex_init(&p->mm_lock);
	flags = arch_irq_save();	/* interrupts look processes up */
	list_add_tail(&lx_processes, &p->link);
	arch_irq_restore(flags);
	*chan_gpa = chan;
	*index = (unsigned int)idx;
	return 0;
err:
	if (p && p->as.root)
		aspace_destroy(&p->as);
	if (chan != PADDR_INVALID)
		pmm_free(chan, CHANNEL_ORDER);
	if (idx >= 0)
		lx_index_free((unsigned int)idx);
	kfree(p);
	return -ENOMEM;
}

/* The main thread: load the program, then become it. */
static void lx_main_thread(void *arg)
{
	struct lx_thread *lt = arg;
	struct lx_process *p = lt->proc;
	uint64_t entry, sp;
	char why[200];
	int err;

	why[0] = '\0';
	err = lx_exec(p, false, NULL, &entry, &sp, why, sizeof(why));
	if (err) {
		strlcpy(p->chan->exit_msg, why, sizeof(p->chan->exit_msg));
		lx_process_exit(CRTOS_EXIT_EXEC_FAILED, err);
	}
	rcall(CRTOS_SHADOW_EXEC_DONE, 1, 0, 0, 0, 0, 0);
	__atomic_store_n(&p->chan->state, CRTOS_CHAN_RUNNING, __ATOMIC_RELEASE);
	arch_enter_user(entry, sp);
}

/* The exec request's signal state: inherited ignored signals stay ignored, as across execve. */
static void lx_process_inherit_signals(struct lx_process *p)
{
	uint32_t ignored = READ_ONCE(p->chan->exec.ignored_signals);

	for (int sig = 1; sig < 32; sig++)
		if (ignored & (1u << sig) && sig != SIGKILL && sig != SIGSTOP)
			p->sigactions[sig].handler = 1;	/* SIG_IGN */
	p->sigchld_autoreap = p->sigactions[SIGCHLD].handler == 1;	/* the shadow's too */
	p->shadow_ignored = ignored;	/* as the shadow found them (install_forwarding) */
}

/* The shadow asked for exec: start the main thread. The lx-ctl thread, masked. */
static void lx_process_start(struct lx_process *p)
{
	int32_t pid = READ_ONCE(p->chan->pid);
	int prio = READ_ONCE(p->chan->exec.prio);
	struct lx_thread *lt;

	p->pid = pid;
	p->state = LX_PROC_RUNNING;
	p->euid = READ_ONCE(p->chan->exec.euid);
	p->rtprio_limit = READ_ONCE(p->chan->exec.rtprio_limit);
	p->nr_private_fds = MIN(READ_ONCE(p->chan->exec.nr_private_fds), ARRAY_SIZE(p->private_fds));
	for (unsigned int i = 0; i < p->nr_private_fds; i++)
		p->private_fds[i] = READ_ONCE(p->chan->exec.private_fds[i]);
	lx_process_inherit_signals(p);
	if (prio < 0 || prio >= PRIO_LEVELS)
		prio = 0;
	lt = lx_thread_new(p, pid, prio, lx_main_thread);
	if (!lt) {
		strlcpy(p->chan->exit_msg, "out of memory", sizeof(p->chan->exit_msg));
		p->chan->exit_kind = CRTOS_EXIT_EXEC_FAILED;
		p->chan->exit_value = -ENOMEM;
		p->state = LX_PROC_ZOMBIE;
		__atomic_store_n(&p->chan->state, CRTOS_CHAN_EXITED, __ATOMIC_RELEASE);
		return;
	}
	lx_set_sched(lt, prio ? SCHED_FIFO : SCHED_NORMAL, prio);
	sched_wake(lt->t);
}

/*
 * End process p with (kind, value) and tell the shadow, from any context
 * (masked or not). Its threads end as soon as they run: waits that can be
 * cut short are; threads in remote calls stay until the reap.
 */
void lx_process_kill(struct lx_process *p, int kind, int value)
{
	const struct crtos_boot_params *bp = kernel_boot_params();
	unsigned long flags = arch_irq_save();
	struct lx_thread *lt;

	if (p->state == LX_PROC_ZOMBIE) {
		arch_irq_restore(flags);
		return;
	}
	p->state = LX_PROC_ZOMBIE;
	p->exit_kind = kind;
	p->exit_value = value;
	lx_vfork_release(p);
	lx_timers_destroy(p);
	lx_rtfd_destroy(p);
	list_for_each_entry(lt, &p->threads, proc_node) {
		/* The shadow reads the statistics as soon as it sees EXITED: final values now. */
		lx_thread_stats_close(lt);
		if (lt->t != thread_current())
			thread_interrupt(lt->t, true);
	}
	p->chan->exit_kind = (uint32_t)kind;
	p->chan->exit_value = value;
	__atomic_store_n(&p->chan->state, CRTOS_CHAN_EXITED, __ATOMIC_RELEASE);
	*(volatile uint64_t *)arch_phys_to_virt(bp->mmio_gpa + CRTOS_MMIO_DOORBELL(p->index)) =
		p->chan->doorbell;
	arch_irq_restore(flags);
}

/* End the current thread's process with (kind, value). Never returns. */
_Noreturn void lx_process_exit(int kind, int value)
{
	lx_process_kill(lx_current()->proc, kind, value);
	lx_thread_exit(0);
}

/*
 * Give p's killed threads a moment to end by themselves (each unwinds what
 * it was doing and frees what it allocated); the rest are killed where
 * they stand. Masked; waits unmasked.
 */
static void lx_process_wait_threads(struct lx_process *p, unsigned long *flags)
{
	uint64_t start = arch_read_tsc(), limit = clock_ns_to_cycles(100 * NSEC_PER_MSEC);

	/* A parent still copying itself into p (its shadow died meanwhile) is done in ms. */
	while ((!list_empty(&p->threads) || p->forking) && arch_read_tsc() - start < limit) {
		arch_irq_restore(*flags);
		timer_sleep_until(arch_read_tsc() + clock_ns_to_cycles(NSEC_PER_MSEC));
		*flags = arch_irq_save();
	}
}

/*
 * CRTOS_CTL_REAP: the shadow is gone; free the process. The lx-ctl thread.
 * The process leaves every list masked (interrupts look processes up);
 * its memory is freed after that, preemptible.
 */
int lx_process_reap(unsigned int index)
{
	struct lx_process *p;
	struct lx_thread *lt, *tmp;
	unsigned long flags;

	trace_dump();
	flags = arch_irq_save();
	p = lx_find_index(index);
	if (!p) {
		arch_irq_restore(flags);
		return -ESRCH;
	}
	lx_process_kill(p, CRTOS_EXIT_SIGNAL, SIGKILL);
	lx_process_wait_threads(p, &flags);
	lx_timers_destroy(p);
	lx_rtfd_destroy(p);
	list_for_each_entry_safe(lt, tmp, &p->threads, proc_node)
		lx_thread_kill(lt);
	lx_signal_flush(&p->shared_pending);
	lx_mm_give_borrowers(p);
	list_del(&p->link);
	lx_index_free(p->index);
	arch_irq_restore(flags);
	sched_forget_aspace(&p->as);
	lx_mm_destroy(p);
	lx_shm_reap(index);
	aspace_destroy(&p->as);
	lx_slot_pages_free(p);
	pmm_free(p->chan_pa, CHANNEL_ORDER);
	p->magic = 0;
	kfree(p);
	/* What the leak tests compare: the heap's empty slabs count as free (kmem.h). */
	pr_debug("process %u reaped: %lu KiB free, %lu heap objects, %u shared slots\n", index,
		 (unsigned long)(pmm_free_pages() + kmem_cached_pages()) * (PAGE_SIZE / 1024),
		 (unsigned long)kmem_live_objects(), lx_shm_in_use());
	return 0;
}

/* A vfork child that still runs in p's memory, or NULL. Masked. */
struct lx_process *lx_find_borrower(struct lx_process *p)
{
	struct lx_process *c;

	list_for_each_entry(c, &lx_processes, link)
		if (c->vfork_mm == p)
			return c;
	return NULL;
}

/* Thread t is gone: no process may wake it from vfork any more. Masked. */
void lx_vfork_forget(struct thread *t)
{
	struct lx_process *p;

	list_for_each_entry(p, &lx_processes, link)
		if (p->vfork_parent == t)
			p->vfork_parent = NULL;
}

/* Signals from every running process's shadow. Masked, any context. */
bool lx_process_poll_signals(void)
{
	struct lx_process *p;
	bool any = false;

	list_for_each_entry(p, &lx_processes, link)
		if (p->state == LX_PROC_RUNNING)
			any |= lx_signal_poll_shadow(p);
	return any;
}

static bool lx_exec_requested(const struct lx_process *p)
{
	return p->state == LX_PROC_NEW &&
	       __atomic_load_n(&p->chan->state, __ATOMIC_ACQUIRE) == CRTOS_CHAN_EXEC_REQUESTED;
}

/* Whether a shadow asked for exec. Any context, masked. */
bool lx_process_start_pending(void)
{
	struct lx_process *p;

	list_for_each_entry(p, &lx_processes, link)
		if (lx_exec_requested(p))
			return true;
	return false;
}

/* Start the processes whose shadows asked for exec. The lx-ctl thread. */
void lx_process_start_requested(void)
{
	unsigned long flags = arch_irq_save();
	struct lx_process *p;

	list_for_each_entry(p, &lx_processes, link)
		if (lx_exec_requested(p))
			lx_process_start(p);
	arch_irq_restore(flags);
}
