// SPDX-License-Identifier: MIT
/*
 * Calls to the VMM through the hypercall window (crtos/mmio.h): plain
 * ring-3 stores, no ring 0 involved.
 */
#include <kernel/arch.h>
#include <crtos/mmio.h>
#include <asm/internal.h>

static void x86_mmio_store(unsigned int slot, uint64_t value)
{
	*(volatile uint64_t *)(x86_mmio_base + slot) = value;
}

void arch_early_puts(const char *s)
{
	x86_mmio_store(CRTOS_MMIO_PUTS, (uint64_t)s);
}

void arch_log_notify(void)
{
	x86_mmio_store(CRTOS_MMIO_LOG_DOORBELL, 1);
}

_Noreturn void arch_exit(int status)
{
	for (;;)
		x86_mmio_store(CRTOS_MMIO_EXIT, (uint32_t)status);
}

_Noreturn void arch_panic_exit(void)
{
	for (;;)
		x86_mmio_store(CRTOS_MMIO_PANIC, CRTOS_PANIC_RECORD);
}
