// SPDX-License-Identifier: MIT
/*
 * The RT fd layer (linuxabi/rtfd.h): the table of each process's RT fds,
 * and read, write, ioctl, close, dup and fcntl on them (waiting on sets
 * of fds, poll and select: rtfd_wait.c).
 *
 * Linux holds every fd number: an RT fd is a placeholder Linux fd (a
 * timerfd, an eventfd) that the realm also knows. dup and fcntl go to
 * Linux first and the realm follows; close drops both.
 *
 * Waiting: one queue for every RT fd of the cell (rtfd_waiters); any
 * change wakes all of it, and each waiter looks again, and cuts short the
 * remote waits of threads waiting on sets that mix RT and Linux fds.
 */
#include <kernel/clock.h>
#include <kernel/kmem.h>
#include <kernel/printk.h>
#include <kernel/string.h>
#include <linuxabi/rtfd.h>
#include <linux/fcntl.h>
#include <linux/poll.h>
#include <asm/ioctls.h>
#include <asm/unistd_64.h>

static struct list_node rtfd_waiters = LIST_INIT(rtfd_waiters);

void lx_rtfd_wake_all(void)
{
	while (!list_empty(&rtfd_waiters))
		sched_wake(list_first_entry(&rtfd_waiters, struct thread, wait_node));
	lx_rtfd_cut_waits();
}

struct lx_rtfd *lx_rtfd_get(struct lx_process *p, uint64_t fd)
{
	for (int i = 0; i < LX_MAX_RTFDS; i++)
		if (p->rtfds[i] && (uint64_t)p->rtfds[i]->fd == fd)
			return p->rtfds[i];
	return NULL;
}

int lx_rtfd_count(struct lx_process *p)
{
	int n = 0;

	for (int i = 0; i < LX_MAX_RTFDS; i++)
		n += p->rtfds[i] != NULL;
	return n;
}

int lx_rtfd_add(struct lx_process *p, int fd, const struct lx_rtfd_ops *ops, void *obj,
		unsigned int flags)
{
	for (int i = 0; i < LX_MAX_RTFDS; i++) {
		struct lx_rtfd *f;

		if (p->rtfds[i])
			continue;
		f = kmalloc(sizeof(*f));
		if (!f)
			return -ENOMEM;
		*f = (struct lx_rtfd){ .fd = fd, .flags = flags, .ops = ops, .obj = obj };
		ops->hold(f);
		p->rtfds[i] = f;
		return 0;
	}
	return -EMFILE;
}

/* Drop p's RT fd in slot i. Masked. */
static void rtfd_drop(struct lx_process *p, int i)
{
	struct lx_rtfd *f = p->rtfds[i];

	p->rtfds[i] = NULL;
	lx_rtfd_epoll_forget(p, f->fd);
	f->ops->drop(f);
	kfree(f);
}

void lx_rtfd_destroy(struct lx_process *p)
{
	for (int i = 0; i < LX_MAX_RTFDS; i++)
		if (p->rtfds[i])
			rtfd_drop(p, i);
	lx_rtfd_wake_all();
}

/* Forget the RT fd fd (closed in the shadow). Masked. */
static void rtfd_forget(struct lx_process *p, uint64_t fd)
{
	for (int i = 0; i < LX_MAX_RTFDS; i++)
		if (p->rtfds[i] && (uint64_t)p->rtfds[i]->fd == fd)
			rtfd_drop(p, i);
	lx_rtfd_wake_all();
}

/*
 * fork: child gets an RT fd of the same number for each of p's, naming the
 * same object (a timerfd's timer, a FIFO's end), as Linux's fork shares
 * the open file; the child's shadow inherits the placeholders. Masked. 0 or
 * -EMFILE/-ENOMEM (what was added goes with the child).
 */
int lx_rtfd_fork(struct lx_process *p, struct lx_process *child)
{
	for (int i = 0; i < LX_MAX_RTFDS; i++) {
		struct lx_rtfd *f = p->rtfds[i];
		int err;

		if (f && (err = lx_rtfd_add(child, f->fd, f->ops, f->obj, f->flags)))
			return err;
	}
	memcpy(child->epitems, p->epitems, sizeof(p->epitems));	/* the same Linux epoll sets */
	return 0;
}

void lx_rtfd_prune(struct lx_process *p)
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

int lx_rtfd_wait(uint64_t deadline)
{
	list_add_tail(&rtfd_waiters, &thread_current()->wait_node);
	return sched_wait(deadline, WAIT_INTERRUPTIBLE);
}

/*
 * read() and write() of an RT fd: the kind's try operation, waiting for a
 * change while it says EAGAIN, unless O_NONBLOCK. A write goes on until
 * all of it is written (or a signal comes: then what was written counts).
 */
static long rtfd_io(struct lx_process *p, struct lx_rtfd *f, uint64_t buf, size_t len, bool wr)
{
	uint64_t fd = (uint64_t)f->fd;
	unsigned long flags = arch_irq_save();
	size_t done = 0;
	long ret;

	for (;;) {
		f = lx_rtfd_get(p, fd);
		if (!f) {
			ret = -EBADF;	/* another thread closed it meanwhile */
			break;
		}
		if (wr ? !f->ops->try_write : !f->ops->try_read) {
			ret = -EINVAL;
			break;
		}
		ret = wr ? f->ops->try_write(f, buf + done, len - done) :
			   f->ops->try_read(f, buf, len);
		if (ret > 0 && wr) {
			done += (size_t)ret;
			if (done < len && !(f->flags & O_NONBLOCK))
				continue;
		}
		if (ret != -EAGAIN || (f->flags & O_NONBLOCK))
			break;
		if (lx_rtfd_wait(0) == -EINTR) {
			ret = -ERESTARTSYS;
			break;
		}
	}
	arch_irq_restore(flags);
	if (wr && done)
		return (long)done;
	return ret;
}

long lx_rtfd_read(struct lx_process *p, struct lx_rtfd *f, uint64_t buf, size_t len)
{
	return rtfd_io(p, f, buf, len, false);
}

long lx_rtfd_write(struct lx_process *p, struct lx_rtfd *f, uint64_t buf, size_t len)
{
	return rtfd_io(p, f, buf, len, true);
}

/* ioctl(fd, cmd, arg): FIONBIO as Linux does it for any file, the rest by the kind. */
long lx_rtfd_ioctl(struct lx_rtfd *f, const uint64_t *a)
{
	unsigned long flags;
	long ret = -ENOTTY;
	int on;

	if (a[1] == FIONBIO) {
		if (copy_from_user(&on, a[2], sizeof(on)))
			return -EFAULT;
		ret = rcall_regs(__NR_ioctl, a);	/* the placeholder follows */
		if (ret)
			return ret;
		flags = arch_irq_save();
		f->flags = on ? f->flags | O_NONBLOCK : f->flags & ~(unsigned int)O_NONBLOCK;
		arch_irq_restore(flags);
		return 0;
	}
	flags = arch_irq_save();
	if (f->ops->ioctl)
		ret = f->ops->ioctl(f, (unsigned int)a[1], a[2]);
	arch_irq_restore(flags);
	return ret;
}

long lx_rtfd_close(struct lx_process *p, int fd)
{
	unsigned long flags = arch_irq_save();

	rtfd_forget(p, (uint64_t)fd);
	arch_irq_restore(flags);
	return rcall(__NR_close, (uint64_t)fd, 0, 0, 0, 0, 0);
}

/* fcntl(F_SETFL) and dup*() on an RT fd: Linux does it to the placeholder, the realm follows. */
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
	    lx_rtfd_add(p, (int)ret, f->ops, f->obj, f->flags)) {
		arch_irq_restore(flags);
		rcall(__NR_close, (uint64_t)ret, 0, 0, 0, 0, 0);
		return -EMFILE;
	}
	if (nr == __NR_fcntl && a[1] == F_SETFL)
		f->flags = (f->flags & ~(unsigned int)O_NONBLOCK) | (unsigned int)(a[2] & O_NONBLOCK);
	arch_irq_restore(flags);
	return ret;
}
