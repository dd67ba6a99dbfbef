/* SPDX-License-Identifier: MIT */
/* The kernel's global state and life cycle (kernel/main.c). */
#ifndef KERNEL_KERNEL_H
#define KERNEL_KERNEL_H

#include <kernel/types.h>
#include <crtos/boot.h>
#include <crtos/comm.h>

#define CRTOS_VERSION	"0.1.0"

/* The comm page shared with the VMM. */
struct crtos_comm *kernel_comm(void);

/* The boot parameters (read-only). */
const struct crtos_boot_params *kernel_boot_params(void);

/*
 * Orderly shutdown: flush what is pending, tell the VMM, stop the cell with
 * status (0-255) as the VMM's exit status. Never returns.
 */
_Noreturn void kernel_exit(int status);

/* The idle loop (kernel/idle.c): runs when nothing else does; never returns. */
_Noreturn void idle_loop(void);
/* Test hook (fault=lost-wakeup): every halt loses its wake-up interrupt. */
void idle_inject_lost_wakeups(void);

#endif
