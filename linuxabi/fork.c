// SPDX-License-Identifier: MIT
/*
 * fork, vfork and clone without CLONE_VM: a new RT process with an eager
 * copy of the caller's memory, served by a new shadow forked from the
 * caller's. The child's pid is its shadow's; its fds, cwd, credentials,
 * process group and parent are Linux's, and its wait status reaches the
 * parent through Linux, because the child's shadow exits the way it ends.
 *
 * The forking thread does every step: crtos run makes an empty process
 * (CRTOS_SHADOW_FORK_PREPARE, through the caller's shadow and the VMM);
 * the kernel copies memory, signal dispositions, RT fds (the child's name
 * the same timerfds and FIFO ends, linuxabi/rtfd.c) and the calling thread
 * into it; the shadow forks (CRTOS_SHADOW_FORK) and its child serves the
 * new channel; the child's thread mirrors its memory in that shadow and
 * enters user code with the caller's registers and 0 in rax.
 *
 * vfork and clone(CLONE_VM | CLONE_VFORK) copy nothing: the child runs in
 * its parent's memory (its thread on the parent's page tables, its shadow
 * mirroring the parent's pages), with the parent suspended until the child
 * execs or ends, as Linux does. Its stores are the parent's, which glibc's
 * posix_spawn relies on to report a failed exec. Until it execs it may
 * not map or unmap memory (ENOMEM).
 */
#include <kernel/kmem.h>
#include <kernel/printk.h>
#include <kernel/string.h>
#include <linuxabi/handlers.h>
#include <linuxabi/linux.h>
#include <linuxabi/rtfd.h>
#include <linux/signal.h>

#define CLONE_FORK_MAY	(CLONE_VM | CLONE_VFORK | CLONE_SETTLS | CLONE_PARENT_SETTID | \
			 CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | CSIGNAL)

/* The child's first steps: mirror its memory in its shadow, then user code. */
static void lx_fork_child(void *arg)
{
	struct lx_thread *lt = arg;
	arch_regs_t regs = *lt->clone_regs;
	int tid = lt->tid;

	kfree(lt->clone_regs);
	lt->clone_regs = NULL;
	if (lx_mm_mirror_all(lx_mm_owner(lt->proc))) {
		if (!thread_current()->killed)	/* else it was killed before it ran (-EINTR) */
			pr_info("process %d: its shadow cannot mirror the forked memory\n", tid);
		lx_process_exit(CRTOS_EXIT_SIGNAL, SIGKILL);
	}
	lx_rtfd_prune(lt->proc);	/* RT fds another thread closed while the parent forked */
	if (lt->set_child_tid)
		copy_to_user(lt->set_child_tid, &tid, sizeof(tid));
	arch_enter_user_regs(&regs);
}

/* The calling thread's twin in child: registers, TLS, FPU, mask and scheduling. */
static long lx_fork_thread(struct lx_thread *self, struct lx_process *child, uint64_t flags,
			   uint64_t stack, uint64_t child_tid, uint64_t tls)
{
	struct lx_thread *lt = lx_thread_new(child, 0, self->t->base_prio, lx_fork_child);

	if (!lt)
		return -ENOMEM;
	if (child->vfork_mm)
		lt->t->as = &child->vfork_mm->as;	/* not started yet */
	lt->clone_regs = kmalloc(sizeof(*lt->clone_regs));
	if (!lt->clone_regs)
		return -ENOMEM;		/* lt goes with the child at the reap */
	*lt->clone_regs = *self->regs;
	lt->clone_regs->rax = 0;
	if (stack)
		lt->clone_regs->rsp = stack;
	arch_thread_set_tls(&lt->t->arch, flags & CLONE_SETTLS ? tls :
			    arch_thread_get_tls(&self->t->arch, true), false);
	arch_thread_set_gs(&lt->t->arch, arch_thread_get_gs(&self->t->arch, true), false);
	arch_thread_copy_fpu(&lt->t->arch);
	lt->sigmask = self->sigmask;
	lt->altstack = self->altstack;
	if (flags & CLONE_CHILD_CLEARTID)
		lt->clear_child_tid = child_tid;
	if (flags & CLONE_CHILD_SETTID)
		lt->set_child_tid = child_tid;
	if (self->policy & SCHED_RESET_ON_FORK)
		lx_set_sched(lt, SCHED_NORMAL, 0);
	else
		lx_set_sched(lt, self->policy, self->prio);
	lt->nice = self->nice;
	return 0;
}

/* Everything the child inherits from the calling process, memory first. */
static long lx_fork_copy(struct lx_thread *self, struct lx_process *child, const uint64_t *a)
{
	struct lx_process *p = self->proc;
	unsigned long flags;
	long err;

	if (a[0] & CLONE_VM)
		child->vfork_mm = lx_mm_owner(p);	/* before any reap can look */
	err = a[0] & CLONE_VM ? 0 : lx_mm_copy(child);
	if (err)
		return err;
	memcpy(child->sigactions, p->sigactions, sizeof(p->sigactions));
	memcpy(child->exe, p->exe, sizeof(p->exe));
	memcpy(child->private_fds, p->private_fds, sizeof(p->private_fds));
	child->nr_private_fds = p->nr_private_fds;
	child->sigchld_autoreap = p->sigchld_autoreap;	/* fork keeps the shadow's action too */
	child->membarrier_registered = p->membarrier_registered;	/* Linux copies the mm's */
	child->shadow_ignored = p->shadow_ignored;
	child->euid = p->euid;
	child->rtprio_limit = p->rtprio_limit;
	flags = arch_irq_save();
	err = lx_rtfd_fork(p, child);	/* the same timers and FIFO ends; its shadow, the placeholders */
	arch_irq_restore(flags);
	if (err)
		return err;
	return lx_fork_thread(self, child, a[0], a[1], a[3], a[4]);
}

/* The child's shadow has pid: the child runs. A vfork parent (self) waits for it. */
static void lx_fork_start(struct lx_process *child, int pid, struct lx_thread *vfork_parent)
{
	struct lx_thread *lt = list_first_entry(&child->threads, struct lx_thread, proc_node);
	unsigned long flags = arch_irq_save();

	child->pid = pid;
	lt->tid = lt->t->tid = pid;
	lt->stats->tid = pid;
	child->vfork_parent = vfork_parent ? vfork_parent->t : NULL;
	child->state = LX_PROC_RUNNING;
	__atomic_store_n(&child->chan->state, CRTOS_CHAN_RUNNING, __ATOMIC_RELEASE);
	sched_wake(lt->t);
	arch_irq_restore(flags);
}

/*
 * A vfork parent sleeps until its child (index, pid) execs or ends
 * (lx_vfork_release), or until it is killed itself.
 */
static void lx_vfork_wait(unsigned int index, int pid)
{
	struct thread *me = thread_current();
	unsigned long flags = arch_irq_save();
	struct lx_process *c;

	while ((c = lx_find_index(index)) && c->pid == pid && c->vfork_parent == me) {
		if (me->killed) {
			c->vfork_parent = NULL;
			break;
		}
		sched_wait(0, WAIT_KILLABLE);
	}
	arch_irq_restore(flags);
}

/* p execs or ends: its vfork parent goes on. Any context. */
void lx_vfork_release(struct lx_process *p)
{
	unsigned long flags = arch_irq_save();

	if (p->vfork_parent)
		sched_wake(p->vfork_parent);
	p->vfork_parent = NULL;
	arch_irq_restore(flags);
}

/*
 * fork in both realms: a[] as clone's (flags, stack, parent_tid,
 * child_tid, tls). Returns the child's pid or -errno; the child returns 0.
 */
static long lx_fork(const uint64_t *a)
{
	struct lx_thread *self = lx_current();
	struct lx_process *child;
	unsigned long flags;
	long index, pid, err;
	int32_t pid32;

	index = rcall(CRTOS_SHADOW_FORK_PREPARE, 0, 0, 0, 0, 0, 0);
	if (index < 0)
		return index == -ENOMEM ? -ENOMEM : -EAGAIN;
	flags = arch_irq_save();
	child = lx_find_index((unsigned int)index);
	if (child && child->state == LX_PROC_NEW && !child->forking)
		child->forking = true;	/* a reap now waits until we are done with it */
	else
		child = NULL;
	arch_irq_restore(flags);
	/* Held until the shadow forked: its shared mappings are then the copy's (lx_mm_copy). */
	kmutex_lock(&lx_mm_owner(self->proc)->mm_lock);
	err = child ? lx_fork_copy(self, child, a) : -EAGAIN;
	/* On failure the shadow drops the new process: crtos run reaps it, and what we copied. */
	pid = rcall(CRTOS_SHADOW_FORK, (uint64_t)index, err ? 1 : 0, 0, 0, 0, 0);
	kmutex_unlock(&lx_mm_owner(self->proc)->mm_lock);
	if (!err && pid > 0)
		lx_fork_start(child, (int)pid, a[0] & CLONE_VFORK ? self : NULL);
	if (child)
		child->forking = false;
	if (err || pid <= 0)
		return err ? err : pid ? pid : -EAGAIN;
	pid32 = (int32_t)pid;
	if (a[0] & CLONE_PARENT_SETTID)
		copy_to_user(a[2], &pid32, sizeof(pid32));
	if (a[0] & CLONE_VFORK)
		lx_vfork_wait((unsigned int)index, (int)pid);
	return pid;
}

/*
 * clone() without CLONE_THREAD: fork, or vfork with CLONE_VM | CLONE_VFORK.
 * CLONE_VM alone (a process sharing memory) and namespaces are refused.
 */
long lx_clone_process(const uint64_t *a)
{
	uint64_t flags = a[0];

	if ((flags & CLONE_VM) && !(flags & CLONE_VFORK)) {
		pr_info("process %d: clone(CLONE_VM) without CLONE_VFORK or CLONE_THREAD is not "
			"supported in the RT realm\n", lx_current()->proc->pid);
		return lx_fallback(-ENOSYS);
	}
	if (flags & ~(uint64_t)CLONE_FORK_MAY)
		return lx_fallback(-EINVAL);
	return lx_fork(a);
}

long sys_fork(const uint64_t *a)
{
	const uint64_t args[5] = { SIGCHLD, 0, 0, 0, 0 };

	(void)a;
	return lx_fork(args);
}

long sys_vfork(const uint64_t *a)
{
	const uint64_t args[5] = { CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0 };

	(void)a;
	return lx_fork(args);
}
