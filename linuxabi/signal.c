// SPDX-License-Identifier: MIT
/*
 * Signals inside the RT realm, with Linux's semantics.
 *
 * Generation (lx_signal_send): from the program (kill, tgkill, sigqueue,
 * raise), from the realm's timers, from faults, or from Linux through the
 * shadow's signal ring. A signal is discarded if it is ignored and not
 * blocked; a standard signal already pending is not queued twice; a real-
 * time signal is queued with its siginfo. A signal whose default action
 * kills, aimed where it is not blocked, kills the process at once (as
 * Linux's complete_signal). Otherwise a thread that can take it is
 * interrupted: its interruptible wait ends, and a remote call it waits for
 * is cut short in Linux.
 *
 * Delivery (lx_signal_deliver, on every return to user code): pending,
 * unblocked signals are taken lowest number first (synchronous faults
 * before anything else); ignored ones are dropped, default ones act, and a
 * handler gets an x86-64 rt_sigframe exactly like Linux's: the return
 * address (sa_restorer), a ucontext with the registers, mask and signal
 * stack, the siginfo, and the FPU/XSAVE state in the CPU's format. A system
 * call that was interrupted is restarted or fails with EINTR as Linux
 * decides (SA_RESTART and the ERESTART* codes). rt_sigreturn undoes it all.
 *
 * Job control (docs/architecture.md, "Stopping and continuing"): a process
 * is stopped exactly while its shadow is stopped in Linux. A stop signal at
 * its default action makes the thread that takes it ask its twin to stop
 * the shadow with it (CRTOS_SHADOW_STOP), a call that returns once Linux
 * continues the shadow; meanwhile the other threads park before user code.
 * SIGSTOP here always means that Linux stopped the shadow already (crtos
 * run or the parent's shadow saw it; a SIGSTOP or SIGCONT from the realm
 * goes to Linux), so its stop call only waits. SIGCONT discards pending
 * stop signals.
 *
 * Context: masked throughout (signals are touched from interrupts).
 */
#include <kernel/kmem.h>
#include <kernel/printk.h>
#include <kernel/string.h>
#include <linuxabi/linux.h>
#include <asm/sigcontext.h>
#include <asm/ucontext.h>
#include <asm-generic/signal-defs.h>
#include <linux/signal.h>
#include <asm/unistd_64.h>

#define LX_SIG_SYNCHRONOUS	(LX_SIGBIT(SIGSEGV) | LX_SIGBIT(SIGBUS) | LX_SIGBIT(SIGILL) | \
				 LX_SIGBIT(SIGTRAP) | LX_SIGBIT(SIGFPE) | LX_SIGBIT(SIGSYS))
#define LX_SIGQUEUE_MAX		1024	/* queued signals per process (RLIMIT_SIGPENDING-like) */
#define LX_REDZONE		128	/* the x86-64 ABI's red zone below rsp */
#define LX_SYSCALL_INSN_LEN	2	/* `syscall` */
/* RFLAGS bits a signal frame may change: CF PF AF ZF SF TF DF OF AC RF (Linux's FIX_EFLAGS). */
#define LX_RFLAGS_FIX		0x40dd5ull
#define LX_RFLAGS_RESET		(0x100ull | 0x400ull)	/* TF, DF: cleared for the handler */

/* The frame a handler finds on its stack (Linux's struct rt_sigframe, x86-64). */
struct lx_rt_sigframe {
	uint64_t pretcode;		/* sa_restorer: the handler returns there */
	struct ucontext uc;
	siginfo_t info;
	/* the FPU state follows, above, 64-byte aligned */
};

int lx_sig_default_kills(int sig)
{
	switch (sig) {
	case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH:
	case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return false;
	default:
		return true;
	}
}

bool lx_sig_stops(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* Whether sig does nothing under sa: ignored, or a default action that neither kills nor stops. */
bool lx_sig_ignored(const struct lx_sigaction *sa, int sig)
{
	return sa->handler == (uint64_t)SIG_IGN ||
	       (sa->handler == (uint64_t)SIG_DFL && !lx_sig_default_kills(sig) && !lx_sig_stops(sig));
}

/* Some thread of p blocks sig (or waits for it in sigtimedwait). */
static bool sig_blocked_somewhere(struct lx_process *p, int sig)
{
	struct lx_thread *lt;

	list_for_each_entry(lt, &p->threads, proc_node)
		if ((lt->sigmask | lt->sigwait_set) & LX_SIGBIT(sig))
			return true;
	return false;
}

/* Whether lt would take sig now: not blocked, or waited for. */
static bool sig_wanted_by(const struct lx_thread *lt, int sig)
{
	return !lt->exiting && (!(lt->sigmask & LX_SIGBIT(sig)) || (lt->sigwait_set & LX_SIGBIT(sig)));
}

void lx_signal_simple_info(siginfo_t *info, int sig, int code)
{
	memset(info, 0, sizeof(*info));
	info->si_signo = sig;
	info->si_code = code;
}

void lx_signal_flush(struct lx_sigpending *sp)
{
	while (!list_empty(&sp->queue)) {
		struct lx_sigqueue *q = list_first_entry(&sp->queue, struct lx_sigqueue, node);

		list_del(&q->node);
		if (q->timer)
			lx_ptimer_dequeued(q);
		else
			kfree(q);
	}
	sp->set = 0;
}

/* Recompute whether lt has something to act on (for its interruptible waits). Masked. */
void lx_signal_recalc(struct lx_thread *lt)
{
	uint64_t want = ~lt->sigmask | lt->sigwait_set;

	if (((lt->pending.set | lt->proc->shared_pending.set) & want) || lt->proc->state != LX_PROC_RUNNING)
		lt->t->interrupt_pending = true;
	else
		thread_clear_interrupt(lt->t);
}

bool lx_signal_deliverable(struct lx_thread *lt)
{
	return ((lt->pending.set | lt->proc->shared_pending.set) & ~lt->sigmask) != 0;
}

/* Make sure someone acts on sig, just made pending for target (or the process). */
static void sig_notify(struct lx_process *p, struct lx_thread *target, int sig)
{
	struct lx_sigaction *sa = &p->sigactions[sig];
	struct lx_thread *lt = target;

	if (sig == SIGKILL || (sa->handler == (uint64_t)SIG_DFL && lx_sig_default_kills(sig) &&
			       !(target ? (target->sigmask | target->sigwait_set) & LX_SIGBIT(sig) :
					  sig_blocked_somewhere(p, sig)))) {
		lx_process_kill(p, CRTOS_EXIT_SIGNAL, sig);
		return;
	}
	if (!lt) {
		/* Prefer the running thread (it acts on its way out), then any taker. */
		struct lx_thread *cur = lx_current();

		if (cur && cur->proc == p && sig_wanted_by(cur, sig)) {
			lt = cur;
		} else {
			list_for_each_entry(lt, &p->threads, proc_node)
				if (sig_wanted_by(lt, sig))
					break;
			if (&lt->proc_node == &p->threads)
				return;		/* everyone blocks it: it waits */
		}
	} else if (!sig_wanted_by(lt, sig)) {
		return;
	}
	thread_interrupt(lt->t, false);
	if (!(lt->sigwait_set & LX_SIGBIT(sig)))
		rcall_interrupt(lt);
}

int lx_signal_send_queued(struct lx_process *p, struct lx_thread *target, struct lx_sigqueue *q)
{
	int sig = q->info.si_signo;
	struct lx_sigpending *sp = target ? &target->pending : &p->shared_pending;
	unsigned long flags = arch_irq_save();

	if (p->state != LX_PROC_RUNNING || (lx_sig_ignored(&p->sigactions[sig], sig) &&
					    !(target ? target->sigmask & LX_SIGBIT(sig) :
						       sig_blocked_somewhere(p, sig)))) {
		arch_irq_restore(flags);
		return 1;	/* discarded */
	}
	list_add_tail(&sp->queue, &q->node);
	q->pending = sp;
	sp->set |= LX_SIGBIT(sig);
	sig_notify(p, target, sig);
	arch_irq_restore(flags);
	return 0;
}

int lx_signal_send(struct lx_process *p, struct lx_thread *target, const siginfo_t *info)
{
	int sig = info->si_signo;
	struct lx_sigpending *sp = target ? &target->pending : &p->shared_pending;
	struct lx_sigqueue *q;
	unsigned long flags;
	int err = 0;

	if (sig < 1 || sig > LX_NSIG)
		return -EINVAL;
	flags = arch_irq_save();
	if (sig == SIGCONT && p->state == LX_PROC_RUNNING)
		for (int stop = 1; stop <= SIGTTOU; stop++)
			if (lx_sig_stops(stop))
				lx_signal_discard(p, stop);
	if (p->state != LX_PROC_RUNNING || (sig < SIGRTMIN && (sp->set & LX_SIGBIT(sig))))
		goto out;	/* a standard signal is pending at most once */
	q = p->nr_queued < LX_SIGQUEUE_MAX ? kmalloc(sizeof(*q)) : NULL;
	if (!q) {
		/* Linux: a real-time signal from sigqueue fails; others go without their siginfo. */
		if (sig >= SIGRTMIN && info->si_code != SI_USER && info->si_code != SI_KERNEL) {
			err = -EAGAIN;
		} else if (!lx_sig_ignored(&p->sigactions[sig], sig)) {
			sp->set |= LX_SIGBIT(sig);
			sig_notify(p, target, sig);
		}
		goto out;
	}
	q->info = *info;
	q->timer = NULL;
	p->nr_queued++;
	if (lx_signal_send_queued(p, target, q)) {
		p->nr_queued--;
		kfree(q);
	}
out:
	arch_irq_restore(flags);
	return err;
}

/* Take sig's first entry off sp into info; false if sig is not pending there. */
static bool sigpending_take(struct lx_process *p, struct lx_sigpending *sp, int sig,
			    siginfo_t *info)
{
	struct lx_sigqueue *q, *found = NULL;
	bool more = false;

	if (!(sp->set & LX_SIGBIT(sig)))
		return false;
	list_for_each_entry(q, &sp->queue, node) {
		if (q->info.si_signo != sig)
			continue;
		if (found) {
			more = true;
			break;
		}
		found = q;
	}
	if (!more)
		sp->set &= ~LX_SIGBIT(sig);
	if (!found) {
		lx_signal_simple_info(info, sig, SI_USER);	/* queued without its siginfo */
		return true;
	}
	list_del(&found->node);
	if (found->timer) {
		lx_ptimer_dequeued(found);	/* fills in the overrun count */
		*info = found->info;
	} else {
		*info = found->info;
		kfree(found);
		p->nr_queued--;
	}
	return true;
}

/* Take q (queued) back before it is delivered (its timer is deleted). Masked. */
void lx_signal_unqueue(struct lx_sigqueue *q)
{
	struct lx_sigqueue *other;
	int sig = q->info.si_signo;

	list_del(&q->node);
	list_for_each_entry(other, &q->pending->queue, node)
		if (other->info.si_signo == sig)
			return;
	q->pending->set &= ~LX_SIGBIT(sig);
}

/* sig became ignored: POSIX discards it wherever it is pending. Masked. */
void lx_signal_discard(struct lx_process *p, int sig)
{
	struct lx_thread *lt;
	siginfo_t info;

	while (sigpending_take(p, &p->shared_pending, sig, &info))
		;
	list_for_each_entry(lt, &p->threads, proc_node)
		while (sigpending_take(p, &lt->pending, sig, &info))
			;
}

/* The signal to take next from set: a synchronous fault first, else the lowest. */
static int sig_next(uint64_t pending)
{
	uint64_t sync = pending & LX_SIG_SYNCHRONOUS;

	if (!pending)
		return 0;
	return __builtin_ctzll(sync ? sync : pending) + 1;
}

/* Dequeue the next signal of set pending for lt (its own first). 0 if none. Masked. */
int lx_signal_dequeue(struct lx_thread *lt, uint64_t set, siginfo_t *info)
{
	struct lx_process *p = lt->proc;
	int sig = sig_next(lt->pending.set & set);

	if (sig && sigpending_take(p, &lt->pending, sig, info))
		return sig;
	sig = sig_next(p->shared_pending.set & set);
	if (sig && sigpending_take(p, &p->shared_pending, sig, info))
		return sig;
	return 0;
}

/* Linux stopped p's shadow with SIGSTOP: p stops too, unless it waits for its shadow already. */
static void sig_stopped_by_linux(struct lx_process *p)
{
	siginfo_t info;

	if (p->stopping)
		return;
	lx_signal_simple_info(&info, SIGSTOP, SI_USER);
	lx_signal_send(p, NULL, &info);
}

/*
 * What a signal from p's shadow says besides itself (see the top): a
 * SIGSTOP (crtos run saw Linux stop the shadow) or a child's CLD_STOPPED
 * by SIGSTOP stops that process. Returns whether to deliver it: not a
 * SIGSTOP (acted on here), nor news of a child's stop or continuation when
 * the program's SIGCHLD action has SA_NOCLDSTOP. Masked.
 */
static bool sig_from_shadow(struct lx_process *p, const siginfo_t *info)
{
	struct lx_process *child;

	if (info->si_signo == SIGSTOP) {
		sig_stopped_by_linux(p);
		return false;
	}
	if (info->si_signo != SIGCHLD || (info->si_code != CLD_STOPPED && info->si_code != CLD_CONTINUED))
		return true;
	if (info->si_code == CLD_STOPPED && info->si_status == SIGSTOP && (child = lx_find_pid(info->si_pid)))
		sig_stopped_by_linux(child);
	return !(p->sigactions[SIGCHLD].flags & SA_NOCLDSTOP);
}

/* Signals Linux sent the shadow, from the ring (then the overflow bits). Masked. */
bool lx_signal_poll_shadow(struct lx_process *p)
{
	struct crtos_channel *c = p->chan;
	uint64_t bits;
	bool any = false;

	for (;;) {
		struct crtos_siginfo *e = &c->sigring[p->sig_tail % CRTOS_SIGRING];
		struct lx_thread *target;
		siginfo_t info;

		if (__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) != p->sig_tail + 1)
			break;
		lx_signal_simple_info(&info, READ_ONCE(e->signo), READ_ONCE(e->code));
		info.si_pid = READ_ONCE(e->pid);
		info.si_uid = READ_ONCE(e->uid);
		info.si_value.sival_ptr = (void *)(uintptr_t)READ_ONCE(e->value);
		target = e->tid ? lx_find_tid(p, READ_ONCE(e->tid)) : NULL;
		__atomic_store_n(&e->seq, p->sig_tail + CRTOS_SIGRING, __ATOMIC_RELEASE);
		p->sig_tail++;
		if (info.si_signo >= 1 && info.si_signo <= LX_NSIG && sig_from_shadow(p, &info))
			lx_signal_send(p, target, &info);
		any = true;
	}
	bits = READ_ONCE(c->signals) ? __atomic_exchange_n(&c->signals, 0, __ATOMIC_ACQ_REL) : 0;
	for (int sig = 1; bits; sig++) {
		siginfo_t info;

		if (!(bits & LX_SIGBIT(sig)))
			continue;
		bits &= ~LX_SIGBIT(sig);
		lx_signal_simple_info(&info, sig, SI_USER);
		if (sig_from_shadow(p, &info))
			lx_signal_send(p, NULL, &info);
		any = true;
	}
	return any;
}

/* Linux's sas_ss_flags(): where sp is relative to lt's alternate stack. */
static int altstack_flags(const struct lx_thread *lt, uint64_t sp)
{
	if (!lt->altstack.size)
		return SS_DISABLE;
	return sp > lt->altstack.sp && sp - lt->altstack.sp <= lt->altstack.size ? SS_ONSTACK : 0;
}

static void frame_save_regs(struct sigcontext *sc, const arch_regs_t *r)
{
	sc->r8 = r->r8; sc->r9 = r->r9; sc->r10 = r->r10; sc->r11 = r->r11;
	sc->r12 = r->r12; sc->r13 = r->r13; sc->r14 = r->r14; sc->r15 = r->r15;
	sc->rdi = r->rdi; sc->rsi = r->rsi; sc->rbp = r->rbp; sc->rbx = r->rbx;
	sc->rdx = r->rdx; sc->rax = r->rax; sc->rcx = r->rcx; sc->rsp = r->rsp;
	sc->rip = r->rip; sc->eflags = r->rflags;
	sc->cs = (uint16_t)r->cs;
	sc->ss = (uint16_t)r->ss;
}

static void frame_load_regs(arch_regs_t *r, const struct sigcontext *sc)
{
	r->r8 = sc->r8; r->r9 = sc->r9; r->r10 = sc->r10; r->r11 = sc->r11;
	r->r12 = sc->r12; r->r13 = sc->r13; r->r14 = sc->r14; r->r15 = sc->r15;
	r->rdi = sc->rdi; r->rsi = sc->rsi; r->rbp = sc->rbp; r->rbx = sc->rbx;
	r->rdx = sc->rdx; r->rax = sc->rax; r->rcx = sc->rcx; r->rsp = sc->rsp;
	r->rip = sc->rip;
	r->rflags = (r->rflags & ~LX_RFLAGS_FIX) | (sc->eflags & LX_RFLAGS_FIX);
}

/*
 * Build the rt_sigframe for sig on lt's stack (or its alternate stack) and
 * point regs at the handler. old_mask is the mask the handler's return
 * restores. 0, or -EFAULT if the stack cannot take it.
 */
static int frame_setup(struct lx_thread *lt, arch_regs_t *regs, int sig, const siginfo_t *info,
		       const struct lx_sigaction *sa, uint64_t old_mask)
{
	struct lx_rt_sigframe f;
	uint64_t sp = regs->rsp - LX_REDZONE, fpstate, frame;
	int onstack = altstack_flags(lt, regs->rsp);

	if (!(sa->flags & SA_RESTORER))
		return -EFAULT;		/* x86-64 Linux requires it; glibc and musl set it */
	if ((sa->flags & SA_ONSTACK) && onstack == 0)
		sp = lt->altstack.sp + lt->altstack.size;
	fpstate = ALIGN_DOWN(sp - arch_fpu_frame_size(), arch_fpu_frame_align());
	frame = ((fpstate - sizeof(f) + 8) & ~15ull) - 8;	/* rsp + 8 16-aligned at entry */

	memset(&f, 0, sizeof(f));
	f.pretcode = sa->restorer;
	f.uc.uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f.uc.uc_stack.ss_sp = (void *)(uintptr_t)lt->altstack.sp;
	f.uc.uc_stack.ss_size = lt->altstack.size;
	f.uc.uc_stack.ss_flags = onstack | (lt->altstack.flags & SS_AUTODISARM);
	frame_save_regs(&f.uc.uc_mcontext, regs);
	if (info->si_code > 0 && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
				  sig == SIGFPE || sig == SIGTRAP)) {
		f.uc.uc_mcontext.trapno = regs->vector;
		f.uc.uc_mcontext.err = regs->error_code;
		f.uc.uc_mcontext.cr2 = regs->cr2;
	}
	f.uc.uc_mcontext.oldmask = old_mask;
	f.uc.uc_mcontext.fpstate = (struct _fpstate *)(uintptr_t)fpstate;
	f.uc.uc_sigmask = old_mask;
	f.info = *info;
	if (arch_fpu_save_frame(fpstate) || copy_to_user(frame, &f, sizeof(f)))
		return -EFAULT;
	if ((sa->flags & SA_ONSTACK) && (lt->altstack.flags & SS_AUTODISARM) && onstack == 0) {
		lt->altstack.sp = lt->altstack.size = 0;
		lt->altstack.flags = SS_DISABLE;
	}
	regs->rsp = frame;
	regs->rip = sa->handler;
	regs->rdi = (uint64_t)sig;
	regs->rsi = frame + offsetof(struct lx_rt_sigframe, info);
	regs->rdx = frame + offsetof(struct lx_rt_sigframe, uc);
	regs->rax = 0;
	regs->rflags &= ~LX_RFLAGS_RESET;
	return 0;
}

/* The system call nr returned ret and a handler will run (handler) or not: restart it? */
static void syscall_restart(arch_regs_t *regs, long nr, bool handler, const struct lx_sigaction *sa)
{
	long ret = (long)regs->rax;
	bool restart;

	switch (ret) {
	case -ERESTARTNOHAND:
	case -ERESTART_RESTARTBLOCK:
		restart = !handler;
		break;
	case -ERESTARTSYS:
		restart = !handler || (sa->flags & SA_RESTART);
		break;
	case -ERESTARTNOINTR:
		restart = true;
		break;
	default:
		return;
	}
	if (restart) {
		/* Linux's restart_syscall: a sleep goes on to its first deadline (sys_time.c). */
		regs->rax = ret == -ERESTART_RESTARTBLOCK ? (uint64_t)__NR_restart_syscall : (uint64_t)nr;
		regs->rip -= LX_SYSCALL_INSN_LEN;
	} else {
		regs->rax = (uint64_t)-EINTR;
	}
}

/* Run the handler of sig (or not: its frame did not fit, which kills, as in Linux). */
static void sig_handle(struct lx_thread *lt, arch_regs_t *regs, int sig, const siginfo_t *info)
{
	struct lx_sigaction *sa = &lt->proc->sigactions[sig];
	struct lx_sigaction act = *sa;
	uint64_t old = lt->restore_sigmask ? lt->saved_sigmask : lt->sigmask;

	if (frame_setup(lt, regs, sig, info, &act, old)) {
		pr_info("process %d: no room for the signal %d frame at %#lx: killed by SIGSEGV\n",
			lt->proc->pid, sig, (unsigned long)regs->rsp);
		lx_process_exit(CRTOS_EXIT_SIGNAL, SIGSEGV);
	}
	lt->restore_sigmask = false;
	lt->sigmask |= act.mask | (act.flags & SA_NODEFER ? 0 : LX_SIGBIT(sig));
	lt->sigmask &= ~LX_SIG_UNBLOCKABLE;
	if (act.flags & SA_RESETHAND) {
		sa->handler = (uint64_t)SIG_DFL;
		sa->flags &= ~(uint64_t)SA_SIGINFO;
	}
}

/* Nothing to do on the way out: no signal anywhere, nothing to restore (the common case). */
static bool nothing_to_deliver(const struct lx_thread *lt)
{
	const struct lx_process *p = lt->proc;
	const struct crtos_channel *c = p->chan;

	return !lt->t->interrupt_pending && !lt->restore_sigmask && p->state == LX_PROC_RUNNING &&
	       !p->stopping &&
	       !((lt->pending.set | p->shared_pending.set) & ~lt->sigmask) &&
	       __atomic_load_n(&c->sigring[p->sig_tail % CRTOS_SIGRING].seq, __ATOMIC_ACQUIRE) !=
		       p->sig_tail + 1 &&
	       !READ_ONCE(c->signals);
}

/* Another thread stops the process: wait here, before user code, until it goes on. Masked. */
static void sig_park(struct lx_thread *lt)
{
	list_add_tail(&lt->proc->stop_parked, &lt->t->wait_node);
	sched_wait(0, WAIT_KILLABLE);
}

/*
 * Stop the process with sig until Linux continues its shadow: the twin
 * stops the shadow with sig (0: Linux stopped it already) and answers once
 * it runs again; the other threads park meanwhile. Masked; waits unmasked.
 */
static void sig_stop(struct lx_thread *lt, int sig)
{
	struct lx_process *p = lt->proc;

	p->stopping++;
	arch_irq_restore(0);
	rcall(CRTOS_SHADOW_STOP, (uint64_t)sig, 0, 0, 0, 0, 0);
	arch_irq_save();
	if (--p->stopping == 0)
		while (!list_empty(&p->stop_parked))
			sched_wake(list_first_entry(&p->stop_parked, struct thread, wait_node));
}

void lx_signal_deliver(arch_regs_t *regs)
{
	struct lx_thread *lt = lx_current();
	long nr;
	bool handled = false;

	if (!lt)
		return;
	if (nothing_to_deliver(lt)) {
		lt->syscall_nr = -1;
		return;
	}
	nr = lt->syscall_nr;
	lt->syscall_nr = -1;
	lx_signal_poll_shadow(lt->proc);
	for (;;) {
		struct lx_sigaction *sa;
		siginfo_t info;
		int sig;

		if (lt->proc->state != LX_PROC_RUNNING || lt->t->killed)
			lx_thread_exit(0);
		if (lt->proc->stopping) {
			sig_park(lt);
			continue;
		}
		sig = lx_signal_dequeue(lt, ~lt->sigmask, &info);
		if (!sig)
			break;
		sa = &lt->proc->sigactions[sig];
		if (sa->handler == (uint64_t)SIG_IGN)
			continue;
		if (sa->handler == (uint64_t)SIG_DFL) {
			if (lx_sig_default_kills(sig))
				lx_process_exit(CRTOS_EXIT_SIGNAL, sig);
			if (lx_sig_stops(sig)) {
				sig_stop(lt, sig == SIGSTOP ? 0 : sig);
				/* The SIGCONT that ended it is in the ring by now (the twin waited for it). */
				lx_signal_poll_shadow(lt->proc);
			}
			continue;
		}
		if (nr >= 0)
			syscall_restart(regs, nr, true, sa);
		nr = -1;
		sig_handle(lt, regs, sig, &info);
		handled = true;
	}
	if (nr >= 0)
		syscall_restart(regs, nr, false, NULL);
	if (lt->restore_sigmask && !handled) {
		lt->sigmask = lt->saved_sigmask;
		lt->restore_sigmask = false;
	}
	lx_signal_recalc(lt);
}

/* rt_sigreturn: back to where the handler interrupted, from the frame at rsp - 8. */
long lx_sigreturn(arch_regs_t *regs)
{
	struct lx_thread *lt = lx_current();
	uint64_t frame = regs->rsp - 8;
	struct ucontext uc;
	unsigned long flags;
	uint64_t fpstate;

	lt->syscall_nr = -1;	/* rax is the interrupted code's, not a result to restart */
	if (copy_from_user(&uc, frame + offsetof(struct lx_rt_sigframe, uc), sizeof(uc)))
		goto bad;
	frame_load_regs(regs, &uc.uc_mcontext);
	fpstate = (uint64_t)(uintptr_t)uc.uc_mcontext.fpstate;
	if (fpstate ? arch_fpu_restore_frame(fpstate) : 0)
		goto bad;
	flags = arch_irq_save();
	lt->sigmask = uc.uc_sigmask & ~LX_SIG_UNBLOCKABLE;
	if (altstack_flags(lt, regs->rsp) != SS_ONSTACK) {
		/* restore_altstack(): what was in place when the signal came */
		int ssflags = uc.uc_stack.ss_flags;

		if (ssflags & SS_DISABLE || !uc.uc_stack.ss_size) {
			lt->altstack.sp = lt->altstack.size = 0;
			lt->altstack.flags = SS_DISABLE;
		} else if (uc.uc_stack.ss_size >= MINSIGSTKSZ) {
			lt->altstack.sp = (uint64_t)(uintptr_t)uc.uc_stack.ss_sp;
			lt->altstack.size = uc.uc_stack.ss_size;
			lt->altstack.flags = ssflags & SS_AUTODISARM;
		}
	}
	lx_signal_recalc(lt);
	arch_irq_restore(flags);
	return (long)regs->rax;
bad:
	pr_info("process %d: bad signal frame at %#lx: killed by SIGSEGV\n", lt->proc->pid,
		(unsigned long)frame);
	lx_process_exit(CRTOS_EXIT_SIGNAL, SIGSEGV);
}
