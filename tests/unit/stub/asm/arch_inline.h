/* SPDX-License-Identifier: MIT */
/*
 * The arch contract's inline hooks for host unit tests: guest RAM is a host
 * buffer (stub_ram), the TSC is a variable the test advances, and the soft
 * interrupt mask is a flag whose saves and restores must pair up. The page
 * table format and the register dump are the real x86-64 ones
 * (arch/x86_64/include/asm/pte.h, asm/regs.h).
 */
#ifndef STUB_ARCH_INLINE_H
#define STUB_ARCH_INLINE_H

#include <kernel/types.h>
#include <asm/pte.h>
#include <asm/regs.h>
#include <asm/thread.h>

extern uint8_t *stub_ram;		/* guest-physical 0 */
extern uint64_t stub_tsc;
extern bool stub_irq_masked;
extern long stub_irq_saves;		/* saves minus restores */

static inline uint64_t arch_read_tsc(void)
{
	return stub_tsc;
}

static inline void arch_cpu_relax(void)
{
}

static inline void *arch_phys_to_virt(paddr_t pa)
{
	return stub_ram + pa;
}

static inline paddr_t arch_virt_to_phys(const void *va)
{
	return (paddr_t)((const uint8_t *)va - stub_ram);
}

static inline unsigned long arch_irq_save(void)
{
	bool was = stub_irq_masked;

	stub_irq_masked = true;
	stub_irq_saves++;
	return was;
}

static inline void arch_irq_restore(unsigned long was)
{
	stub_irq_saves--;
	if (!was)
		stub_irq_masked = false;
}

static inline bool arch_irqs_masked(void)
{
	return stub_irq_masked;
}

#endif
