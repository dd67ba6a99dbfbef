// SPDX-License-Identifier: MIT
/*
 * The scheduler: one run queue per priority level and a bitmap of the
 * non-empty levels; the highest set bit is the next level to run. A thread
 * preempted by a higher-priority one goes back to the head of its level
 * (POSIX SCHED_FIFO); a thread that yields or wakes up goes to the tail.
 * One CPU per cell: masking interrupts is the only lock.
 */
#include <kernel/kmem.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <kernel/string.h>
#include <kernel/thread.h>

#define KSTACK_CANARY	0x6b63617473206f6full	/* at the bottom of every kernel stack */

static struct list_node sched_runq[PRIO_LEVELS];
static uint64_t sched_bitmap[2];		/* bit p: sched_runq[p] not empty */
static struct thread sched_idle;		/* the boot context */
static struct thread *sched_cur = &sched_idle;
static struct list_node sched_dead = LIST_INIT(sched_dead);
static uint64_t sched_nr_switches;
static struct aspace *sched_active_as;		/* the loaded address space, if a user one */

void sched_init(void)
{
	for (int p = 0; p < PRIO_LEVELS; p++)
		list_init(&sched_runq[p]);
	sched_idle = (struct thread){
		.magic = THREAD_MAGIC, .state = THREAD_RUNNING, .prio = PRIO_IDLE, .name = "idle",
	};
	list_init(&sched_idle.run_node);
	list_init(&sched_idle.wait_node);
	arch_thread_adopt(&sched_idle.arch);
	sched_cur = &sched_idle;
}

struct thread *thread_current(void)
{
	return sched_cur;
}

static void runq_add(struct thread *t, bool head)
{
	ASSERT(t->prio >= 0 && t->prio < PRIO_LEVELS);
	if (head)
		list_add_head(&sched_runq[t->prio], &t->run_node);
	else
		list_add_tail(&sched_runq[t->prio], &t->run_node);
	sched_bitmap[t->prio / 64] |= 1ull << (t->prio % 64);
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

bool sched_need_resched(void)
{
	return runq_top() > sched_cur->prio ||
	       (sched_cur->state != THREAD_RUNNING && runq_top() != PRIO_IDLE);
}

static void sched_check_stack(struct thread *t)
{
	if (t->kstack && *(uint64_t *)t->kstack != KSTACK_CANARY)
		panic("thread %s overflowed its kernel stack", t->name);
}

/* Switch to the best ready thread (or idle). Masked. */
static void sched_switch(void)
{
	struct thread *prev = sched_cur, *next;
	int top = runq_top();

	if (top == PRIO_IDLE) {
		next = &sched_idle;
	} else {
		next = list_first_entry(&sched_runq[top], struct thread, run_node);
		runq_del(next);
	}
	if (next == prev) {
		prev->state = THREAD_RUNNING;
		return;
	}
	sched_check_stack(prev);
	if (prev->state == THREAD_DEAD)
		list_add_tail(&sched_dead, &prev->run_node);
	next->state = THREAD_RUNNING;
	sched_cur = next;
	sched_nr_switches++;
	next->run_since = arch_read_tsc();
	prev->run_cycles += next->run_since - prev->run_since;
	if (next->as && next->as != sched_active_as) {
		sched_active_as = next->as;
		arch_aspace_activate(next->as->root);
	}
	arch_thread_switch(&prev->arch, &next->arch);
}

void sched_wake(struct thread *t)
{
	unsigned long flags = arch_irq_save();

	ASSERT(t->magic == THREAD_MAGIC);
	if (t->state == THREAD_BLOCKED) {
		t->state = THREAD_READY;
		runq_add(t, false);
	}
	arch_irq_restore(flags);
}

void sched_block(void)
{
	ASSERT(arch_irqs_masked());
	sched_cur->state = THREAD_BLOCKED;
	sched_switch();
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
	}
	arch_irq_restore(flags);
}

void sched_set_prio(struct thread *t, int prio)
{
	unsigned long flags = arch_irq_save();

	if (t->state == THREAD_READY) {
		runq_del(t);
		t->prio = prio;
		runq_add(t, false);
	} else {
		t->prio = prio;
	}
	arch_irq_restore(flags);
	sched_preempt();
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
	t->prio = prio;
	t->name = name;
	t->fn = fn;
	t->arg = arg;
	t->kstack = arch_phys_to_virt(stack);
	*(uint64_t *)t->kstack = KSTACK_CANARY;
	list_init(&t->run_node);
	list_init(&t->wait_node);
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
	sched_cur->state = THREAD_DEAD;
	sched_switch();
	panic("a dead thread ran again");
}

void thread_kill(struct thread *t)
{
	ASSERT(arch_irqs_masked() && t != sched_cur && t->magic == THREAD_MAGIC);
	if (t->state == THREAD_READY)
		runq_del(t);
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
