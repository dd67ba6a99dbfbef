// SPDX-License-Identifier: MIT
/*
 * Timers of RT processes, on the kernel's tickless timer list: POSIX timers
 * (timer_create with SIGEV_SIGNAL, SIGEV_THREAD_ID or SIGEV_NONE), the
 * ITIMER_REAL interval timer (setitimer, alarm) and timerfds.
 *
 * A timer that expires while its signal is still pending counts an
 * overrun instead of queuing another (each timer owns its one queue entry,
 * so expiring never allocates). Periodic timers advance by whole periods:
 * expirations missed while the CPU was busy are overruns, as in Linux.
 * Expiry runs in the timer interrupt or the idle loop, masked.
 *
 * A timerfd is an RT file descriptor: a real Linux timerfd in the shadow
 * holds its number (so the number is unique, and fstat, fcntl and
 * /proc/self/fd see a timerfd), but the timer, read() and close() are the
 * realm's. poll() on RT fds alone is served here; mixing them with Linux
 * fds in one poll, select or epoll is not supported yet.
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
#include <linux/timerfd.h>
#include <linux/poll.h>
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

enum lx_rtfd_type { LX_RTFD_TIMERFD = 1 };

/* A timerfd: shared by the RT fds that name it, in one process or (after fork) several. */
struct lx_timerfd {
	struct timer tm;
	uint64_t clock;
	uint64_t interval;		/* TSC cycles, 0: one-shot */
	uint64_t interval_ns;		/* as set */
	uint64_t ticks;			/* expirations not yet read */
	int refs;			/* RT fds that name it */
};

struct lx_rtfd {
	int fd;
	enum lx_rtfd_type type;
	unsigned int flags;		/* O_NONBLOCK */
	struct lx_timerfd *tfd;
};

/* ---- time conversions ---- */

static bool clock_ok_for_timers(uint64_t clk)
{
	return clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC || clk == CLOCK_BOOTTIME ||
	       clk == CLOCK_REALTIME_ALARM || clk == CLOCK_BOOTTIME_ALARM;
}

/* The alarm clocks are their base clocks here: the machine never suspends under us. */
static uint64_t clock_base(uint64_t clk)
{
	return clk == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME :
	       clk == CLOCK_BOOTTIME_ALARM ? CLOCK_BOOTTIME : clk;
}

/* The TSC deadline of an it_value (relative, or absolute on clk). */
static uint64_t value_to_deadline(uint64_t clk, const struct __kernel_timespec *v, bool absolute)
{
	if (absolute)
		return lx_clock_deadline(clock_base(clk), (int64_t)lx_ts_ns(v));
	return arch_read_tsc() + clock_ns_to_cycles(lx_ts_ns(v));
}

/* What is left until deadline (0 if disarmed), and the interval, as an itimerspec. */
static struct __kernel_itimerspec spec_of(const struct timer *tm, uint64_t interval_ns)
{
	struct __kernel_itimerspec its = { .it_interval = lx_ns_ts(interval_ns) };
	uint64_t now = arch_read_tsc();

	if (timer_armed(tm))
		its.it_value = lx_ns_ts(tm->deadline > now ? clock_cycles_to_ns(tm->deadline - now) : 1);
	return its;
}

/* A periodic timer fired late: advance past now, return the whole periods it missed. */
static int advance(struct timer *tm, uint64_t interval)
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
	int missed = pt->interval ? advance(tm, pt->interval) : 0;
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

/* Drop p's RT fd number i; its timerfd goes with its last fd. Masked. */
static void rtfd_drop(struct lx_process *p, int i)
{
	struct lx_rtfd *f = p->rtfds[i];

	if (--f->tfd->refs == 0) {
		timer_cancel(&f->tfd->tm);
		kfree(f->tfd);
	}
	kfree(f);
	p->rtfds[i] = NULL;
}

/* Free p's POSIX timers and interval timer (execve ends them). Masked. */
void lx_ptimers_destroy(struct lx_process *p)
{
	while (!list_empty(&p->ptimers))
		ptimer_free(list_first_entry(&p->ptimers, struct lx_ptimer, node));
}

/* Free every timer of p (it is ending). Masked. */
void lx_timers_destroy(struct lx_process *p)
{
	lx_ptimers_destroy(p);
	for (int i = 0; i < LX_MAX_RTFDS; i++)
		if (p->rtfds[i])
			rtfd_drop(p, i);
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

	if (!clock_ok_for_timers(a[0]))
		return -EINVAL;
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
		*old = spec_of(&pt->tm, pt->interval_ns);
	ptimer_stop(pt);
	pt->overrun = pt->overrun_last = 0;
	pt->interval_ns = lx_ts_ns(&its->it_interval);
	pt->interval = clock_ns_to_cycles(pt->interval_ns);
	if (its->it_value.tv_sec || its->it_value.tv_nsec)
		timer_arm(&pt->tm, value_to_deadline(pt->clock, &its->it_value, absolute));
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
		its = spec_of(&pt->tm, pt->interval_ns);
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
	struct __kernel_itimerspec its = spec_of(&pt->tm, pt->interval_ns);

	return (struct itimerval){ .it_interval = ns_to_tv(lx_ts_ns(&its.it_interval)),
				   .it_value = ns_to_tv(lx_ts_ns(&its.it_value)) };
}

/* Only ITIMER_REAL: the CPU-time interval timers are not supported yet. */
long sys_getitimer(const uint64_t *a)
{
	struct itimerval v = { 0 };
	struct lx_ptimer *pt;
	unsigned long flags;

	if (a[0] != ITIMER_REAL)
		return -EINVAL;
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
		return -EINVAL;
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

/* ---- timerfd ---- */

/* Something changed among p's RT fds: every reader and poller looks again. Masked. */
static void rtfd_wake_all(struct lx_process *p)
{
	while (!list_empty(&p->rtfd_waiters))
		sched_wake(list_first_entry(&p->rtfd_waiters, struct thread, wait_node));
}

static void timerfd_fire(struct timer *tm)
{
	struct lx_timerfd *t = container_of(tm, struct lx_timerfd, tm);
	int missed = t->interval ? advance(tm, t->interval) : 0;

	t->ticks += 1 + (uint64_t)missed;
	lx_for_each_process(rtfd_wake_all);	/* its readers may be in several processes */
}

struct lx_rtfd *lx_rtfd_get(struct lx_process *p, uint64_t fd)
{
	for (int i = 0; i < LX_MAX_RTFDS; i++)
		if (p->rtfds[i] && (uint64_t)p->rtfds[i]->fd == fd)
			return p->rtfds[i];
	return NULL;
}

/* Register fd (open in the shadow) as an RT fd for tfd. Masked. */
static int rtfd_add(struct lx_process *p, int fd, struct lx_timerfd *tfd, unsigned int flags)
{
	for (int i = 0; i < LX_MAX_RTFDS; i++) {
		struct lx_rtfd *f;

		if (p->rtfds[i])
			continue;
		f = kmalloc(sizeof(*f));
		if (!f)
			return -ENOMEM;
		*f = (struct lx_rtfd){ .fd = fd, .type = LX_RTFD_TIMERFD, .flags = flags, .tfd = tfd };
		tfd->refs++;
		p->rtfds[i] = f;
		return 0;
	}
	return -EMFILE;
}

/* fork: child's RT fds name the same timerfds as p's, as Linux's fds share open files. Masked. */
void lx_rtfd_fork(struct lx_process *p, struct lx_process *child)
{
	for (int i = 0; i < LX_MAX_RTFDS; i++)
		if (p->rtfds[i])
			rtfd_add(child, p->rtfds[i]->fd, p->rtfds[i]->tfd, p->rtfds[i]->flags);
}

/* Forget the RT fd fd (closed in the shadow). Masked. */
static void rtfd_forget(struct lx_process *p, uint64_t fd)
{
	for (int i = 0; i < LX_MAX_RTFDS; i++)
		if (p->rtfds[i] && (uint64_t)p->rtfds[i]->fd == fd)
			rtfd_drop(p, i);
	rtfd_wake_all(p);
}

long sys_timerfd_create(const uint64_t *a)
{
	struct lx_process *p = lx_current()->proc;
	struct lx_timerfd *t;
	unsigned long flags;
	long fd, err;

	if (!clock_ok_for_timers(a[0]) || a[1] & ~(uint64_t)(TFD_NONBLOCK | TFD_CLOEXEC))
		return -EINVAL;
	t = kzalloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	fd = rcall(__NR_timerfd_create, a[0], a[1], 0, 0, 0, 0);	/* the number's holder */
	if (fd < 0) {
		kfree(t);
		return fd;
	}
	timer_setup(&t->tm, timerfd_fire);
	t->clock = a[0];
	flags = arch_irq_save();
	err = rtfd_add(p, (int)fd, t, (unsigned int)(a[1] & TFD_NONBLOCK));
	arch_irq_restore(flags);
	if (err) {
		kfree(t);
		rcall(__NR_close, (uint64_t)fd, 0, 0, 0, 0, 0);
		return err;
	}
	return fd;
}

/*
 * After an execve: forget the RT fds whose placeholder the shadow closed
 * (they were close-on-exec, which Linux keeps on the placeholder).
 */
void lx_rtfd_exec(struct lx_process *p)
{
	for (int i = 0; i < LX_MAX_RTFDS; i++) {
		unsigned long flags;
		int fd;

		if (!p->rtfds[i])
			continue;
		fd = p->rtfds[i]->fd;
		if (rcall(__NR_fcntl, (uint64_t)fd, F_GETFD, 0, 0, 0, 0) != -EBADF)
			continue;
		flags = arch_irq_save();
		rtfd_forget(p, (uint64_t)fd);
		arch_irq_restore(flags);
	}
}

/* timerfd_settime(fd, flags, new, old) */
long sys_timerfd_settime(const uint64_t *a)
{
	struct __kernel_itimerspec its, old;
	unsigned long flags;
	struct lx_rtfd *f;

	if (copy_from_user(&its, a[2], sizeof(its)))
		return -EFAULT;
	if (!lx_ts_valid(&its.it_value) || !lx_ts_valid(&its.it_interval) ||
	    a[1] & ~(uint64_t)(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET))
		return -EINVAL;
	flags = arch_irq_save();
	f = lx_rtfd_get(lx_current()->proc, a[0]);
	if (f) {
		struct lx_timerfd *t = f->tfd;

		old = spec_of(&t->tm, t->interval_ns);
		timer_cancel(&t->tm);
		t->ticks = 0;
		t->interval_ns = lx_ts_ns(&its.it_interval);
		t->interval = clock_ns_to_cycles(t->interval_ns);
		if (its.it_value.tv_sec || its.it_value.tv_nsec)
			timer_arm(&t->tm, value_to_deadline(t->clock, &its.it_value,
							    a[1] & TFD_TIMER_ABSTIME));
	}
	arch_irq_restore(flags);
	if (!f)
		return rcall(__NR_timerfd_settime, a[0], a[1], a[2], a[3], 0, 0);	/* EBADF/EINVAL */
	return a[3] ? copy_to_user(a[3], &old, sizeof(old)) : 0;
}

long sys_timerfd_gettime(const uint64_t *a)
{
	struct __kernel_itimerspec its;
	unsigned long flags = arch_irq_save();
	struct lx_rtfd *f = lx_rtfd_get(lx_current()->proc, a[0]);

	if (f)
		its = spec_of(&f->tfd->tm, f->tfd->interval_ns);
	arch_irq_restore(flags);
	if (!f)
		return rcall(__NR_timerfd_gettime, a[0], a[1], 0, 0, 0, 0);
	return copy_to_user(a[1], &its, sizeof(its));
}

/* read() of an RT fd: a timerfd's expiration count, waiting for one unless O_NONBLOCK. */
long lx_rtfd_read(struct lx_rtfd *f, uint64_t buf, size_t len)
{
	struct lx_process *p = lx_current()->proc;
	struct thread *self = thread_current();
	uint64_t fd = (uint64_t)f->fd, ticks = 0;
	unsigned long flags;
	int err = 0;

	if (len < sizeof(ticks))
		return -EINVAL;
	flags = arch_irq_save();
	for (;;) {
		f = lx_rtfd_get(p, fd);
		if (!f) {
			err = -EBADF;	/* another thread closed it meanwhile */
			break;
		}
		if (f->tfd->ticks)
			break;
		if (f->flags & O_NONBLOCK) {
			err = -EAGAIN;
			break;
		}
		list_add_tail(&p->rtfd_waiters, &self->wait_node);
		if (sched_wait(0, WAIT_INTERRUPTIBLE) == -EINTR) {
			err = -ERESTARTSYS;
			break;
		}
	}
	if (!err) {
		ticks = f->tfd->ticks;
		f->tfd->ticks = 0;
	}
	arch_irq_restore(flags);
	return err ?: copy_to_user(buf, &ticks, sizeof(ticks)) ?: (long)sizeof(ticks);
}

long lx_rtfd_close(struct lx_process *p, int fd)
{
	unsigned long flags = arch_irq_save();

	rtfd_forget(p, (uint64_t)fd);
	arch_irq_restore(flags);
	return rcall(__NR_close, (uint64_t)fd, 0, 0, 0, 0, 0);
}

/* fcntl(F_SETFL) and dup*() on an RT fd: Linux does it to the holder, the realm follows. */
long lx_rtfd_fcntl_dup(struct lx_process *p, long nr, const uint64_t *a)
{
	struct lx_rtfd *f = lx_rtfd_get(p, a[0]);
	bool dup = nr == __NR_dup || nr == __NR_dup2 || nr == __NR_dup3 ||
		   (nr == __NR_fcntl && (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC));
	unsigned long flags;
	long ret;

	if ((nr == __NR_dup2 || nr == __NR_dup3) && a[0] != a[1] && lx_rtfd_get(p, a[1])) {
		flags = arch_irq_save();
		rtfd_forget(p, a[1]);	/* the target is closed by dup2 */
		arch_irq_restore(flags);
	}
	ret = rcall_regs(nr, a);
	if (ret < 0 || !f)
		return ret;
	flags = arch_irq_save();
	if (dup && (uint64_t)ret != a[0] && lx_rtfd_get(p, a[0]) == f &&
	    rtfd_add(p, (int)ret, f->tfd, f->flags)) {
		arch_irq_restore(flags);
		rcall(__NR_close, (uint64_t)ret, 0, 0, 0, 0, 0);
		return -EMFILE;
	}
	if (nr == __NR_fcntl && a[1] == F_SETFL)
		f->flags = (unsigned int)(a[2] & O_NONBLOCK);
	arch_irq_restore(flags);
	return ret;
}

static long poll_mix_refused(const struct lx_process *p)
{
	pr_info("process %d: poll() on RT timerfds together with Linux fds is not supported yet: "
		"-EINVAL\n", p->pid);
	return -EINVAL;
}

/* Whether the pollfd array at ufds (nfds entries) names an RT fd; read a chunk at a time. */
static bool poll_set_has_rtfd(struct lx_process *p, uint64_t ufds, uint64_t nfds)
{
	struct pollfd chunk[LX_MAX_RTFDS];

	for (uint64_t done = 0; done < nfds; done += ARRAY_SIZE(chunk)) {
		uint64_t n = MIN(nfds - done, (uint64_t)ARRAY_SIZE(chunk));

		if (copy_from_user(chunk, ufds + done * sizeof(chunk[0]), n * sizeof(chunk[0])))
			return false;	/* Linux reports the fault */
		for (uint64_t i = 0; i < n; i++)
			if (chunk[i].fd >= 0 && lx_rtfd_get(p, (uint64_t)chunk[i].fd))
				return true;
	}
	return false;
}

/*
 * poll() of a set with RT fds in it: served here if it holds RT fds only
 * (negative fds are skipped, as Linux does). *ours: whether the set had RT
 * fds at all (if not, the caller forwards the call).
 */
long lx_rtfd_poll(uint64_t ufds, uint64_t nfds, uint64_t deadline, bool *ours)
{
	struct lx_process *p = lx_current()->proc;
	struct thread *self = thread_current();
	struct pollfd fds[LX_MAX_RTFDS];
	bool any_rt = false, any_linux = false;
	unsigned long flags;
	long ready = 0;
	int err = 0;

	*ours = false;
	if (!lx_rtfd_count(p))
		return 0;
	if (nfds > ARRAY_SIZE(fds)) {
		/* More entries than RT fds can exist: with an RT fd among them, it is a mix. */
		if (!poll_set_has_rtfd(p, ufds, nfds))
			return 0;
		*ours = true;
		return poll_mix_refused(p);
	}
	if (copy_from_user(fds, ufds, nfds * sizeof(fds[0])))
		return 0;	/* Linux reports the fault */
	for (uint64_t i = 0; i < nfds; i++) {
		if (fds[i].fd < 0)
			continue;
		if (lx_rtfd_get(p, (uint64_t)fds[i].fd))
			any_rt = true;
		else
			any_linux = true;
	}
	if (!any_rt)
		return 0;
	*ours = true;
	if (any_linux)
		return poll_mix_refused(p);
	flags = arch_irq_save();
	for (;;) {
		ready = 0;
		for (uint64_t i = 0; i < nfds; i++) {
			struct lx_rtfd *f = fds[i].fd >= 0 ? lx_rtfd_get(p, (uint64_t)fds[i].fd) : NULL;

			fds[i].revents = 0;
			if (fds[i].fd >= 0 && !f)
				fds[i].revents = POLLNVAL;
			else if (f && f->tfd->ticks)
				fds[i].revents = (short)(fds[i].events & (POLLIN | POLLRDNORM));
			ready += fds[i].revents != 0;
		}
		if (ready || err == -ETIMEDOUT)
			break;
		if (err == -EINTR) {
			arch_irq_restore(flags);
			return -ERESTARTNOHAND;
		}
		list_add_tail(&p->rtfd_waiters, &self->wait_node);
		err = sched_wait(deadline, WAIT_INTERRUPTIBLE);
	}
	arch_irq_restore(flags);
	return copy_to_user(ufds, fds, nfds * sizeof(fds[0])) ?: ready;
}

/* Whether any fd of the select() sets (nfds bits each) is an RT fd. */
bool lx_select_has_rtfd(struct lx_process *p, uint64_t nfds, const uint64_t *sets)
{
	for (int s = 0; s < 3; s++) {
		for (uint64_t fd = 0; sets[s] && fd < nfds && fd < 1024; fd += 64) {
			uint64_t word;

			if (copy_from_user(&word, sets[s] + fd / 8, sizeof(word)))
				break;
			for (int i = 0; i < LX_MAX_RTFDS; i++)
				if (p->rtfds[i] && (uint64_t)p->rtfds[i]->fd >= fd &&
				    (uint64_t)p->rtfds[i]->fd < fd + 64 &&
				    (word >> (p->rtfds[i]->fd - fd) & 1))
					return true;
		}
	}
	return false;
}

int lx_rtfd_count(struct lx_process *p)
{
	int n = 0;

	for (int i = 0; i < LX_MAX_RTFDS; i++)
		n += p->rtfds[i] != NULL;
	return n;
}
