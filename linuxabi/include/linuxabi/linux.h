/* SPDX-License-Identifier: MIT */
/*
 * The Linux personality: RT processes that run unmodified Linux x86-64
 * binaries, each mirrored by a shadow process in Linux (crtos/channel.h).
 *
 * A process owns an address space whose user part (below the kernel
 * window) holds only memory the shadow maps too, at the same addresses, and
 * a channel to its shadow. A process's pid is its shadow's pid; a thread's
 * tid is its shadow twin's tid (the main thread's is the pid).
 *
 * Context: process and memory functions run in the thread of the process
 * they change (they block on remote calls), except where noted.
 */
#ifndef LINUXABI_LINUX_H
#define LINUXABI_LINUX_H

#include <kernel/aspace.h>
#include <kernel/list.h>
#include <kernel/pi.h>
#include <kernel/thread.h>
#include <crtos/channel.h>
#include <asm/siginfo.h>
#include <asm/signal.h>
#include <linux/sched.h>
#include <linux/time_types.h>

#define LX_PROCESS_MAGIC	0x434f5250u	/* "PROC" */
#define LX_USER_TOP		CRTOS_USER_TOP	/* user addresses are below it (crtos/abi.h) */
#define LX_MMAP_TOP		0x00007e0000000000ull	/* mmap() searches down from here */
#define LX_NSIG			64
#define LX_SIGBIT(sig)		(1ull << ((sig) - 1))
#define LX_MAX_THREADS		CRTOS_MAX_THREADS	/* one remote-call slot each */
#define LX_MAX_RTFDS		32		/* RT file descriptors per process */
#define LX_MAX_EPITEMS		32		/* RT fds in epoll sets, per process */
#define LX_SIGSET_SIZE		8		/* the kernel's sigset_t, what sigsetsize must say */
#define LX_SIG_UNBLOCKABLE	(LX_SIGBIT(SIGKILL) | LX_SIGBIT(SIGSTOP))

/* Internal restart codes (never seen by programs), as Linux's. */
#define ERESTARTSYS		512	/* restart if SA_RESTART, else EINTR */
#define ERESTARTNOINTR		513	/* always restart */
#define ERESTARTNOHAND		514	/* restart if no handler ran, else EINTR */
#define ERESTART_RESTARTBLOCK	516	/* no handler ran: restart_syscall (lx_thread.restart) */

struct lx_sigaction {
	uint64_t handler;		/* SIG_DFL (0), SIG_IGN (1) or a user address */
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

/* A queued signal: its siginfo, as the program will see it. */
struct lx_sigqueue {
	struct list_node node;
	siginfo_t info;
	struct lx_ptimer *timer;	/* a POSIX timer's own entry (never freed here), or NULL */
	struct lx_sigpending *pending;	/* where it is queued */
};

/* Signals waiting for a thread or for the process. */
struct lx_sigpending {
	uint64_t set;			/* LX_SIGBIT(sig): pending */
	struct list_node queue;		/* struct lx_sigqueue, in arrival order */
};

struct vma {
	vaddr_t start, end;		/* page-aligned, [start, end) */
	unsigned int prot;		/* MAP_READ | MAP_WRITE | MAP_EXEC */
	struct list_node node;		/* in lx_process.vmas, sorted by start */
};

enum lx_proc_state {
	LX_PROC_NEW,			/* channel made, waiting for the shadow's exec request */
	LX_PROC_RUNNING,
	LX_PROC_ZOMBIE,			/* exited; memory kept until the VMM says the shadow is gone */
};

struct lx_rtfd;
struct lx_ptimer;

struct lx_process {
	uint32_t magic;
	enum lx_proc_state state;
	int pid;			/* the shadow's pid */
	unsigned int index;		/* doorbell index, unique while the process exists */
	struct aspace as;
	struct kmutex mm_lock;		/* serializes changes to vmas, brk and the page tables */
	struct list_node vmas;		/* struct vma, sorted */
	vaddr_t brk_start, brk;		/* program break */
	struct crtos_channel *chan;	/* kernel view, through the direct map */
	struct crtos_stats *stats;	/* in the channel */
	paddr_t chan_pa;
	struct list_node threads;	/* struct lx_thread */
	int nr_threads;
	uint64_t slots_used[LX_MAX_THREADS / 64];	/* bitmap of remote-call slots; masked */
	struct crtos_rcall *slot_pages[CRTOS_SLOT_PAGES];	/* kernel view of each slot page
						 * (crtos/channel.h), NULL until needed;
						 * [0] is the channel's slots */
	uint32_t sig_tail;		/* signal-ring entries consumed */
	struct lx_sigaction sigactions[LX_NSIG + 1];	/* by signal number */
	struct lx_sigpending shared_pending;	/* process-directed signals */
	int nr_queued;			/* signals queued (RLIMIT_SIGPENDING-like limit) */
	struct list_node ptimers;	/* struct lx_ptimer: POSIX timers and the itimer */
	struct lx_rtfd *rtfds[LX_MAX_RTFDS];	/* RT file descriptors (linuxabi/rtfd.h) */
	struct lx_epitem {		/* an RT fd in a Linux epoll set (rtfd_wait.c) */
		bool used;
		int epfd, fd;
		uint32_t events;	/* EPOLL* asked for; 0 once an EPOLLONESHOT one fired */
		bool edge_armed;	/* EPOLLET: report readiness as it is, once (added, modified) */
		uint64_t edge_seen;	/* EPOLLET: the fd's events_so_far when last reported */
		uint64_t data;
	} epitems[LX_MAX_EPITEMS];
	uint64_t exited_cpu_cycles;	/* CPU time of its threads that are gone */
	int exit_kind, exit_value;	/* set when the process ends */
	uint64_t euid, rtprio_limit;	/* for sched_setscheduler's permission check */
	char exe[256];			/* the program's path, for /proc/self/exe */
	int private_fds[8];		/* the shadow's own fds (EBADF for the program) */
	unsigned int nr_private_fds;
	struct thread *vfork_parent;	/* suspended in vfork until this process execs or ends */
	struct lx_process *vfork_mm;	/* a vfork child: whose memory it runs in until it execs */
	bool sigchld_autoreap;		/* the shadow's Linux reaps its children (lx_sigchld_sync) */
	uint32_t membarrier_registered;	/* MEMBARRIER_CMD_REGISTER_* done: kept by fork, not exec */
	uint64_t shm_resized_seen;	/* the slot table's resized count its VMAs follow (mm_lock) */
	uint32_t shadow_ignored;	/* signals the shadow ignores (lx_shadow_ignore_sync) */
	bool forking;			/* a parent's fork is filling it in: the reap waits */
	int stopping;			/* threads waiting in CRTOS_SHADOW_STOP: while > 0 the
					 * others park before user code (signal.c); masked */
	struct list_node stop_parked;	/* struct thread.wait_node: the parked threads */
	struct list_node link;		/* all processes */
};

struct lx_altstack {
	uint64_t sp, size;
	int flags;			/* SS_DISABLE, SS_AUTODISARM */
};

struct lx_thread {
	struct thread *t;
	struct lx_process *proc;
	int tid;
	int slot;			/* index of its remote-call slot */
	struct crtos_rcall *rc;		/* that slot (in the channel or a slot page) */
	int policy;			/* SCHED_OTHER, SCHED_FIFO, SCHED_RR (| SCHED_RESET_ON_FORK) */
	int prio;			/* its base priority as the program set it (lx_set_sched) */
	int nice;			/* SCHED_OTHER's nice value: kept, has no effect */
	uint64_t clear_child_tid;	/* set_tid_address */
	uint64_t set_child_tid;		/* fork's CLONE_CHILD_SETTID: written when the child starts */
	uint64_t robust_list;		/* set_robust_list */
	uint64_t sigmask;
	uint64_t saved_sigmask;		/* restored after the handler (sigsuspend) */
	bool restore_sigmask;
	uint64_t sigwait_set;		/* rt_sigtimedwait: signals that wake it though blocked */
	struct lx_sigpending pending;	/* thread-directed signals */
	struct lx_altstack altstack;
	arch_regs_t *regs;		/* its user registers, during a system call */
	arch_regs_t *clone_regs;	/* a new thread's first user registers */
	bool exiting;			/* in exit: no longer counted in nr_threads */
	long syscall_nr;		/* the call in progress, for restarts; -1 none */
	bool rcall_cut;			/* cut its remote call short: an RT fd it polls changed */
	struct {			/* a relative sleep that restart_syscall goes on with */
		uint64_t clk, abs_ns, rem;
	} restart;
	struct crtos_thread_stats *stats;	/* its record in the channel (maybe shared) */
	bool stats_closed;		/* its CPU time is in the record */
	struct list_node proc_node;	/* in proc->threads */
	struct list_node rwait_node;	/* waiting for a remote call to complete */
	struct list_node mixed_node;	/* in a mixed wait of RT and Linux fds (rtfd_wait.c) */
};

/* The Linux thread of the current thread, NULL for kernel threads. */
static inline struct lx_thread *lx_current(void)
{
	return thread_current()->owner;
}

/* process.c */
int lx_process_spawn(uint64_t *chan_gpa, unsigned int *index);
int lx_process_reap(unsigned int index);
_Noreturn void lx_process_exit(int kind, int value);
void lx_process_kill(struct lx_process *p, int kind, int value);
bool lx_process_start_pending(void);
void lx_process_start_requested(void);
bool lx_process_poll_signals(void);
struct lx_process *lx_find_index(unsigned int index);
struct lx_process *lx_find_pid(int pid);
struct lx_process *lx_find_borrower(struct lx_process *p);

void lx_vfork_forget(struct thread *t);

/* fork.c */
long lx_clone_process(const uint64_t *a);
void lx_vfork_release(struct lx_process *p);

/* thread.c */
struct lx_thread *lx_thread_new(struct lx_process *p, int tid, int prio, void (*fn)(void *));
_Noreturn void lx_thread_exit(int code);
void lx_thread_kill(struct lx_thread *lt);
struct lx_thread *lx_find_tid(struct lx_process *p, int tid);
struct lx_thread *lx_find_thread(int tid);
void lx_set_sched(struct lx_thread *lt, int policy, int prio);
void lx_thread_stats_close(struct lx_thread *lt);
void lx_slot_pages_free(struct lx_process *p);

/* signal.c */
int lx_signal_send(struct lx_process *p, struct lx_thread *target, const siginfo_t *info);
int lx_signal_send_queued(struct lx_process *p, struct lx_thread *target, struct lx_sigqueue *q);
void lx_signal_simple_info(siginfo_t *info, int sig, int code);
bool lx_signal_deliverable(struct lx_thread *lt);
int lx_signal_dequeue(struct lx_thread *lt, uint64_t set, siginfo_t *info);
void lx_signal_deliver(arch_regs_t *regs);
bool lx_signal_poll_shadow(struct lx_process *p);
void lx_signal_recalc(struct lx_thread *lt);
void lx_signal_flush(struct lx_sigpending *sp);
void lx_signal_discard(struct lx_process *p, int sig);
long lx_sigreturn(arch_regs_t *regs);
int lx_sig_default_kills(int sig);
bool lx_sig_stops(int sig);
bool lx_sig_ignored(const struct lx_sigaction *sa, int sig);
void lx_sigchld_sync(struct lx_process *p);
void lx_shadow_ignore_sync(struct lx_process *p, int sig);

/* futex.c */
void lx_futex_init(void);
long lx_futex(uint64_t uaddr, int op, uint32_t val, uint64_t timeout, uint64_t uaddr2,
	      uint32_t val3);
int lx_futex_wake(uint64_t uaddr, int nr);
void lx_robust_exit(struct lx_thread *lt);

/* timers.c */
void lx_timers_destroy(struct lx_process *p);
void lx_ptimers_destroy(struct lx_process *p);
void lx_ptimer_dequeued(struct lx_sigqueue *q);
void lx_signal_unqueue(struct lx_sigqueue *q);
struct timer;
bool lx_timer_clock_ok(uint64_t clk);
uint64_t lx_timer_deadline(uint64_t clk, const struct __kernel_timespec *v, bool absolute);
struct __kernel_itimerspec lx_timer_spec(const struct timer *tm, uint64_t interval_ns);
int lx_timer_advance(struct timer *tm, uint64_t interval);

/* Timespecs as Linux checks them, and nanoseconds (saturated: a far future). */
static inline bool lx_ts_valid(const struct __kernel_timespec *ts)
{
	return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000;
}

static inline uint64_t lx_ts_ns(const struct __kernel_timespec *ts)
{
	if ((uint64_t)ts->tv_sec > UINT64_MAX / 1000000000 - 1)
		return UINT64_MAX / 2;
	return (uint64_t)ts->tv_sec * 1000000000 + (uint64_t)ts->tv_nsec;
}

static inline struct __kernel_timespec lx_ns_ts(uint64_t ns)
{
	return (struct __kernel_timespec){ (long long)(ns / 1000000000), (long long)(ns % 1000000000) };
}

/* sys_time.c */
int64_t lx_clock_now(uint64_t clk);
uint64_t lx_clock_deadline(uint64_t clk, int64_t abs_ns);
/*
 * The TSC deadline of the timeout (a struct timespec) at user address uts:
 * relative, or absolute on clock clk. A NULL uts is no timeout (*deadline
 * 0). 0, -EFAULT, or -EINVAL for a bad timespec.
 */
int lx_timeout_deadline(uint64_t uts, bool relative, uint64_t clk, uint64_t *deadline);
/* sys_wait.c: TSC deadline of a relative timeout in ms (negative: none, 0). */
uint64_t lx_ms_deadline(int64_t ms);

/* rcall.c */
long rcall(long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);
long rcall_regs(long nr, const uint64_t args[6]);
bool rcall_poll(void);
void rcall_set_wake_all(void);
void rcall_forget(struct lx_thread *lt);
void rcall_interrupt(struct lx_thread *lt);

/* mm.c: user memory. All changes are mirrored in the shadow first. */
long lx_mmap_anon(vaddr_t addr, size_t len, unsigned int prot, bool fixed, vaddr_t *out);
long lx_mmap_shared(vaddr_t addr, size_t len, unsigned int prot, bool fixed, int64_t fd,
		    uint64_t off, int how, vaddr_t *out);
long lx_shmdt(vaddr_t addr);
bool lx_range_free(vaddr_t addr, size_t len);
bool lx_mm_fault_is_bus(vaddr_t addr);
/*
 * Before a return to user code: follow shared files that shrank or grew
 * back (crtos/shm.h, Truncation) if p has not yet. Unmasked; may block.
 */
void lx_mm_shm_follow(struct lx_process *p);
long lx_msync_check(vaddr_t addr, size_t len);
/* mincore(2) on the current process: vec (user) gets a byte per page. Under mm_lock. */
long lx_mincore(vaddr_t addr, size_t len, uint64_t vec);
long lx_munmap(vaddr_t addr, size_t len);
long lx_mremap(vaddr_t old, size_t old_len, size_t new_len, uint64_t flags, vaddr_t new_addr,
	       vaddr_t *out);
long lx_mprotect(vaddr_t addr, size_t len, unsigned int prot);
long lx_brk(vaddr_t brk);
long lx_madvise_dontneed(vaddr_t addr, size_t len);
long lx_map_kernel_pages(vaddr_t addr, paddr_t pa, size_t len, unsigned int prot);
void lx_mm_destroy(struct lx_process *p);
long lx_mm_unmap_all(void);
long lx_mm_copy(struct lx_process *child);
long lx_mm_mirror_all(struct lx_process *owner);
struct lx_process *lx_mm_owner(struct lx_process *p);
void lx_mm_give_borrowers(struct lx_process *p);
unsigned int lx_prot_to_map(unsigned long prot);

/* The channel's bounce buffer (CRTOS_CHANNEL_BOUNCE): the kernel's view, and the shadow's address. */
static inline void *lx_bounce(struct lx_process *p)
{
	return (uint8_t *)p->chan + CRTOS_CHANNEL_BOUNCE;
}

static inline uint64_t lx_bounce_in_shadow(struct lx_process *p)
{
	return p->chan->shadow_va + CRTOS_CHANNEL_BOUNCE;
}

/* shm.c: shared slots (crtos/shm.h). What a VMA needs of one it maps: */
struct lx_shm_slot {
	unsigned int index;
	size_t valid;			/* bytes backed by the object (the rest: SIGBUS) */
	bool sysv;			/* a SysV segment (shmdt detaches it) */
};
void lx_shm_init(void);
/* Adopt the slot at gpa that the VMM attached for process owner, len bytes: one reference. */
long lx_shm_adopt(paddr_t gpa, size_t len, unsigned int owner, struct lx_shm_slot *out);
void lx_shm_get(unsigned int slot);
/* Drop a reference; the last releases the slot. No program PTE may map it any more. */
void lx_shm_put(unsigned int slot);
/* Process owner is reaped: slots attached for it but never adopted go. */
void lx_shm_reap(unsigned int owner);
/* Slots attached or adopted now (for the reap's log line). */
unsigned int lx_shm_in_use(void);
/* The VMM's count of size changes (crtos/shm.h, Truncation); 0 without a table. */
uint64_t lx_shm_resized(void);
/* The bytes of adopted slot i that its object has now: a page multiple, at most its valid. */
size_t lx_shm_valid_now(unsigned int i);
/* The GPA of slot i's first byte. */
paddr_t lx_shm_gpa(unsigned int i);

/*
 * exec.c: load the program described by the channel's exec request. With
 * replace (execve) the old image goes once the new file checks out;
 * *committed then says whether an error came after that point.
 */
int lx_exec(struct lx_process *p, bool replace, bool *committed, uint64_t *entry, uint64_t *sp,
	    char *why, size_t whylen);

/* uaccess.c: user pointers; each returns 0 or -EFAULT. */
int copy_from_user(void *dst, uint64_t src, size_t n);
int copy_to_user(uint64_t dst, const void *src, size_t n);
long strncpy_from_user(char *dst, uint64_t src, size_t max);
bool user_range_ok(uint64_t addr, size_t len);
/* The kernel's pointer to the aligned user word at uaddr (it stays mapped while the process lives). */
int user_word(uint64_t uaddr, bool write, uint32_t **word);

/* syscall.c */
void lx_syscall_init(void);
long lx_rcall_restartable(long nr, const uint64_t *a);
/*
 * A handler's deliberate fallback (the call's SCF line in syscalls.def says
 * which): count it for crtos run --stats and return err. Syscall context.
 */
long lx_fallback(long err);

#endif
