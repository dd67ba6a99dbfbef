// SPDX-License-Identifier: MIT
/*
 * The out-of-line half of the stub arch, and panic(): a kernel panic in a
 * unit test fails the test (or satisfies EXPECT_PANIC).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/arch.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
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
