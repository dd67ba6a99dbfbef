// SPDX-License-Identifier: MIT
/*
 * Self-tests of threads and the scheduler on the real CPU: priority order,
 * FIFO order within a level, blocking and waking, preemption by a thread
 * that an interrupt makes ready, the FPU state of user threads surviving
 * switches, and dead threads' memory coming back. The self-tests run in the
 * boot context, which is the idle thread: anything ready runs before it.
 */
#include <kernel/arch.h>
#include <kernel/clock.h>
#include <kernel/irq.h>
#include <kernel/pmm.h>
#include <kernel/selftest.h>
#include <kernel/thread.h>

static char order[16];
static volatile int norder;

static void record(void *arg)
{
	order[norder++] = (char)(uintptr_t)arg;
}

static struct thread *spawn(int prio, void (*fn)(void *), uintptr_t arg, bool user)
{
	struct thread *t = thread_create("selftest", prio, fn, (void *)arg, user);

	if (t)
		sched_wake(t);
	return t;
}

SELFTEST(sched_runs_threads_by_priority_then_fifo)
{
	norder = 0;
	CHECK(spawn(10, record, 'a', false));
	CHECK(spawn(30, record, 'b', false));
	CHECK(spawn(10, record, 'c', false));
	CHECK(spawn(20, record, 'd', false));
	CHECK(spawn(30, record, 'e', false));
	sched_yield();		/* idle yields: all five run, then idle again */
	thread_reap();
	CHECK_EQ(norder, 5);
	CHECK(!__builtin_memcmp(order, "bedac", 5));
	return 0;
}

static struct thread *sleeper;
static volatile int sleeper_state;

static void sleep_once(void *arg __unused)
{
	unsigned long flags = arch_irq_save();

	sleeper_state = 1;
	sched_block();
	sleeper_state = 2;
	arch_irq_restore(flags);
}

SELFTEST(sched_blocked_thread_runs_when_woken)
{
	sleeper_state = 0;
	sleeper = spawn(5, sleep_once, 0, false);
	CHECK(sleeper);
	sched_yield();
	CHECK_EQ(sleeper_state, 1);
	CHECK_EQ(sleeper->state, THREAD_BLOCKED);
	sched_yield();		/* nothing ready: it stays blocked */
	CHECK_EQ(sleeper_state, 1);
	sched_wake(sleeper);
	sched_yield();
	CHECK_EQ(sleeper_state, 2);
	thread_reap();
	return 0;
}

static volatile int spinner_done, urgent_ran_first;
static struct thread *urgent;

static void urgent_fn(void *arg __unused)
{
	urgent_ran_first = !spinner_done;
}

static void wake_urgent(unsigned int vector __unused, void *arg __unused)
{
	sched_wake(urgent);
}

/* A low-priority thread spins; the timer interrupt wakes a high-priority one. */
static void spinner_fn(void *arg __unused)
{
	uint64_t start = arch_read_tsc();

	arch_timer_set_deadline(start + clock_ns_to_cycles(300 * NSEC_PER_USEC));
	while (!urgent_ran_first && arch_read_tsc() - start < clock_ns_to_cycles(NSEC_PER_SEC))
		arch_cpu_relax();
	spinner_done = 1;
}

SELFTEST(sched_interrupt_preempts_a_spinning_thread)
{
	spinner_done = urgent_ran_first = 0;
	urgent = thread_create("urgent", 50, urgent_fn, NULL, false);
	CHECK(urgent);
	irq_unregister(CRTOS_VEC_TIMER);
	CHECK_EQ(irq_register(CRTOS_VEC_TIMER, wake_urgent, NULL), 0);
	CHECK(spawn(5, spinner_fn, 0, false));
	sched_yield();
	irq_unregister(CRTOS_VEC_TIMER);
	thread_reap();
	CHECK(spinner_done);
	CHECK(urgent_ran_first);
	return 0;
}

static volatile uint64_t fpu_seen[2];

/* Put a value in an FPU/vector register, let the other thread run, check the register kept it. */
static void fpu_fn(void *arg)
{
	uint64_t mine = (uintptr_t)arg;

	arch_selftest_fpu_put(mine);
	for (int i = 0; i < 3; i++)
		sched_yield();
	fpu_seen[mine & 1] = arch_selftest_fpu_get();
}

SELFTEST(sched_switch_preserves_each_threads_fpu_state)
{
	fpu_seen[0] = fpu_seen[1] = 0;
	CHECK(spawn(8, fpu_fn, 0x1111111111111110ull, true));
	CHECK(spawn(8, fpu_fn, 0x2222222222222221ull, true));
	sched_yield();
	thread_reap();
	CHECK_EQ(fpu_seen[0], 0x1111111111111110ull);
	CHECK_EQ(fpu_seen[1], 0x2222222222222221ull);
	return 0;
}

static void nothing(void *arg __unused)
{
}

SELFTEST(sched_dead_threads_give_their_memory_back)
{
	size_t free_pages = pmm_free_pages();

	for (int i = 0; i < 50; i++)
		CHECK(spawn(1, nothing, 0, true));
	sched_yield();
	thread_reap();
	CHECK_EQ(pmm_free_pages(), free_pages);
	return 0;
}
