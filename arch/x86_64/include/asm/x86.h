/* SPDX-License-Identifier: MIT */
/* x86-64 architectural constants; usable from C and assembly. */
#ifndef ASM_X86_H
#define ASM_X86_H

#define MSR_APIC_BASE		0x0000001b
#define  APIC_BASE_EXTD		(1 << 10)	/* x2APIC mode */
#define  APIC_BASE_EN		(1 << 11)
#define MSR_TSC_DEADLINE	0x000006e0
#define MSR_X2APIC_TPR		0x00000808
#define MSR_X2APIC_EOI		0x0000080b
#define MSR_X2APIC_SVR		0x0000080f
#define  APIC_SVR_ENABLE	(1 << 8)
#define MSR_X2APIC_LVT_TIMER	0x00000832
#define  APIC_LVT_TSC_DEADLINE	(2 << 17)
#define  APIC_LVT_MASKED	(1 << 16)
#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_FMASK		0xc0000084

/*
 * Per-CPU data, from assembly: field F of the one x86_percpu block
 * (x86_bsp_percpu), RIP-relative. A cell has one CPU, so the kernel and the
 * nucleus never need GS to find their per-CPU block, and GS is the
 * program's own in both modes (see "GS" in docs/architecture.md).
 */
#define PERCPU(f)		x86_bsp_percpu+PCPU_##f(%rip)

/* Stacks of the boot CPU (sizes in bytes). */
#define X86_BOOT_STACK_SIZE	16384	/* kmain and the idle loop */
#define X86_EVENT_STACK_SIZE	1024	/* x86_event_entry's first instructions */
#define X86_NUCLEUS_STACK_SIZE	1024	/* TSS.RSP0: hardware frames and a few pushes */
#define X86_IST_STACK_SIZE	1024	/* hardware mode: NMI, #DF, #MC (the nucleus reflects at once) */

/*
 * Interrupt stack table slots (TSS.IST1..3), hardware mode only: the CPU
 * switches to a known-good stack for these whatever RSP holds, as in the
 * first instructions of the syscall entry (still the user's stack) or after
 * a kernel stack overflow (#DF). Under kvm_pvm every event comes from ring 3
 * and switches to TSS.RSP0 anyway.
 */
#define X86_IST_NMI		1
#define X86_IST_DF		2
#define X86_IST_MC		3
#define X86_NR_IST		3

#define X86_CR4_SMEP		(1ul << 20)
#define X86_CR4_SMAP		(1ul << 21)

#define X86_RFLAGS_TF		0x100
#define X86_RFLAGS_IF		0x200
#define X86_RFLAGS_RF		0x10000
#define X86_RFLAGS_BASE		0x002		/* bit 1 is always set */

/* Exception vectors. */
#define X86_VEC_DE	0
#define X86_VEC_DB	1
#define X86_VEC_NMI	2
#define X86_VEC_BP	3
#define X86_VEC_UD	6
#define X86_VEC_DF	8
#define X86_VEC_MC	18
#define X86_VEC_GP	13
#define X86_VEC_PF	14
#define X86_NR_EXCEPTIONS 32
#define X86_VEC_SYSCALL	0x100		/* frame marker: entered by `syscall`, not a vector */

/* Page-fault error code bits. */
#define X86_PF_PRESENT	(1 << 0)
#define X86_PF_WRITE	(1 << 1)
#define X86_PF_USER	(1 << 2)
#define X86_PF_RSVD	(1 << 3)
#define X86_PF_INSTR	(1 << 4)

/*
 * Service calls: the ring-3 kernel's way into the ring-0 nucleus for what
 * ring 3 cannot do. Convention: set percpu.svc_armed, then `int3` with the
 * operation in rax and arguments in rdi, rsi; result in rax; rcx, rdx and
 * r11 are clobbered. Only x86_svc() in asm/svc.h issues them.
 */
#define X86_SVC_WRITE_CR3	0	/* rdi: new CR3 */
#define X86_SVC_WRMSR		1	/* rdi: MSR, rsi: value */
#define X86_SVC_RDMSR		2	/* rdi: MSR; returns the value */
#define X86_SVC_INVLPG		3	/* rdi: virtual address */
#define X86_SVC_FLUSH_TLB	4	/* reload CR3: drop non-global TLB entries */
#define X86_SVC_HALT		5	/* sti; hlt unless an interrupt is already deferred */
#define X86_SVC_NOP		6	/* round trip only (measurement, self-test) */
#define X86_SVC_NR		7

#endif
