/* SPDX-License-Identifier: MIT */
/*
 * The channel between an RT process and its shadow process in Linux.
 *
 * The kernel allocates one channel per RT process in guest RAM; the shadow
 * maps it from the memfd (offset = the channel's guest-physical address).
 * It holds no kernel data: the kernel reaches it through its direct map,
 * the shadow through its own mapping. Layout: struct crtos_channel, then
 * the data area (exec strings written by the shadow, and a bounce buffer).
 *
 * Remote calls. Each RT thread owns a slot, served by its twin: a thread of
 * the shadow that makes the thread's remote calls (so each runs on its own
 * Linux thread, with its own tid). Slots 0-31 are in the channel; the
 * others, up to CRTOS_MAX_THREADS, live in *slot pages* of 32 slots that the
 * kernel allocates when a process first needs them (a thread beyond the
 * first 32) and names in slot_page_gpa[]: CRTOS_SHADOW_CLONE gives the new
 * slot's page, and the shadow maps it from the memfd before its twin
 * starts. A page stays until the process is reaped. The kernel writes the
 * request and sets state REQUEST, then, unless the slot's polling flag says
 * the twin is spinning on it, sets the slot's bit in rung[] and stores the
 * process's doorbell value to the hypercall window (an ioeventfd: the
 * shadow's eventfd fires, no VM exit); the shadow's dispatcher thread then
 * takes the rung bits and wakes those twins (a futex on state). The
 * twin executes the call, writes ret, sets state DONE, and if wake is set
 * kicks the kernel (irqfd). The kernel sees DONE, takes ret, sets FREE.
 * -errno comes back unchanged. State changes are sequentially consistent:
 * the doorbell and wake decisions are Dekker-style handshakes.
 *
 * If the kernel must interrupt a call in progress (a signal with a handler
 * arrived for the caller), it sets interrupt and rings the doorbell; the
 * dispatcher signals the twin, whose blocking system call then fails with
 * EINTR, and the kernel decides (SA_RESTART) what the program sees.
 *
 * Shadow operations are remote calls with nr >= CRTOS_SHADOW_OP_BASE: they
 * ask the shadow to change itself (mirror a mapping, finish exec, start or
 * end a twin).
 *
 * Signals Linux sends the shadow are forwarded through the signal ring
 * (with their siginfo) or, when it is full, as bits in signals.
 */
#ifndef CRTOS_CHANNEL_H
#define CRTOS_CHANNEL_H

#include <crtos/abi.h>

#define CRTOS_CHANNEL_MAGIC	0x4c4e484353545243ull	/* "CRTSCHNL" */
#define CRTOS_CHANNEL_SIZE	(128 * 1024)
#define CRTOS_CHANNEL_SLOTS	32	/* slots in the channel itself: slot page 0 */
#define CRTOS_SLOTS_PER_PAGE	32	/* slots in a 4 KiB slot page */
#define CRTOS_MAX_THREADS	1024	/* slots, so threads, a process can have */
#define CRTOS_SLOT_PAGES	(CRTOS_MAX_THREADS / CRTOS_SLOTS_PER_PAGE)
#define CRTOS_EXEC_STRINGS	(96 * 1024)	/* path, argv, envp: larger gets E2BIG */
#define CRTOS_BOUNCE_SIZE	(8 * 1024)	/* kernel reads files through here */

enum crtos_rcall_state {
	CRTOS_RCALL_FREE = 0,
	CRTOS_RCALL_REQUEST,	/* kernel: the call is ready for the shadow */
	CRTOS_RCALL_DONE,	/* shadow: ret is valid */
};

/* One RT thread's remote call (128 bytes, two cache lines). */
struct crtos_rcall {
	uint32_t state;			/* enum crtos_rcall_state; see above for who writes */
	uint32_t wake;			/* kernel: 1 = kick the kernel when DONE (it may not be polling) */
	int64_t nr;			/* kernel: Linux syscall number or CRTOS_SHADOW_OP_* */
	uint64_t args[6];		/* kernel */
	int32_t prio;			/* kernel: the caller's priority (the shadow thread adopts it) */
	int32_t tid;			/* kernel: the caller's thread id */
	int64_t ret;			/* shadow: result, or -errno */
	uint32_t polling;		/* shadow: 1 while the twin spins on this slot (no doorbell
					 * needed); it re-checks state after clearing it */
	uint32_t interrupt;		/* kernel: 1 = make the call in progress fail with EINTR */
	uint64_t scratch[2];		/* kernel, before REQUEST: small data the call's arguments
					 * point to (pselect6's timeout), at the shadow's address of
					 * this field */
	uint64_t sigmask;		/* kernel, before REQUEST: the caller's signal mask (bit
					 * sig - 1); the twin blocks SIGTTIN and SIGTTOU in its call
					 * as the caller does, so that Linux's tty sees them as the
					 * program has them (below, CRTOS_RCALL_RESTART) */
	uint64_t reserved[2];
};

/*
 * ret for a Linux call that a signal the shadow forwarded cut short in the
 * twin (a background read of the terminal: Linux's tty sent the twin's
 * process group SIGTTIN and failed the read with ERESTARTSYS; the twin's
 * handler put the signal into the ring before the answer): the kernel acts
 * on the signal (stops, or runs a handler) and then restarts the call or
 * fails it with EINTR as Linux would. Linux's own value of ERESTARTSYS.
 */
#define CRTOS_RCALL_RESTART	(-512)

/* Shadow operations (nr values), with their arguments. */
#define CRTOS_SHADOW_OP_BASE	0x40000000
#define CRTOS_SHADOW_MAP	(CRTOS_SHADOW_OP_BASE + 1)	/* va, len, gpa, prot: mirror RT memory */
#define CRTOS_SHADOW_UNMAP	(CRTOS_SHADOW_OP_BASE + 2)	/* va, len */
#define CRTOS_SHADOW_PROTECT	(CRTOS_SHADOW_OP_BASE + 3)	/* va, len, prot */
#define CRTOS_SHADOW_EXEC_DONE	(CRTOS_SHADOW_OP_BASE + 4)	/* ok: the program file is loaded (1) or
								 * abandoned (0): close it; 1 after an
								 * execve also closes close-on-exec fds */
#define CRTOS_SHADOW_CLONE	(CRTOS_SHADOW_OP_BASE + 5)	/* slot, page_gpa: start a twin serving
								 * slot, in the slot page at page_gpa
								 * (0: in the channel); returns its tid */
#define CRTOS_SHADOW_THREAD_EXIT (CRTOS_SHADOW_OP_BASE + 6)	/* the caller's twin ends after answering */
#define CRTOS_SHADOW_FORK_PREPARE (CRTOS_SHADOW_OP_BASE + 7)	/* have crtos run make an empty process
								 * for a child; returns its doorbell index */
#define CRTOS_SHADOW_FORK	(CRTOS_SHADOW_OP_BASE + 8)	/* index: fork the shadow; the child serves
								 * that process's channel; returns its pid */
#define CRTOS_SHADOW_EXEC_PREPARE (CRTOS_SHADOW_OP_BASE + 9)	/* dirfd, AT_* flags: open the program the
								 * strings area names (execve), see below */
#define CRTOS_SHADOW_SIGCHLD	(CRTOS_SHADOW_OP_BASE + 10)	/* on: Linux reaps the shadow's children
								 * itself (the program ignores SIGCHLD or
								 * set SA_NOCLDWAIT), 0: it does not */
#define CRTOS_SHADOW_SHM_MAP	(CRTOS_SHADOW_OP_BASE + 11)	/* va, len, prot, fd, offset, how: map a
								 * shared object at va and have the VMM
								 * make it a shared slot (crtos/shm.h);
								 * returns the slot's GPA */
/* CRTOS_SHADOW_SHM_MAP's how. */
#define CRTOS_SHM_MAP_FD	0	/* fd is a file, /dev/shm object or memfd */
#define CRTOS_SHM_MAP_ANON	1	/* shared anonymous memory: fd unused, a new memfd */
#define CRTOS_SHM_MAP_SYSV	2	/* fd is a SysV segment id (shmat) */
#define CRTOS_SHADOW_SIGNAL_IGNORE (CRTOS_SHADOW_OP_BASE + 13)	/* sig, ignore: the shadow ignores sig
								 * (1: the program set SIG_IGN) or forwards
								 * it (0); -EINVAL for a signal it never
								 * forwards (SIGKILL, SIGSEGV...) */
#define CRTOS_SHADOW_SHM_GROW	(CRTOS_SHADOW_OP_BASE + 14)	/* old, old_len, new_len, target, slot:
								 * grow the shared mapping at old to
								 * new_len (Linux's mremap; moved to
								 * target unless it is old) and have the
								 * VMM make a shared slot of slot's object
								 * for it; returns that slot's GPA. On an
								 * error the mapping is as it was */
#define CRTOS_SHADOW_STOP	(CRTOS_SHADOW_OP_BASE + 12)	/* sig: stop the shadow with sig (0: Linux
								 * stopped it already); returns once Linux
								 * has continued it (job control) */

/* Channel life cycle (crtos_channel.state). */
enum crtos_channel_state {
	CRTOS_CHAN_NEW = 0,		/* kernel created it */
	CRTOS_CHAN_EXEC_REQUESTED,	/* shadow: exec request is filled in */
	CRTOS_CHAN_RUNNING,		/* kernel: the program runs */
	CRTOS_CHAN_EXITED,		/* kernel: exit_kind/exit_value are valid; shadow must exit */
};

/* How an RT process ended (crtos_channel.exit_kind). */
enum crtos_exit_kind {
	CRTOS_EXIT_CODE = 1,		/* exit_value is the exit status (0-255) */
	CRTOS_EXIT_SIGNAL,		/* exit_value is the signal that killed it */
	CRTOS_EXIT_EXEC_FAILED,		/* exit_value is -errno; exit_msg says why */
};

/*
 * What to run: written by the shadow before it sets CRTOS_CHAN_EXEC_REQUESTED,
 * and for an execve by CRTOS_SHADOW_EXEC_PREPARE. For that call the kernel
 * first writes argc, envc, strings_size and the strings area as path,
 * argv[], envp[] (no exe); the shadow opens the program (following `#!`
 * lines: the interpreter's argv comes first) and rewrites the request in
 * the layout below, or answers -errno as execve would fail.
 */
struct crtos_exec_request {
	int32_t fd;			/* the program file, open in the shadow */
	uint32_t argc, envc;
	uint32_t strings_size;		/* bytes used in the data area: path (as given, for AT_EXECFN),
					 * exe (canonical, for /proc/self/exe), argv[], envp[],
					 * NUL-separated */
	uint64_t file_size;
	uint64_t uid, euid, gid, egid, secure;
	uint64_t hwcap, hwcap2, clktck, minsigstksz;
	uint64_t stack_limit;		/* RLIMIT_STACK soft limit (bytes) */
	int32_t prio;			/* initial priority: 0 (SCHED_OTHER) or 1-99 (SCHED_FIFO) */
	uint32_t nr_private_fds;
	int32_t private_fds[8];		/* the shadow's own fds: the program may not use them */
	uint32_t ignored_signals;	/* bit n: signal n was ignored (SIG_IGN) when exec'd */
	uint32_t flags;			/* CRTOS_EXEC_* */
	uint64_t rtprio_limit;		/* RLIMIT_RTPRIO soft limit (for unprivileged users) */
	uint8_t random[16];		/* AT_RANDOM */
	char platform[16];		/* AT_PLATFORM */
};

/* crtos_exec_request.flags */
#define CRTOS_EXEC_STATS	0x1	/* print the thread statistics when the program ends */

/*
 * A signal Linux sent the shadow, with its siginfo. Ring protocol: entry i
 * (mod CRTOS_SIGRING) is free for claim number n when seq == n; the shadow
 * claims n by advancing sig_head from n to n + 1 (compare-and-swap), fills
 * the entry, then sets seq = n + 1 (published); the kernel consumes entries
 * in order while seq == its count + 1, then sets seq = count + CRTOS_SIGRING.
 */
struct crtos_siginfo {
	uint32_t seq;			/* see above */
	int32_t signo;			/* shadow */
	int32_t code;			/* shadow: si_code */
	int32_t pid;			/* shadow: sender's pid (SI_USER, SI_QUEUE, ...) */
	uint32_t uid;			/* shadow: sender's uid */
	int32_t tid;			/* shadow: the twin it was aimed at (tgkill), 0: the process */
	uint64_t value;			/* shadow: si_value (SI_QUEUE) */
};

#define CRTOS_SIGRING		16

/* Per-thread counters, for `crtos run --stats` (written by the kernel only). */
struct crtos_thread_stats {
	int32_t tid;			/* 0: unused record */
	uint32_t state;			/* CRTOS_THREAD_* */
	int32_t policy;			/* SCHED_* now */
	int32_t prio;			/* priority now (base) */
	uint64_t local_calls;		/* system calls the RT kernel served */
	uint64_t remote_calls;		/* system calls its twin made in Linux */
	uint64_t cpu_ns;		/* CPU time, updated when it exits */
	uint64_t switches;		/* times it was scheduled in, updated when it exits */
};

#define CRTOS_THREAD_RUNNING	1
#define CRTOS_THREAD_EXITED	2
#define CRTOS_THREAD_OTHERS	3	/* the last record: the threads that found no record of
					 * their own (all others live), summed; tid -1 */
#define CRTOS_STATS_THREADS	64
#define CRTOS_STATS_SYSCALLS	512

/*
 * At CRTOS_CHANNEL_STATS: what the process did, by thread and by system call.
 * Calls the realm answered without serving them are counted apart (neither
 * local nor remote): -ENOSYS for a call it does not serve (an unknown number,
 * one not classified, one whose handler is not written yet), and fallbacks,
 * the deliberate answers a Linux without that feature would give (the
 * routing table's ENOSYS class, and a handler's refusal of one of a call's
 * options, say prctl(PR_SET_SECCOMP)); the routing table names each
 * fallback's reason (linuxabi/syscalls.def).
 */
struct crtos_stats {
	uint32_t nr_threads;		/* records used (oldest exited ones are reused) */
	uint32_t enosys_beyond;		/* -ENOSYS for numbers >= CRTOS_STATS_SYSCALLS (or < 0) */
	struct crtos_thread_stats threads[CRTOS_STATS_THREADS];
	uint32_t local_by_nr[CRTOS_STATS_SYSCALLS];	/* per Linux syscall number */
	uint32_t remote_by_nr[CRTOS_STATS_SYSCALLS];
	uint32_t enosys_by_nr[CRTOS_STATS_SYSCALLS];	/* not served: -ENOSYS */
	uint32_t fallback_by_nr[CRTOS_STATS_SYSCALLS];	/* answered as Linux without the feature */
};

struct crtos_channel {
	uint64_t magic;			/* kernel, at creation */
	uint32_t abi_version;		/* kernel, at creation */
	uint32_t size;			/* kernel, at creation: CRTOS_CHANNEL_SIZE */
	uint32_t doorbell;		/* kernel, at creation: value to store at CRTOS_MMIO_DOORBELL(n) */
	uint32_t doorbell_index;	/* kernel, at creation: n */
	uint32_t state;			/* enum crtos_channel_state; see there for who writes */
	int32_t pid;			/* shadow, before EXEC_REQUESTED (a forked child's shadow:
					 * before it serves a call): its pid, the RT process's */
	uint64_t shadow_va;		/* shadow, with pid: where it mapped this channel */
	uint64_t signals;		/* shadow sets bit sig - 1 when the ring is full; kernel clears */
	uint32_t sig_head;		/* shadow: claims of the signal ring */
	uint32_t reserved1;
	uint32_t exit_kind;		/* kernel, before EXITED */
	int32_t exit_value;		/* kernel, before EXITED */
	uint32_t reserved;
	char exit_msg[256];		/* kernel, before EXITED: why exec failed */
	struct crtos_exec_request exec;
	struct crtos_siginfo sigring[CRTOS_SIGRING];
	uint64_t slot_page_gpa[CRTOS_SLOT_PAGES];	/* kernel, before the CRTOS_SHADOW_CLONE of
						 * a slot in it: page n's GPA (slots 32n to
						 * 32n + 31); [0] is 0, slots[] below */
	uint64_t rung[CRTOS_MAX_THREADS / 64];	/* kernel sets bit n before it rings the
						 * doorbell for slot n; the shadow clears it */
	struct crtos_rcall slots[CRTOS_CHANNEL_SLOTS];
};

/* Offsets in the channel of the data areas. */
#define CRTOS_CHANNEL_STRINGS	8192
#define CRTOS_CHANNEL_BOUNCE	(CRTOS_CHANNEL_STRINGS + CRTOS_EXEC_STRINGS)
#define CRTOS_CHANNEL_STATS	(CRTOS_CHANNEL_BOUNCE + CRTOS_BOUNCE_SIZE)

_Static_assert(sizeof(struct crtos_rcall) == 128, "a slot is two cache lines");
_Static_assert(CRTOS_SLOTS_PER_PAGE * sizeof(struct crtos_rcall) == 4096, "a slot page is a page");
_Static_assert(CRTOS_CHANNEL_SLOTS == CRTOS_SLOTS_PER_PAGE, "the channel holds slot page 0");
_Static_assert(sizeof(struct crtos_channel) <= CRTOS_CHANNEL_STRINGS, "channel header too big");
_Static_assert(CRTOS_CHANNEL_STATS + sizeof(struct crtos_stats) <= CRTOS_CHANNEL_SIZE,
	       "channel too small");

#endif
