/* SPDX-License-Identifier: MIT */
/*
 * The stub arch's part of a thread. Nothing is switched for real: a
 * context switch only changes thread_current() (tests/unit/stub/arch_stub.c),
 * so this records what the scheduler asked the arch layer to do.
 */
#ifndef ASM_THREAD_H
#define ASM_THREAD_H

#include <kernel/types.h>

struct arch_thread {
	void (*entry)(void);		/* arch_thread_init(): the first switch would run it */
	void *kstack;
	size_t kstack_size;
	bool user;			/* has FPU state */
	bool inited;
	bool adopted;			/* arch_thread_adopt(): the boot context */
	bool freed;			/* arch_thread_free() */
	uint64_t tls;
	unsigned long switched_in;	/* arch_thread_switch() calls that made it run */
};

#endif
