// SPDX-License-Identifier: MIT
/*
 * timerfds, an RT fd kind (linuxabi/rtfd.h): a real Linux timerfd in the
 * shadow holds the number (so fstat, fcntl and /proc/self/fd see a
 * timerfd), while the timer, read() and poll() are the realm's, on the
 * kernel's timer list. Expiry runs in the timer interrupt or the idle
 * loop, masked.
 */
#include <kernel/clock.h>
#include <kernel/kmem.h>
#include <kernel/timer.h>
#include <linuxabi/handlers.h>
#include <linuxabi/rtfd.h>
#include <linux/fcntl.h>
#include <linux/poll.h>
#include <linux/time.h>
#include <linux/timerfd.h>
#include <asm/unistd_64.h>

/* A timerfd: shared by the RT fds that name it, in one process or (after fork) several. */
struct lx_timerfd {
	struct timer tm;
	uint64_t clock;
	uint64_t interval;		/* TSC cycles, 0: one-shot */
	uint64_t interval_ns;		/* as set */
	uint64_t ticks;			/* expirations not yet read */
	uint64_t wakeups;		/* expirations that found it read out (EPOLLET's events) */
	int refs;			/* RT fds that name it */
};

static void timerfd_fire(struct timer *tm)
{
	struct lx_timerfd *t = container_of(tm, struct lx_timerfd, tm);
	int missed = t->interval ? lx_timer_advance(tm, t->interval) : 0;

	/* As Linux's: one wake-up, then none until a read (its timer waits to be re-armed). */
	t->wakeups += t->ticks == 0;
	t->ticks += 1 + (uint64_t)missed;
	lx_rtfd_wake_all();
}

/* read(): the expirations since the last read, as a uint64_t. */
static long timerfd_try_read(struct lx_rtfd *f, uint64_t buf, size_t len)
{
	struct lx_timerfd *t = f->obj;
	uint64_t ticks = t->ticks;

	if (len < sizeof(ticks))
		return -EINVAL;
	if (!ticks)
		return -EAGAIN;
	if (copy_to_user(buf, &ticks, sizeof(ticks)))
		return -EFAULT;
	t->ticks = 0;
	return sizeof(ticks);
}

static unsigned int timerfd_poll(struct lx_rtfd *f)
{
	return ((struct lx_timerfd *)f->obj)->ticks ? POLLIN | POLLRDNORM : 0;
}

static uint64_t timerfd_events_so_far(struct lx_rtfd *f)
{
	return ((struct lx_timerfd *)f->obj)->wakeups;
}

static void timerfd_hold(struct lx_rtfd *f)
{
	((struct lx_timerfd *)f->obj)->refs++;
}

static void timerfd_drop(struct lx_rtfd *f)
{
	struct lx_timerfd *t = f->obj;

	if (--t->refs == 0) {
		timer_cancel(&t->tm);
		kfree(t);
	}
}

static const struct lx_rtfd_ops timerfd_ops = {
	.name = "timerfd",
	.try_read = timerfd_try_read,
	.poll = timerfd_poll,
	.events_so_far = timerfd_events_so_far,
	.hold = timerfd_hold,
	.drop = timerfd_drop,
};

/* The timerfd behind fd, or NULL. Masked. */
static struct lx_timerfd *timerfd_get(uint64_t fd)
{
	struct lx_rtfd *f = lx_rtfd_get(lx_current()->proc, fd);

	return f && f->ops == &timerfd_ops ? f->obj : NULL;
}

long sys_timerfd_create(const uint64_t *a)
{
	struct lx_process *p = lx_current()->proc;
	struct lx_timerfd *t;
	unsigned long flags;
	long fd, err;

	if (!lx_timer_clock_ok(a[0]) || a[1] & ~(uint64_t)(TFD_NONBLOCK | TFD_CLOEXEC))
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
	err = lx_rtfd_add(p, (int)fd, &timerfd_ops, t, (unsigned int)(a[1] & TFD_NONBLOCK));
	arch_irq_restore(flags);
	if (err) {
		kfree(t);
		rcall(__NR_close, (uint64_t)fd, 0, 0, 0, 0, 0);
		return err;
	}
	return fd;
}

/* timerfd_settime(fd, flags, new, old) */
long sys_timerfd_settime(const uint64_t *a)
{
	struct __kernel_itimerspec its, old;
	struct lx_timerfd *t;
	unsigned long flags;

	if (copy_from_user(&its, a[2], sizeof(its)))
		return -EFAULT;
	if (!lx_ts_valid(&its.it_value) || !lx_ts_valid(&its.it_interval) ||
	    a[1] & ~(uint64_t)(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET))
		return -EINVAL;
	flags = arch_irq_save();
	t = timerfd_get(a[0]);
	if (t) {
		old = lx_timer_spec(&t->tm, t->interval_ns);
		timer_cancel(&t->tm);
		t->ticks = 0;
		t->interval_ns = lx_ts_ns(&its.it_interval);
		t->interval = clock_ns_to_cycles(t->interval_ns);
		if (its.it_value.tv_sec || its.it_value.tv_nsec)
			timer_arm(&t->tm, lx_timer_deadline(t->clock, &its.it_value,
							    a[1] & TFD_TIMER_ABSTIME));
	}
	arch_irq_restore(flags);
	if (!t)
		return rcall(__NR_timerfd_settime, a[0], a[1], a[2], a[3], 0, 0);	/* EBADF/EINVAL */
	return a[3] ? copy_to_user(a[3], &old, sizeof(old)) : 0;
}

long sys_timerfd_gettime(const uint64_t *a)
{
	struct __kernel_itimerspec its;
	unsigned long flags = arch_irq_save();
	struct lx_timerfd *t = timerfd_get(a[0]);

	if (t)
		its = lx_timer_spec(&t->tm, t->interval_ns);
	arch_irq_restore(flags);
	if (!t)
		return rcall(__NR_timerfd_gettime, a[0], a[1], 0, 0, 0, 0);
	return copy_to_user(a[1], &its, sizeof(its));
}
