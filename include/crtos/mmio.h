/* SPDX-License-Identifier: MIT */
/*
 * The hypercall window: guest-physical addresses with no RAM behind them
 * (boot_params.mmio_gpa, one page), mapped user-accessible in the kernel
 * window so ring-3 kernel code can reach the VMM without entering ring 0.
 *
 * An 8-byte store to a slot below either exits to the VMM (KVM_EXIT_MMIO,
 * ~25 us here; the vCPU stops until the VMM has acted) or, for slots the VMM
 * registered as ioeventfds, only signals an eventfd (~3 us, no exit; the
 * value is ignored). Loads from the window are not used.
 */
#ifndef CRTOS_MMIO_H
#define CRTOS_MMIO_H

#include <crtos/abi.h>

#define CRTOS_MMIO_SIZE		CRTOS_U64(0x1000)

/* Exits: the kernel stops here until the VMM has handled the store. */
#define CRTOS_MMIO_EXIT		0x000	/* value: exit status; the cell ends */
#define CRTOS_MMIO_PANIC	0x008	/* value: CRTOS_PANIC_*; the cell ends */
#define CRTOS_MMIO_PUTS		0x010	/* value: guest-virtual address of a NUL-terminated string */

/* Values stored to CRTOS_MMIO_PANIC. */
#define CRTOS_PANIC_RECORD	0	/* comm.panic holds the report */
#define CRTOS_PANIC_NUCLEUS	1	/* the ring-0 nucleus took an exception it cannot
					 * reflect (in ring 0, or with interrupts masked);
					 * the vCPU's registers are those at the fault and
					 * [rsp] holds rax, vector, error code, rip, cs,
					 * rflags, rsp, ss */

/* Doorbells (ioeventfd): no exit. */
#define CRTOS_MMIO_LOG_DOORBELL	0x100	/* the log ring has new records */
#define CRTOS_MMIO_FIFO_DOORBELL 0x108	/* an RT-FIFO that Linux waits on changed (crtos/rtfifo.h) */
#define CRTOS_MMIO_DOORBELL(n)	(0x200 + 8 * (n))	/* process n's channel has a request */
#define CRTOS_MAX_PROCESSES	256		/* doorbells in the window */

#endif
