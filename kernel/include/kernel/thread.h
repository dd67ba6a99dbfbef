/* SPDX-License-Identifier: MIT */
/*
 * Threads and the scheduler.
 *
 * Scheduling is fixed-priority and preemptive: priorities 1..99 are the
 * real-time levels (SCHED_FIFO/SCHED_RR in the Linux personality), 0 is the
 * SCHED_OTHER band, and the idle thread runs below everything. The ready
 * thread with the highest priority runs; equal priorities run in FIFO
 * order. Picking the next thread is O(1) (a bitmap of non-empty levels).
 *
 * Context: every function here runs masked or masks itself. A thread that
 * becomes ready with a higher priority than the running one preempts it at
 * the next preemption point (interrupt return, unmask, syscall return).
 */
#ifndef KERNEL_THREAD_H
#define KERNEL_THREAD_H

#include <kernel/arch.h>
#include <kernel/list.h>

#define THREAD_MAGIC		0x44524854u	/* "THRD" */
#define PRIO_LEVELS		100		/* 0 (SCHED_OTHER) .. 99 */
#define PRIO_IDLE		(-1)
#define KSTACK_ORDER		2		/* 16 KiB kernel stacks */
#define KSTACK_SIZE		(PAGE_SIZE << KSTACK_ORDER)

enum thread_state {
	THREAD_READY,		/* on a run queue */
	THREAD_RUNNING,		/* the current thread */
	THREAD_BLOCKED,		/* waiting; someone will call sched_wake() */
	THREAD_DEAD,		/* exited; its stack is freed by the idle thread */
};

struct aspace;
struct timer_wait;

struct thread {
	uint32_t magic;
	enum thread_state state;
	int prio;
	int tid;			/* Linux thread id (the shadow twin's) or 0 for kernel threads */
	const char *name;
	struct list_node run_node;	/* run queue (READY) or the dead list (DEAD) */
	struct list_node wait_node;	/* owned by whatever the thread waits on */
	struct aspace *as;		/* address space it runs in; NULL: any (kernel thread) */
	void *owner;			/* the personality's data (Linux process), opaque here */
	struct timer_wait *sleep;	/* timer.c: set while in timer_sleep_until() */
	uint64_t run_cycles;		/* CPU time used, up to the last switch-in */
	uint64_t run_since;		/* TSC of the last switch-in */
	void *kstack;			/* kernel stack (KSTACK_SIZE bytes) */
	void (*fn)(void *);		/* what a new thread runs */
	void *arg;
	struct arch_thread arch;
};

/* The boot context becomes the idle thread. Called once, before any other thread. */
void sched_init(void);

/* The running thread. */
struct thread *thread_current(void);

/*
 * A new thread that will run fn(arg) at priority prio, not yet ready
 * (sched_wake() starts it). user: it will run user code (gets FPU state).
 * NULL when out of memory.
 */
struct thread *thread_create(const char *name, int prio, void (*fn)(void *), void *arg, bool user);

/* End the current thread. Its resources are freed later by the idle thread. */
_Noreturn void thread_exit(void);

/*
 * End a thread that is not running (ready or blocked; whoever it waits on
 * has forgotten it). Masked. Its resources are freed by thread_reap().
 */
void thread_kill(struct thread *t);

/* Free dead threads' stacks. The idle thread calls it; not the dead thread's own job. */
void thread_reap(void);

/* Make t ready (from BLOCKED or new). Any context. */
void sched_wake(struct thread *t);

/*
 * Block the current thread: the caller has set up how it will be woken
 * (queued it somewhere) and calls this masked; returns masked once
 * sched_wake() made it ready and it was picked again.
 */
void sched_block(void);

/* Give up the CPU to another ready thread of the same or higher priority. */
void sched_yield(void);

/* Switch to a higher-priority ready thread if one is waiting. Preemption point; masked. */
void sched_preempt(void);

/* Change t's priority (re-queues it if it is ready). */
void sched_set_prio(struct thread *t, int prio);

/* Whether a ready thread would preempt the current one. */
bool sched_need_resched(void);

/*
 * as is about to be destroyed: if it is the loaded address space, load the
 * kernel's instead. Called by the address space's owner, masked or not.
 */
void sched_forget_aspace(struct aspace *as);

/* CPU time t has used, in TSC cycles (t may be the running thread). */
uint64_t thread_cpu_cycles(const struct thread *t);

/* Number of context switches since boot. */
uint64_t sched_switches(void);

#endif
