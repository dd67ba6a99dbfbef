/* SPDX-License-Identifier: MIT */
/*
 * Service calls into the ring-0 nucleus (see asm/x86.h for the convention).
 * Each costs an exception round trip plus the emulated ring-0 instructions:
 * about 6-10 us under kvm_pvm, so they are kept off every hot path.
 */
#ifndef ASM_SVC_H
#define ASM_SVC_H

#include <asm/arch_inline.h>
#include <asm/x86.h>

static inline uint64_t x86_svc(uint64_t op, uint64_t a, uint64_t b)
{
	unsigned long flags = arch_irq_save();
	uint64_t ret;

	this_cpu()->counters[X86_CNT_SVC]++;
	WRITE_ONCE(this_cpu()->svc_armed, 1);
	__asm__ volatile("int3"
			 : "=a"(ret), "+D"(a), "+S"(b)
			 : "a"(op)
			 : "rcx", "rdx", "r11", "memory");
	arch_irq_restore(flags);
	return ret;
}

static inline void x86_wrmsr(uint32_t msr, uint64_t val)
{
	x86_svc(X86_SVC_WRMSR, msr, val);
}

static inline uint64_t x86_rdmsr(uint32_t msr)
{
	return x86_svc(X86_SVC_RDMSR, msr, 0);
}

/* CR4, read directly: hardware mode only (#GP at ring 3, so under kvm_pvm). */
static inline uint64_t x86_read_cr4(void)
{
	uint64_t cr4;

	__asm__ volatile("movq %%cr4, %0" : "=r"(cr4));
	return cr4;
}

#endif
