/* SPDX-License-Identifier: MIT */
/*
 * The ABI between the crtos real-time kernel and the Linux-side tools.
 *
 * Everything that crosses the partition boundary is declared in this
 * directory and nowhere else. Each shared structure starts with a magic and
 * the ABI version; the side that reads a structure checks both and refuses a
 * mismatch with a message that names the two versions. Each field says which
 * side writes it; the other side only reads it.
 *
 * Bump CRTOS_ABI_VERSION whenever the layout or meaning of anything in
 * include/crtos/ changes: the VMM and the kernel are always built together,
 * so a mismatch means a stale binary, and the fix is to rebuild.
 */
#ifndef CRTOS_ABI_H
#define CRTOS_ABI_H

#ifdef __ASSEMBLER__
#define CRTOS_U64(x)	x
#else
#include <stdint.h>
#define CRTOS_U64(x)	x##ull
#endif

#define CRTOS_ABI_VERSION	14

/*
 * Guest-virtual layout, the same in every address space of the cell.
 *
 * Programs get [0, CRTOS_USER_TOP) in both modes. Above it, up to the end of
 * the lower canonical half, Linux puts a process's stack and shared
 * libraries, and that is where a shadow process keeps its own mappings
 * while it mirrors the program's range (docs/architecture.md).
 *
 * Guest-physical address P is mapped at kernel_base + P (the *kernel
 * window*, CRTOS_KERNEL_WINDOW long), which holds the kernel image, its heap
 * and every page it manages. The VMM picks kernel_base by mode
 * (crtos_kernel_base()) and relocates the position-independent image there:
 * - hardware mode: the start of the upper canonical half, supervisor-only,
 *   as Linux's own kernel lives there;
 * - kvm_pvm mode: the top 1 TiB of the lower half, just above
 *   CRTOS_USER_TOP, because the kernel runs at ring 3 there and ring 3 code
 *   cannot reach upper-half addresses under kvm_pvm.
 */
#define CRTOS_USER_TOP			CRTOS_U64(0x00007f0000000000)
#define CRTOS_KERNEL_BASE_HARDWARE	CRTOS_U64(0xffff800000000000)
#define CRTOS_KERNEL_BASE_PVM		CRTOS_U64(0x00007f0000000000)
#define CRTOS_KERNEL_WINDOW		CRTOS_U64(0x0000010000000000)	/* 1 TiB */

/* Fixed guest-physical addresses of the boot structures. */
#define CRTOS_GPA_BOOT_PARAMS	CRTOS_U64(0x1000)	/* struct crtos_boot_params, 1 page */
#define CRTOS_GPA_COMM		CRTOS_U64(0x2000)	/* struct crtos_comm, 1 page */
#define CRTOS_GPA_CLOCK		CRTOS_U64(0x3000)	/* struct crtos_clock, 1 page */
#define CRTOS_GPA_BOOT_GDT	CRTOS_U64(0x4000)	/* flat GDT for the entry state, 1 page */
#define CRTOS_GPA_BOOT_PT	CRTOS_U64(0x5000)	/* boot page tables built by the VMM */
#define CRTOS_GPA_KERNEL	CRTOS_U64(0x200000)	/* kernel image load address (2 MiB) */
#define CRTOS_MIN_MEM		(CRTOS_U64(16) << 20)	/* smallest cell */
#define CRTOS_MAX_MEM		(CRTOS_U64(64) << 30)	/* largest cell the boot page tables can map */

/* GDT selectors: the Linux x86-64 layout, which the host's user mode uses. */
#define CRTOS_SEL_KERNEL_CS	0x10
#define CRTOS_SEL_KERNEL_DS	0x18
#define CRTOS_SEL_USER_DS	0x2b
#define CRTOS_SEL_USER_CS	0x33
#define CRTOS_SEL_TSS		0x40

/* Interrupt vectors the VMM and the kernel agree on. */
#define CRTOS_VEC_KICK		0x40	/* MSI from Linux: "look at shared memory" */
#define CRTOS_VEC_TIMER		0xec	/* LAPIC TSC-deadline timer */
#define CRTOS_VEC_SPURIOUS	0xff

#endif
