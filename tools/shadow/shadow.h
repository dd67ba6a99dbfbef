/* SPDX-License-Identifier: MIT */
/*
 * The shadow's state and the pieces its files share: shadow.c (start, the
 * twins, the dispatcher, signals), exec.c (what execve opens, `#!` lines,
 * the exec request, close-on-exec) and fork.c (a new process for fork,
 * through crtos run, and the fork itself).
 */
#ifndef SHADOW_SHADOW_H
#define SHADOW_SHADOW_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <crtos/channel.h>

struct shadow {
	int memfd, doorbell, kick;
	int sup;			/* our socket to crtos run (shadow/supervise.h) */
	int report;			/* --stats: the stderr we were started with (the program may
					 * close its own), or -1 */
	int stats_file;			/* --stats=FILE, open O_APPEND (forks keep it), or -1 */
	char program[256];		/* the program this process runs (exec.c), for --stats=FILE */
	struct crtos_channel *chan;
	int prog_fd;
	bool main;			/* the program's own shadow (crtos run's child), not a fork's */
	uint32_t flags;			/* CRTOS_EXEC_* */
	uint32_t ignored;		/* signals we ignore, as the program does (SIG_IGN): those
					 * ignored when we were started, then as it sets them */
	sigset_t forwarded;		/* the signals we forward to the program */
	uint64_t spin_ns;		/* how long a twin spins on its slot after a call */
	pid_t twin_tid[CRTOS_MAX_THREADS];	/* by slot, for the dispatcher */
	uint32_t calls[CRTOS_MAX_THREADS];	/* by slot: calls its twin took up (the twin writes) */
	struct crtos_rcall *slot_pages[CRTOS_SLOT_PAGES];	/* slot pages mapped here, by number;
						 * [0] unused (the channel's slots) */
};

extern struct shadow sh;

/* Print "crtos: ..." and exit with status. */
_Noreturn void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Move fd to the top of the fd range, close-on-exec, out of the program's way. */
int fd_hide(int fd);

/* shadow.c: slot's remote-call record, or NULL if its slot page is not mapped here. */
struct crtos_rcall *shadow_slot(int slot);

/* shadow.c: unmap the slot pages (a forked shadow serves a new channel). */
void slot_pages_drop(void);

/* shadow.c: start the dispatcher thread at priority prio. */
void dispatcher_start(int prio);

/* shadow.c: serve slot's calls on this thread. Never returns. */
_Noreturn void twin_loop(int slot);

/*
 * exec.c: open what execve(dirfd, path, atflags) would run, following `#!`
 * lines, and fill the channel's exec request with it, argv (the `#!`
 * interpreters' first) and envp. 0 or -errno as execve fails.
 */
int exec_request_fill(int dirfd, const char *path, int atflags, char **argv, int argc,
		      char **envp, int envc);

/* exec.c: CRTOS_SHADOW_EXEC_PREPARE, on the strings the kernel staged. 0 or -errno. */
long exec_prepare(int dirfd, int atflags);

/* exec.c: CRTOS_SHADOW_EXEC_DONE: close the program file; after an execve (2) close-on-exec fds. */
long exec_done(int how);

struct sup_msg;

/* fork.c: one request to crtos run (shadow/supervise.h) with send_fd (or -1). 0 or -errno. */
int sup_call(struct sup_msg *msg, int send_fd);

/* shm.c: CRTOS_SHADOW_SHM_MAP(va, len, prot, fd, offset, how): the slot's GPA or -errno. */
long shm_map(uint64_t va, uint64_t len, int prot, int64_t fd, uint64_t offset, int how);
/* CRTOS_SHADOW_SHM_GROW (crtos/channel.h): the new slot's GPA, or -errno with nothing changed. */
long shm_grow(uint64_t old, uint64_t old_len, uint64_t new_len, uint64_t target, uint32_t slot);

/* shm.c: unmap our mirror of guest RAM below CRTOS_USER_TOP, keeping the shared mappings. */
void shm_drop_ram_mirror(void);

/* fork.c: CRTOS_SHADOW_FORK_PREPARE: a new process from crtos run; its doorbell index or -errno. */
long fork_prepare(void);

/* fork.c: CRTOS_SHADOW_FORK(index, abandon): fork; the child's pid or -errno. */
long fork_shadow(unsigned int index, int abandon);

#endif
