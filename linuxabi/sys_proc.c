// SPDX-License-Identifier: MIT
/*
 * Process and thread identity, TLS, prctl and /proc/self/exe. The pid and
 * tids are the shadow's, so what a program prints or passes to kill(1) means
 * the same in Linux. (Threads and exit: thread.c; signals: sys_signal.c.)
 */
#include <kernel/string.h>
#include <linuxabi/handlers.h>
#include <linuxabi/linux.h>
#include <asm/prctl.h>
#include <linux/personality.h>
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

/*
 * personality(persona): the realm runs PER_LINUX and nothing else. A query
 * (0xffffffff) or PER_LINUX itself answers PER_LINUX; a change (ADDR_NO_RANDOMIZE,
 * READ_IMPLIES_EXEC, another ABI) would change how the shadow maps memory
 * and is refused with -EINVAL. Linux itself would take it; the realm could
 * not honour it, so the caller hears so (setarch reports it) rather than
 * running on under a persona it did not get.
 */
long sys_personality(const uint64_t *a)
{
	uint32_t persona = (uint32_t)a[0];

	return persona == 0xffffffffu || persona == PER_LINUX ? PER_LINUX : -EINVAL;
}

long sys_arch_prctl(const uint64_t *a)
{
	struct thread *t = thread_current();
	uint64_t fs, gs;

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
		if (!user_range_ok(a[1], 0))
			return -EPERM;
		arch_thread_set_gs(&t->arch, a[1], true);
		return 0;
	case ARCH_GET_GS:
		gs = arch_thread_get_gs(&t->arch, true);
		return copy_to_user(a[1], &gs, sizeof(gs));
	default:
		return lx_fallback(-EINVAL);
	}
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
		return lx_fallback(-EINVAL);
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
