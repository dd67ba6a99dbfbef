// SPDX-License-Identifier: MIT
/*
 * Frame-pointer backtraces (the kernel is built with frame pointers). Every
 * load goes through a probe, so a corrupt chain ends the walk instead of
 * faulting again inside a panic.
 */
#include <kernel/arch.h>
#include <kernel/mm.h>

extern const char __text_start[], __text_end[];

static bool x86_in_kernel_text(uint64_t addr)
{
	return addr >= (uint64_t)__text_start && addr < (uint64_t)__text_end;
}

int arch_backtrace(uintptr_t fp, uint64_t *frames, int max)
{
	int n = 0;

	while (n < max && fp && IS_ALIGNED(fp, 8) &&
	       is_kernel_window_address(fp)) {
		uint64_t next, ret;

		if (arch_probe_read((void *)fp, &next, NULL) ||
		    arch_probe_read((void *)(fp + 8), &ret, NULL) || !x86_in_kernel_text(ret))
			break;
		frames[n++] = ret;
		if (next <= fp)
			break;
		fp = next;
	}
	return n;
}
