/* SPDX-License-Identifier: MIT */
/*
 * Fatal errors. panic() names the invariant that broke; the report (message,
 * source location, registers when there was a fault, and a backtrace) goes
 * to the VMM through the comm page, which prints it symbolized and exits
 * non-zero. ASSERT() is for the kernel's own invariants, never for values
 * that come from outside the kernel: those get -EINVAL.
 */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#include <kernel/types.h>
#include <crtos/comm.h>

_Noreturn void panic_at(const char *file, int line, const struct crtos_regs *regs,
			const char *fmt, ...) __printf(4, 5);

#define panic(...)		panic_at(__FILE__, __LINE__, NULL, __VA_ARGS__)
#define panic_regs(regs, ...)	panic_at(__FILE__, __LINE__, (regs), __VA_ARGS__)

#define ASSERT(cond) \
	do { \
		if (unlikely(!(cond))) \
			panic("assertion failed: %s", #cond); \
	} while (0)

#endif
