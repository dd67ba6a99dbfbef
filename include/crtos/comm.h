/* SPDX-License-Identifier: MIT */
/*
 * The comm page: the kernel's state, as the VMM sees it, and the VMM's
 * requests to the kernel. One page at CRTOS_GPA_COMM, zeroed by the VMM
 * before boot.
 *
 * Each field has exactly one writer. Fields the other side polls are
 * accessed with single aligned loads and stores (never torn); where a group
 * of fields must be read consistently, the writer publishes them first and
 * the field that announces them last, with a release store, and the reader
 * uses an acquire load on that field.
 */
#ifndef CRTOS_COMM_H
#define CRTOS_COMM_H

#include <crtos/abi.h>
/*
 * struct crtos_regs: the architecture's register dump at a fault, the one
 * arch-specific part of this page. Each arch defines it in
 * include/arch/<arch>/crtos/arch_regs.h; the portable kernel reaches it only
 * through arch hooks (kernel/arch.h).
 */
#include <crtos/arch_regs.h>

#define CRTOS_COMM_MAGIC	0x4d4d4f43534f5452ull	/* "RTOSCOMM" */

/* Kernel life cycle (comm.state). Terminal states are EXITED and PANICKED. */
enum crtos_state {
	CRTOS_STATE_OFF = 0,	/* the VMM zeroed the page; the kernel has not run */
	CRTOS_STATE_BOOTING,	/* the kernel accepted the boot params */
	CRTOS_STATE_RUNNING,	/* booted: initialised, running its first job or idling */
	CRTOS_STATE_EXITED,	/* orderly shutdown; exit_status is valid */
	CRTOS_STATE_PANICKED,	/* panic record is valid */
};

#define CRTOS_PANIC_MSG_MAX	256
#define CRTOS_PANIC_FRAMES	32

/*
 * Written by the kernel when it panics, before it sets state to PANICKED
 * and rings CRTOS_MMIO_PANIC. The VMM prints it, symbolizing the faulting
 * instruction and the backtrace with the kernel ELF's symbol table.
 */
struct crtos_panic_record {
	char file[64];			/* source file of the panic() call */
	uint32_t line;
	uint32_t has_regs;		/* regs holds the state at a fault */
	struct crtos_regs regs;
	uint32_t nr_frames;		/* valid entries in frames[] */
	uint32_t reserved;
	uint64_t frames[CRTOS_PANIC_FRAMES];	/* return addresses, innermost first */
	char msg[CRTOS_PANIC_MSG_MAX];
};

/*
 * Requests from the VMM to the kernel (comm.ctl). The VMM writes op and
 * args, then increments req_seq (release) and kicks; the kernel acts,
 * writes result and out, then sets ack_seq = req_seq (release). One
 * request at a time.
 */
enum crtos_ctl_op {
	CRTOS_CTL_SPAWN = 1,	/* new RT process: out[0] channel GPA, out[1] its doorbell index */
	CRTOS_CTL_REAP,		/* args[0] doorbell index: the shadow is gone; free everything */
	CRTOS_CTL_FIFO_CREATE,	/* name, args[0] size (0: default): out[0] its index in the FIFO
				 * directory (crtos/rtfifo.h); -EEXIST if it exists (out[0] too) */
	CRTOS_CTL_FIFO_REMOVE,	/* name: remove it; -EBUSY while an RT fd has it open */
};

struct crtos_ctl {
	uint32_t req_seq;		/* VMM */
	uint32_t ack_seq;		/* kernel */
	uint32_t op;			/* VMM: enum crtos_ctl_op */
	int32_t result;			/* kernel: 0 or -errno */
	uint64_t args[4];		/* VMM */
	uint64_t out[4];		/* kernel */
	char name[32];			/* VMM: the FIFO of CRTOS_CTL_FIFO_*, NUL-terminated */
};

struct crtos_comm {
	uint64_t magic;			/* kernel: CRTOS_COMM_MAGIC once boot params are accepted */
	uint32_t abi_version;		/* kernel: its CRTOS_ABI_VERSION */

	/* Written by the kernel. */
	uint32_t state;			/* enum crtos_state */
	int32_t exit_status;		/* valid in CRTOS_STATE_EXITED */
	uint32_t selftest_failures;	/* failed in-kernel self-tests */
	uint64_t tsc_entry;		/* TSC at the kernel's first instruction */
	uint64_t tsc_ready;		/* TSC when boot was complete (state RUNNING) */
	uint64_t heartbeat;		/* incremented at least every heartbeat period */
	uint64_t heartbeat_tsc;		/* TSC of the last heartbeat */
	uint64_t halted_until_tsc;	/* nonzero while the idle loop halts: the TSC by
					 * which it has promised to be awake (its wake
					 * timer); the VMM's watchdog checks the promise */
	uint64_t ram_in_use;		/* bytes of RAM the page allocator manages */
	uint64_t fifo_dir_gpa;		/* struct crtos_fifo_dir (crtos/rtfifo.h), 0 until booted */
	uint64_t shm_table_gpa;		/* struct crtos_shm_table (crtos/shm.h), 0 until booted */
	struct crtos_panic_record panic;

	/* Written by the VMM. */
	uint64_t ram_ready;		/* RAM in [0, ram_ready) is populated and locked */
	uint32_t shutdown;		/* nonzero: shut down in order, exit status shutdown - 1 */
	uint32_t reserved;

	struct crtos_ctl ctl;		/* both, see above */
};

_Static_assert(sizeof(struct crtos_comm) <= 4096, "comm must fit one page");

#endif
