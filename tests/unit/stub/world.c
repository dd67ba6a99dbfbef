// SPDX-License-Identifier: MIT
/* The scheduler world of tests/unit/stub/world.h. */
#include <kernel/kmem.h>
#include <kernel/pmm.h>
#include <kernel/timer.h>
#include "harness.h"
#include "stub.h"
#include "world.h"

#define WORLD_RAM		(64ul << 20)
#define WORLD_MAX_THREADS	2048

struct thread *world_idle;
static struct thread *world_threads[WORLD_MAX_THREADS];
static int world_nthreads;
static size_t world_objects, world_pages;	/* kmem objects and free pages at the start */

static void world_cleanup(void)
{
	stub_irq_masked = false;
	stub_irq_saves = 0;
	world_end();
}

void world_begin(void)
{
	static bool ram;

	if (!ram) {
		/* Once: threads of a failed test may still point into it. */
		stub_pmm_reset(WORLD_RAM, 0);
		kmem_init();
		/* The slab threads come from stays cached: leaks show as pages. */
		kfree(kmalloc(sizeof(struct thread)));
		ram = true;
	}
	stub_irq_masked = false;
	stub_irq_saves = 0;
	stub_switch_hook = NULL;
	stub_thread_init_error = 0;
	stub_tsc = WORLD_T0;
	sched_init();
	sched_set_quantum(WORLD_QUANTUM);
	timer_set_floor(TIMER_FLOOR_NONE);
	world_idle = thread_current();
	world_nthreads = 0;
	world_objects = kmem_live_objects();
	world_pages = pmm_free_pages();
	harness_cleanup = world_cleanup;
}

void world_end(void)
{
	unsigned long flags;

	harness_cleanup = NULL;
	stub_switch_hook = NULL;
	sched_set_idle_exit_hook(NULL);
	flags = arch_irq_save();
	while (thread_current() != world_idle)
		sched_wait(0, 0);
	for (int i = 0; i < world_nthreads; i++)
		thread_kill(world_threads[i]);
	world_nthreads = 0;
	thread_reap();
	arch_irq_restore(flags);
	EXPECT_EQ(timer_next_deadline(), 0);
	EXPECT_EQ(kmem_live_objects(), world_objects);
	EXPECT_EQ(pmm_free_pages(), world_pages);
	EXPECT_EQ(stub_irq_saves, 0);
	EXPECT(!stub_irq_masked);
}

struct thread *world_track(struct thread *t)
{
	if (!t)
		harness_fail(__FILE__, __LINE__, "thread_create() failed");
	if (world_nthreads == WORLD_MAX_THREADS)
		harness_fail(__FILE__, __LINE__, "too many threads");
	world_threads[world_nthreads++] = t;
	return t;
}

struct thread *world_thread(const char *name, int prio)
{
	return world_track(thread_create(name, prio, NULL, NULL, false));
}

struct thread *world_spawn(const char *name, int prio)
{
	struct thread *t = world_thread(name, prio);

	sched_wake(t);
	return t;
}

struct thread *world_block(void)
{
	unsigned long flags = arch_irq_save();

	sched_block();
	arch_irq_restore(flags);
	return thread_current();
}

const char *world_order(void)
{
	static char order[WORLD_MAX_THREADS + 1];
	int n = 0;

	if (thread_current() == world_idle)
		sched_yield();
	while (thread_current() != world_idle && n < WORLD_MAX_THREADS) {
		order[n++] = thread_current()->name[0];
		world_block();
	}
	order[n] = 0;
	return order;
}

void world_reap(void)
{
	int kept = 0;

	for (int i = 0; i < world_nthreads; i++)
		if (world_threads[i]->state != THREAD_DEAD)
			world_threads[kept++] = world_threads[i];
	world_nthreads = kept;
	thread_reap();
}

void world_advance(uint64_t tsc)
{
	stub_tsc = tsc;
	timer_poll();
}
