/* SPDX-License-Identifier: MIT */
/*
 * crtos run's side of fork (shadow/supervise.h): the RT processes the
 * program forks. Each has a shadow (a child of its parent's shadow) and a
 * socket to us; we make the process in the cell when a shadow asks, and
 * reap it when its socket ends (the shadow is gone).
 */
#ifndef CLI_RUN_PROCS_H
#define CLI_RUN_PROCS_H

#include <poll.h>
#include <sys/types.h>
#include "vmm/vmm.h"

#define RUN_MAX_PROCS	64		/* forked processes alive at once */

struct run_proc {
	int sock;			/* our end of its shadow's socket; -1: free entry */
	pid_t pid;			/* its shadow, once it said hello (0 before) */
	struct cell_proc cp;		/* in our own cell */
	int cell_sock;			/* its own connection to a serving cell, or -1 */
};

struct run_procs {
	struct cell *local;		/* our own cell, or NULL: a serving cell on cpu */
	int cpu;
	int main_sock;			/* our end of the program's own shadow's socket, or -1 */
	int main_cell_sock;		/* the program's connection to a serving cell, or -1 */
	unsigned int main_index;	/* the program's process in our own cell */
	struct run_proc procs[RUN_MAX_PROCS];
};

/* Start with no forked process. local: our cell, or NULL for the serving cell on cpu. */
void run_procs_init(struct run_procs *rp, struct cell *local, int cpu);

/*
 * A socket pair for a shadow: *ours stays here, *theirs goes to the
 * shadow (inheritable). 0 or -errno.
 */
int run_procs_socketpair(int *ours, int *theirs);

/* Fill pfd[] with the sockets to watch (the program's shadow's first); how many. */
int run_procs_pollfds(struct run_procs *rp, struct pollfd *pfd);

/* Serve what poll found on the sockets run_procs_pollfds() gave (same order). */
void run_procs_serve(struct run_procs *rp, const struct pollfd *pfd, int n);

/* The program's shadow is gone: end the shadows that are left, and reap every process. */
void run_procs_end(struct run_procs *rp);

#endif
