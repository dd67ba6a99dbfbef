// SPDX-License-Identifier: MIT
/*
 * The scheduler: one run queue per priority level and a bitmap of the
 * non-empty levels; the highest set bit is the next level to run. A thread
 * preempted by a higher-priority one goes back to the head of its level
 * (POSIX SCHED_FIFO); a thread that yields or wakes up goes to the tail.
 * One CPU per cell: masking interrupts is the only lock.
 */
#include <kernel/kmem.h>
#include <kernel/pi.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <kernel/string.h>
#include <kernel/thread.h>
#include <kernel/trace.h>

#define KSTACK_CANARY	0x6b63617473206f6full	/* at the bottom of every kernel stack */

static struct list_node sched_runq[PRIO_LEVELS];
static uint64_t sched_bitmap[2];		/* bit p: sched_runq[p] not empty */
static struct thread sched_idle;		/* the boot context */
static struct thread *sched_cur = &sched_idle;
static struct list_node sched_dead = LIST_INIT(sched_dead);
static uint64_t sched_nr_switches;
static struct aspace *sched_active_as;		/* the loaded address space, if a user one */
static uint64_t sched_quantum_cycles;
static struct timer sched_slice_timer;		/* the running sliced thread's quantum */
static bool sched_slice_over;			/* it expired: rotate at the next preemption point */
static void (*sched_idle_exit_hook)(void);

void sched_set_idle_exit_hook(void (*fn)(void))
{
	sched_idle_exit_hook = fn;
}

static void sched_slice_expired(struct timer *tm __unused)
{
	sched_slice_over = true;
}

void sched_init(void)
{
	for (int p = 0; p < PRIO_LEVELS; p++)
		list_init(&sched_runq[p]);
	sched_idle = (struct thread){
		.magic = THREAD_MAGIC, .state = THREAD_RUNNING, .prio = PRIO_IDLE,
		.base_prio = PRIO_IDLE, .name = "idle",
	};
	list_init(&sched_idle.run_node);
	list_init(&sched_idle.wait_node);
	list_init(&sched_idle.pi_node);
	list_init(&sched_idle.pi_held);
	timer_setup(&sched_idle.wait_timer, NULL);
	timer_setup(&sched_slice_timer, sched_slice_expired);
	arch_thread_adopt(&sched_idle.arch);
	sched_cur = &sched_idle;
	if (!sched_quantum_cycles)
		sched_quantum_cycles = 1;	/* until sched_set_quantum(): the clock is not known yet */
}

void sched_set_quantum(uint64_t cycles)
{
	sched_quantum_cycles = cycles ? cycles : 1;
}

uint64_t sched_quantum(void)
{
	return sched_quantum_cycles;
}

struct thread *thread_current(void)
{
	return sched_cur;
}

static bool level_empty(int prio)
{
	return !(sched_bitmap[prio / 64] & (1ull << (prio % 64)));
}

/* The running thread is sliced and shares its level: its quantum must run. */
static void slice_arm(void)
{
	struct thread *t = sched_cur;
	uint64_t end, now;

	if (!(t->sched_flags & THREAD_SLICED) || t->prio < 0 || level_empty(t->prio) ||
	    timer_armed(&sched_slice_timer))
		return;
	/*
	 * Alone at its level the thread has been running on fresh quanta (as
	 * Linux refills them at each expiry): its current one ends where the
	 * sequence of quanta since its last switch-in says.
	 */
	end = t->run_since + t->slice_left;
	now = arch_read_tsc();
	if (end <= now)
		end = now + sched_quantum_cycles - (now - end) % sched_quantum_cycles;
	timer_arm(&sched_slice_timer, end);
}

static void runq_add(struct thread *t, bool head)
{
	ASSERT(t->prio >= 0 && t->prio < PRIO_LEVELS);
	if (head)
		list_add_head(&sched_runq[t->prio], &t->run_node);
	else
		list_add_tail(&sched_runq[t->prio], &t->run_node);
	sched_bitmap[t->prio / 64] |= 1ull << (t->prio % 64);
	if (t->prio == sched_cur->prio)
		slice_arm();
}

static void runq_del(struct thread *t)
{
	list_del(&t->run_node);
	if (list_empty(&sched_runq[t->prio]))
		sched_bitmap[t->prio / 64] &= ~(1ull << (t->prio % 64));
}

/* Highest non-empty level, or PRIO_IDLE. */
static int runq_top(void)
{
	if (sched_bitmap[1])
		return 64 + 63 - __builtin_clzll(sched_bitmap[1]);
	if (sched_bitmap[0])
		return 63 - __builtin_clzll(sched_bitmap[0]);
	return PRIO_IDLE;
}

/* The running sliced thread used its quantum and another of its level waits. */
static bool slice_rotation_due(void)
{
	return sched_slice_over && (sched_cur->sched_flags & THREAD_SLICED) &&
	       sched_cur->prio >= 0 && runq_top() == sched_cur->prio;
}

bool sched_need_resched(void)
{
	int top = runq_top();

	return top > sched_cur->prio || slice_rotation_due() ||
	       (sched_cur->state != THREAD_RUNNING && top != PRIO_IDLE);
}

bool sched_others_ready(void)
{
	return runq_top() != PRIO_IDLE;
}

static void sched_check_stack(struct thread *t)
{
	if (t->kstack && *(uint64_t *)t->kstack != KSTACK_CANARY)
		panic("thread %s overflowed its kernel stack", t->name);
}

/* prev stops running at now: charge its CPU time and quantum. */
static void sched_account(struct thread *prev, uint64_t now)
{
	uint64_t ran = now - prev->run_since;

	prev->run_cycles += ran;
	if (prev->sched_flags & THREAD_SLICED)
		prev->slice_left = sched_slice_over || ran >= prev->slice_left ?
				   sched_quantum_cycles : prev->slice_left - ran;
	timer_cancel(&sched_slice_timer);
	sched_slice_over = false;
}

/* Switch to the best ready thread (or idle). Masked. */
static void sched_switch(void)
{
	struct thread *prev = sched_cur, *next;
	int top;
	uint64_t now;

	if (prev == &sched_idle && sched_idle_exit_hook)
		sched_idle_exit_hook();	/* may make more threads ready */
	top = runq_top();
	if (top == PRIO_IDLE) {
		next = &sched_idle;
	} else {
		next = list_first_entry(&sched_runq[top], struct thread, run_node);
		runq_del(next);
	}
	if (next == prev) {
		prev->state = THREAD_RUNNING;
		timer_cancel(&sched_slice_timer);	/* it may be alone at its level now */
		slice_arm();
		return;
	}
	sched_check_stack(prev);
	if (prev->state == THREAD_DEAD)
		list_add_tail(&sched_dead, &prev->run_node);
	now = arch_read_tsc();
	sched_account(prev, now);
	trace(TRACE_SWITCH, next->tid, next->prio);
	next->state = THREAD_RUNNING;
	next->run_since = now;
	next->nr_switches++;
	sched_cur = next;
	sched_nr_switches++;
	/* Only timers of threads that would preempt next may interrupt it. */
	timer_set_floor(next == &sched_idle ? TIMER_FLOOR_POLLING : next->prio);
	slice_arm();
	if (next->as && next->as != sched_active_as) {
		sched_active_as = next->as;
		arch_aspace_activate(next->as->root);
	}
	arch_thread_switch(&prev->arch, &next->arch);
}

/* Make a blocked thread ready. Masked. */
static void sched_make_ready(struct thread *t)
{
	t->state = THREAD_READY;
	runq_add(t, false);
}

void sched_wake_with(struct thread *t, int result)
{
	unsigned long flags = arch_irq_save();

	ASSERT(t->magic == THREAD_MAGIC);
	if (t->state == THREAD_BLOCKED && t->waiting) {
		trace(TRACE_WAKE, t->tid, result);
		t->waiting = false;
		t->wait_result = result;
		timer_cancel(&t->wait_timer);
		list_del(&t->wait_node);
		sched_make_ready(t);
	} else if (t->state == THREAD_BLOCKED && t->nr_switches == 0) {
		sched_make_ready(t);	/* a new thread */
	}
	arch_irq_restore(flags);
}

void sched_wake(struct thread *t)
{
	sched_wake_with(t, 0);
}

static void wait_deadline_passed(struct timer *tm)
{
	sched_wake_with(container_of(tm, struct thread, wait_timer), -ETIMEDOUT);
}

int sched_wait(uint64_t deadline, unsigned int flags)
{
	struct thread *t = sched_cur;

	ASSERT(arch_irqs_masked() && t != &sched_idle);
	if (((flags & WAIT_KILLABLE) && t->killed) ||
	    ((flags & WAIT_INTERRUPTIBLE) == WAIT_INTERRUPTIBLE && t->interrupt_pending)) {
		list_del(&t->wait_node);
		return -EINTR;
	}
	if (deadline) {
		if (deadline <= arch_read_tsc()) {
			list_del(&t->wait_node);
			return -ETIMEDOUT;
		}
		t->wait_timer.urgency = t->prio;	/* it preempts only lower threads */
		timer_arm(&t->wait_timer, deadline);
	}
	t->wait_flags = flags;
	t->wait_result = 0;
	t->waiting = true;
	t->state = THREAD_BLOCKED;
	sched_switch();
	return t->wait_result;
}

void sched_block(void)
{
	sched_wait(0, 0);
}

void thread_interrupt(struct thread *t, bool fatal)
{
	unsigned long flags = arch_irq_save();
	unsigned int need = fatal ? WAIT_KILLABLE : WAIT_INTERRUPTIBLE;

	t->interrupt_pending = true;
	if (fatal)
		t->killed = true;
	if (t->state == THREAD_BLOCKED && t->waiting && (t->wait_flags & need) == need)
		sched_wake_with(t, -EINTR);
	arch_irq_restore(flags);
}

void thread_clear_interrupt(struct thread *t)
{
	t->interrupt_pending = false;
}

void sched_yield(void)
{
	unsigned long flags = arch_irq_save();

	if (sched_cur != &sched_idle) {
		sched_cur->state = THREAD_READY;
		runq_add(sched_cur, false);
	}
	sched_switch();
	arch_irq_restore(flags);
}

void sched_preempt(void)
{
	unsigned long flags = arch_irq_save();

	if (runq_top() > sched_cur->prio) {
		if (sched_cur != &sched_idle) {
			sched_cur->state = THREAD_READY;
			runq_add(sched_cur, true);	/* preempted: first in its level */
		}
		sched_switch();
	} else if (slice_rotation_due()) {
		sched_cur->state = THREAD_READY;
		runq_add(sched_cur, false);	/* quantum used: last in its level */
		sched_switch();
	}
	arch_irq_restore(flags);
}

void sched_set_prio(struct thread *t, int prio)
{
	unsigned long flags = arch_irq_save();
	int old = t->prio;

	if (prio == old) {
		arch_irq_restore(flags);
		return;
	}
	if (t->state == THREAD_READY) {
		runq_del(t);
		t->prio = prio;
		runq_add(t, prio < old);
	} else {
		t->prio = prio;
		if (timer_armed(&t->wait_timer))	/* asleep: its deadline preempts as it now would */
			timer_set_urgency(&t->wait_timer, prio);
		if (t == sched_cur) {
			timer_set_floor(prio);
			timer_cancel(&sched_slice_timer);
			slice_arm();
		}
	}
	arch_irq_restore(flags);
}

void sched_set_sliced(struct thread *t, bool sliced)
{
	unsigned long flags = arch_irq_save();

	if (sliced && !(t->sched_flags & THREAD_SLICED))
		t->slice_left = sched_quantum_cycles;
	t->sched_flags = sliced ? t->sched_flags | THREAD_SLICED : t->sched_flags & ~THREAD_SLICED;
	if (t == sched_cur) {
		timer_cancel(&sched_slice_timer);
		slice_arm();
	}
	arch_irq_restore(flags);
}

void sched_set_aspace(struct thread *t, struct aspace *as)
{
	unsigned long flags = arch_irq_save();

	t->as = as;
	if (t == sched_cur && as != sched_active_as) {
		sched_active_as = as;
		arch_aspace_activate(as->root);
	}
	arch_irq_restore(flags);
}

void sched_forget_aspace(struct aspace *as)
{
	unsigned long flags = arch_irq_save();

	if (sched_active_as == as) {
		sched_active_as = NULL;
		arch_aspace_activate(kernel_aspace()->root);
	}
	arch_irq_restore(flags);
}

uint64_t thread_cpu_cycles(const struct thread *t)
{
	return t->run_cycles + (t == sched_cur ? arch_read_tsc() - t->run_since : 0);
}

uint64_t sched_switches(void)
{
	return sched_nr_switches;
}

/* First code of every new thread, masked, on its own stack. */
static void thread_start(void)
{
	struct thread *t = sched_cur;

	arch_irq_restore(0);
	t->fn(t->arg);
	thread_exit();
}

struct thread *thread_create(const char *name, int prio, void (*fn)(void *), void *arg, bool user)
{
	struct thread *t = kzalloc(sizeof(*t));
	paddr_t stack = pmm_alloc(KSTACK_ORDER);

	if (!t || stack == PADDR_INVALID)
		goto err;
	t->magic = THREAD_MAGIC;
	t->state = THREAD_BLOCKED;
	t->prio = t->base_prio = prio;
	t->slice_left = sched_quantum_cycles;
	t->name = name;
	t->fn = fn;
	t->arg = arg;
	t->kstack = arch_phys_to_virt(stack);
	*(uint64_t *)t->kstack = KSTACK_CANARY;
	list_init(&t->run_node);
	list_init(&t->wait_node);
	list_init(&t->pi_node);
	list_init(&t->pi_held);
	timer_setup(&t->wait_timer, wait_deadline_passed);
	if (arch_thread_init(&t->arch, t->kstack, KSTACK_SIZE, thread_start, user))
		goto err;
	return t;
err:
	if (stack != PADDR_INVALID)
		pmm_free(stack, KSTACK_ORDER);
	kfree(t);
	return NULL;
}

_Noreturn void thread_exit(void)
{
	arch_irq_save();
	pi_forget_thread(sched_cur);
	sched_cur->state = THREAD_DEAD;
	sched_switch();
	panic("a dead thread ran again");
}

void thread_kill(struct thread *t)
{
	ASSERT(arch_irqs_masked() && t != sched_cur && t->magic == THREAD_MAGIC);
	if (t->state == THREAD_READY)
		runq_del(t);
	timer_cancel(&t->wait_timer);
	list_del(&t->wait_node);
	t->waiting = false;
	pi_forget_thread(t);
	if (t->state != THREAD_DEAD) {
		t->state = THREAD_DEAD;
		list_add_tail(&sched_dead, &t->run_node);
	}
}

void thread_reap(void)
{
	unsigned long flags = arch_irq_save();
	struct thread *t, *tmp;

	list_for_each_entry_safe(t, tmp, &sched_dead, run_node) {
		list_del(&t->run_node);
		arch_thread_free(&t->arch);
		pmm_free(arch_virt_to_phys(t->kstack), KSTACK_ORDER);
		t->magic = 0;
		kfree(t);
	}
	arch_irq_restore(flags);
}
