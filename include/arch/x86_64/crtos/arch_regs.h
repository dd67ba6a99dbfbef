/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 register dump shared by the kernel and the VMM: struct
 * crtos_regs, the arch-specific part of the comm page's panic record
 * (crtos/comm.h). Each architecture has its own copy of this header under
 * include/arch/<arch>/; the build puts that directory on the include path.
 *
 * Written by the kernel (its trap frame, copied into the panic record) and
 * by the VMM (the vCPU's registers at a nucleus fault); read by the VMM's
 * reports. Its layout is part of CRTOS_ABI_VERSION.
 */
#ifndef CRTOS_ARCH_REGS_H
#define CRTOS_ARCH_REGS_H

#include <crtos/abi.h>

/*
 * Register state at an exception or interrupt. This is also the kernel's
 * trap frame, laid out so that its tail (rip .. ss) is the frame iretq pops.
 */
struct crtos_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
	uint64_t cr2;			/* page faults only */
};

#endif
