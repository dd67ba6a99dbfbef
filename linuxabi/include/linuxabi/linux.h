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
#include <kernel/thread.h>
#include <crtos/channel.h>

#define LX_PROCESS_MAGIC	0x434f5250u	/* "PROC" */
#define LX_USER_TOP		CRTOS_KERNEL_BASE	/* user addresses are below the kernel window */
#define LX_MMAP_TOP		0x00007e0000000000ull	/* mmap() searches down from here */
#define LX_NSIG			64

struct lx_sigaction {
	uint64_t handler;		/* SIG_DFL (0), SIG_IGN (1) or a user address */
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
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

struct lx_process {
	uint32_t magic;
	enum lx_proc_state state;
	int pid;			/* the shadow's pid */
	unsigned int index;		/* doorbell index, unique while the process exists */
	struct aspace as;
	struct list_node vmas;		/* struct vma, sorted */
	vaddr_t brk_start, brk;		/* program break */
	struct crtos_channel *chan;	/* kernel view, through the direct map */
	paddr_t chan_pa;
	struct list_node threads;	/* struct lx_thread */
	int nr_threads;
	uint32_t slots_used;		/* bitmap of channel slots */
	struct lx_sigaction sigactions[LX_NSIG + 1];	/* by signal number */
	int exit_kind, exit_value;	/* set when the process ends */
	char exe[256];			/* the program's path, for /proc/self/exe */
	int private_fds[8];		/* the shadow's own fds (EBADF for the program) */
	unsigned int nr_private_fds;
	struct list_node link;		/* all processes */
};

struct lx_thread {
	struct thread *t;
	struct lx_process *proc;
	int tid;
	int slot;			/* index of its remote-call slot */
	uint64_t clear_child_tid;	/* set_tid_address */
	uint64_t sigmask;
	uint64_t local_calls, remote_calls;	/* counters, for crtos stats */
	struct list_node proc_node;	/* in proc->threads */
	struct list_node rwait_node;	/* waiting for a remote call to complete */
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
bool lx_process_poll(void);
bool lx_signal_pending(struct lx_thread *lt);
void lx_signal_check(void);

/* rcall.c */
long rcall(long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);
long rcall_regs(long nr, const uint64_t args[6]);
bool rcall_poll(void);
void rcall_set_wake_all(void);
void rcall_forget(struct lx_thread *lt);

/* mm.c: user memory. All changes are mirrored in the shadow first. */
long lx_mmap_anon(vaddr_t addr, size_t len, unsigned int prot, bool fixed, vaddr_t *out);
long lx_munmap(vaddr_t addr, size_t len);
long lx_mprotect(vaddr_t addr, size_t len, unsigned int prot);
long lx_brk(vaddr_t brk);
long lx_madvise_dontneed(vaddr_t addr, size_t len);
long lx_map_kernel_pages(vaddr_t addr, paddr_t pa, size_t len, unsigned int prot);
void lx_mm_destroy(struct lx_process *p);
unsigned int lx_prot_to_map(unsigned long prot);

/* exec.c: load the program described by the channel's exec request. */
int lx_exec(struct lx_process *p, uint64_t *entry, uint64_t *sp, char *why, size_t whylen);

/* uaccess.c: user pointers; each returns 0 or -EFAULT. */
int copy_from_user(void *dst, uint64_t src, size_t n);
int copy_to_user(uint64_t dst, const void *src, size_t n);
long strncpy_from_user(char *dst, uint64_t src, size_t max);
bool user_range_ok(uint64_t addr, size_t len);

/* syscall.c */
void lx_syscall_init(void);

#endif
