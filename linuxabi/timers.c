// SPDX-License-Identifier: MIT
/*
 * Timers of RT processes, on the kernel's tickless timer list: POSIX timers
 * (timer_create with SIGEV_SIGNAL, SIGEV_THREAD_ID or SIGEV_NONE), the
 * ITIMER_REAL interval timer (setitimer, alarm), and the time arithmetic
 * timerfds (rtfd_timerfd.c) share.
 *
 * A timer that expires while its signal is still pending counts an
 * overrun instead of queuing another (each timer owns its one queue entry,
 * so expiring never allocates). Periodic timers advance by whole periods:
 * expirations missed while the CPU was busy are overruns, as in Linux.
 * Expiry runs in the timer interrupt or the idle loop, masked.
 */
#include <kernel/clock.h>
#include <kernel/kmem.h>
#include <kernel/printk.h>
#include <kernel/string.h>
#include <linuxabi/handlers.h>
#include <linuxabi/linux.h>
#include <linux/fcntl.h>
#include <linux/time.h>
#include <linux/time_types.h>
#include <asm/unistd_64.h>

#define LX_ITIMER_ID		(-1)	/* the ITIMER_REAL timer among the POSIX ones */
#define LX_TIMERS_MAX		256	/* POSIX timers per process */

struct lx_ptimer {
	struct timer tm;
	struct lx_process *proc;
	int id;				/* timer_create's id, or LX_ITIMER_ID */
	uint64_t clock;			/* CLOCK_* it was created on */
	uint64_t interval;		/* period in TSC cycles, 0: one-shot */
	uint64_t interval_ns;		/* the period as set (reported back exactly) */
	int notify;			/* SIGEV_SIGNAL, SIGEV_NONE, SIGEV_SIGNAL | SIGEV_THREAD_ID */
	int tid;			/* SIGEV_THREAD_ID's target */
	struct lx_sigqueue q;		/* its signal, queued at most once */
	bool queued;
	int overrun;			/* expirations since its signal was queued */
	int overrun_last;		/* timer_getoverrun(): the count the last delivery carried */
	struct list_node node;		/* in proc->ptimers */
};

/* ---- time conversions ---- */

bool lx_timer_clock_ok(uint64_t clk)
{
	return clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC || clk == CLOCK_BOOTTIME ||
	       clk == CLOCK_REALTIME_ALARM || clk == CLOCK_BOOTTIME_ALARM;
}

/* Whether clk is a CPU-time clock: CLOCK_{PROCESS,THREAD}_CPUTIME_ID or a pid's or tid's (< 0). */
static bool lx_cpu_clock(uint64_t clk)
{
	return clk == CLOCK_PROCESS_CPUTIME_ID || clk == CLOCK_THREAD_CPUTIME_ID || (int32_t)clk < 0;
}

/* The alarm clocks are their base clocks here: the machine never suspends under us. */
static uint64_t clock_base(uint64_t clk)
{
	return clk == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME :
	       clk == CLOCK_BOOTTIME_ALARM ? CLOCK_BOOTTIME : clk;
}

/* The TSC deadline of an it_value (relative, or absolute on clk). */
uint64_t lx_timer_deadline(uint64_t clk, const struct __kernel_timespec *v, bool absolute)
{
	if (absolute)
		return lx_clock_deadline(clock_base(clk), (int64_t)lx_ts_ns(v));
	return arch_read_tsc() + clock_ns_to_cycles(lx_ts_ns(v));
}

/* What is left until deadline (0 if disarmed), and the interval, as an itimerspec. */
struct __kernel_itimerspec lx_timer_spec(const struct timer *tm, uint64_t interval_ns)
{
	struct __kernel_itimerspec its = { .it_interval = lx_ns_ts(interval_ns) };
	uint64_t now = arch_read_tsc();

	if (timer_armed(tm))
		its.it_value = lx_ns_ts(tm->deadline > now ? clock_cycles_to_ns(tm->deadline - now) : 1);
	return its;
}

/* A periodic timer fired late: advance past now, return the whole periods it missed. */
int lx_timer_advance(struct timer *tm, uint64_t interval)
{
	uint64_t now = arch_read_tsc(), next = tm->deadline + interval, missed = 0;

	if (next <= now) {
		missed = (now - next) / interval + 1;
		next += missed * interval;
	}
	timer_arm(tm, next);
	return missed > INT32_MAX ? INT32_MAX : (int)missed;
}

/* ---- POSIX timers and the itimer ---- */

static void ptimer_fire(struct timer *tm)
{
	struct lx_ptimer *pt = container_of(tm, struct lx_ptimer, tm);
	int missed = pt->interval ? lx_timer_advance(tm, pt->interval) : 0;
	struct lx_thread *target = NULL;

	if (pt->notify == SIGEV_NONE)
		return;
	if (pt->queued) {
		pt->overrun += 1 + missed;
		return;
	}
	pt->overrun = missed;
	if (pt->notify & SIGEV_THREAD_ID) {
		target = lx_find_tid(pt->proc, pt->tid);
		if (!target)
			return;
	}
	pt->queued = true;
	if (lx_signal_send_queued(pt->proc, target, &pt->q))
		pt->queued = false;	/* ignored: discarded */
}

void lx_ptimer_dequeued(struct lx_sigqueue *q)
{
	struct lx_ptimer *pt = q->timer;

	pt->queued = false;
	pt->overrun_last = pt->overrun;
	pt->overrun = 0;
	if (pt->id != LX_ITIMER_ID)
		q->info.si_overrun = pt->overrun_last;
}

static struct lx_ptimer *ptimer_find(struct lx_process *p, int id)
{
	struct lx_ptimer *pt;

	list_for_each_entry(pt, &p->ptimers, node)
		if (pt->id == id)
			return pt;
	return NULL;
}

/* Stop pt and take back its queued signal. Masked. */
static void ptimer_stop(struct lx_ptimer *pt)
{
	timer_cancel(&pt->tm);
	if (pt->queued) {
		lx_signal_unqueue(&pt->q);
		pt->queued = false;
	}
}

static void ptimer_free(struct lx_ptimer *pt)
{
	ptimer_stop(pt);
	list_del(&pt->node);
	kfree(pt);
}

static struct lx_ptimer *ptimer_new(struct lx_process *p, int id, uint64_t clk)
{
	struct lx_ptimer *pt = kzalloc(sizeof(*pt));

	if (!pt)
		return NULL;
	timer_setup(&pt->tm, ptimer_fire);
	pt->proc = p;
	pt->id = id;
	pt->clock = clk;
	pt->q.timer = pt;
	list_init(&pt->q.node);
	list_add_tail(&p->ptimers, &pt->node);
	return pt;
}

/* Free p's POSIX timers and interval timer (execve ends them). Masked. */
void lx_ptimers_destroy(struct lx_process *p)
{
	while (!list_empty(&p->ptimers))
		ptimer_free(list_first_entry(&p->ptimers, struct lx_ptimer, node));
}

/* Free every timer of p (it is ending; its timerfds go with its RT fds, lx_rtfd_destroy). Masked. */
void lx_timers_destroy(struct lx_process *p)
{
	lx_ptimers_destroy(p);
}

static int ptimer_free_id(struct lx_process *p)
{
	for (int id = 0; id < LX_TIMERS_MAX; id++)
		if (!ptimer_find(p, id))
			return id;
	return -EAGAIN;
}

/* timer_create(clockid, sevp, timerid) */
long sys_timer_create(const uint64_t *a)
{
	struct lx_thread *self = lx_current();
	struct lx_process *p = self->proc;
	sigevent_t ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM };
	struct lx_ptimer *pt;
	unsigned long flags;
	int id;

	if (!lx_timer_clock_ok(a[0]))
		return lx_cpu_clock(a[0]) ? lx_fallback(-EINVAL) : -EINVAL;
	if (a[1] && copy_from_user(&ev, a[1], sizeof(ev)))
		return -EFAULT;
	if (ev.sigev_notify != SIGEV_SIGNAL && ev.sigev_notify != SIGEV_NONE &&
	    ev.sigev_notify != (SIGEV_SIGNAL | SIGEV_THREAD_ID))
		return -EINVAL;
	if (ev.sigev_notify != SIGEV_NONE && (ev.sigev_signo < 1 || ev.sigev_signo > LX_NSIG))
		return -EINVAL;
	if ((ev.sigev_notify & SIGEV_THREAD_ID) && !lx_find_tid(p, ev.sigev_notify_thread_id))
		return -EINVAL;
	flags = arch_irq_save();
	id = ptimer_free_id(p);
	pt = id < 0 ? NULL : ptimer_new(p, id, a[0]);
	if (pt) {
		pt->notify = ev.sigev_notify;
		pt->tid = ev.sigev_notify_thread_id;
		lx_signal_simple_info(&pt->q.info, ev.sigev_signo, SI_TIMER);
		pt->q.info.si_tid = id;
		pt->q.info.si_value = a[1] ? ev.sigev_value : (sigval_t){ .sival_int = id };
	}
	arch_irq_restore(flags);
	if (!pt)
		return id < 0 ? id : -EAGAIN;
	if (copy_to_user(a[2], &id, sizeof(id))) {
		flags = arch_irq_save();
		ptimer_free(pt);
		arch_irq_restore(flags);
		return -EFAULT;
	}
	return 0;
}

/* Arm (or disarm) pt as its owner asks; the old setting goes to old. Masked. */
static void ptimer_set(struct lx_ptimer *pt, const struct __kernel_itimerspec *its, bool absolute,
		       struct __kernel_itimerspec *old)
{
	if (old)
		*old = lx_timer_spec(&pt->tm, pt->interval_ns);
	ptimer_stop(pt);
	pt->overrun = pt->overrun_last = 0;
	pt->interval_ns = lx_ts_ns(&its->it_interval);
	pt->interval = clock_ns_to_cycles(pt->interval_ns);
	if (its->it_value.tv_sec || its->it_value.tv_nsec)
		timer_arm(&pt->tm, lx_timer_deadline(pt->clock, &its->it_value, absolute));
}

/* timer_settime(id, flags, new, old) */
long sys_timer_settime(const uint64_t *a)
{
	struct lx_process *p = lx_current()->proc;
	struct __kernel_itimerspec its, old;
	struct lx_ptimer *pt;
	unsigned long flags;

	if (copy_from_user(&its, a[2], sizeof(its)))
		return -EFAULT;
	if (!lx_ts_valid(&its.it_value) || !lx_ts_valid(&its.it_interval) || a[1] & ~(uint64_t)TIMER_ABSTIME)
		return -EINVAL;
	flags = arch_irq_save();
	pt = ptimer_find(p, (int)a[0]);
	if (pt)
		ptimer_set(pt, &its, a[1] & TIMER_ABSTIME, &old);
	arch_irq_restore(flags);
	if (!pt || (int)a[0] < 0)
		return -EINVAL;
	return a[3] ? copy_to_user(a[3], &old, sizeof(old)) : 0;
}

long sys_timer_gettime(const uint64_t *a)
{
	struct lx_ptimer *pt;
	struct __kernel_itimerspec its;
	unsigned long flags = arch_irq_save();

	pt = (int)a[0] < 0 ? NULL : ptimer_find(lx_current()->proc, (int)a[0]);
	if (pt)
		its = lx_timer_spec(&pt->tm, pt->interval_ns);
	arch_irq_restore(flags);
	return pt ? copy_to_user(a[1], &its, sizeof(its)) : -EINVAL;
}

long sys_timer_getoverrun(const uint64_t *a)
{
	struct lx_ptimer *pt = (int)a[0] < 0 ? NULL : ptimer_find(lx_current()->proc, (int)a[0]);

	return pt ? pt->overrun_last : -EINVAL;
}

long sys_timer_delete(const uint64_t *a)
{
	unsigned long flags = arch_irq_save();
	struct lx_ptimer *pt = (int)a[0] < 0 ? NULL : ptimer_find(lx_current()->proc, (int)a[0]);

	if (pt)
		ptimer_free(pt);
	arch_irq_restore(flags);
	return pt ? 0 : -EINVAL;
}

/* The ITIMER_REAL timer, made on first use: SIGALRM for the process, SI_KERNEL. */
static struct lx_ptimer *itimer_real(struct lx_process *p)
{
	struct lx_ptimer *pt = ptimer_find(p, LX_ITIMER_ID);

	if (!pt && (pt = ptimer_new(p, LX_ITIMER_ID, CLOCK_MONOTONIC))) {
		pt->notify = SIGEV_SIGNAL;
		lx_signal_simple_info(&pt->q.info, SIGALRM, SI_KERNEL);
	}
	return pt;
}

static struct timeval ns_to_tv(uint64_t ns)
{
	return (struct timeval){ (long)(ns / NSEC_PER_SEC), (long)(ns % NSEC_PER_SEC / 1000) };
}

static struct __kernel_timespec tv_to_ts(const struct timeval *tv)
{
	return (struct __kernel_timespec){ tv->tv_sec, (long long)tv->tv_usec * 1000 };
}

static struct itimerval itimerval_of(struct lx_ptimer *pt)
{
	struct __kernel_itimerspec its = lx_timer_spec(&pt->tm, pt->interval_ns);

	return (struct itimerval){ .it_interval = ns_to_tv(lx_ts_ns(&its.it_interval)),
				   .it_value = ns_to_tv(lx_ts_ns(&its.it_value)) };
}

/* The CPU-time interval timers are not supported yet: a fallback; other values are wrong. */
static long itimer_unserved(uint64_t which)
{
	return which == ITIMER_VIRTUAL || which == ITIMER_PROF ? lx_fallback(-EINVAL) : -EINVAL;
}

/* Only ITIMER_REAL (itimer_unserved). */
long sys_getitimer(const uint64_t *a)
{
	struct itimerval v = { 0 };
	struct lx_ptimer *pt;
	unsigned long flags;

	if (a[0] != ITIMER_REAL)
		return itimer_unserved(a[0]);
	flags = arch_irq_save();
	pt = ptimer_find(lx_current()->proc, LX_ITIMER_ID);
	if (pt)
		v = itimerval_of(pt);
	arch_irq_restore(flags);
	return copy_to_user(a[1], &v, sizeof(v));
}

static long itimer_set(const struct itimerval *v, struct itimerval *old)
{
	struct __kernel_itimerspec its = { .it_interval = tv_to_ts(&v->it_interval),
					   .it_value = tv_to_ts(&v->it_value) };
	unsigned long flags = arch_irq_save();
	struct lx_ptimer *pt = itimer_real(lx_current()->proc);

	if (pt) {
		*old = itimerval_of(pt);
		ptimer_set(pt, &its, false, NULL);
	}
	arch_irq_restore(flags);
	return pt ? 0 : -ENOMEM;
}

long sys_setitimer(const uint64_t *a)
{
	struct itimerval v = { 0 }, old;
	long err;

	if (a[0] != ITIMER_REAL)
		return itimer_unserved(a[0]);
	if (a[1] && copy_from_user(&v, a[1], sizeof(v)))
		return -EFAULT;
	if (v.it_value.tv_sec < 0 || v.it_value.tv_usec < 0 || v.it_value.tv_usec >= 1000000 ||
	    v.it_interval.tv_sec < 0 || v.it_interval.tv_usec < 0 || v.it_interval.tv_usec >= 1000000)
		return -EINVAL;
	err = itimer_set(&v, &old);
	if (!err && a[2])
		err = copy_to_user(a[2], &old, sizeof(old));
	return err;
}

/* alarm(seconds): the seconds left of the previous alarm, rounded as Linux does. */
long sys_alarm(const uint64_t *a)
{
	struct itimerval v = { .it_value = { (long)(unsigned int)a[0], 0 } }, old;
	long secs;

	if (itimer_set(&v, &old))
		return 0;
	secs = old.it_value.tv_sec;
	if ((!secs && old.it_value.tv_usec) || old.it_value.tv_usec >= 500000)
		secs++;
	return secs;
}
