/* SPDX-License-Identifier: MIT */
/*
 * The FUSE view of a held cell's RT-FIFOs (fifofs.c): files under
 * <runtime dir>/cell<CPU>/fifo/ that Linux processes read, write and poll.
 */
#ifndef CLI_FIFOFS_H
#define CLI_FIFOFS_H

#include <stdbool.h>
#include <stddef.h>
#include "vmm/vmm.h"

/*
 * Mount it and serve it from helper threads; with rt, at SCHED_FIFO
 * FIFOFS_PRIO (see fifofs.c). 0, or -1 with why filled.
 */
int fifofs_start(struct cell *c, bool rt, char *why, size_t whylen);
/* The mount point (valid after fifofs_start). */
const char *fifofs_path(void);
/* Unmount (lazily: open files then fail) and stop. Nothing if it never started. */
void fifofs_stop(void);

#endif
