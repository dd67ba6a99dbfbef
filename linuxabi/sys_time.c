// SPDX-License-Identifier: MIT
/*
 * Time, served in the RT realm from the TSC on Linux's clock base (the
 * VMM's clock page), and sleeps on the kernel's tickless timer. Sleeps are
 * interrupted by signals that end the process.
 */
#include <kernel/clock.h>
#include <kernel/timer.h>
#include <linuxabi/handlers.h>
#include <linuxabi/linux.h>
#include <linux/resource.h>
#include <linux/time.h>
#include <linux/times.h>

/* CPU time of the whole process: its threads, living and gone. */
static uint64_t lx_process_cpu_cycles(struct lx_process *p)
{
	unsigned long flags = arch_irq_save();
	uint64_t cycles = p->exited_cpu_cycles;
	struct lx_thread *lt;

	list_for_each_entry(lt, &p->threads, proc_node)
		cycles += thread_cpu_cycles(lt->t);
	arch_irq_restore(flags);
	return cycles;
}

/* Nanoseconds of clock clk now, or -EINVAL. */
int64_t lx_clock_now(uint64_t clk)
{
	struct lx_thread *lt = lx_current();

	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_TAI:
		return clock_realtime_ns();
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_MONOTONIC_COARSE:
		return (int64_t)clock_monotonic_ns();
	case CLOCK_BOOTTIME:
		return (int64_t)clock_boottime_ns();
	case CLOCK_PROCESS_CPUTIME_ID:
		return (int64_t)clock_cycles_to_ns(lx_process_cpu_cycles(lt->proc));
	case CLOCK_THREAD_CPUTIME_ID:
		return (int64_t)clock_cycles_to_ns(thread_cpu_cycles(lt->t));
	default:
		return -EINVAL;
	}
}

/* The TSC value at which clock clk (a wall or monotonic clock) reads abs_ns. */
uint64_t lx_clock_deadline(uint64_t clk, int64_t abs_ns)
{
	int64_t now = lx_clock_now(clk);
	uint64_t tsc = arch_read_tsc();

	return abs_ns <= now ? tsc : tsc + clock_ns_to_cycles((uint64_t)(abs_ns - now));
}

int lx_timeout_deadline(uint64_t uts, bool relative, uint64_t clk, uint64_t *deadline)
{
	struct __kernel_timespec ts;

	*deadline = 0;
	if (!uts)
		return 0;
	if (copy_from_user(&ts, uts, sizeof(ts)))
		return -EFAULT;
	if (!lx_ts_valid(&ts))
		return -EINVAL;
	if (relative)
		*deadline = arch_read_tsc() + clock_ns_to_cycles(lx_ts_ns(&ts));
	else
		*deadline = lx_clock_deadline(clk, (int64_t)lx_ts_ns(&ts));
	return 0;
}

long sys_clock_gettime(const uint64_t *a)
{
	int64_t ns = lx_clock_now(a[0]);
	struct __kernel_timespec ts;

	if (ns < 0 && ns == -EINVAL)
		return -EINVAL;
	ts = lx_ns_ts(ns);
	return copy_to_user(a[1], &ts, sizeof(ts));
}

long sys_clock_getres(const uint64_t *a)
{
	struct __kernel_timespec ts = { 0, 1 };

	if (lx_clock_now(a[0]) == -EINVAL)
		return -EINVAL;
	return a[1] ? copy_to_user(a[1], &ts, sizeof(ts)) : 0;
}

long sys_gettimeofday(const uint64_t *a)
{
	int64_t ns = clock_realtime_ns();
	struct { int64_t sec, usec; } tv = { ns / (int64_t)NSEC_PER_SEC,
					      (ns % (int64_t)NSEC_PER_SEC) / 1000 };
	struct { int32_t minuteswest, dsttime; } tz = { 0, 0 };

	if (a[0] && copy_to_user(a[0], &tv, sizeof(tv)))
		return -EFAULT;
	if (a[1] && copy_to_user(a[1], &tz, sizeof(tz)))
		return -EFAULT;
	return 0;
}

long sys_time(const uint64_t *a)
{
	int64_t secs = clock_realtime_ns() / (int64_t)NSEC_PER_SEC;

	if (a[0] && copy_to_user(a[0], &secs, sizeof(secs)))
		return -EFAULT;
	return secs;
}

/*
 * Sleep until clock clk reads abs_ns; on a signal, store what is left in
 * rem. Interrupted, an absolute sleep is restarted as it was and a relative
 * one by restart_syscall with the same deadline (as Linux, so that a stop
 * and SIGCONT do not lengthen it), unless a handler runs: then EINTR.
 */
static long lx_sleep(uint64_t clk, uint64_t abs_ns, bool relative_rem, uint64_t rem)
{
	int64_t now = lx_clock_now(clk);
	uint64_t deadline, left;
	struct __kernel_timespec ts;

	if (now < 0)
		return now;
	if ((int64_t)abs_ns <= now)
		return 0;
	deadline = arch_read_tsc() + clock_ns_to_cycles(abs_ns - (uint64_t)now);
	if (!timer_sleep_until(deadline))
		return 0;
	if (relative_rem && rem) {
		left = arch_read_tsc() < deadline ?
		       clock_cycles_to_ns(deadline - arch_read_tsc()) : 0;
		ts = lx_ns_ts((int64_t)left);
		if (copy_to_user(rem, &ts, sizeof(ts)))
			return -EFAULT;
	}
	if (!relative_rem)
		return -ERESTARTNOHAND;
	lx_current()->restart.clk = clk;
	lx_current()->restart.abs_ns = abs_ns;
	lx_current()->restart.rem = rem;
	return -ERESTART_RESTARTBLOCK;
}

/* restart_syscall: the relative sleep a signal without a handler interrupted goes on. */
long sys_restart_syscall(const uint64_t *a __unused)
{
	struct lx_thread *lt = lx_current();
	uint64_t abs_ns = lt->restart.abs_ns;

	if (!abs_ns)
		return -EINTR;	/* nothing to go on with, as Linux's do_no_restart_syscall */
	lt->restart.abs_ns = 0;
	return lx_sleep(lt->restart.clk, abs_ns, true, lt->restart.rem);
}

long sys_nanosleep(const uint64_t *a)
{
	struct __kernel_timespec req;

	if (copy_from_user(&req, a[0], sizeof(req)))
		return -EFAULT;
	if (!lx_ts_valid(&req))
		return -EINVAL;
	return lx_sleep(CLOCK_MONOTONIC, (uint64_t)lx_clock_now(CLOCK_MONOTONIC) + lx_ts_ns(&req),
			true, a[1]);
}

long sys_clock_nanosleep(const uint64_t *a)
{
	uint64_t clk = a[0], flags = a[1];
	struct __kernel_timespec req;
	int64_t now;

	if (clk == CLOCK_THREAD_CPUTIME_ID)
		return -EINVAL;
	if (copy_from_user(&req, a[2], sizeof(req)))
		return -EFAULT;
	if (!lx_ts_valid(&req))
		return -EINVAL;
	now = lx_clock_now(clk);
	if (now < 0)
		return -EINVAL;
	if (flags & TIMER_ABSTIME)
		return lx_sleep(clk, lx_ts_ns(&req), false, 0);
	return lx_sleep(clk, (uint64_t)now + lx_ts_ns(&req), true, a[3]);
}

static struct __kernel_old_timeval lx_ns_tv(uint64_t ns)
{
	return (struct __kernel_old_timeval){ (long)(ns / NSEC_PER_SEC),
					      (long)(ns % NSEC_PER_SEC / 1000) };
}

/*
 * getrusage: the realm's accounting of the process's (RUSAGE_SELF) or the
 * thread's (RUSAGE_THREAD) CPU time, all of it as user time (the realm does
 * not split it); the other fields, and a reaped child's times
 * (RUSAGE_CHILDREN), which the realm does not keep, are 0.
 */
long sys_getrusage(const uint64_t *a)
{
	struct lx_thread *lt = lx_current();
	struct rusage ru = { 0 };

	switch ((int)a[0]) {
	case RUSAGE_SELF:
		ru.ru_utime = lx_ns_tv(clock_cycles_to_ns(lx_process_cpu_cycles(lt->proc)));
		break;
	case RUSAGE_THREAD:
		ru.ru_utime = lx_ns_tv(clock_cycles_to_ns(thread_cpu_cycles(lt->t)));
		break;
	case RUSAGE_CHILDREN:
		break;
	default:
		return -EINVAL;
	}
	return copy_to_user(a[1], &ru, sizeof(ru));
}

#define LX_USER_HZ	100	/* clock_t ticks, as Linux's USER_HZ */

/* times: as getrusage's times, in clock ticks; returns the ticks since boot. */
long sys_times(const uint64_t *a)
{
	struct tms t = { 0 };
	uint64_t tick = NSEC_PER_SEC / LX_USER_HZ;

	t.tms_utime = (long)(clock_cycles_to_ns(lx_process_cpu_cycles(lx_current()->proc)) / tick);
	if (a[0] && copy_to_user(a[0], &t, sizeof(t)))
		return -EFAULT;
	return (long)(clock_boottime_ns() / tick);
}
