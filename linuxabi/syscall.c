// SPDX-License-Identifier: MIT
/*
 * The system-call dispatcher. Every number goes through the routing table
 * (linuxabi/syscalls.def): a handler of ours if handlers.def has one, else
 * the route's class decides: remote calls go to the shadow verbatim after
 * the fd or path checks their class asks for; everything else is -ENOSYS.
 * Nothing unknown can crash anything: numbers beyond the table are -ENOSYS
 * too.
 */
#include <kernel/printk.h>
#include <kernel/string.h>
#include <linuxabi/linux.h>
#include <linuxabi/syscall_class.h>
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

/* Paths under /dev/rt belong to the RT namespace; no RT devices exist yet. */
static long lx_path_check(long nr, const uint64_t *a)
{
	char path[16];
	long len = strncpy_from_user(path, a[lx_path_arg(nr)], sizeof(path));

	if (len == -EFAULT)
		return -EFAULT;
	if (len >= 7 && !memcmp(path, "/dev/rt", 7))
		return -ENOENT;
	return 0;
}

static long lx_enosys(long nr)
{
	if (nr >= 0 && nr < LINUX_SYSCALL_MAX &&
	    !(lx_enosys_reported[nr / 64] & (1ull << (nr % 64)))) {
		lx_enosys_reported[nr / 64] |= 1ull << (nr % 64);
		pr_info("syscall %s (%ld) is not implemented yet: -ENOSYS\n",
			syscall_routes[nr].name ? syscall_routes[nr].name : "?", nr);
	}
	return -ENOSYS;
}

static long lx_remote(struct lx_thread *lt, long nr, const uint64_t *a, unsigned int cls)
{
	long err;

	if (cls == SC_REMOTE_FD && lx_fd_private(lt->proc, a[0]))
		return -EBADF;
	if (lx_second_fd_private(lt->proc, nr, a))
		return -EBADF;
	if (cls == SC_REMOTE_PATH) {
		err = lx_path_check(nr, a);
		if (err)
			return err;
	}
	return rcall_regs(nr, a);
}

/* One system call: number in rax, arguments in rdi, rsi, rdx, r10, r8, r9. */
void syscall_entry(arch_regs_t *regs)
{
	struct lx_thread *lt = lx_current();
	long nr = (long)regs->rax, ret;
	const uint64_t a[6] = { regs->rdi, regs->rsi, regs->rdx, regs->r10, regs->r8, regs->r9 };
	unsigned int cls;

	if (nr < 0 || nr >= LINUX_SYSCALL_MAX) {
		regs->rax = (uint64_t)-ENOSYS;
		return;
	}
	cls = syscall_routes[nr].cls;
	if (lx_handlers[nr]) {
		lt->local_calls++;
		ret = lx_handlers[nr](a);
	} else if (cls == SC_REMOTE || cls == SC_REMOTE_FD || cls == SC_REMOTE_PATH) {
		ret = lx_remote(lt, nr, a, cls);
	} else {
		ret = cls == SC_ENOSYS ? -ENOSYS : lx_enosys(nr);
	}
	regs->rax = (uint64_t)ret;
}

void user_return(arch_regs_t *regs __unused)
{
	lx_signal_check();
}
