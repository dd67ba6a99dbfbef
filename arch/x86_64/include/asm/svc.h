/* SPDX-License-Identifier: MIT */
/*
 * Service calls into the ring-0 nucleus (see asm/x86.h for the convention).
 * Each costs an exception round trip plus the emulated ring-0 instructions:
 * about 6-10 us under kvm_pvm, so they are kept off every hot path. In
 * hardware mode the kernel runs at ring 0 and x86_privileged() executes the
 * instruction itself instead.
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

/*
 * The privileged operations of the service calls, executed directly: hardware
 * mode, where the kernel runs at ring 0 and each costs what its instruction
 * costs (a wrmsr of the TSC deadline is KVM's exit either way; the int3
 * round trip is what this saves). Called masked (soft mask set).
 */
uint64_t x86_privileged_direct(uint64_t op, uint64_t a, uint64_t b);

/* A privileged operation (X86_SVC_*): directly in hardware mode, else a service call. */
static inline uint64_t x86_privileged(uint64_t op, uint64_t a, uint64_t b)
{
	uint64_t ret;
	unsigned long flags;

	if (!this_cpu()->kernel_ring0)
		return x86_svc(op, a, b);
	flags = arch_irq_save();
	ret = x86_privileged_direct(op, a, b);
	arch_irq_restore(flags);
	return ret;
}

static inline void x86_wrmsr(uint32_t msr, uint64_t val)
{
	x86_privileged(X86_SVC_WRMSR, msr, val);
}

static inline uint64_t x86_rdmsr(uint32_t msr)
{
	return x86_privileged(X86_SVC_RDMSR, msr, 0);
}

/* CR4, read directly: hardware mode only (#GP at ring 3, so under kvm_pvm). */
static inline uint64_t x86_read_cr4(void)
{
	uint64_t cr4;

	__asm__ volatile("movq %%cr4, %0" : "=r"(cr4));
	return cr4;
}

#endif
