// SPDX-License-Identifier: MIT
/*
 * Waiting on sets of fds that hold RT fds: poll(), select() and epoll. One
 * loop serves them all (rtfd_set_wait); a set says how to look at its RT
 * fds and how to have Linux wait on its Linux fds.
 *
 * RT fds alone: the realm waits on the RT fd queue (rtfd.c). Mixed with
 * Linux fds: the realm looks at the RT fds; if none is ready, the caller's
 * twin waits on the Linux ones (the RT ones hidden from Linux in the user's
 * own array or bitmaps for the duration) while the thread is listed as a
 * mixed waiter: a change to any RT fd cuts the twin's wait short (the
 * signal path's interrupt flag: rcall_cut), and the thread looks at both
 * kinds again; a Linux fd that becomes ready ends the twin's wait. If an RT
 * fd is ready, the twin still looks at the Linux ones, without waiting. The
 * answer combines both.
 */
#include <kernel/clock.h>
#include <kernel/kmem.h>
#include <kernel/string.h>
#include <linuxabi/rtfd.h>
#include <linux/eventpoll.h>
#include <linux/poll.h>
#include <linux/time_types.h>
#include <asm/unistd_64.h>

#define RTFD_POLL_STACK		64	/* pollfd entries copied on the stack; more are allocated */
#define RTFD_SELECT_MAX		65536	/* select() looks at fds below this (Linux: its fd table) */

static struct list_node rtfd_mixed = LIST_INIT(rtfd_mixed);	/* lx_thread.mixed_node; masked */

void lx_rtfd_cut_waits(void)
{
	struct lx_thread *lt;

	list_for_each_entry(lt, &rtfd_mixed, mixed_node) {
		WRITE_ONCE(lt->rcall_cut, true);
		rcall_interrupt(lt);
	}
}

/*
 * A set of fds being waited on. look_rt (masked) looks at the RT fds and
 * records their answers: how many are ready, or -errno. wait_linux has the
 * twin wait on the Linux fds (through rtfd_rcall_cut) until deadline (TSC,
 * 0: none), or not at all if !wait, and records their answers: the remote
 * result.
 */
struct rtfd_set {
	long (*look_rt)(struct rtfd_set *set);
	long (*wait_linux)(struct rtfd_set *set, bool wait, uint64_t deadline);
	bool any_linux;			/* the set has Linux fds too */
};

/*
 * The remote wait of a mixed set: nr with args, cut short when an RT fd
 * changes if it may block. The remote result; 0 if an RT fd's change cut
 * it; -ERESTARTNOHAND if a signal did (these calls are never restarted
 * after a handler).
 */
static long rtfd_rcall_cut(long nr, const uint64_t args[6], bool blocks)
{
	struct lx_thread *lt = lx_current();
	unsigned long flags = arch_irq_save();
	long ret;

	if (blocks)
		list_add_tail(&rtfd_mixed, &lt->mixed_node);
	arch_irq_restore(flags);
	ret = rcall_regs(nr, args);
	flags = arch_irq_save();
	if (blocks)
		list_del(&lt->mixed_node);
	arch_irq_restore(flags);
	if (ret == -EINTR && thread_current()->interrupt_pending)
		return -ERESTARTNOHAND;
	if (ret == -EINTR && READ_ONCE(lt->rcall_cut))
		return 0;
	return ret;
}

/* A set of RT fds only: wait on the RT fd queue. How many are ready, or -errno. */
static long rtfd_set_wait_rt(struct rtfd_set *set, uint64_t deadline)
{
	unsigned long flags = arch_irq_save();
	long ready;
	int err = 0;

	for (;;) {
		ready = set->look_rt(set);
		if (ready || err == -ETIMEDOUT)
			break;
		if (err == -EINTR) {
			ready = -ERESTARTNOHAND;
			break;
		}
		err = lx_rtfd_wait(deadline);
	}
	arch_irq_restore(flags);
	return ready;
}

static long rtfd_look_rt(struct rtfd_set *set)
{
	unsigned long flags = arch_irq_save();
	long ready = set->look_rt(set);

	arch_irq_restore(flags);
	return ready;
}

/* Whether deadline (TSC, 0: none) has passed. */
static bool deadline_passed(uint64_t deadline)
{
	return deadline && arch_read_tsc() >= deadline;
}

/* A mixed set (see the top of the file). How many are ready, or -errno. */
static long rtfd_set_wait_mixed(struct rtfd_set *set, uint64_t deadline)
{
	struct lx_thread *lt = lx_current();
	long rt_ready, ret;

	for (;;) {
		WRITE_ONCE(lt->rcall_cut, false);
		rt_ready = rtfd_look_rt(set);
		if (rt_ready < 0) {
			ret = rt_ready;
			break;
		}
		ret = set->wait_linux(set, !rt_ready, deadline);
		if (ret < 0)
			break;
		rt_ready = rtfd_look_rt(set);
		if (rt_ready < 0 || ret + rt_ready || deadline_passed(deadline)) {
			ret = rt_ready < 0 ? rt_ready : ret + rt_ready;
			break;
		}
	}
	WRITE_ONCE(lt->rcall_cut, false);
	return ret;
}

static long rtfd_set_wait(struct rtfd_set *set, uint64_t deadline)
{
	return set->any_linux ? rtfd_set_wait_mixed(set, deadline) : rtfd_set_wait_rt(set, deadline);
}

/* ---- poll ---- */

struct poll_set {
	struct rtfd_set set;
	struct lx_process *p;
	uint64_t ufds, nfds;		/* the user's array */
	struct pollfd *fds;		/* a copy, with the answers */
	bool *is_rt;
};

/* The revents of the RT entries (POLLNVAL for RT fds closed meanwhile); how many. Masked. */
static long poll_look_rt(struct rtfd_set *set)
{
	struct poll_set *ps = container_of(set, struct poll_set, set);
	long ready = 0;

	for (uint64_t i = 0; i < ps->nfds; i++) {
		struct pollfd *pfd = &ps->fds[i];
		struct lx_rtfd *f;

		if (!ps->is_rt[i])
			continue;
		f = lx_rtfd_get(ps->p, (uint64_t)pfd->fd);
		pfd->revents = !f ? POLLNVAL :
			(short)(f->ops->poll(f) & ((unsigned int)pfd->events | POLLERR | POLLHUP));
		ready += pfd->revents != 0;
	}
	return ready;
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

/* A remote poll of the Linux entries, the RT ones hidden as negative fds in the user's array. */
static long poll_wait_linux(struct rtfd_set *set, bool wait, uint64_t deadline)
{
	struct poll_set *ps = container_of(set, struct poll_set, set);
	int ms = wait ? poll_ms_left(deadline) : 0;
	struct pollfd *tmp = kmalloc(ps->nfds * sizeof(*tmp));
	long ret;

	if (!tmp)
		return -ENOMEM;
	for (uint64_t i = 0; i < ps->nfds; i++) {
		tmp[i] = ps->fds[i];
		if (ps->is_rt[i])
			tmp[i].fd = ~ps->fds[i].fd;
	}
	ret = copy_to_user(ps->ufds, tmp, ps->nfds * sizeof(*tmp));
	if (!ret) {
		const uint64_t args[6] = { ps->ufds, ps->nfds, (uint64_t)(int64_t)ms };

		ret = rtfd_rcall_cut(__NR_poll, args, ms != 0);
		if (copy_from_user(tmp, ps->ufds, ps->nfds * sizeof(*tmp)) && ret >= 0)
			ret = -EFAULT;
		for (uint64_t i = 0; i < ps->nfds; i++)
			if (!ps->is_rt[i])
				ps->fds[i].revents = tmp[i].revents;
	}
	kfree(tmp);
	return ret;
}

long lx_rtfd_poll(uint64_t ufds, uint64_t nfds, uint64_t deadline, bool *ours)
{
	struct pollfd stack_fds[RTFD_POLL_STACK];
	bool stack_rt[RTFD_POLL_STACK], any_rt = false;
	struct poll_set ps = {
		.set = { .look_rt = poll_look_rt, .wait_linux = poll_wait_linux },
		.p = lx_current()->proc, .ufds = ufds, .nfds = nfds, .fds = stack_fds, .is_rt = stack_rt,
	};
	long ret;

	*ours = false;
	if (!lx_rtfd_count(ps.p) || nfds > 4096)
		return 0;	/* Linux says EINVAL beyond RLIMIT_NOFILE */
	if (nfds > RTFD_POLL_STACK) {
		ps.fds = kmalloc(nfds * sizeof(*ps.fds));
		ps.is_rt = kmalloc(nfds * sizeof(*ps.is_rt));
		if (!ps.fds || !ps.is_rt) {
			ret = -ENOMEM;
			*ours = true;
			goto out;
		}
	}
	if (copy_from_user(ps.fds, ufds, nfds * sizeof(*ps.fds))) {
		ret = 0;	/* Linux reports the fault */
		goto out;
	}
	for (uint64_t i = 0; i < nfds; i++) {
		ps.is_rt[i] = ps.fds[i].fd >= 0 && lx_rtfd_get(ps.p, (uint64_t)ps.fds[i].fd);
		ps.fds[i].revents = 0;
		any_rt |= ps.is_rt[i];
		ps.set.any_linux |= ps.fds[i].fd >= 0 && !ps.is_rt[i];
	}
	*ours = any_rt;
	if (!any_rt) {
		ret = 0;
		goto out;
	}
	ret = rtfd_set_wait(&ps.set, deadline);
	/* The user's array again as given, with the answers (or as given, after an error). */
	if (ret < 0)
		for (uint64_t i = 0; i < nfds; i++)
			ps.fds[i].revents = 0;
	if (copy_to_user(ufds, ps.fds, nfds * sizeof(*ps.fds)))
		ret = -EFAULT;
out:
	if (ps.fds != stack_fds) {
		kfree(ps.fds);
		kfree(ps.is_rt);
	}
	return ret;
}

/* ---- select ---- */

/* What makes an fd ready in each of select's sets (Linux's fs/select.c). */
static const unsigned int select_events[3] = {
	POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR,
	POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR,
	POLLPRI,
};

struct select_set {
	struct rtfd_set set;
	struct lx_process *p;
	uint64_t nfds;
	size_t bytes;			/* of each bitmap: whole 64-bit words, as Linux reads them */
	uint64_t user[3];		/* the user's read, write and except sets (0: none) */
	uint64_t *given[3];		/* the sets as given */
	uint64_t *rt_ans[3];		/* the RT fds' answers */
	uint64_t *linux_ans[3];		/* the Linux fds' answers */
	uint64_t *tmp;			/* one set's worth of room */
};

static bool bit_test(const uint64_t *map, uint64_t n)
{
	return map[n / 64] >> (n % 64) & 1;
}

/* The answers of the RT fds in the sets: how many bits. Masked. */
static long select_look_rt(struct rtfd_set *set)
{
	struct select_set *ss = container_of(set, struct select_set, set);
	long ready = 0;

	for (int s = 0; s < 3; s++)
		if (ss->user[s])
			memset(ss->rt_ans[s], 0, ss->bytes);
	for (int i = 0; i < LX_MAX_RTFDS; i++) {
		struct lx_rtfd *f = ss->p->rtfds[i];
		uint64_t fd = f ? (uint64_t)f->fd : 0;
		unsigned int events = 0;
		bool polled = false;

		for (int s = 0; f && fd < ss->nfds && s < 3; s++) {
			if (!ss->user[s] || !bit_test(ss->given[s], fd))
				continue;
			if (!polled)
				events = f->ops->poll(f);
			polled = true;
			if (events & select_events[s]) {
				ss->rt_ans[s][fd / 64] |= 1ull << (fd % 64);
				ready++;
			}
		}
	}
	return ready;
}

/* Clear the bits of p's RT fds in map (nfds bits). Returns whether any other bit is set. */
static bool select_hide_rt(struct lx_process *p, uint64_t *map, uint64_t nfds)
{
	bool others = false;

	for (int i = 0; i < LX_MAX_RTFDS; i++)
		if (p->rtfds[i] && (uint64_t)p->rtfds[i]->fd < nfds)
			map[p->rtfds[i]->fd / 64] &= ~(1ull << (p->rtfds[i]->fd % 64));
	for (size_t w = 0; w < (nfds + 63) / 64; w++)
		others |= map[w] != 0;
	return others;
}

/* Put len bytes (a timespec, an epoll_event) in the caller's slot: their address for the shadow. */
static uint64_t slot_scratch(struct lx_thread *lt, const void *data, size_t len)
{
	struct crtos_rcall *s = lt->rc;

	memcpy(s->scratch, data, MIN(len, sizeof(s->scratch)));
	return lt->proc->chan->shadow_va + (uint64_t)((uint8_t *)s->scratch - (uint8_t *)lt->proc->chan);
}

/* A remote pselect6 of the Linux fds: the user's sets as given, the RT fds' bits cleared. */
static long select_wait_linux(struct rtfd_set *set, bool wait, uint64_t deadline)
{
	struct select_set *ss = container_of(set, struct select_set, set);
	struct __kernel_timespec ts = { 0, 0 };
	uint64_t args[6] = { ss->nfds, ss->user[0], ss->user[1], ss->user[2], 0, 0 };
	uint64_t now = arch_read_tsc();
	unsigned long flags;
	long ret;

	for (int s = 0; s < 3; s++) {
		if (!ss->user[s])
			continue;
		memcpy(ss->tmp, ss->given[s], ss->bytes);
		flags = arch_irq_save();
		select_hide_rt(ss->p, ss->tmp, ss->nfds);
		arch_irq_restore(flags);
		if (copy_to_user(ss->user[s], ss->tmp, ss->bytes))
			return -EFAULT;
	}
	if (wait && deadline > now)
		ts = lx_ns_ts((int64_t)clock_cycles_to_ns(deadline - now));
	if (!wait || deadline)
		args[4] = slot_scratch(lx_current(), &ts, sizeof(ts));
	ret = rtfd_rcall_cut(__NR_pselect6, args, wait && (!deadline || ts.tv_sec || ts.tv_nsec));
	/* Linux wrote its answers unless it failed or was cut short (then 0 here). */
	for (int s = 0; s < 3; s++) {
		if (!ss->user[s])
			continue;
		if (ret <= 0)
			memset(ss->linux_ans[s], 0, ss->bytes);
		else if (copy_from_user(ss->linux_ans[s], ss->user[s], ss->bytes))
			return -EFAULT;
	}
	return ret;
}

/* The user's sets after the wait: both kinds' answers, or as given after an error. */
static long select_answer(struct select_set *ss, long ret)
{
	for (int s = 0; s < 3; s++) {
		if (!ss->user[s])
			continue;
		for (size_t w = 0; w < ss->bytes / 8; w++)
			ss->tmp[w] = ret < 0 ? ss->given[s][w] : ss->linux_ans[s][w] | ss->rt_ans[s][w];
		if (copy_to_user(ss->user[s], ss->tmp, ss->bytes))
			return -EFAULT;
	}
	return ret;
}

/* The select_set's bitmaps (given, and both kinds' answers, for 3 sets; one spare), one block. */
static int select_alloc(struct select_set *ss)
{
	uint64_t *block = kzalloc(10 * ss->bytes);
	size_t words = ss->bytes / 8;

	if (!block)
		return -ENOMEM;
	for (int s = 0; s < 3; s++) {
		ss->given[s] = block + s * words;
		ss->rt_ans[s] = block + (3 + s) * words;
		ss->linux_ans[s] = block + (6 + s) * words;
	}
	ss->tmp = block + 9 * words;
	return 0;
}

long lx_rtfd_select(uint64_t nfds, const uint64_t sets[3], uint64_t deadline, bool *ours)
{
	struct select_set ss = {
		.set = { .look_rt = select_look_rt, .wait_linux = select_wait_linux },
		.p = lx_current()->proc, .nfds = MIN(nfds, (uint64_t)RTFD_SELECT_MAX),
	};
	bool any_rt = false;
	long ret;

	*ours = false;
	if (!lx_rtfd_count(ss.p) || (int)nfds <= 0)
		return 0;	/* Linux says EINVAL for a negative nfds */
	ss.bytes = (ss.nfds + 63) / 64 * 8;
	if (select_alloc(&ss)) {
		*ours = true;
		return -ENOMEM;
	}
	for (int s = 0; s < 3; s++) {
		ss.user[s] = sets[s];
		if (!sets[s])
			continue;
		if (copy_from_user(ss.given[s], sets[s], ss.bytes)) {
			ret = 0;	/* Linux reports the fault */
			goto out;
		}
		memcpy(ss.tmp, ss.given[s], ss.bytes);
		ss.set.any_linux |= select_hide_rt(ss.p, ss.tmp, ss.nfds);
		any_rt |= memcmp(ss.tmp, ss.given[s], ss.bytes) != 0;
	}
	*ours = any_rt;
	ret = any_rt ? select_answer(&ss, rtfd_set_wait(&ss.set, deadline)) : 0;
out:
	kfree(ss.given[0]);
	return ret;
}

/* ---- epoll ---- */

/*
 * An RT fd in an epoll set: Linux's set holds its placeholder with no
 * events (so Linux checks epfd, the op and membership, and a close of the
 * fd takes it out), the realm holds what it waits for (p->epitems). An
 * epoll_wait on a set with RT fds is a mixed wait like poll's; EPOLLONESHOT
 * as Linux does. EPOLLET as Linux does too: an item reports when it is
 * ready and its fd had an event since the item last reported (its kind's
 * events_so_far moved), or once after EPOLL_CTL_ADD/MOD if ready then; a
 * kind without that count is served level-triggered.
 */
static struct lx_epitem *epitem_find(struct lx_process *p, int epfd, int fd)
{
	for (int i = 0; i < LX_MAX_EPITEMS; i++)
		if (p->epitems[i].used && p->epitems[i].epfd == epfd && p->epitems[i].fd == fd)
			return &p->epitems[i];
	return NULL;
}

/* The realm's side of epoll_ctl, once Linux said yes. Masked. 0 or -ENOSPC (no room). */
static long epitem_update(struct lx_process *p, int epfd, int op, int fd,
			  const struct epoll_event *ev)
{
	struct lx_epitem *it = epitem_find(p, epfd, fd);

	if (op == EPOLL_CTL_DEL) {
		if (it)
			it->used = false;
		return 0;
	}
	for (int i = 0; !it && i < LX_MAX_EPITEMS; i++)
		if (!p->epitems[i].used)
			it = &p->epitems[i];
	if (!it)
		return -ENOSPC;
	*it = (struct lx_epitem){ .used = true, .epfd = epfd, .fd = fd, .events = ev->events,
				  .edge_armed = true, .data = ev->data };
	return 0;
}

long lx_rtfd_epoll_ctl(struct lx_process *p, const uint64_t *a)
{
	int epfd = (int)a[0], op = (int)a[1], fd = (int)a[2];
	struct epoll_event ev = { 0 }, flags_only;
	unsigned long irq;
	long ret;

	if (op != EPOLL_CTL_DEL && copy_from_user(&ev, a[3], sizeof(ev)))
		return -EFAULT;
	/* Linux sees the placeholder with the flags only: it checks them, it never reports it. */
	flags_only = (struct epoll_event){ .events = ev.events & (EPOLLET | EPOLLONESHOT |
								  EPOLLEXCLUSIVE | EPOLLWAKEUP) };
	ret = rcall(__NR_epoll_ctl, (uint64_t)epfd, (uint64_t)op, (uint64_t)fd,
		    op == EPOLL_CTL_DEL ? 0 : slot_scratch(lx_current(), &flags_only, sizeof(flags_only)),
		    0, 0);
	if (ret)
		return ret;
	irq = arch_irq_save();
	ret = epitem_update(p, epfd, op, fd, &ev);
	arch_irq_restore(irq);
	if (ret)	/* no room here: undo Linux's side */
		rcall(__NR_epoll_ctl, (uint64_t)epfd, EPOLL_CTL_DEL, (uint64_t)fd, 0, 0, 0);
	return ret;
}

void lx_rtfd_epoll_forget(struct lx_process *p, int fd)
{
	for (int i = 0; i < LX_MAX_EPITEMS; i++)
		if (p->epitems[i].used && (p->epitems[i].fd == fd || p->epitems[i].epfd == fd))
			p->epitems[i].used = false;
}

struct epoll_set {
	struct rtfd_set set;
	struct lx_process *p;
	int epfd, maxevents;
	uint64_t uevents;		/* the user's array: Linux's answers first */
	int n_rt, n_linux;
	struct epoll_event rt_ev[LX_MAX_EPITEMS];
	struct lx_epitem *rt_item[LX_MAX_EPITEMS];
	uint64_t rt_events_so_far[LX_MAX_EPITEMS];	/* of each one's fd, when looked at */
};

/* An EPOLLET item that saw no event since it last reported: not ready for epoll. */
static bool epitem_no_new_edge(const struct lx_epitem *it, struct lx_rtfd *f, uint64_t *so_far)
{
	if (!(it->events & EPOLLET) || !f->ops->events_so_far)
		return false;
	*so_far = f->ops->events_so_far(f);
	return !it->edge_armed && *so_far == it->edge_seen;
}

/* The RT fds of the set that are ready, with what they are ready for. Masked. */
static long epoll_look_rt(struct rtfd_set *set)
{
	struct epoll_set *es = container_of(set, struct epoll_set, set);

	es->n_rt = 0;
	for (int i = 0; i < LX_MAX_EPITEMS && es->n_rt < es->maxevents; i++) {
		struct lx_epitem *it = &es->p->epitems[i];
		struct lx_rtfd *f = it->used && it->epfd == es->epfd ? lx_rtfd_get(es->p, (uint64_t)it->fd) :
				    NULL;
		uint64_t so_far = 0;
		unsigned int got;

		/* The count is read before the readiness: an event in between reports again. */
		if (!f || !it->events || epitem_no_new_edge(it, f, &so_far))
			continue;
		got = f->ops->poll(f) & (it->events | EPOLLERR | EPOLLHUP);
		if (!got)
			continue;
		es->rt_ev[es->n_rt] = (struct epoll_event){ .events = got, .data = it->data };
		es->rt_events_so_far[es->n_rt] = so_far;
		es->rt_item[es->n_rt++] = it;
	}
	return es->n_rt;
}

/* A remote epoll_wait for the room the RT answers leave. */
static long epoll_wait_linux(struct rtfd_set *set, bool wait, uint64_t deadline)
{
	struct epoll_set *es = container_of(set, struct epoll_set, set);
	int room = es->maxevents - es->n_rt, ms = wait ? poll_ms_left(deadline) : 0;
	const uint64_t args[6] = { (uint64_t)es->epfd, es->uevents, (uint64_t)room, (uint64_t)(int64_t)ms };
	long ret = room > 0 ? rtfd_rcall_cut(__NR_epoll_wait, args, ms != 0) : 0;

	es->n_linux = ret > 0 ? (int)ret : 0;
	return ret;
}

/*
 * The RT answers after Linux's in the user's array (EPOLLONESHOT items fire
 * once, EPOLLET ones wait for their fd's next event).
 */
static long epoll_answer(struct epoll_set *es, long ret)
{
	int n = MIN(es->n_rt, es->maxevents - es->n_linux);
	unsigned long irq;

	if (ret < 0)
		return ret;
	if (n > 0 && copy_to_user(es->uevents + (uint64_t)es->n_linux * sizeof(struct epoll_event),
				  es->rt_ev, (size_t)n * sizeof(struct epoll_event)))
		return -EFAULT;
	irq = arch_irq_save();
	for (int i = 0; i < n; i++) {
		struct lx_epitem *it = es->rt_item[i];

		if (it->events & EPOLLONESHOT)
			it->events = 0;
		it->edge_armed = false;
		it->edge_seen = es->rt_events_so_far[i];
	}
	arch_irq_restore(irq);
	return es->n_linux + n;
}

long lx_rtfd_epoll_wait(uint64_t epfd, uint64_t uevents, uint64_t maxevents, uint64_t deadline,
			bool *ours)
{
	struct epoll_set *es;
	long ret;

	*ours = false;
	for (int i = 0; i < LX_MAX_EPITEMS && !*ours; i++)
		*ours = lx_current()->proc->epitems[i].used &&
			(uint64_t)lx_current()->proc->epitems[i].epfd == epfd;
	if (!*ours || (int)maxevents <= 0) {
		*ours = false;	/* Linux checks epfd and maxevents */
		return 0;
	}
	es = kzalloc(sizeof(*es));
	if (!es)
		return -ENOMEM;
	*es = (struct epoll_set){
		.set = { .look_rt = epoll_look_rt, .wait_linux = epoll_wait_linux, .any_linux = true },
		.p = lx_current()->proc, .epfd = (int)epfd, .maxevents = (int)maxevents,
		.uevents = uevents,
	};
	ret = epoll_answer(es, rtfd_set_wait(&es->set, deadline));
	kfree(es);
	return ret;
}
