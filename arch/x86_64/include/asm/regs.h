/* SPDX-License-Identifier: MIT */
/*
 * Reading a register dump (struct crtos_regs, include/arch/x86_64/crtos/
 * arch_regs.h) for the portable kernel: the arch_regs_*() hooks of the arch
 * contract (kernel/arch.h). Shared with the host unit tests' stub arch,
 * which uses the x86-64 layout too.
 */
#ifndef ASM_REGS_H
#define ASM_REGS_H

#include <kernel/types.h>
#include <crtos/arch_regs.h>

static inline uint64_t arch_regs_ip(const struct crtos_regs *r)
{
	return r->rip;
}

static inline uint64_t arch_regs_sp(const struct crtos_regs *r)
{
	return r->rsp;
}

static inline uintptr_t arch_regs_frame(const struct crtos_regs *r)
{
	return (uintptr_t)r->rbp;
}

#endif
