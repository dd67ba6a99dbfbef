// SPDX-License-Identifier: MIT
/*
 * Scheduling system calls, served by the RT scheduler for RT threads:
 * SCHED_FIFO and SCHED_RR at priorities 1-99 map to the kernel's levels
 * 1-99, SCHED_OTHER (and BATCH, IDLE) to level 0, time-sliced. Calls aimed
 * at Linux processes go to the shadow. The realm has one CPU: the cell's,
 * under its Linux number, so affinity masks mean the same as in Linux.
 *
 * Permission follows Linux: an RT policy, or a higher RT priority, needs
 * root (euid 0) or an RLIMIT_RTPRIO that allows it; anyone may lower.
 */
#include <kernel/clock.h>
#include <kernel/kernel.h>
#include <kernel/string.h>
#include <linuxabi/handlers.h>
#include <linuxabi/linux.h>
#include <linux/membarrier.h>
#include <linux/resource.h>
#include <linux/sched/types.h>
#include <linux/time_types.h>
#include <asm/unistd_64.h>

#define LX_PRIO_MAX	99
#define LX_NICE_MIN	(-20)
#define LX_NICE_MAX	19

struct lx_sched_param {
	int32_t sched_priority;
};

/* The RT thread pid names: 0 is the caller. NULL if it is not an RT thread. */
static struct lx_thread *sched_target(uint64_t pid)
{
	if ((int64_t)pid < 0)
		return NULL;
	return pid ? lx_find_thread((int)pid) : lx_current();
}

static bool policy_rt(int policy)
{
	return policy == SCHED_FIFO || policy == SCHED_RR;
}

static bool policy_valid(int policy)
{
	return policy == SCHED_NORMAL || policy == SCHED_FIFO || policy == SCHED_RR ||
	       policy == SCHED_BATCH || policy == SCHED_IDLE;
}

static long sched_permitted(const struct lx_thread *lt, int policy, int prio)
{
	const struct lx_process *p = lx_current()->proc;
	int cur = policy_rt(lt->policy & ~SCHED_RESET_ON_FORK) ? lt->prio : 0;

	if (!p->euid || !policy_rt(policy) || prio <= cur)
		return 0;
	return (uint64_t)prio <= p->rtprio_limit ? 0 : -EPERM;
}

/* Set policy (with flags) and prio on lt after the checks Linux makes. */
static long sched_apply(struct lx_thread *lt, int policy, int prio)
{
	int base = policy & ~SCHED_RESET_ON_FORK;
	unsigned long flags;
	long err;

	if (!policy_valid(base))
		return -EINVAL;
	if (policy_rt(base) ? prio < 1 || prio > LX_PRIO_MAX : prio != 0)
		return -EINVAL;
	err = sched_permitted(lt, base, prio);
	if (err)
		return err;
	flags = arch_irq_save();
	lx_set_sched(lt, policy, prio);
	arch_irq_restore(flags);
	sched_preempt();
	return 0;
}

long sys_sched_setscheduler(const uint64_t *a)
{
	struct lx_thread *lt = sched_target(a[0]);
	struct lx_sched_param sp;

	if ((int64_t)a[0] < 0 || !a[2])
		return -EINVAL;
	if (!lt)
		return rcall(__NR_sched_setscheduler, a[0], a[1], a[2], 0, 0, 0);
	if (copy_from_user(&sp, a[2], sizeof(sp)))
		return -EFAULT;
	return sched_apply(lt, (int)a[1], sp.sched_priority);
}

long sys_sched_setparam(const uint64_t *a)
{
	struct lx_thread *lt = sched_target(a[0]);
	struct lx_sched_param sp;

	if ((int64_t)a[0] < 0 || !a[1])
		return -EINVAL;
	if (!lt)
		return rcall(__NR_sched_setparam, a[0], a[1], 0, 0, 0, 0);
	if (copy_from_user(&sp, a[1], sizeof(sp)))
		return -EFAULT;
	return sched_apply(lt, lt->policy, sp.sched_priority);
}

/*
 * sched_getattr and sched_setattr: the same policies, priorities and nice
 * values through struct sched_attr, whose first `size` bytes the caller and
 * Linux agree on (size-versioned). SCHED_DEADLINE is not a policy of the
 * realm, and it has no utilization clamping: those are refused as by a
 * Linux built without them (EINVAL, EOPNOTSUPP).
 */
long sys_sched_getattr(const uint64_t *a)
{
	struct lx_thread *lt = sched_target(a[0]);
	struct sched_attr at = { 0 };
	uint32_t size = (uint32_t)a[2];

	if ((int64_t)a[0] < 0 || !a[1] || a[3] || size < SCHED_ATTR_SIZE_VER0 || size > PAGE_SIZE)
		return -EINVAL;
	if (!lt)
		return rcall(__NR_sched_getattr, a[0], a[1], a[2], a[3], 0, 0);
	at.size = MIN(size, (uint32_t)sizeof(at));
	at.sched_policy = (uint32_t)(lt->policy & ~SCHED_RESET_ON_FORK);
	at.sched_flags = lt->policy & SCHED_RESET_ON_FORK ? SCHED_FLAG_RESET_ON_FORK : 0;
	at.sched_nice = lt->nice;
	at.sched_priority = policy_rt((int)at.sched_policy) ? (uint32_t)lt->prio : 0;
	return copy_to_user(a[1], &at, at.size);
}

/* The caller's struct sched_attr, as Linux reads it: 0 or -errno (E2BIG: size written back). */
static long sched_attr_read(uint64_t uattr, struct sched_attr *at)
{
	uint32_t size;

	if (copy_from_user(&size, uattr, sizeof(size)))
		return -EFAULT;
	if (!size)
		size = SCHED_ATTR_SIZE_VER0;
	if (size < SCHED_ATTR_SIZE_VER0 || size > PAGE_SIZE) {
		size = sizeof(*at);
		return copy_to_user(uattr, &size, sizeof(size)) ? -EFAULT : -E2BIG;
	}
	memset(at, 0, sizeof(*at));
	return copy_from_user(at, uattr, MIN(size, (uint32_t)sizeof(*at)));
}

long sys_sched_setattr(const uint64_t *a)
{
	struct lx_thread *lt = sched_target(a[0]);
	struct sched_attr at;
	int policy, prio, nice;
	long err;

	if ((int64_t)a[0] < 0 || !a[1] || a[2])
		return -EINVAL;
	err = sched_attr_read(a[1], &at);
	if (err)
		return err;
	if (!lt)
		return rcall(__NR_sched_setattr, a[0], a[1], a[2], 0, 0, 0);
	if (at.sched_flags & (SCHED_FLAG_UTIL_CLAMP_MIN | SCHED_FLAG_UTIL_CLAMP_MAX))
		return lx_fallback(-EOPNOTSUPP);
	if (at.sched_flags & ~(uint64_t)(SCHED_FLAG_RESET_ON_FORK | SCHED_FLAG_KEEP_POLICY |
					 SCHED_FLAG_KEEP_PARAMS))
		return -EINVAL;
	policy = at.sched_flags & SCHED_FLAG_KEEP_POLICY ? lt->policy & ~SCHED_RESET_ON_FORK :
							     (int)at.sched_policy;
	if (policy == SCHED_DEADLINE)
		return lx_fallback(-EINVAL);
	prio = at.sched_flags & SCHED_FLAG_KEEP_PARAMS ? (policy_rt(policy) ? lt->prio : 0) :
							  (int)at.sched_priority;
	if (at.sched_flags & SCHED_FLAG_RESET_ON_FORK)
		policy |= SCHED_RESET_ON_FORK;
	if (policy_rt(policy & ~SCHED_RESET_ON_FORK) || (at.sched_flags & SCHED_FLAG_KEEP_PARAMS))
		return sched_apply(lt, policy, prio);
	/* SCHED_OTHER, BATCH, IDLE: the nice value too, lowered only with privilege. */
	nice = MAX(LX_NICE_MIN, MIN(LX_NICE_MAX, at.sched_nice));
	if (nice < lt->nice && lx_current()->proc->euid)
		return -EPERM;
	err = sched_apply(lt, policy, prio);
	if (!err)
		lt->nice = nice;
	return err;
}

long sys_sched_getscheduler(const uint64_t *a)
{
	struct lx_thread *lt = sched_target(a[0]);

	if ((int64_t)a[0] < 0)
		return -EINVAL;
	return lt ? lt->policy : rcall(__NR_sched_getscheduler, a[0], 0, 0, 0, 0, 0);
}

long sys_sched_getparam(const uint64_t *a)
{
	struct lx_thread *lt = sched_target(a[0]);
	struct lx_sched_param sp;

	if ((int64_t)a[0] < 0 || !a[1])
		return -EINVAL;
	if (!lt)
		return rcall(__NR_sched_getparam, a[0], a[1], 0, 0, 0, 0);
	sp.sched_priority = policy_rt(lt->policy & ~SCHED_RESET_ON_FORK) ? lt->prio : 0;
	return copy_to_user(a[1], &sp, sizeof(sp));
}

long sys_sched_get_priority_max(const uint64_t *a)
{
	int policy = (int)a[0];

	return policy_rt(policy) ? LX_PRIO_MAX : policy_valid(policy) ? 0 : -EINVAL;
}

long sys_sched_get_priority_min(const uint64_t *a)
{
	int policy = (int)a[0];

	return policy_rt(policy) ? 1 : policy_valid(policy) ? 0 : -EINVAL;
}

long sys_sched_rr_get_interval(const uint64_t *a)
{
	struct lx_thread *lt = sched_target(a[0]);
	struct __kernel_timespec ts = { 0, 0 };
	uint64_t ns;

	if ((int64_t)a[0] < 0)
		return -EINVAL;
	if (!lt)
		return rcall(__NR_sched_rr_get_interval, a[0], a[1], 0, 0, 0, 0);
	if ((lt->policy & ~SCHED_RESET_ON_FORK) != SCHED_FIFO) {
		ns = clock_cycles_to_ns(sched_quantum());
		ts.tv_sec = (long long)(ns / NSEC_PER_SEC);
		ts.tv_nsec = (long long)(ns % NSEC_PER_SEC);
	}
	return copy_to_user(a[1], &ts, sizeof(ts));
}

long sys_sched_yield(const uint64_t *a __unused)
{
	sched_yield();
	return 0;
}

/*
 * membarrier(cmd, flags, cpu_id). The realm runs a program's threads on the
 * cell's one CPU: whichever thread calls, the others are not running, and
 * each left the CPU through the kernel's switch (a full barrier, and a
 * serializing return to user mode). So every barrier is already there; what
 * remains is Linux's contract: the commands it knows, the private ones only
 * after their registration (-EPERM before), flags 0. No rseq in the realm
 * (glibc runs without it): the RSEQ commands are unknown here, as on a
 * Linux built without CONFIG_RSEQ; GET_REGISTRATIONS (Linux 6.3) is not in
 * the UAPI headers we build with.
 */
#define MEMBARRIER_SERVED (MEMBARRIER_CMD_GLOBAL | MEMBARRIER_CMD_GLOBAL_EXPEDITED | \
			   MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED | \
			   MEMBARRIER_CMD_PRIVATE_EXPEDITED | \
			   MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED | \
			   MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE | \
			   MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE)

long sys_membarrier(const uint64_t *a)
{
	struct lx_process *p = lx_current()->proc;
	int cmd = (int)a[0];

	if (a[1] || (cmd && !(MEMBARRIER_SERVED & cmd)) || (cmd & (cmd - 1)))
		return -EINVAL;
	switch (cmd) {
	case MEMBARRIER_CMD_QUERY:
		return MEMBARRIER_SERVED;
	case MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED:
	case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED:
	case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE:
		p->membarrier_registered |= (uint32_t)cmd;
		return 0;
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED:
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE:
		/* Each command's registration is the next bit up (linux/membarrier.h). */
		return p->membarrier_registered & ((uint32_t)cmd << 1) ? 0 : -EPERM;
	default:	/* GLOBAL, GLOBAL_EXPEDITED: nothing runs beside the caller */
		return 0;
	}
}

/* The realm's CPU set: the cell's CPU alone. */
static unsigned int rt_cpu(void)
{
	return kernel_boot_params()->host_cpu;
}

long sys_sched_getaffinity(const uint64_t *a)
{
	uint8_t mask[128] = { 0 };
	size_t len = a[1], n;

	if (!sched_target(a[0]))
		return rcall(__NR_sched_getaffinity, a[0], a[1], a[2], 0, 0, 0);
	n = ALIGN_UP(rt_cpu() / 8 + 1, 8);
	if (len < n || len & 7)
		return -EINVAL;
	mask[rt_cpu() / 8] = (uint8_t)(1u << (rt_cpu() % 8));
	return copy_to_user(a[2], mask, n) ?: (long)n;
}

/* A mask is accepted if it contains the realm's CPU (the thread is already there). */
long sys_sched_setaffinity(const uint64_t *a)
{
	uint8_t byte;

	if (!sched_target(a[0]))
		return rcall(__NR_sched_setaffinity, a[0], a[1], a[2], 0, 0, 0);
	if (a[1] <= rt_cpu() / 8)
		return -EINVAL;
	if (copy_from_user(&byte, a[2] + rt_cpu() / 8, 1))
		return -EFAULT;
	return byte & (1u << (rt_cpu() % 8)) ? 0 : -EINVAL;
}

long sys_getcpu(const uint64_t *a)
{
	uint32_t cpu = rt_cpu(), node = 0;

	if (a[0] && copy_to_user(a[0], &cpu, sizeof(cpu)))
		return -EFAULT;
	if (a[1] && copy_to_user(a[1], &node, sizeof(node)))
		return -EFAULT;
	return 0;
}

/* PRIO_PROCESS for an RT thread (0: the caller); anything else is Linux's. */
static struct lx_thread *nice_target(uint64_t which, uint64_t who)
{
	return which == PRIO_PROCESS ? sched_target(who) : NULL;
}

/* The raw call returns 20 - nice (1..40), as Linux's does. */
long sys_getpriority(const uint64_t *a)
{
	struct lx_thread *lt = nice_target(a[0], a[1]);

	return lt ? 20 - lt->nice : rcall(__NR_getpriority, a[0], a[1], 0, 0, 0, 0);
}

long sys_setpriority(const uint64_t *a)
{
	struct lx_thread *lt = nice_target(a[0], a[1]);
	int nice = (int)a[2];

	if (!lt)
		return rcall(__NR_setpriority, a[0], a[1], a[2], 0, 0, 0);
	nice = nice < LX_NICE_MIN ? LX_NICE_MIN : nice > LX_NICE_MAX ? LX_NICE_MAX : nice;
	if (nice < lt->nice && lx_current()->proc->euid)
		return -EACCES;
	lt->nice = nice;
	return 0;
}
