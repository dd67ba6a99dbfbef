/* SPDX-License-Identifier: MIT */
/*
 * The ring-0 nucleus: every instruction in this file runs at CPL 0.
 *
 * Under kvm_pvm each ring-0 instruction is emulated (~0.5 us), so this file
 * does only what ring 3 cannot: the first hop of exceptions and interrupts,
 * which it reflects to the ring-3 kernel (x86_event_entry) at once, and the
 * service calls (asm/x86.h). Every path is a short straight line; the
 * instruction counts in the comments are what a path costs.
 *
 * Reflection: the nucleus copies the hardware frame into the per-CPU event
 * record, sets ev_busy, and irets to x86_event_entry on the per-CPU event
 * stack. The ring-0 stack is then empty again, so an interrupt that arrives
 * before the kernel has copied the record out (ev_busy is set until then)
 * is deferred without touching the record.
 *
 * Deferral: an interrupt that arrives while the kernel is masked, while
 * ev_busy is set, or while ring 0 itself runs (only inside X86_SVC_HALT), is
 * acknowledged (EOI), recorded in the pending bitmap, and the interrupted
 * code resumes.
 *
 * Fatal: an exception in ring 0 (under kvm_pvm), or while ev_busy is set,
 * cannot be reflected; the nucleus rings the panic doorbell with
 * CRTOS_PANIC_NUCLEUS and the VMM reports the registers.
 *
 * Hardware mode (kernel_ring0 set): the kernel runs at ring 0 as well, so
 * exceptions and interrupts from ring 0 are the kernel's and are reflected
 * like those from ring 3, to x86_event_entry at ring 0 (ev_entry_cs/ss);
 * never those from the nucleus's own code: an interrupt there is deferred.
 * On a CPU, that code runs with IF clear but for the halt's sti;hlt (and the
 * kernel calls the halt masked). The test VM's emulated AMD-V, though,
 * sometimes delivers an interrupt a second time at the first instruction
 * of the entry stub the first delivery started (IF clear; see "GS" below).
 * Reflected, that second delivery let the kernel switch threads while the
 * first one's frame still lay on the shared nucleus stack, where the next
 * program event overwrote it; deferred, the stub simply goes on. Such
 * deliveries are counted (irq_in_nucleus) and the kernel logs them.
 * The same file serves both modes; under real VT-x/AMD-V its instructions
 * cost what they cost natively.
 */
#include <crtos/abi.h>
#include <crtos/mmio.h>
#include <asm/x86.h>
#include <asm-offsets.h>

	.section .text.nucleus, "ax"
	.code64
x86_nucleus_start:

/* Error code pushed by the CPU for these exception vectors. */
#define HAS_ERROR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

/*
 * The 256 IDT entry points, 16 bytes apart: entry v is at
 * TABLE + 16 * v (x86_idt_init relies on it). One table per mode: under
 * kvm_pvm (x86_vectors) the entries go straight to the handlers below;
 * in hardware mode (x86_vectors_hw) through the x86_hw_* prologues, which
 * swapgs when the event came from a program (see "GS" above them).
 */
.macro VECTOR_TABLE name, prefix
	.balign 16
	.globl \name
\name:
	vector = 0
	.rept 256
	.balign 16
	.if vector == X86_VEC_BP
	jmp	\prefix\()int3
	.elseif vector == X86_VEC_PF
	jmp	\prefix\()pf
	.elseif vector < X86_NR_EXCEPTIONS
	.ifeq HAS_ERROR(vector)
	pushq	$0
	.endif
	pushq	$vector
	jmp	\prefix\()exception
	.else
	pushq	$vector
	jmp	\prefix\()irq
	.endif
	vector = vector + 1
	.endr
.endm

	VECTOR_TABLE x86_vectors, x86_nucleus_
	VECTOR_TABLE x86_vectors_hw, x86_hw_

/*
 * GS, hardware mode. As in Linux, GS is the program's own while it runs
 * (it may set it: arch_prctl(ARCH_SET_GS), wrgsbase), and the per-CPU block
 * while the kernel runs; MSR_KERNEL_GS_BASE holds the other one, so that
 * `swapgs` exchanges them on the way in from a program and on the way out to
 * it (x86_event_return, with interrupts off).
 *
 * Each prologue decides from the GS base itself, not from the CS the CPU
 * pushed: it swaps exactly when GS is not the per-CPU block. Deciding from
 * CS is right on a CPU, but the nested test VM's emulated AMD-V sometimes
 * delivers an interrupt a second time at the first instruction of its own
 * entry stub, from ring 0 with IF clear and the program's GS still loaded
 * (seen on the nucleus stack after the triple faults this caused; see
 * docs/test-vm.md). Decided from GS, that second entry swaps, and the first
 * one, resumed with the per-CPU GS already in place, does not. A program
 * that sets its GS to the per-CPU block's address only makes the swap a
 * no-op, as both registers then hold the same value.
 * A program's int3 is a breakpoint, never a service call (that is CS's).
 * Under kvm_pvm the kernel itself runs at ring 3 and cannot swapgs: there GS
 * stays the per-CPU block and programs may not change it
 * (docs/architecture.md, "Two modes").
 */
.macro HW_KERNEL_GS
	pushq	%rax
	rdgsbase %rax
	cmpq	x86_percpu_base(%rip), %rax
	popq	%rax			/* flags survive */
	je	1f
	swapgs
1:
.endm
.macro HW_PROLOGUE name, next
\name:
	HW_KERNEL_GS
	jmp	\next
.endm
x86_hw_int3:
	HW_KERNEL_GS
	testb	$3, 8(%rsp)		/* rip, cs */
	jz	x86_nucleus_int3
	jmp	x86_nucleus_breakpoint
	HW_PROLOGUE x86_hw_pf, x86_nucleus_pf
	HW_PROLOGUE x86_hw_exception, x86_nucleus_exception
	HW_PROLOGUE x86_hw_irq, x86_nucleus_irq

/*
 * Exceptions. Stack: vector, error, rip, cs, rflags, rsp, ss.
 * 4 instructions to decide, 15 to reflect.
 * The interrupted code's soft mask is left as it was: x86_event_entry
 * saves it in the frame and the return restores it.
 */
x86_nucleus_exception:
	testb	$3, 24(%rsp)
	jnz	2f
	cmpb	$0, %gs:PCPU_KERNEL_RING0	/* hardware mode: ring 0 is the kernel's too, */
	je	x86_nucleus_fatal
	pushq	%rax				/* ... but not the nucleus's own code */
	leaq	x86_nucleus_start(%rip), %rax
	cmpq	%rax, 24(%rsp)
	jb	1f
	leaq	x86_nucleus_end(%rip), %rax
	cmpq	%rax, 24(%rsp)
	jae	1f
	popq	%rax
	jmp	x86_nucleus_fatal
1:	popq	%rax
2:	cmpb	$0, %gs:PCPU_EV_BUSY
	jne	x86_nucleus_fatal
	popq	%gs:PCPU_EV_VECTOR
	popq	%gs:PCPU_EV_ERROR
x86_nucleus_reflect_frame:
	movb	$1, %gs:PCPU_EV_BUSY
	popq	%gs:PCPU_EV_RIP
	popq	%gs:PCPU_EV_CS
	popq	%gs:PCPU_EV_RFLAGS
	popq	%gs:PCPU_EV_RSP
	popq	%gs:PCPU_EV_SS
	pushq	%gs:PCPU_EV_ENTRY_SS
	pushq	%gs:PCPU_EV_STACK
	pushq	$(X86_RFLAGS_IF | X86_RFLAGS_BASE)
	pushq	%gs:PCPU_EV_ENTRY_CS
	pushq	%gs:PCPU_EV_ENTRY
	iretq

/* Page fault: the only exception that needs CR2 (4 more instructions). */
x86_nucleus_pf:
	pushq	%rax
	movq	%cr2, %rax
	movq	%rax, %gs:PCPU_EV_CR2
	popq	%rax
	pushq	$X86_VEC_PF
	jmp	x86_nucleus_exception

/*
 * int3 is either a service call (svc_armed set by x86_svc) or a breakpoint.
 * Service calls dispatch in 6 instructions; rcx is theirs to clobber.
 */
x86_nucleus_int3:
	cmpb	$0, %gs:PCPU_SVC_ARMED
	je	1f
	movb	$0, %gs:PCPU_SVC_ARMED
	cmpq	$X86_SVC_NR, %rax
	jae	x86_svc_bad
	leaq	x86_svc_table(%rip), %rcx
	jmp	*(%rcx, %rax, 8)
1:
x86_nucleus_breakpoint:
	pushq	$0
	pushq	$X86_VEC_BP
	jmp	x86_nucleus_exception

/*
 * Interrupts. Stack: vector, rip, cs, rflags, rsp, ss.
 * Record and acknowledge (14 instructions), then resume the interrupted
 * code (4-6) or reflect (19).
 */
x86_nucleus_irq:
	pushq	%rax
	movq	8(%rsp), %rax
	btsq	%rax, %gs:PCPU_IRQ_PENDING
	movb	$1, %gs:PCPU_IRQ_PENDING_ANY
	pushq	%rcx
	pushq	%rdx
	movl	$MSR_X2APIC_EOI, %ecx
	xorl	%eax, %eax
	xorl	%edx, %edx
	wrmsr
	popq	%rdx
	popq	%rcx
	popq	%rax
	testb	$3, 16(%rsp)
	jnz	2f
	cmpb	$0, %gs:PCPU_KERNEL_RING0	/* kvm_pvm: ring 0 is the nucleus, never reflected */
	je	1f
	pushq	%rax				/* hardware mode: nor is the nucleus's own code */
	leaq	x86_nucleus_start(%rip), %rax
	cmpq	%rax, 16(%rsp)			/* rax, vector, rip */
	jb	5f
	leaq	x86_nucleus_end(%rip), %rax
	cmpq	%rax, 16(%rsp)
	jae	5f
	popq	%rax
	testl	$X86_RFLAGS_IF, 24(%rsp)	/* vector, rip, cs, rflags: halt's sti, or ... */
	jnz	1f
	incq	%gs:PCPU_IRQ_IN_NUCLEUS		/* ... an entry interrupted with IF clear */
	jmp	1f
5:	popq	%rax
2:	cmpb	$0, %gs:PCPU_IRQ_MASKED
	jne	3f
	cmpb	$0, %gs:PCPU_EV_BUSY
	jne	3f
	popq	%gs:PCPU_EV_VECTOR
	movq	$0, %gs:PCPU_EV_ERROR
	jmp	x86_nucleus_reflect_frame
1:	addq	$8, %rsp
	iretq
3:	addq	$8, %rsp		/* deferred, and the interrupted code may be a program's: */
	testb	$3, 8(%rsp)		/* in hardware mode give it its GS back (see x86_hw_irq) */
	jz	4f
	cmpb	$0, %gs:PCPU_KERNEL_RING0
	je	4f
	swapgs
4:	iretq

/*
 * Unreflectable exception (in ring 0, or while an event record is being
 * copied out: a kernel bug either way). The VMM reads the registers (KVM_GET_REGS) and
 * the frame at rsp: rax, vector, error, rip, cs, rflags, rsp, ss.
 */
x86_nucleus_fatal:
	pushq	%rax
	movq	%gs:PCPU_PANIC_DOORBELL, %rax
	movq	$CRTOS_PANIC_NUCLEUS, (%rax)
1:	hlt
	jmp	1b

/* Service calls. Entered from x86_nucleus_int3 with the int3 frame on the stack. */
x86_svc_bad:
	movq	$-38, %rax		/* -ENOSYS */
	iretq

x86_svc_write_cr3:
	movq	%rdi, %cr3
	iretq

x86_svc_wrmsr:
	movl	%edi, %ecx
	movl	%esi, %eax
	movq	%rsi, %rdx
	shrq	$32, %rdx
	wrmsr
	iretq

x86_svc_rdmsr:
	movl	%edi, %ecx
	rdmsr
	shlq	$32, %rdx
	orq	%rdx, %rax
	iretq

x86_svc_invlpg:
	invlpg	(%rdi)
	iretq

x86_svc_flush_tlb:
	movq	%cr3, %rax
	movq	%rax, %cr3
	iretq

/*
 * Halt until an interrupt. The kernel called this masked, after checking it
 * had nothing to do; an interrupt deferred since then must not be slept
 * through, hence the check. sti's one-instruction shadow makes sti;hlt
 * atomic. The waking interrupt enters x86_nucleus_irq from ring 0, which
 * defers it; the kernel replays it when it unmasks.
 */
x86_svc_halt:
	cmpb	$0, %gs:PCPU_IRQ_PENDING_ANY
	jne	1f
	sti
	hlt
	cli
1:	iretq

x86_svc_nop:
	iretq
x86_nucleus_end:

	.section .rodata
	.balign 8
/* The per-CPU block's address, which GS holds while the kernel runs (one CPU per cell). */
x86_percpu_base:
	.quad	x86_bsp_percpu
x86_svc_table:
	.quad	x86_svc_write_cr3	/* X86_SVC_WRITE_CR3 */
	.quad	x86_svc_wrmsr		/* X86_SVC_WRMSR */
	.quad	x86_svc_rdmsr		/* X86_SVC_RDMSR */
	.quad	x86_svc_invlpg		/* X86_SVC_INVLPG */
	.quad	x86_svc_flush_tlb	/* X86_SVC_FLUSH_TLB */
	.quad	x86_svc_halt		/* X86_SVC_HALT */
	.quad	x86_svc_nop		/* X86_SVC_NOP */
x86_svc_table_end:
	.if (x86_svc_table_end - x86_svc_table) != 8 * X86_SVC_NR
	.error "x86_svc_table does not match X86_SVC_NR"
	.endif
