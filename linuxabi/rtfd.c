// SPDX-License-Identifier: MIT
/*
 * The RT fd layer (linuxabi/rtfd.h): the table of each process's RT fds,
 * and read, write, ioctl, close, dup, fcntl and poll on them.
 *
 * Linux holds every fd number: an RT fd is a placeholder Linux fd (a
 * timerfd, an eventfd) that the realm also knows. dup and fcntl go to
 * Linux first and the realm follows; close drops both.
 *
 * Waiting: one queue for every RT fd of the cell (rtfd_waiters); any
 * change wakes all of it, and each waiter looks again. A poll() that mixes
 * RT fds with Linux fds has the caller's twin poll the Linux ones (the RT
 * entries hidden from Linux as negative fds) while the thread is listed as
 * a mixed poller: a change to any RT fd cuts the twin's poll short
 * (rcall_interrupt), and the thread looks at both kinds again. epoll and
 * select on RT fds are not served yet (EPERM and EINVAL).
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

#define RTFD_MAX_POLLERS	64	/* threads in a mixed poll() at once */
#define RTFD_POLL_STACK		64	/* pollfd entries copied on the stack; more are allocated */

static struct list_node rtfd_waiters = LIST_INIT(rtfd_waiters);
static struct lx_thread *rtfd_pollers[RTFD_MAX_POLLERS];

void lx_rtfd_wake_all(void)
{
	while (!list_empty(&rtfd_waiters))
		sched_wake(list_first_entry(&rtfd_waiters, struct thread, wait_node));
	for (int i = 0; i < RTFD_MAX_POLLERS; i++) {
		if (rtfd_pollers[i]) {
			WRITE_ONCE(rtfd_pollers[i]->rcall_cut, true);
			rcall_interrupt(rtfd_pollers[i]);
		}
	}
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

/* Wait for a change to any RT fd, or deadline. Masked. 0, -ETIMEDOUT or -EINTR. */
static int rtfd_wait(uint64_t deadline)
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
		if (rtfd_wait(0) == -EINTR) {
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

/* ---- poll ---- */

/* The revents of the RT entries of fds (POLLNVAL for RT fds closed meanwhile); how many. Masked. */
static long poll_rt(struct lx_process *p, struct pollfd *fds, uint64_t nfds, const bool *is_rt)
{
	long ready = 0;

	for (uint64_t i = 0; i < nfds; i++) {
		struct lx_rtfd *f;

		if (!is_rt[i])
			continue;
		f = lx_rtfd_get(p, (uint64_t)fds[i].fd);
		fds[i].revents = !f ? POLLNVAL :
			(short)(f->ops->poll(f) & ((unsigned int)fds[i].events | POLLERR | POLLHUP));
		ready += fds[i].revents != 0;
	}
	return ready;
}

/* A poll() of RT fds only. Masked inside. */
static long poll_rt_only(struct lx_process *p, struct pollfd *fds, uint64_t nfds, const bool *is_rt,
			 uint64_t deadline)
{
	unsigned long flags = arch_irq_save();
	long ready;
	int err = 0;

	for (;;) {
		ready = poll_rt(p, fds, nfds, is_rt);
		if (ready || err == -ETIMEDOUT)
			break;
		if (err == -EINTR) {
			ready = -ERESTARTNOHAND;
			break;
		}
		err = rtfd_wait(deadline);
	}
	arch_irq_restore(flags);
	return ready;
}

static int poller_add(struct lx_thread *lt)
{
	for (int i = 0; i < RTFD_MAX_POLLERS; i++) {
		if (!rtfd_pollers[i]) {
			rtfd_pollers[i] = lt;
			return i;
		}
	}
	return -1;
}

/* Milliseconds until deadline for Linux's poll(), rounded up; -1: none. */
static int poll_ms_left(uint64_t deadline)
{
	uint64_t now = arch_read_tsc(), ns;

	if (!deadline)
		return -1;
	if (deadline <= now)
		return 0;
	ns = clock_cycles_to_ns(deadline - now);
	return ns / NSEC_PER_MSEC >= INT32_MAX ? INT32_MAX : (int)((ns + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
}

/*
 * One remote poll of the Linux entries of fds (the RT ones hidden as
 * negative fds in the user's array for its duration), waiting ms. Their
 * revents land in fds. The remote result, or -errno.
 */
static long poll_linux(uint64_t ufds, struct pollfd *fds, uint64_t nfds, const bool *is_rt, int ms,
		       int *poller)
{
	struct lx_thread *lt = lx_current();
	struct pollfd *tmp = kmalloc(nfds * sizeof(*tmp));
	unsigned long flags;
	long ret;

	if (!tmp)
		return -ENOMEM;
	for (uint64_t i = 0; i < nfds; i++) {
		tmp[i] = fds[i];
		if (is_rt[i])
			tmp[i].fd = ~fds[i].fd;
	}
	ret = copy_to_user(ufds, tmp, nfds * sizeof(*tmp));
	if (!ret) {
		flags = arch_irq_save();
		*poller = ms ? poller_add(lt) : -1;
		arch_irq_restore(flags);
		ret = rcall(__NR_poll, ufds, nfds, (uint64_t)(int64_t)ms, 0, 0, 0);
		flags = arch_irq_save();
		if (*poller >= 0)
			rtfd_pollers[*poller] = NULL;
		arch_irq_restore(flags);
		if (copy_from_user(tmp, ufds, nfds * sizeof(*tmp)) && ret >= 0)
			ret = -EFAULT;
		for (uint64_t i = 0; i < nfds; i++)
			if (!is_rt[i])
				fds[i].revents = tmp[i].revents;
	}
	kfree(tmp);
	return ret;
}

/*
 * A poll() of RT and Linux fds together: the RT ones are looked at here, the
 * Linux ones by the twin, waiting for either (see the top of the file).
 */
static long poll_mixed(struct lx_process *p, uint64_t ufds, struct pollfd *fds, uint64_t nfds,
		       const bool *is_rt, uint64_t deadline)
{
	struct lx_thread *lt = lx_current();
	unsigned long flags;
	long rt_ready, ret;
	int poller;

	for (;;) {
		WRITE_ONCE(lt->rcall_cut, false);
		flags = arch_irq_save();
		rt_ready = poll_rt(p, fds, nfds, is_rt);
		arch_irq_restore(flags);
		ret = poll_linux(ufds, fds, nfds, is_rt, rt_ready ? 0 : poll_ms_left(deadline), &poller);
		if (ret == -EINTR && thread_current()->interrupt_pending)
			ret = -ERESTARTNOHAND;	/* a signal's: poll is never restarted after a handler */
		else if (ret == -EINTR && READ_ONCE(lt->rcall_cut))
			ret = 0;		/* an RT fd changed: look again */
		if (ret < 0)
			break;
		flags = arch_irq_save();
		rt_ready = poll_rt(p, fds, nfds, is_rt);
		arch_irq_restore(flags);
		if (ret + rt_ready || poll_ms_left(deadline) == 0) {
			ret = 0;
			for (uint64_t i = 0; i < nfds; i++)
				ret += fds[i].revents != 0;
			break;
		}
	}
	WRITE_ONCE(lt->rcall_cut, false);
	/* The user's array again as given, with the answers (or as given, after an error). */
	if (ret < 0)
		for (uint64_t i = 0; i < nfds; i++)
			fds[i].revents = 0;
	if (copy_to_user(ufds, fds, nfds * sizeof(*fds)))
		return -EFAULT;
	return ret;
}

long lx_rtfd_poll(uint64_t ufds, uint64_t nfds, uint64_t deadline, bool *ours)
{
	struct lx_process *p = lx_current()->proc;
	struct pollfd stack_fds[RTFD_POLL_STACK], *fds = stack_fds;
	bool stack_rt[RTFD_POLL_STACK], *is_rt = stack_rt, any_rt = false, any_linux = false;
	long ret;

	*ours = false;
	if (!lx_rtfd_count(p) || nfds > 4096)
		return 0;	/* Linux says EINVAL beyond RLIMIT_NOFILE */
	if (nfds > RTFD_POLL_STACK) {
		fds = kmalloc(nfds * sizeof(*fds));
		is_rt = kmalloc(nfds * sizeof(*is_rt));
		if (!fds || !is_rt) {
			kfree(fds);
			kfree(is_rt);
			*ours = true;
			return -ENOMEM;
		}
	}
	if (copy_from_user(fds, ufds, nfds * sizeof(*fds))) {
		ret = 0;	/* Linux reports the fault */
		goto out;
	}
	for (uint64_t i = 0; i < nfds; i++) {
		is_rt[i] = fds[i].fd >= 0 && lx_rtfd_get(p, (uint64_t)fds[i].fd);
		fds[i].revents = 0;
		any_rt |= is_rt[i];
		any_linux |= fds[i].fd >= 0 && !is_rt[i];
	}
	*ours = any_rt;
	if (!any_rt)
		ret = 0;
	else if (any_linux)
		ret = poll_mixed(p, ufds, fds, nfds, is_rt, deadline);
	else if ((ret = poll_rt_only(p, fds, nfds, is_rt, deadline)) >= 0)
		ret = copy_to_user(ufds, fds, nfds * sizeof(*fds)) ?: ret;
out:
	if (fds != stack_fds) {
		kfree(fds);
		kfree(is_rt);
	}
	return ret;
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
