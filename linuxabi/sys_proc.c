// SPDX-License-Identifier: MIT
/*
 * Process and thread identity, exit, TLS, and signals aimed at the process
 * itself. The pid and tids are the shadow's, so what a program prints or
 * passes to kill(1) means the same in Linux.
 */
#include <kernel/string.h>
#include <linuxabi/handlers.h>
#include <linuxabi/linux.h>
#include <asm/prctl.h>
#include <linux/prctl.h>
#include <asm/unistd_64.h>

long sys_getpid(const uint64_t *a __unused)
{
	return lx_current()->proc->pid;
}

long sys_gettid(const uint64_t *a __unused)
{
	return lx_current()->tid;
}

long sys_exit_group(const uint64_t *a)
{
	lx_process_exit(CRTOS_EXIT_CODE, (int)(a[0] & 0xff));
}

/* One thread per process for now: exit ends the process. */
long sys_exit(const uint64_t *a)
{
	return sys_exit_group(a);
}

long sys_set_tid_address(const uint64_t *a)
{
	struct lx_thread *lt = lx_current();

	lt->clear_child_tid = a[0];
	return lt->tid;
}

/* Recorded for owner-died handling, which comes with threads. */
long sys_set_robust_list(const uint64_t *a)
{
	return a[1] == 24 ? 0 : -EINVAL;	/* sizeof(struct robust_list_head) */
}

long sys_arch_prctl(const uint64_t *a)
{
	struct thread *t = thread_current();
	uint64_t fs;

	switch (a[0]) {
	case ARCH_SET_FS:
		if (!user_range_ok(a[1], 0))
			return -EPERM;
		arch_thread_set_tls(&t->arch, a[1], true);
		return 0;
	case ARCH_GET_FS:
		fs = arch_thread_get_tls(&t->arch, true);
		return copy_to_user(a[1], &fs, sizeof(fs));
	case ARCH_SET_GS:
	case ARCH_GET_GS:
		return -EINVAL;		/* GS belongs to the kernel here */
	default:
		return -EINVAL;
	}
}

/* Send sig to this process: queue it for the next return to user code. */
static long lx_signal_self(uint64_t sig)
{
	struct lx_process *p = lx_current()->proc;

	if (sig >= 32)
		return sig >= LX_NSIG + 1 ? -EINVAL : -ENOSYS;
	if (sig)
		__atomic_fetch_or(&p->chan->signals, 1u << sig, __ATOMIC_RELAXED);
	return 0;
}

long sys_kill(const uint64_t *a)
{
	int pid = (int)a[0];

	if (pid == lx_current()->proc->pid)
		return lx_signal_self(a[1]);
	return rcall(__NR_kill, a[0], a[1], 0, 0, 0, 0);
}

long sys_tgkill(const uint64_t *a)
{
	struct lx_thread *lt = lx_current();

	if ((int)a[0] == lt->proc->pid && (int)a[1] == lt->tid)
		return lx_signal_self(a[2]);
	return rcall(__NR_tgkill, a[0], a[1], a[2], 0, 0, 0);
}

long sys_tkill(const uint64_t *a)
{
	if ((int)a[0] == lx_current()->tid)
		return lx_signal_self(a[1]);
	return rcall(__NR_tkill, a[0], a[1], 0, 0, 0, 0);
}

long sys_sched_yield(const uint64_t *a __unused)
{
	sched_yield();
	return 0;
}

/*
 * prctl: options about the process's name, credentials or dumpability are
 * the Linux process's business and go to the shadow; options that would
 * change the shadow itself (its parent-death signal, seccomp, its memory
 * map, ...) are refused as Linux refuses an unknown option.
 */
long sys_prctl(const uint64_t *a)
{
	switch (a[0]) {
	case PR_GET_NAME:
	case PR_SET_NAME:
	case PR_GET_DUMPABLE:
	case PR_SET_DUMPABLE:
	case PR_GET_KEEPCAPS:
	case PR_SET_KEEPCAPS:
	case PR_CAPBSET_READ:
	case PR_GET_NO_NEW_PRIVS:
	case PR_SET_NO_NEW_PRIVS:
	case PR_GET_TIMERSLACK:
	case PR_SET_TIMERSLACK:
	case PR_GET_SECUREBITS:
	case PR_CAP_AMBIENT:
		return rcall(__NR_prctl, a[0], a[1], a[2], a[3], a[4], 0);
	default:
		return -EINVAL;
	}
}

/* /proc/self/exe names the program, not the shadow that stands in for it in Linux. */
static long lx_readlink_exe(uint64_t path, uint64_t buf, uint64_t size)
{
	struct lx_process *p = lx_current()->proc;
	char name[32];
	long len = strncpy_from_user(name, path, sizeof(name));
	size_t n;

	if (len < 0 || strcmp(name, "/proc/self/exe"))
		return 1;	/* not ours: forward */
	n = MIN(strlen(p->exe), size);
	return copy_to_user(buf, p->exe, n) ?: (long)n;
}

long sys_readlink(const uint64_t *a)
{
	long ret = lx_readlink_exe(a[0], a[1], a[2]);

	return ret == 1 ? rcall(__NR_readlink, a[0], a[1], a[2], 0, 0, 0) : ret;
}

long sys_readlinkat(const uint64_t *a)
{
	long ret = lx_readlink_exe(a[1], a[2], a[3]);

	return ret == 1 ? rcall(__NR_readlinkat, a[0], a[1], a[2], a[3], 0, 0) : ret;
}
