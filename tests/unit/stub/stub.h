/* SPDX-License-Identifier: MIT */
/* Helpers the unit tests share with the stub arch (tests/unit/stub/arch_stub.c). */
#ifndef STUB_STUB_H
#define STUB_STUB_H

#include <kernel/arch.h>

/* Fresh guest RAM of size bytes (aligned to 4 MiB), zeroed. */
void stub_ram_reset(size_t size);

/* Set up the page allocator over stub RAM: every page but [0, reserved) free. */
void stub_pmm_reset(size_t size, size_t reserved);

extern long stub_tlb_flushes;

/* Recorded arch calls: the last value and the number of calls. */
extern uint64_t stub_timer_deadline;	/* arch_timer_set_deadline() */
extern long stub_timer_sets;
extern paddr_t stub_aspace_root;	/* arch_aspace_activate() */
extern long stub_aspace_activations;

/* What arch_thread_init() returns when not 0 (-ENOMEM: out of memory). */
extern int stub_thread_init_error;

/* arch_thread_switch(): calls, and the last one's threads. */
extern long stub_switches;
extern struct arch_thread *stub_switch_prev, *stub_switch_next;

/*
 * A one-shot hook arch_thread_switch() calls (after clearing it) once
 * thread_current() is next: what happens while prev is switched out. If it
 * ends by switching back to prev, prev's switch returns as on real hardware
 * (sched_wait() then returns what ended the wait).
 */
extern void (*stub_switch_hook)(void);

/* kernel_aspace()->root in the stub (kernel/mm/mm.c is not compiled). */
#define STUB_KERNEL_ROOT	0x1000

#endif
