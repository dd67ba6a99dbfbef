// SPDX-License-Identifier: MIT
/*
 * RT processes: created empty when the VMM asks (CRTOS_CTL_SPAWN), started
 * when the shadow has filled in its exec request, ended by exit_group() or
 * a fatal signal, and freed only when the VMM says the shadow is gone
 * (CRTOS_CTL_REAP): until then the shadow may still be finishing a remote
 * call that writes into the process's memory, so that memory must not be
 * reused.
 *
 * Signals (for now): the shadow forwards the signals Linux sends it; the
 * kernel applies ignored and default dispositions. Handlers in the program
 * are not run yet.
 */
#include <kernel/kernel.h>
#include <kernel/kmem.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <kernel/printk.h>
#include <kernel/string.h>
#include <kernel/timer.h>
#include <linuxabi/linux.h>
#include <crtos/mmio.h>
#include <asm-generic/signal.h>

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

static struct lx_process *lx_find(unsigned int index)
{
	struct lx_process *p;

	list_for_each_entry(p, &lx_processes, link)
		if (p->index == index)
			return p;
	return NULL;
}

/* CRTOS_CTL_SPAWN: an empty process and its channel. Idle thread. */
int lx_process_spawn(uint64_t *chan_gpa, unsigned int *index)
{
	_Static_assert(CRTOS_CHANNEL_SIZE == PAGE_SIZE << CHANNEL_ORDER, "channel order");
	struct lx_process *p = kzalloc(sizeof(*p));
	int idx = lx_index_alloc();
	paddr_t chan = pmm_alloc(CHANNEL_ORDER);

	if (!p || idx < 0 || chan == PADDR_INVALID || aspace_init(&p->as))
		goto err;
	aspace_share(&p->as, kernel_aspace(), CRTOS_KERNEL_BASE, CRTOS_KERNEL_WINDOW);
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
	list_init(&p->vmas);
	list_init(&p->threads);
	list_add_tail(&lx_processes, &p->link);
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

static struct lx_thread *lx_thread_new(struct lx_process *p, int tid, int prio,
				       void (*fn)(void *))
{
	struct lx_thread *lt = kzalloc(sizeof(*lt));
	int slot = __builtin_ffs((int)~p->slots_used) - 1;

	if (!lt || slot < 0 || slot >= CRTOS_CHANNEL_SLOTS)
		goto err;
	lt->t = thread_create("user", prio, fn, lt, true);
	if (!lt->t)
		goto err;
	lt->t->owner = lt;
	lt->t->as = &p->as;
	lt->t->tid = tid;
	lt->proc = p;
	lt->tid = tid;
	lt->slot = slot;
	list_init(&lt->rwait_node);
	p->slots_used |= 1u << slot;
	list_add_tail(&p->threads, &lt->proc_node);
	p->nr_threads++;
	return lt;
err:
	kfree(lt);
	return NULL;
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
	err = lx_exec(p, &entry, &sp, why, sizeof(why));
	if (err) {
		strlcpy(p->chan->exit_msg, why, sizeof(p->chan->exit_msg));
		lx_process_exit(CRTOS_EXIT_EXEC_FAILED, err);
	}
	rcall(CRTOS_SHADOW_EXEC_DONE, 0, 0, 0, 0, 0, 0);
	__atomic_store_n(&p->chan->state, CRTOS_CHAN_RUNNING, __ATOMIC_RELEASE);
	arch_enter_user(entry, sp);
}

/* The shadow asked for exec: start the main thread. Idle thread. */
static void lx_process_start(struct lx_process *p)
{
	int32_t pid = READ_ONCE(p->chan->pid);
	int prio = READ_ONCE(p->chan->exec.prio);
	struct lx_thread *lt;

	p->pid = pid;
	p->state = LX_PROC_RUNNING;
	p->nr_private_fds = MIN(READ_ONCE(p->chan->exec.nr_private_fds), ARRAY_SIZE(p->private_fds));
	for (unsigned int i = 0; i < p->nr_private_fds; i++)
		p->private_fds[i] = READ_ONCE(p->chan->exec.private_fds[i]);
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
	sched_wake(lt->t);
}

/*
 * End the current thread's process with (kind, value) and tell the shadow.
 * The other threads stop at their next kernel entry. Never returns.
 */
_Noreturn void lx_process_exit(int kind, int value)
{
	struct lx_thread *lt = lx_current();
	struct lx_process *p = lt->proc;
	const struct crtos_boot_params *bp = kernel_boot_params();

	if (p->state != LX_PROC_ZOMBIE) {
		p->state = LX_PROC_ZOMBIE;
		p->exit_kind = kind;
		p->exit_value = value;
		p->chan->exit_kind = (uint32_t)kind;
		p->chan->exit_value = value;
		__atomic_store_n(&p->chan->state, CRTOS_CHAN_EXITED, __ATOMIC_RELEASE);
		*(volatile uint64_t *)arch_phys_to_virt(bp->mmio_gpa + CRTOS_MMIO_DOORBELL(p->index)) =
			p->chan->doorbell;
	}
	arch_irq_save();
	list_del(&lt->proc_node);
	p->nr_threads--;
	p->slots_used &= ~(1u << lt->slot);
	lt->t->owner = NULL;
	kfree(lt);
	thread_exit();
}

/* Stop a thread of a dead process that is not running. Masked. */
static void lx_thread_kill(struct lx_thread *lt)
{
	rcall_forget(lt);
	thread_kill(lt->t);
	list_del(&lt->proc_node);
	lt->proc->nr_threads--;
	kfree(lt);
}

/* CRTOS_CTL_REAP: the shadow is gone; free the process. Idle thread. */
int lx_process_reap(unsigned int index)
{
	struct lx_process *p = lx_find(index);
	struct lx_thread *lt, *tmp;
	unsigned long flags;

	if (!p)
		return -ESRCH;
	flags = arch_irq_save();
	list_for_each_entry_safe(lt, tmp, &p->threads, proc_node)
		lx_thread_kill(lt);
	arch_irq_restore(flags);
	sched_forget_aspace(&p->as);
	lx_mm_destroy(p);
	aspace_destroy(&p->as);
	pmm_free(p->chan_pa, CHANNEL_ORDER);
	list_del(&p->link);
	lx_index_free(p->index);
	p->magic = 0;
	kfree(p);
	return 0;
}

/* The default action of sig is to terminate the process (with or without core). */
static bool lx_sig_default_kills(int sig)
{
	switch (sig) {
	case SIGCHLD:
	case SIGCONT:
	case SIGURG:
	case SIGWINCH:
	case SIGSTOP:
	case SIGTSTP:
	case SIGTTIN:
	case SIGTTOU:
		return false;
	default:
		return true;
	}
}

/* A signal the current thread must act on now: the first fatal one, or 0. */
static int lx_fatal_signal(struct lx_thread *lt)
{
	struct lx_process *p = lt->proc;
	uint32_t pending = READ_ONCE(p->chan->signals);

	for (int sig = 1; sig < 32; sig++) {
		struct lx_sigaction *sa = &p->sigactions[sig];

		if (!(pending & (1u << sig)))
			continue;
		if (sig == SIGKILL || (sa->handler == 0 /* SIG_DFL */ && lx_sig_default_kills(sig)))
			return sig;
		if (sa->handler == 1 /* SIG_IGN */ || sa->handler == 0)
			__atomic_fetch_and(&p->chan->signals, ~(1u << sig), __ATOMIC_RELAXED);
	}
	return 0;
}

bool lx_signal_pending(struct lx_thread *lt)
{
	return lt && lx_fatal_signal(lt) != 0;
}

/* On the way back to user code: act on fatal signals. */
void lx_signal_check(void)
{
	struct lx_thread *lt = lx_current();
	int sig;

	if (!lt || lt->proc->state == LX_PROC_ZOMBIE) {
		if (lt)
			lx_process_exit(lt->proc->exit_kind, lt->proc->exit_value);
		return;
	}
	sig = lx_fatal_signal(lt);
	if (sig)
		lx_process_exit(CRTOS_EXIT_SIGNAL, sig);
}

/* A fatal signal is pending: wake the process's sleeping threads to act on it. Masked. */
static bool lx_signal_interrupt(struct lx_process *p)
{
	struct lx_thread *lt;
	bool woke = false;

	list_for_each_entry(lt, &p->threads, proc_node) {
		if (lt->t->sleep && lx_fatal_signal(lt)) {
			timer_interrupt(lt->t);
			woke = true;
		}
	}
	return woke;
}

/* New exec requests and forwarded signals. Idle thread, masked. */
bool lx_process_poll(void)
{
	struct lx_process *p;
	bool busy = false;

	list_for_each_entry(p, &lx_processes, link) {
		if (p->state == LX_PROC_NEW &&
		    __atomic_load_n(&p->chan->state, __ATOMIC_ACQUIRE) == CRTOS_CHAN_EXEC_REQUESTED) {
			lx_process_start(p);
			busy = true;
		}
		if (p->state == LX_PROC_RUNNING && READ_ONCE(p->chan->signals))
			busy |= lx_signal_interrupt(p);
	}
	return busy;
}
