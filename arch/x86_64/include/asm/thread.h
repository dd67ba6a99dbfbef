/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 part of a thread: what a context switch saves and restores
 * beyond the kernel stack. User state at kernel entry is on the kernel stack
 * (struct crtos_regs); this is the rest of the CPU state a thread owns.
 */
#ifndef ASM_THREAD_H
#define ASM_THREAD_H

#include <kernel/types.h>

struct arch_thread {
	uint64_t rsp;			/* saved kernel stack pointer while switched out */
	uint64_t fs_base;		/* the thread's FS base (TLS), saved at switch */
	uint64_t gs_base;		/* its program's GS base, saved at switch */
	uint64_t kstack_top;		/* top of its kernel stack, for event entry */
	uint64_t kstack_size;
	void *xsave;			/* XSAVE area (64-byte aligned), NULL for kernel-only threads */
};

#endif
