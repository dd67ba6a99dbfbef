/* SPDX-License-Identifier: MIT */
/*
 * Threads and the scheduler.
 *
 * Scheduling is fixed-priority and preemptive: priorities 1..99 are the
 * real-time levels (SCHED_FIFO/SCHED_RR in the Linux personality), 0 is the
 * SCHED_OTHER band, and the idle thread runs below everything. The ready
 * thread with the highest priority runs; equal priorities run in FIFO
 * order, except that time-sliced threads (THREAD_SLICED: SCHED_RR, and
 * SCHED_OTHER) rotate to the tail of their level when their quantum is
 * used up while another thread of that level is ready. Picking the next
 * thread is O(1) (a bitmap of non-empty levels).
 *
 * A thread's priority (prio) is its base priority raised, while it holds
 * priority-inheritance mutexes, to that of their highest waiter (pi.c).
 *
 * Context: every function here runs masked or masks itself. A thread that
 * becomes ready with a higher priority than the running one preempts it at
 * the next preemption point (interrupt return, unmask, syscall return).
 */
#ifndef KERNEL_THREAD_H
#define KERNEL_THREAD_H

#include <kernel/arch.h>
#include <kernel/list.h>
#include <kernel/timer.h>

#define THREAD_MAGIC		0x44524854u	/* "THRD" */
#define PRIO_LEVELS		100		/* 0 (SCHED_OTHER) .. 99 */
#define PRIO_IDLE		(-1)
#define KSTACK_ORDER		2		/* 16 KiB kernel stacks */
#define KSTACK_SIZE		(PAGE_SIZE << KSTACK_ORDER)
#define SCHED_QUANTUM_DEFAULT_NS	100000000ull	/* Linux's sched_rr_timeslice_ms */

/* thread.sched_flags */
#define THREAD_SLICED		0x1	/* round-robin with the other sliced threads of its level */

/* sched_wait() flags */
#define WAIT_KILLABLE		0x1	/* thread_interrupt(t, true) ends the wait */
#define WAIT_INTERRUPTIBLE	0x3	/* so does thread_interrupt(t, false) (implies killable) */

enum thread_state {
	THREAD_READY,		/* on a run queue */
	THREAD_RUNNING,		/* the current thread */
	THREAD_BLOCKED,		/* in sched_wait(); someone will wake it */
	THREAD_DEAD,		/* exited; its stack is freed by the idle thread */
};

struct aspace;
struct rt_mutex;

struct thread {
	uint32_t magic;
	enum thread_state state;
	int prio;			/* effective priority: base_prio, or higher while boosted */
	int base_prio;			/* the priority it was given */
	unsigned int sched_flags;	/* THREAD_SLICED */
	uint64_t slice_left;		/* cycles left of its quantum (sliced threads) */
	int tid;			/* Linux thread id (the shadow twin's) or 0 for kernel threads */
	const char *name;
	struct list_node run_node;	/* run queue (READY) or the dead list (DEAD) */
	struct aspace *as;		/* address space it runs in; NULL: any (kernel thread) */
	void *owner;			/* the personality's data (Linux thread), opaque here */
	uint64_t run_cycles;		/* CPU time used, up to the last switch-in */
	uint64_t run_since;		/* TSC of the last switch-in */
	uint64_t nr_switches;		/* times it was switched in */

	/* Waiting (sched_wait). */
	struct list_node wait_node;	/* owned by whatever the thread waits on */
	unsigned int wait_flags;
	bool waiting;
	bool interrupt_pending;		/* thread_interrupt() was called; cleared by the personality */
	bool killed;			/* thread_interrupt(t, true) was called: never cleared */
	int wait_result;
	uint64_t wait_key;		/* for whoever queued it (the futex key) */
	struct timer wait_timer;	/* the wait's deadline */

	/* Priority inheritance (pi.c). */
	struct rt_mutex *blocked_on;	/* the PI mutex it waits for, or NULL */
	struct list_node pi_node;	/* in blocked_on's waiters, highest priority first */
	struct list_node pi_held;	/* the PI mutexes it owns */

	void *kstack;			/* kernel stack (KSTACK_SIZE bytes) */
	void (*fn)(void *);		/* what a new thread runs */
	void *arg;
	struct arch_thread arch;
};

/* The boot context becomes the idle thread. Called once, before any other thread. */
void sched_init(void);

/* The quantum of sliced threads, in TSC cycles (default: SCHED_QUANTUM_DEFAULT_NS). */
void sched_set_quantum(uint64_t cycles);
uint64_t sched_quantum(void);

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
 * End a thread that is not running (ready or blocked; it is removed from
 * whatever it waits on). Masked. Its resources are freed by thread_reap().
 */
void thread_kill(struct thread *t);

/* Free dead threads' stacks. The idle thread calls it; not the dead thread's own job. */
void thread_reap(void);

/*
 * Block the current thread, masked, until sched_wake()/sched_wake_with()
 * (returns their result), until the TSC reaches deadline (0: no deadline;
 * returns -ETIMEDOUT), or, per flags, until thread_interrupt() (-EINTR).
 * The caller has queued t->wait_node where its waker will find it (or not);
 * whatever ends the wait unlinks it. If an interrupt is already pending the
 * wait returns -EINTR at once. Returns masked.
 */
int sched_wait(uint64_t deadline, unsigned int flags);

/* sched_wait(0, 0): wait for an explicit wake-up only. */
void sched_block(void);

/* End t's wait with result (no effect if it is not waiting); start a new thread. Any context. */
void sched_wake_with(struct thread *t, int result);
void sched_wake(struct thread *t);

/*
 * Note that t has something to act on (a signal): an interruptible wait
 * ends with -EINTR, now or when it starts, until thread_clear_interrupt().
 * fatal: t must end; killable waits end too, and t->killed stays set.
 */
void thread_interrupt(struct thread *t, bool fatal);
void thread_clear_interrupt(struct thread *t);

/* Give up the CPU to another ready thread of the same or higher priority. */
void sched_yield(void);

/* Switch to a higher-priority ready thread if one is waiting. Preemption point; masked. */
void sched_preempt(void);

/*
 * Set t's effective priority (pi.c decides it) and requeue t as POSIX says:
 * raised, at the tail of the new level; lowered, at its head. Does not
 * preempt: the caller calls sched_preempt() when its state is consistent.
 */
void sched_set_prio(struct thread *t, int prio);

/* Make t time-sliced (or not). */
void sched_set_sliced(struct thread *t, bool sliced);

/*
 * fn runs (masked) whenever the CPU leaves the idle loop for a thread: what
 * the idle loop noticed by polling must from then on interrupt the CPU.
 */
void sched_set_idle_exit_hook(void (*fn)(void));

/* Whether a ready thread would preempt the current one. */
bool sched_need_resched(void);

/* Whether any thread is ready (if the current one blocks, the idle loop will not run). */
bool sched_others_ready(void);

/*
 * as is about to be destroyed: if it is the loaded address space, load the
 * kernel's instead. Called by the address space's owner, masked or not.
 */
void sched_forget_aspace(struct aspace *as);

/* t runs in address space as from now on (loaded at once if t is running). Any context. */
void sched_set_aspace(struct thread *t, struct aspace *as);

/* CPU time t has used, in TSC cycles (t may be the running thread). */
uint64_t thread_cpu_cycles(const struct thread *t);

/* Number of context switches since boot. */
uint64_t sched_switches(void);

#endif
