// SPDX-License-Identifier: MIT
/*
 * Waiting on fds: poll and the calls that take a signal mask for the
 * duration of the wait (ppoll, pselect6, epoll_pwait, epoll_pwait2). Sets
 * with RT fds are polled by the RT fd layer (rtfd.c); Linux fds are waited on by
 * the caller's twin, without the mask (the twin's mask is its own): the
 * realm applies the mask to the RT thread instead, and a signal it lets
 * through cuts the twin's wait short (rcall_interrupt).
 */
#include <kernel/clock.h>
#include <linuxabi/handlers.h>
#include <linuxabi/linux.h>
#include <linuxabi/rtfd.h>
#include <linux/time.h>
#include <linux/time_types.h>
#include <asm/unistd_64.h>


/* Put the mask at umask in force for a wait (none if umask is 0). 1: swapped, 0: none, -errno. */
static int sigmask_enter(uint64_t umask, uint64_t size)
{
	struct lx_thread *lt = lx_current();
	unsigned long flags;
	uint64_t mask;

	if (!umask)
		return 0;
	if (size != LX_SIGSET_SIZE)
		return -EINVAL;
	if (copy_from_user(&mask, umask, sizeof(mask)))
		return -EFAULT;
	flags = arch_irq_save();
	lt->saved_sigmask = lt->sigmask;
	lt->restore_sigmask = true;
	lt->sigmask = mask & ~LX_SIG_UNBLOCKABLE;
	lx_signal_recalc(lt);
	arch_irq_restore(flags);
	return 1;
}

/*
 * The wait is over with ret. If a signal interrupted it, its handler's
 * frame will carry the old mask (signal.c); otherwise restore it now.
 */
static long sigmask_leave(long ret, int swapped)
{
	struct lx_thread *lt = lx_current();
	unsigned long flags;

	if (swapped != 1)
		return ret;
	flags = arch_irq_save();
	if ((ret != -EINTR && ret != -ERESTARTNOHAND) || !lx_signal_deliverable(lt)) {
		lt->sigmask = lt->saved_sigmask;
		lt->restore_sigmask = false;
		lx_signal_recalc(lt);
	}
	arch_irq_restore(flags);
	return ret;
}

/* TSC deadline of a relative timeout in ms (negative: none). */
static uint64_t ms_deadline(int64_t ms)
{
	if (ms < 0)
		return 0;
	return arch_read_tsc() + clock_ns_to_cycles((uint64_t)ms * NSEC_PER_MSEC) + !ms;
}

long sys_poll(const uint64_t *a)
{
	bool ours;
	long ret = lx_rtfd_poll(a[0], a[1], ms_deadline((int)a[2]), &ours);

	return ours ? ret : lx_rcall_restartable(__NR_poll, a);
}

/* ppoll(fds, nfds, tsp, sigmask, sigsetsize) */
long sys_ppoll(const uint64_t *a)
{
	const uint64_t remote[6] = { a[0], a[1], a[2], 0, LX_SIGSET_SIZE, 0 };
	uint64_t deadline;
	bool ours;
	long ret;
	int swapped;

	ret = lx_timeout_deadline(a[2], true, CLOCK_MONOTONIC, &deadline);
	if (ret)
		return ret;
	swapped = sigmask_enter(a[3], a[4]);
	if (swapped < 0)
		return swapped;
	ret = lx_rtfd_poll(a[0], a[1], deadline, &ours);
	if (!ours)
		ret = lx_rcall_restartable(__NR_ppoll, remote);
	return sigmask_leave(ret, swapped);
}

/* pselect6(nfds, readfds, writefds, exceptfds, timeout, {sigmask, size}) */
long sys_pselect6(const uint64_t *a)
{
	uint64_t remote[6] = { a[0], a[1], a[2], a[3], a[4], 0 };
	struct { uint64_t mask, size; } sig = { 0, 0 };
	long ret;
	int swapped;

	if (a[5] && copy_from_user(&sig, a[5], sizeof(sig)))
		return -EFAULT;
	if (lx_rtfd_count(lx_current()->proc) && lx_select_has_rtfd(lx_current()->proc, a[0], a + 1))
		return -EINVAL;		/* Linux cannot watch RT fds */
	swapped = sigmask_enter(sig.mask, sig.size);
	if (swapped < 0)
		return swapped;
	ret = lx_rcall_restartable(__NR_pselect6, remote);
	return sigmask_leave(ret, swapped);
}

/* epoll_pwait(epfd, events, maxevents, timeout, sigmask, sigsetsize) and epoll_pwait2 */
static long epoll_pwait_common(long nr, const uint64_t *a)
{
	const uint64_t remote[6] = { a[0], a[1], a[2], a[3], 0, LX_SIGSET_SIZE };
	long ret;
	int swapped = sigmask_enter(a[4], a[5]);

	if (swapped < 0)
		return swapped;
	ret = lx_rcall_restartable(nr, remote);
	return sigmask_leave(ret, swapped);
}

long sys_epoll_pwait(const uint64_t *a)
{
	return epoll_pwait_common(__NR_epoll_pwait, a);
}

long sys_epoll_pwait2(const uint64_t *a)
{
	return epoll_pwait_common(__NR_epoll_pwait2, a);
}
