/* SPDX-License-Identifier: MIT */
/* Inline hooks of the arch contract (see kernel/arch.h) for x86-64. */
#ifndef ASM_ARCH_INLINE_H
#define ASM_ARCH_INLINE_H

#include <kernel/types.h>
#include <crtos/abi.h>
#include <asm/percpu.h>
#include <asm/pte.h>
#include <asm/regs.h>
#include <asm/thread.h>

static inline uint64_t arch_read_tsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

static inline void arch_cpu_relax(void)
{
	__asm__ volatile("pause" : : : "memory");
}

/*
 * Where GPA 0 is mapped: the image is linked at its GPA and relocated by the
 * VMM to crtos_kernel_base(mode) + GPA, so the runtime address of its first
 * byte (a RIP-relative lea, nothing to initialise) tells the window's base.
 */
static inline uintptr_t x86_kernel_base(void)
{
	extern char __kernel_image[];

	return (uintptr_t)__kernel_image - CRTOS_GPA_KERNEL;
}

static inline void *arch_phys_to_virt(paddr_t pa)
{
	return (void *)(x86_kernel_base() + pa);
}

static inline paddr_t arch_virt_to_phys(const void *va)
{
	return (paddr_t)((uintptr_t)va - x86_kernel_base());
}

void x86_irq_replay(void);

/*
 * The soft interrupt mask. The nucleus defers an interrupt that arrives
 * while irq_masked is set (records it in irq_pending and returns at once);
 * arch_irq_restore() replays deferred interrupts when it unmasks. A compiler
 * barrier is enough: only this CPU reads or writes these fields.
 */
static inline unsigned long arch_irq_save(void)
{
	struct x86_percpu *c = this_cpu();
	unsigned long was = READ_ONCE(c->irq_masked);

	WRITE_ONCE(c->irq_masked, 1);
	__asm__ volatile("" : : : "memory");
	return was;
}

static inline void arch_irq_restore(unsigned long was)
{
	struct x86_percpu *c;

	__asm__ volatile("" : : : "memory");
	if (was)
		return;
	c = this_cpu();
	WRITE_ONCE(c->irq_masked, 0);
	__asm__ volatile("" : : : "memory");
	if (READ_ONCE(c->irq_pending_any))
		x86_irq_replay();
}

static inline bool arch_irqs_masked(void)
{
	return READ_ONCE(this_cpu()->irq_masked);
}

#endif
