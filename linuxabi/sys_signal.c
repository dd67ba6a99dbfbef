// SPDX-License-Identifier: MIT
/*
 * Signal dispositions and masks, kept in the RT realm: the shadow's own
 * handlers (which forward signals to the kernel) must never change. For now
 * the kernel acts on default and ignored dispositions only (process.c);
 * running the program's handlers comes with the signal frame.
 */
#include <linuxabi/handlers.h>
#include <linuxabi/linux.h>
#include <asm-generic/signal-defs.h>
#include <asm/signal.h>
#include <linux/signal.h>

#define LX_SIGSET_SIZE	8

long sys_rt_sigaction(const uint64_t *a)
{
	struct lx_process *p = lx_current()->proc;
	uint64_t sig = a[0];
	struct lx_sigaction act;

	if (a[3] != LX_SIGSET_SIZE || sig < 1 || sig > LX_NSIG)
		return -EINVAL;
	if (a[2] && copy_to_user(a[2], &p->sigactions[sig], sizeof(act)))
		return -EFAULT;
	if (!a[1])
		return 0;
	if (sig == SIGKILL || sig == SIGSTOP)
		return -EINVAL;
	if (copy_from_user(&act, a[1], sizeof(act)))
		return -EFAULT;
	p->sigactions[sig] = act;
	return 0;
}

long sys_rt_sigprocmask(const uint64_t *a)
{
	struct lx_thread *lt = lx_current();
	const uint64_t unblockable = (1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1));
	uint64_t set, old = lt->sigmask;

	if (a[3] != LX_SIGSET_SIZE)
		return -EINVAL;
	if (a[1]) {
		if (copy_from_user(&set, a[1], sizeof(set)))
			return -EFAULT;
		switch (a[0]) {
		case SIG_BLOCK:
			lt->sigmask |= set;
			break;
		case SIG_UNBLOCK:
			lt->sigmask &= ~set;
			break;
		case SIG_SETMASK:
			lt->sigmask = set;
			break;
		default:
			return -EINVAL;
		}
		lt->sigmask &= ~unblockable;
	}
	if (a[2] && copy_to_user(a[2], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

/* No alternate stacks yet: report none, accept a new one without using it. */
long sys_sigaltstack(const uint64_t *a)
{
	const struct { uint64_t sp; int32_t flags; int32_t pad; uint64_t size; } none = {
		.flags = SS_DISABLE,
	};

	if (a[1] && copy_to_user(a[1], &none, sizeof(none)))
		return -EFAULT;
	return 0;
}
