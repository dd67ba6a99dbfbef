/* SPDX-License-Identifier: MIT */
/*
 * RT file descriptors (linuxabi/rtfd.c): fds whose object lives in the
 * realm (timerfds, RT-FIFOs) and whose read, write, poll, ioctl and close
 * are served there, without Linux. Each holds a placeholder Linux fd of the
 * same number in the shadow, so RT and Linux fds never collide and dup,
 * fcntl and /proc/self/fd keep working through Linux.
 *
 * A kind of RT fd provides its operations: the "try" ones never block and
 * run masked (they may copy to or from user memory, which is resident);
 * the layer does the waiting, on one wait queue for every RT fd of the cell
 * (an object shared between processes, like a FIFO, wakes it too).
 */
#ifndef LINUXABI_RTFD_H
#define LINUXABI_RTFD_H

#include <linuxabi/linux.h>

struct lx_rtfd;

struct lx_rtfd_ops {
	const char *name;
	/* Bytes read (0: end of file) or -errno; -EAGAIN: nothing yet, the layer waits. */
	long (*try_read)(struct lx_rtfd *f, uint64_t buf, size_t len);
	/* Bytes written or -errno; -EAGAIN: no room yet. */
	long (*try_write)(struct lx_rtfd *f, uint64_t buf, size_t len);
	/* POLLIN, POLLOUT, POLLHUP... as ready now. */
	unsigned int (*poll)(struct lx_rtfd *f);
	/*
	 * A count of the object's events so far (data in or out, an expiry),
	 * only ever growing: what an edge-triggered epoll item (EPOLLET) waits
	 * to see move, as Linux's wakes it at each event. NULL: every wait looks
	 * level-triggered.
	 */
	uint64_t (*events_so_far)(struct lx_rtfd *f);
	/* ioctl(cmd, arg): -ENOTTY for what it does not know. May be NULL. */
	long (*ioctl)(struct lx_rtfd *f, unsigned int cmd, uint64_t arg);
	/* A new fd names the object (open, dup), or one stops naming it (close). */
	void (*hold)(struct lx_rtfd *f);
	void (*drop)(struct lx_rtfd *f);
};

struct lx_rtfd {
	int fd;
	unsigned int flags;		/* O_NONBLOCK, and the access mode it was opened with */
	const struct lx_rtfd_ops *ops;
	void *obj;			/* the kind's object */
};

/*
 * Register fd (a placeholder open in the shadow) as an RT fd of p for obj;
 * ops->hold is called. Masked. 0 or -EMFILE/-ENOMEM.
 */
int lx_rtfd_add(struct lx_process *p, int fd, const struct lx_rtfd_ops *ops, void *obj,
		unsigned int flags);
struct lx_rtfd *lx_rtfd_get(struct lx_process *p, uint64_t fd);
int lx_rtfd_count(struct lx_process *p);
/* Something an RT fd waits for may have changed: every waiter looks again. Masked. */
void lx_rtfd_wake_all(void);
/* Wait for a change to any RT fd, or deadline (TSC, 0: none). Masked. 0, -ETIMEDOUT or -EINTR. */
int lx_rtfd_wait(uint64_t deadline);
/* Cut short the remote waits of threads waiting on mixed sets (rtfd_wait.c). Masked. */
void lx_rtfd_cut_waits(void);
/* Drop every RT fd of p (it is ending). Masked. */
void lx_rtfd_destroy(struct lx_process *p);
/*
 * fork (linuxabi/fork.c): the child names the same objects under the same
 * numbers (its shadow inherits the placeholders). Masked. 0 or -errno.
 */
int lx_rtfd_fork(struct lx_process *p, struct lx_process *child);
/*
 * Forget p's RT fds whose placeholder the shadow no longer has: after an
 * execve (the close-on-exec ones, which Linux marks on the placeholder),
 * and in a fork child before it runs (one another thread closed while the
 * parent forked). The caller is p's only thread; one remote fcntl per RT fd.
 */
void lx_rtfd_prune(struct lx_process *p);

/* The calls, dispatched by syscall.c and sys_wait.c. */
long lx_rtfd_read(struct lx_process *p, struct lx_rtfd *f, uint64_t buf, size_t len);
long lx_rtfd_write(struct lx_process *p, struct lx_rtfd *f, uint64_t buf, size_t len);
long lx_rtfd_ioctl(struct lx_rtfd *f, const uint64_t *a);
long lx_rtfd_close(struct lx_process *p, int fd);
long lx_rtfd_fcntl_dup(struct lx_process *p, long nr, const uint64_t *a);
/*
 * poll() and select() of sets with RT fds in them, RT fds alone or mixed
 * with Linux fds (rtfd_wait.c). *ours: whether the set had RT fds at all
 * (if not, the caller forwards the call). deadline: TSC, 0 none. The
 * number of ready entries or bits, or -errno (-ERESTARTNOHAND: a signal).
 * select's sets: the user's read, write and except bitmaps (0: none); its
 * timeout is the caller's to update.
 */
long lx_rtfd_poll(uint64_t ufds, uint64_t nfds, uint64_t deadline, bool *ours);
long lx_rtfd_select(uint64_t nfds, const uint64_t sets[3], uint64_t deadline, bool *ours);
/*
 * epoll with RT fds: epoll_ctl of an RT fd (argument 2; Linux's set keeps
 * its placeholder without events, the realm what it waits for), and an
 * epoll_wait (or pwait) on a set holding RT fds (*ours), the RT fds'
 * events after Linux's in the user's array.
 */
long lx_rtfd_epoll_ctl(struct lx_process *p, const uint64_t *a);
long lx_rtfd_epoll_wait(uint64_t epfd, uint64_t uevents, uint64_t maxevents, uint64_t deadline,
			bool *ours);
/* fd was closed: forget it as an RT fd in epoll sets, and as an epoll set. Masked. */
void lx_rtfd_epoll_forget(struct lx_process *p, int fd);

/* RT-FIFOs (rtfifo.c). */
void lx_rtfifo_init(void);
/* A FIFO's or shared-memory region's name: 1 to 31 of [A-Za-z0-9._-], not "." or "..". */
bool lx_rt_name_ok(const char *name);
/* open() of /dev/rtshm/NAME: a Linux fd of the cell's region file (shm.c), or -errno. */
long lx_rtshm_open(const char *name, uint64_t flags, uint64_t mode);
/* open() of a /dev/rt path (in user memory): the new RT-FIFO fd, or -errno (-ENOENT: not /dev/rtf/NAME). */
long lx_rtfifo_open(uint64_t upath, uint64_t flags);
/* The VMM's requests. */
long lx_rtfifo_create(const char *name, uint64_t size, uint64_t *index);
long lx_rtfifo_remove(const char *name);
/* Changes the VMM made (polled, and at each kick). Masked. Returns whether it woke anyone. */
bool lx_rtfifo_poll(void);
/*
 * The idle loop polls the FIFOs (true): the VMM need not kick after a
 * change. Set false, then lx_rtfifo_poll(), before the CPU stops polling.
 */
void lx_rtfifo_set_polling(bool polling);

#endif
