// SPDX-License-Identifier: MIT
/*
 * Signal system calls, served in the RT realm (signal.c has the model).
 * Dispositions and masks live here, never in the shadow, whose own
 * handlers (which forward Linux's signals to the realm) must not change.
 * kill() and friends aimed at RT processes stay in the realm; aimed at
 * Linux processes (or process groups) they go to the shadow, and Linux
 * brings back whatever reaches an RT process's shadow. SIGSTOP and SIGCONT
 * always go to Linux: a process is stopped while its shadow is (signal.c).
 */
#include <kernel/clock.h>
#include <kernel/string.h>
#include <linuxabi/handlers.h>
#include <linuxabi/linux.h>
#include <asm-generic/signal-defs.h>
#include <linux/signal.h>
#include <linux/time_types.h>
#include <asm/unistd_64.h>


static long sigset_size_ok(uint64_t size)
{
	return size == LX_SIGSET_SIZE ? 0 : -EINVAL;
}

long sys_rt_sigaction(const uint64_t *a)
{
	struct lx_process *p = lx_current()->proc;
	uint64_t sig = a[0];
	struct lx_sigaction act;
	unsigned long flags;

	if (sigset_size_ok(a[3]) || sig < 1 || sig > LX_NSIG)
		return -EINVAL;
	if (a[1] && (sig == SIGKILL || sig == SIGSTOP))
		return -EINVAL;
	if (a[1] && copy_from_user(&act, a[1], sizeof(act)))
		return -EFAULT;
	if (a[2] && copy_to_user(a[2], &p->sigactions[sig], sizeof(act)))
		return -EFAULT;
	if (!a[1])
		return 0;
	act.mask &= ~LX_SIG_UNBLOCKABLE;
	flags = arch_irq_save();
	p->sigactions[sig] = act;
	/* POSIX: making a signal ignored discards it where it is pending. */
	if (lx_sig_ignored(&act, (int)sig))
		lx_signal_discard(p, (int)sig);
	arch_irq_restore(flags);
	if (sig == SIGCHLD)
		lx_sigchld_sync(p);
	else
		lx_shadow_ignore_sync(p, (int)sig);
	return 0;
}

/*
 * The shadow ignores a signal exactly when the program does (SIG_IGN): one
 * it was started with ignored (a shell starts background jobs with SIGINT
 * ignored) must reach the program once it sets a handler or the default,
 * and one the program ignores should not wake it. Signals the shadow never
 * forwards are refused there (-EINVAL) and stay as they are. May block.
 */
void lx_shadow_ignore_sync(struct lx_process *p, int sig)
{
	bool ignore = p->sigactions[sig].handler == (uint64_t)SIG_IGN;
	uint32_t bit = 1u << sig;

	if (sig >= 32 || sig == SIGCONT || ignore == !!(p->shadow_ignored & bit))
		return;
	if (!rcall(CRTOS_SHADOW_SIGNAL_IGNORE, (uint64_t)sig, ignore, 0, 0, 0, 0))
		p->shadow_ignored ^= bit;
}

/*
 * Children are reaped without a wait exactly when the program's SIGCHLD
 * action says so (SIG_IGN, or SA_NOCLDWAIT): the children's shadows are
 * Linux's, so the shadow's own action must say the same. May block.
 */
void lx_sigchld_sync(struct lx_process *p)
{
	const struct lx_sigaction *sa = &p->sigactions[SIGCHLD];
	bool on = sa->handler == (uint64_t)SIG_IGN || (sa->flags & SA_NOCLDWAIT);

	if (on != p->sigchld_autoreap && !rcall(CRTOS_SHADOW_SIGCHLD, on, 0, 0, 0, 0, 0))
		p->sigchld_autoreap = on;
}

long sys_rt_sigprocmask(const uint64_t *a)
{
	struct lx_thread *lt = lx_current();
	uint64_t set, old = lt->sigmask, mask = lt->sigmask;
	unsigned long flags;

	if (sigset_size_ok(a[3]))
		return -EINVAL;
	if (a[1]) {
		if (copy_from_user(&set, a[1], sizeof(set)))
			return -EFAULT;
		switch (a[0]) {
		case SIG_BLOCK:
			mask |= set;
			break;
		case SIG_UNBLOCK:
			mask &= ~set;
			break;
		case SIG_SETMASK:
			mask = set;
			break;
		default:
			return -EINVAL;
		}
	}
	if (a[2] && copy_to_user(a[2], &old, sizeof(old)))
		return -EFAULT;
	flags = arch_irq_save();
	lt->sigmask = mask & ~LX_SIG_UNBLOCKABLE;
	lx_signal_recalc(lt);		/* newly unblocked signals are delivered on return */
	arch_irq_restore(flags);
	return 0;
}

long sys_rt_sigpending(const uint64_t *a)
{
	struct lx_thread *lt = lx_current();
	uint64_t set;

	if (a[1] > LX_SIGSET_SIZE)
		return -EINVAL;
	set = (lt->pending.set | lt->proc->shared_pending.set) & lt->sigmask;
	return copy_to_user(a[0], &set, a[1]);
}

/* Wait, with mask in force, until a signal is delivered. */
static long sig_suspend(uint64_t mask)
{
	struct lx_thread *lt = lx_current();
	unsigned long flags = arch_irq_save();

	lt->saved_sigmask = lt->sigmask;
	lt->restore_sigmask = true;
	lt->sigmask = mask & ~LX_SIG_UNBLOCKABLE;
	lx_signal_recalc(lt);
	while (sched_wait(0, WAIT_INTERRUPTIBLE) != -EINTR)
		;
	arch_irq_restore(flags);
	return -ERESTARTNOHAND;
}

long sys_rt_sigsuspend(const uint64_t *a)
{
	uint64_t mask;

	if (sigset_size_ok(a[1]))
		return -EINVAL;
	if (copy_from_user(&mask, a[0], sizeof(mask)))
		return -EFAULT;
	return sig_suspend(mask);
}

long sys_pause(const uint64_t *a __unused)
{
	return sig_suspend(lx_current()->sigmask);
}

/* rt_sigtimedwait(set, info, timeout, sigsetsize) */
long sys_rt_sigtimedwait(const uint64_t *a)
{
	struct lx_thread *lt = lx_current();
	uint64_t set, deadline;
	unsigned long flags;
	siginfo_t info;
	int sig = 0, err = 0;

	if (sigset_size_ok(a[3]))
		return -EINVAL;
	if (copy_from_user(&set, a[0], sizeof(set)))
		return -EFAULT;
	set &= ~LX_SIG_UNBLOCKABLE;
	err = lx_timeout_deadline(a[2], true, CLOCK_MONOTONIC, &deadline);
	if (err)
		return err;
	flags = arch_irq_save();
	lt->sigwait_set = set;
	for (;;) {
		sig = lx_signal_dequeue(lt, set, &info);
		if (sig || err == -ETIMEDOUT || lx_signal_deliverable(lt) || lt->t->killed)
			break;
		lx_signal_recalc(lt);
		err = sched_wait(deadline, WAIT_INTERRUPTIBLE);
	}
	lt->sigwait_set = 0;
	lx_signal_recalc(lt);
	arch_irq_restore(flags);
	if (!sig)
		return err == -ETIMEDOUT ? -EAGAIN : -EINTR;
	if (a[1] && copy_to_user(a[1], &info, sizeof(info)))
		return -EFAULT;
	return sig;
}

long sys_rt_sigreturn(const uint64_t *a __unused)
{
	return lx_sigreturn(lx_current()->regs);
}

long sys_sigaltstack(const uint64_t *a)
{
	struct lx_thread *lt = lx_current();
	struct lx_altstack *as = &lt->altstack;
	uint64_t sp = arch_regs_sp(lt->regs);
	bool on = as->size && sp > as->sp && sp - as->sp <= as->size;
	stack_t old = {
		.ss_sp = (void *)(uintptr_t)as->sp, .ss_size = as->size,
		.ss_flags = (as->size ? (on ? SS_ONSTACK : 0) : SS_DISABLE) | (as->flags & SS_AUTODISARM),
	}, ss;

	if (a[0]) {
		if (copy_from_user(&ss, a[0], sizeof(ss)))
			return -EFAULT;
		if (on)
			return -EPERM;
		if ((ss.ss_flags & ~SS_FLAG_BITS) != SS_DISABLE && (ss.ss_flags & ~SS_FLAG_BITS) != SS_ONSTACK &&
		    (ss.ss_flags & ~SS_FLAG_BITS) != 0)
			return -EINVAL;
		if ((ss.ss_flags & ~SS_FLAG_BITS) == SS_DISABLE) {
			as->sp = as->size = 0;
			as->flags = SS_DISABLE;
		} else {
			if (ss.ss_size < MINSIGSTKSZ)
				return -ENOMEM;
			as->sp = (uint64_t)(uintptr_t)ss.ss_sp;
			as->size = ss.ss_size;
			as->flags = ss.ss_flags & SS_FLAG_BITS;
		}
	}
	if (a[1] && copy_to_user(a[1], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

/* siginfo for kill() and tgkill() from the current process. */
static void sig_user_info(siginfo_t *info, int sig, int code)
{
	struct lx_process *p = lx_current()->proc;

	lx_signal_simple_info(info, sig, code);
	info->si_pid = p->pid;
	info->si_uid = (uint32_t)p->euid;
}

static long sig_check(uint64_t sig)
{
	return sig > LX_NSIG ? -EINVAL : 0;
}

/* Signals that act on the shadow in Linux first, wherever they are aimed. */
static bool sig_via_linux(uint64_t sig)
{
	return sig == SIGSTOP || sig == SIGCONT;
}

long sys_kill(const uint64_t *a)
{
	int pid = (int)a[0], sig = (int)a[1];
	unsigned long flags;
	struct lx_process *p;
	siginfo_t info;
	long ret = -ESRCH;

	if (sig_check(a[1]))
		return -EINVAL;
	/* Process groups and everything: Linux decides who they are. */
	if (pid <= 0 || sig_via_linux(a[1]))
		return rcall(__NR_kill, a[0], a[1], 0, 0, 0, 0);
	flags = arch_irq_save();
	p = lx_find_pid(pid);
	if (p) {
		sig_user_info(&info, sig, SI_USER);
		ret = sig ? lx_signal_send(p, NULL, &info) : 0;
	}
	arch_irq_restore(flags);
	/* A stopped shadow would not end until continued: Linux's SIGKILL ends it at once. */
	if (p && sig == SIGKILL && p != lx_current()->proc)
		rcall(__NR_kill, a[0], a[1], 0, 0, 0, 0);
	return p ? ret : rcall(__NR_kill, a[0], a[1], 0, 0, 0, 0);
}

/* A signal for one RT thread: tgid (or -1 for any process) and tid. -ESRCH if not ours. */
static long sig_to_thread(int tgid, int tid, int sig, const siginfo_t *info)
{
	unsigned long flags = arch_irq_save();
	struct lx_thread *lt = lx_find_thread(tid);
	long ret = -ESRCH;

	if (lt && (tgid < 0 || lt->proc->pid == tgid))
		ret = sig ? lx_signal_send(lt->proc, lt, info) : 0;
	arch_irq_restore(flags);
	return ret;
}

long sys_tgkill(const uint64_t *a)
{
	siginfo_t info;
	long ret;

	if (sig_check(a[2]) || (int)a[0] <= 0 || (int)a[1] <= 0)
		return -EINVAL;
	if (sig_via_linux(a[2]))
		return rcall(__NR_tgkill, a[0], a[1], a[2], 0, 0, 0);
	sig_user_info(&info, (int)a[2], SI_TKILL);
	ret = sig_to_thread((int)a[0], (int)a[1], (int)a[2], &info);
	return ret == -ESRCH && !lx_find_pid((int)a[0]) ?
	       rcall(__NR_tgkill, a[0], a[1], a[2], 0, 0, 0) : ret;
}

long sys_tkill(const uint64_t *a)
{
	siginfo_t info;
	long ret;

	if (sig_check(a[1]) || (int)a[0] <= 0)
		return -EINVAL;
	if (sig_via_linux(a[1]))
		return rcall(__NR_tkill, a[0], a[1], 0, 0, 0, 0);
	sig_user_info(&info, (int)a[1], SI_TKILL);
	ret = sig_to_thread(-1, (int)a[0], (int)a[1], &info);
	return ret == -ESRCH ? rcall(__NR_tkill, a[0], a[1], 0, 0, 0, 0) : ret;
}

/* The caller's siginfo for sigqueue: only the kernel may claim kernel codes (or tkill). */
static long sig_queue_info(uint64_t uinfo, int sig, int target_pid, siginfo_t *info)
{
	if (copy_from_user(info, uinfo, sizeof(*info)))
		return -EFAULT;
	if ((info->si_code >= 0 || info->si_code == SI_TKILL) &&
	    target_pid != lx_current()->proc->pid)
		return -EPERM;
	info->si_signo = sig;
	return 0;
}

long sys_rt_sigqueueinfo(const uint64_t *a)
{
	int pid = (int)a[0], sig = (int)a[1];
	struct lx_process *p;
	unsigned long flags;
	siginfo_t info;
	long ret;

	if (sig_check(a[1]))
		return -EINVAL;
	if (sig_via_linux(a[1]))
		return rcall(__NR_rt_sigqueueinfo, a[0], a[1], a[2], 0, 0, 0);
	ret = sig_queue_info(a[2], sig, pid, &info);
	if (ret)
		return ret;
	flags = arch_irq_save();
	p = lx_find_pid(pid);
	ret = p ? (sig ? lx_signal_send(p, NULL, &info) : 0) : -ESRCH;
	arch_irq_restore(flags);
	return p ? ret : rcall(__NR_rt_sigqueueinfo, a[0], a[1], a[2], 0, 0, 0);
}

long sys_rt_tgsigqueueinfo(const uint64_t *a)
{
	siginfo_t info;
	long ret;

	if (sig_check(a[2]))
		return -EINVAL;
	if (sig_via_linux(a[2]))
		return rcall(__NR_rt_tgsigqueueinfo, a[0], a[1], a[2], a[3], 0, 0);
	ret = sig_queue_info(a[3], (int)a[2], (int)a[0], &info);
	if (ret)
		return ret;
	ret = sig_to_thread((int)a[0], (int)a[1], (int)a[2], &info);
	return ret == -ESRCH && !lx_find_pid((int)a[0]) ?
	       rcall(__NR_rt_tgsigqueueinfo, a[0], a[1], a[2], a[3], 0, 0) : ret;
}
