// SPDX-License-Identifier: MIT
/*
 * The system-call dispatcher. Every number goes through the routing table
 * (linuxabi/syscalls.def): a handler of ours if handlers.def has one, else
 * the route's class decides: remote calls go to the shadow verbatim after
 * the fd or path checks their class asks for; everything else is -ENOSYS.
 * Nothing unknown can crash anything: numbers beyond the table are -ENOSYS
 * too. The process's statistics (crtos run --stats) count each -ENOSYS
 * apart: a deliberate one (the ENOSYS class, and lx_fallback() in
 * handlers) as a fallback, the others as calls the realm does not serve.
 */
#include <kernel/printk.h>
#include <kernel/string.h>
#include <linuxabi/linux.h>
#include <linuxabi/rtfd.h>
#include <linuxabi/syscall_class.h>
#include <linux/fcntl.h>
#include <asm/unistd_64.h>

#include <linuxabi/handlers.h>

typedef long (*lx_handler_fn)(const uint64_t *a);

static const lx_handler_fn lx_handlers[LINUX_SYSCALL_MAX] = {
#define HANDLER(name) [__NR_##name] = sys_##name,
#include <linuxabi/handlers.def>
#undef HANDLER
};

static uint64_t lx_enosys_reported[(LINUX_SYSCALL_MAX + 63) / 64];

/* Whether fd is one the program may not touch (the shadow's own). */
static bool lx_fd_private(const struct lx_process *p, uint64_t fd)
{
	for (unsigned int i = 0; i < p->nr_private_fds; i++)
		if ((uint64_t)(int64_t)p->private_fds[i] == fd)
			return true;
	return false;
}

/* Second fd arguments that must not name a private fd (the route checks the first). */
static bool lx_second_fd_private(const struct lx_process *p, long nr, const uint64_t *a)
{
	switch (nr) {
	case __NR_dup2:
	case __NR_dup3:
	case __NR_sendfile:
		return lx_fd_private(p, a[1]);
	case __NR_splice:
	case __NR_copy_file_range:
		return lx_fd_private(p, a[2]);
	case __NR_tee:
		return lx_fd_private(p, a[1]);
	case __NR_epoll_ctl:
		return lx_fd_private(p, a[2]);
	default:
		return false;
	}
}

/* Which argument of a path call is the path: the *at calls take a dirfd first. */
static int lx_path_arg(long nr)
{
	switch (nr) {
	case __NR_open: case __NR_stat: case __NR_lstat: case __NR_access: case __NR_readlink:
	case __NR_mkdir: case __NR_rmdir: case __NR_unlink: case __NR_chdir: case __NR_chmod:
	case __NR_chown: case __NR_lchown: case __NR_truncate: case __NR_creat: case __NR_rename:
	case __NR_link: case __NR_mknod: case __NR_statfs: case __NR_utime: case __NR_utimes:
	case __NR_execve: case __NR_chroot: case __NR_acct: case __NR_swapon: case __NR_swapoff:
	case __NR_setxattr: case __NR_lsetxattr: case __NR_getxattr: case __NR_lgetxattr:
	case __NR_listxattr: case __NR_llistxattr: case __NR_removexattr: case __NR_lremovexattr:
		return 0;
	case __NR_symlink:
		return 1;
	default:
		return 1;	/* openat, newfstatat, faccessat, statx, mkdirat, ... */
	}
}

/*
 * Paths under /dev/rt belong to the RT namespace: open() of /dev/rtf/NAME
 * is an RT-FIFO (rtfifo.c), of /dev/rtshm/NAME the cell's shared-memory
 * region (shm.c); anything else there does not exist. Returns
 * whether the path is the RT namespace's, with the call's result in *ret.
 */
static bool lx_path_check(long nr, const uint64_t *a, long *ret)
{
	char path[64];
	long len = strncpy_from_user(path, a[lx_path_arg(nr)], sizeof(path));

	/* A longer path copies nothing, but its first bytes are there: look at those. */
	if (len == -ENAMETOOLONG && !copy_from_user(path, a[lx_path_arg(nr)], 7))
		len = 7;
	*ret = len;
	if (len == -EFAULT)
		return true;
	if (len < 7 || memcmp(path, "/dev/rt", 7))
		return false;
	if (len > 11 && !memcmp(path, "/dev/rtshm/", 11) && (nr == __NR_open || nr == __NR_openat))
		*ret = nr == __NR_open ? lx_rtshm_open(path + 11, a[1], a[2]) :
					 lx_rtshm_open(path + 11, a[2], a[3]);
	else if (nr == __NR_open)
		*ret = lx_rtfifo_open(a[0], a[1]);
	else if (nr == __NR_openat)
		*ret = lx_rtfifo_open(a[1], a[2]);
	else if (nr == __NR_creat)
		*ret = lx_rtfifo_open(a[0], O_CREAT | O_WRONLY | O_TRUNC);
	else
		*ret = -ENOENT;
	return true;
}

/* -ENOSYS for a call the realm does not serve (yet): counted for crtos run --stats. */
static long lx_enosys(struct lx_thread *lt, long nr)
{
	struct crtos_stats *st = lt->proc->stats;

	if (nr >= 0 && nr < CRTOS_STATS_SYSCALLS)
		st->enosys_by_nr[nr]++;
	else
		st->enosys_beyond++;
	return -ENOSYS;
}

/* A LOCAL or DUAL call without its handler: -ENOSYS, and the kernel log says so once. */
static long lx_no_handler(struct lx_thread *lt, long nr)
{
	if (nr >= 0 && nr < LINUX_SYSCALL_MAX &&
	    !(lx_enosys_reported[nr / 64] & (1ull << (nr % 64)))) {
		lx_enosys_reported[nr / 64] |= 1ull << (nr % 64);
		pr_info("syscall %s (%ld) is not implemented yet: -ENOSYS\n",
			syscall_routes[nr].name ? syscall_routes[nr].name : "?", nr);
	}
	return lx_enosys(lt, nr);
}

static long lx_count_fallback(struct lx_thread *lt, long nr, long err)
{
	if (nr >= 0 && nr < CRTOS_STATS_SYSCALLS)
		lt->proc->stats->fallback_by_nr[nr]++;
	return err;
}

long lx_fallback(long err)
{
	struct lx_thread *lt = lx_current();

	return lx_count_fallback(lt, lt->syscall_nr, err);
}

/*
 * Calls on RT fds (linuxabi/rtfd.h): read, write, ioctl and close are the
 * realm's, dup and fcntl follow Linux; epoll_ctl and epoll_wait with RT fds
 * are the realm's (rtfd_wait.c; poll and select are handlers of their own). Returns whether the call was about RT fds, with its
 * result in *ret.
 */
static bool lx_rtfd_route(struct lx_process *p, long nr, const uint64_t *a, long *ret)
{
	struct lx_rtfd *f;

	if (!lx_rtfd_count(p))
		return false;
	f = lx_rtfd_get(p, a[0]);
	switch (nr) {
	case __NR_read:
		if (f)
			*ret = lx_rtfd_read(p, f, a[1], a[2]);
		return f;
	case __NR_write:
		if (f)
			*ret = lx_rtfd_write(p, f, a[1], a[2]);
		return f;
	case __NR_ioctl:
		if (f)
			*ret = lx_rtfd_ioctl(f, a);
		return f;
	case __NR_close:
		if (f) {
			*ret = lx_rtfd_close(p, (int)a[0]);
		} else {
			unsigned long irq = arch_irq_save();

			lx_rtfd_epoll_forget(p, (int)a[0]);	/* an epoll set, perhaps */
			arch_irq_restore(irq);
		}
		return f;
	case __NR_dup:
	case __NR_dup2:
	case __NR_dup3:
	case __NR_fcntl:
		if (!f && !((nr == __NR_dup2 || nr == __NR_dup3) && lx_rtfd_get(p, a[1])))
			return false;
		*ret = lx_rtfd_fcntl_dup(p, nr, a);
		return true;
	case __NR_epoll_ctl:
		if (!lx_rtfd_get(p, a[2]))
			return false;
		*ret = lx_rtfd_epoll_ctl(p, a);
		return true;
	case __NR_epoll_wait: {
		bool ours;

		*ret = lx_rtfd_epoll_wait(a[0], a[1], a[2], lx_ms_deadline((int)a[3]), &ours);
		return ours;
	}
	default:
		return false;
	}
}

/* Linux calls that a signal never restarts (signal(7)): interrupted, they fail with EINTR. */
static bool lx_never_restarted(long nr)
{
	switch (nr) {
	case __NR_poll: case __NR_ppoll: case __NR_select: case __NR_pselect6:
	case __NR_epoll_wait: case __NR_epoll_pwait: case __NR_epoll_pwait2:
	case __NR_nanosleep: case __NR_clock_nanosleep: case __NR_io_getevents:
	case __NR_semop: case __NR_semtimedop: case __NR_msgrcv: case __NR_msgsnd:
	case __NR_rt_sigtimedwait: case __NR_rt_sigsuspend: case __NR_pause:
		return true;
	default:
		return false;
	}
}

/*
 * The twin's call was cut short by a signal it forwarded (CRTOS_RCALL_RESTART:
 * a background read of the terminal made Linux send SIGTTIN). Whether that
 * signal is now something to act on: it is in the ring, put there before
 * the answer. If not (the program ignores it now), the call is made again,
 * as Linux restarts a call whose signal turned out to be ignored.
 */
static bool lx_rcall_signalled(struct lx_thread *lt)
{
	unsigned long flags = arch_irq_save();
	bool act;

	lx_signal_poll_shadow(lt->proc);
	act = thread_current()->interrupt_pending || lx_signal_deliverable(lt);
	arch_irq_restore(flags);
	return act;
}

/*
 * A remote call; if a signal cut it short (rcall_interrupt, or in Linux:
 * CRTOS_RCALL_RESTART), the result says restart or EINTR as Linux would
 * decide after the signal.
 */
long lx_rcall_restartable(long nr, const uint64_t *a)
{
	long err;

	do
		err = rcall_regs(nr, a);
	while (err == CRTOS_RCALL_RESTART && !lx_rcall_signalled(lx_current()));
	if (err == CRTOS_RCALL_RESTART || (err == -EINTR && thread_current()->interrupt_pending))
		return lx_never_restarted(nr) ? -ERESTARTNOHAND : -ERESTARTSYS;
	return err;
}

static void lx_count_local(struct lx_thread *lt, long nr)
{
	lt->stats->local_calls++;
	if (nr < CRTOS_STATS_SYSCALLS)
		lt->proc->stats->local_by_nr[nr]++;
}

static long lx_remote(struct lx_thread *lt, long nr, const uint64_t *a, unsigned int cls)
{
	long err;

	if (cls == SC_REMOTE_FD && lx_fd_private(lt->proc, a[0]))
		return -EBADF;
	if (lx_second_fd_private(lt->proc, nr, a))
		return -EBADF;
	if ((cls == SC_REMOTE_PATH && lx_path_check(nr, a, &err)) ||
	    lx_rtfd_route(lt->proc, nr, a, &err)) {
		lx_count_local(lt, nr);	/* the RT namespace, or an RT fd: served in the realm */
		return err;
	}
	return lx_rcall_restartable(nr, a);
}

/* One system call: number in rax, arguments in rdi, rsi, rdx, r10, r8, r9. */
void syscall_entry(arch_regs_t *regs)
{
	struct lx_thread *lt = lx_current();
	long nr = (long)regs->rax, ret;
	const uint64_t a[6] = { regs->rdi, regs->rsi, regs->rdx, regs->r10, regs->r8, regs->r9 };
	unsigned int cls;

	if (nr < 0 || nr >= LINUX_SYSCALL_MAX) {
		regs->rax = (uint64_t)lx_enosys(lt, nr);
		return;
	}
	lt->regs = regs;
	lt->syscall_nr = nr;
	cls = syscall_routes[nr].cls;
	if (lx_handlers[nr]) {
		lx_count_local(lt, nr);
		ret = lx_handlers[nr](a);
	} else if (cls == SC_REMOTE || cls == SC_REMOTE_FD || cls == SC_REMOTE_PATH) {
		ret = lx_remote(lt, nr, a, cls);
	} else if (cls != SC_ENOSYS) {
		ret = lx_no_handler(lt, nr);
	} else if (syscall_routes[nr].name && strcmp(syscall_routes[nr].why, SC_WHY_UNCLASSIFIED)) {
		ret = lx_count_fallback(lt, nr, -ENOSYS);	/* deliberately: the route says why */
	} else {
		ret = lx_enosys(lt, nr);	/* a gap in the numbers, or not classified yet */
	}
	regs->rax = (uint64_t)ret;
}

/*
 * On every return to user code (masked): shared files that shrank under
 * their mappings, signals, and the end of threads whose process ended.
 */
void user_return(arch_regs_t *regs)
{
	struct lx_thread *lt = lx_current();

	if (lt && unlikely(lx_shm_resized() != READ_ONCE(lx_mm_owner(lt->proc)->shm_resized_seen))) {
		arch_irq_restore(0);
		lx_mm_shm_follow(lt->proc);
		arch_irq_save();
	}
	lx_signal_deliver(regs);
}
