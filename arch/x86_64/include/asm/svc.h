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

/*
 * An MSR read and written directly: hardware mode only (#GP at ring 3, so
 * under kvm_pvm), where it costs no service call (and, for MSRs KVM passes
 * through such as MSR_KERNEL_GS_BASE, no VM exit either).
 */
static inline uint64_t x86_rdmsr_ring0(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void x86_wrmsr_ring0(uint32_t msr, uint64_t val)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
			 : "memory");
}

/* CR4, read directly: hardware mode only (#GP at ring 3, so under kvm_pvm). */
static inline uint64_t x86_read_cr4(void)
{
	uint64_t cr4;

	__asm__ volatile("movq %%cr4, %0" : "=r"(cr4));
	return cr4;
}

#endif
