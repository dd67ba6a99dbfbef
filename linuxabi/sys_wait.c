// SPDX-License-Identifier: MIT
/*
 * Waiting on fds: poll, select and the calls that take a signal mask for
 * the duration of the wait (ppoll, pselect6, epoll_pwait, epoll_pwait2).
 * Sets with RT fds are waited on by the RT fd layer (rtfd_wait.c); Linux fds by
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

uint64_t lx_ms_deadline(int64_t ms)
{
	if (ms < 0)
		return 0;
	return arch_read_tsc() + clock_ns_to_cycles((uint64_t)ms * NSEC_PER_MSEC) + !ms;
}

long sys_poll(const uint64_t *a)
{
	bool ours;
	long ret = lx_rtfd_poll(a[0], a[1], lx_ms_deadline((int)a[2]), &ours);

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

/* select's timeval as Linux takes it (microseconds beyond a second carry over): a TSC deadline. */
static int timeval_deadline(uint64_t utv, uint64_t *deadline)
{
	struct __kernel_old_timeval tv;
	struct __kernel_timespec ts;

	*deadline = 0;
	if (!utv)
		return 0;
	if (copy_from_user(&tv, utv, sizeof(tv)))
		return -EFAULT;
	ts.tv_sec = tv.tv_sec + tv.tv_usec / (long)(NSEC_PER_SEC / NSEC_PER_USEC);
	ts.tv_nsec = tv.tv_usec % (long)(NSEC_PER_SEC / NSEC_PER_USEC) * (long)NSEC_PER_USEC;
	if (!lx_ts_valid(&ts))
		return -EINVAL;
	*deadline = arch_read_tsc() + clock_ns_to_cycles(lx_ts_ns(&ts));
	return 0;
}

/*
 * select and pselect6 served here write the time left back to the user's
 * timeout, as Linux does (not after a zero timeout), so that a restart
 * waits only for the rest. timeval: select's struct, else a timespec.
 */
static long select_time_left(long ret, uint64_t ut, uint64_t deadline, bool timeval)
{
	uint64_t now = arch_read_tsc();
	struct __kernel_timespec left = lx_ns_ts(deadline > now ? clock_cycles_to_ns(deadline - now) : 0);
	struct __kernel_old_timeval tv = { left.tv_sec, left.tv_nsec / (long)NSEC_PER_USEC };
	uint64_t given[2];

	if (!ut || copy_from_user(given, ut, sizeof(given)) || !(given[0] | given[1]))
		return ret;
	if (timeval ? copy_to_user(ut, &tv, sizeof(tv)) : copy_to_user(ut, &left, sizeof(left)))
		return ret < 0 ? ret : -EFAULT;
	return ret;
}

/* select(nfds, readfds, writefds, exceptfds, timeval) */
long sys_select(const uint64_t *a)
{
	const uint64_t sets[3] = { a[1], a[2], a[3] };
	uint64_t deadline;
	bool ours;
	long ret = timeval_deadline(a[4], &deadline);

	if (ret)
		return ret;
	ret = lx_rtfd_select(a[0], sets, deadline, &ours);
	return ours ? select_time_left(ret, a[4], deadline, true) : lx_rcall_restartable(__NR_select, a);
}

/* pselect6(nfds, readfds, writefds, exceptfds, timeout, {sigmask, size}) */
long sys_pselect6(const uint64_t *a)
{
	const uint64_t remote[6] = { a[0], a[1], a[2], a[3], a[4], 0 };
	const uint64_t sets[3] = { a[1], a[2], a[3] };
	struct { uint64_t mask, size; } sig = { 0, 0 };
	uint64_t deadline;
	bool ours;
	long ret;
	int swapped;

	if (a[5] && copy_from_user(&sig, a[5], sizeof(sig)))
		return -EFAULT;
	ret = lx_timeout_deadline(a[4], true, CLOCK_MONOTONIC, &deadline);
	if (ret)
		return ret;
	swapped = sigmask_enter(sig.mask, sig.size);
	if (swapped < 0)
		return swapped;
	ret = lx_rtfd_select(a[0], sets, deadline, &ours);
	if (ours)
		ret = select_time_left(ret, a[4], deadline, false);
	else
		ret = lx_rcall_restartable(__NR_pselect6, remote);
	return sigmask_leave(ret, swapped);
}

/*
 * epoll_pwait(epfd, events, maxevents, timeout, sigmask, sigsetsize) and
 * epoll_pwait2 (timeout: a timespec, or NULL), with deadline from either.
 */
static long epoll_pwait_common(long nr, const uint64_t *a, uint64_t deadline)
{
	const uint64_t remote[6] = { a[0], a[1], a[2], a[3], 0, LX_SIGSET_SIZE };
	bool ours;
	long ret;
	int swapped = sigmask_enter(a[4], a[5]);

	if (swapped < 0)
		return swapped;
	ret = lx_rtfd_epoll_wait(a[0], a[1], a[2], deadline, &ours);
	if (!ours)
		ret = lx_rcall_restartable(nr, remote);
	return sigmask_leave(ret, swapped);
}

long sys_epoll_pwait(const uint64_t *a)
{
	return epoll_pwait_common(__NR_epoll_pwait, a, lx_ms_deadline((int)a[3]));
}

long sys_epoll_pwait2(const uint64_t *a)
{
	uint64_t deadline;
	long err = lx_timeout_deadline(a[3], true, CLOCK_MONOTONIC, &deadline);

	return err ?: epoll_pwait_common(__NR_epoll_pwait2, a, deadline);
}
