// SPDX-License-Identifier: MIT
/*
 * The out-of-line half of the stub arch, and panic(): a kernel panic in a
 * unit test fails the test (or satisfies EXPECT_PANIC). Threads are not
 * switched for real: arch_thread_switch() records the switch and returns,
 * so the caller (sched.c) has only changed thread_current().
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/arch.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <kernel/trace.h>
#include "harness.h"
#include "stub.h"

uint8_t *stub_ram;
static size_t stub_ram_size;
uint64_t stub_tsc;
bool stub_irq_masked;
long stub_irq_saves;
long stub_tlb_flushes;
uint64_t x86_pte_kernel_bits;		/* the real pte.h refers to it */
static struct page *stub_pages;
uint64_t stub_timer_deadline;
long stub_timer_sets;
paddr_t stub_aspace_root;
long stub_aspace_activations;
int stub_thread_init_error;
long stub_switches;
struct arch_thread *stub_switch_prev, *stub_switch_next;
void (*stub_switch_hook)(void);
static struct aspace stub_kernel_as = { .root = STUB_KERNEL_ROOT };

void stub_ram_reset(size_t size)
{
	free(stub_ram);
	stub_ram = aligned_alloc(4 << 20, size);
	if (!stub_ram)
		abort();
	memset(stub_ram, 0, size);
	stub_ram_size = size;
}

void stub_pmm_reset(size_t size, size_t reserved)
{
	stub_ram_reset(size);
	free(stub_pages);
	stub_pages = calloc(size / PAGE_SIZE, sizeof(*stub_pages));
	pmm_init(stub_pages, size / PAGE_SIZE);
	pmm_add(reserved, size - reserved);
}

void arch_tlb_flush_all(void)
{
	stub_tlb_flushes++;
}

void arch_tlb_flush_page(vaddr_t va)
{
	(void)va;
	stub_tlb_flushes++;
}

void arch_timer_set_deadline(uint64_t deadline)
{
	stub_timer_deadline = deadline;
	stub_timer_sets++;
}

void arch_aspace_activate(paddr_t root)
{
	stub_aspace_root = root;
	stub_aspace_activations++;
}

int arch_thread_init(struct arch_thread *at, void *kstack, size_t size, void (*entry)(void),
		     bool user)
{
	if (stub_thread_init_error)
		return stub_thread_init_error;
	*at = (struct arch_thread){
		.entry = entry, .kstack = kstack, .kstack_size = size, .user = user, .inited = true,
	};
	return 0;
}

void arch_thread_free(struct arch_thread *at)
{
	at->freed = true;
}

void arch_thread_adopt(struct arch_thread *at)
{
	*at = (struct arch_thread){ .adopted = true };
}

void arch_thread_set_tls(struct arch_thread *at, uint64_t tls, bool current)
{
	(void)current;
	at->tls = tls;
}

uint64_t arch_thread_get_tls(struct arch_thread *at, bool current)
{
	(void)current;
	return at->tls;
}

void arch_thread_switch(struct arch_thread *prev, struct arch_thread *next)
{
	void (*hook)(void) = stub_switch_hook;

	if (!stub_irq_masked)
		harness_fail(__FILE__, __LINE__, "arch_thread_switch() called unmasked");
	stub_switch_prev = prev;
	stub_switch_next = next;
	stub_switches++;
	next->switched_in++;
	stub_switch_hook = NULL;
	if (hook)
		hook();
}

/* The kernel's address space (kernel/mm/mm.c), for tests that do not compile mm.c. */
__attribute__((weak)) struct aspace *kernel_aspace(void)
{
	return &stub_kernel_as;
}

/* The scheduling trace (kernel/trace.c), off: tests that want it compile trace.c. */
__attribute__((weak)) bool trace_on;

__attribute__((weak)) void trace_event(enum trace_type type, int64_t a, int64_t b)
{
	(void)type;
	(void)a;
	(void)b;
}

_Noreturn void panic_at(const char *file, int line, const struct crtos_regs *regs,
			const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	(void)regs;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (harness_panic_jmp)
		longjmp(*harness_panic_jmp, 1);
	harness_fail(file, line, "kernel panic: %s", msg);
}
