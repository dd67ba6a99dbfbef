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
 * of the entry stub the first delivery started, with IF clear.
 * Reflected, that second delivery could let the kernel switch threads while the
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
 * TABLE + 16 * v (x86_idt_init relies on it). One table per mode, which
 * differ in int3 alone: under kvm_pvm (x86_vectors) an int3 from ring 3
 * may be the ring-3 kernel's service call; in hardware mode
 * (x86_vectors_hw) one from ring 3 is a program's breakpoint, and the
 * kernel's service calls come from ring 0.
 *
 * Neither mode touches GS: it is the program's own while the program and
 * the kernel run, and the nucleus and the kernel reach their per-CPU block
 * RIP-relative (PERCPU(), one CPU per cell). No swapgs, and nothing a
 * program does with GS can mislead an entry.
 */
.macro VECTOR_TABLE name, int3
	.balign 16
	.globl \name
\name:
	vector = 0
	.rept 256
	.balign 16
	.if vector == X86_VEC_BP
	jmp	\int3
	.elseif vector == X86_VEC_PF
	jmp	x86_nucleus_pf
	.elseif vector < X86_NR_EXCEPTIONS
	.ifeq HAS_ERROR(vector)
	pushq	$0
	.endif
	pushq	$vector
	jmp	x86_nucleus_exception
	.else
	pushq	$vector
	jmp	x86_nucleus_irq
	.endif
	vector = vector + 1
	.endr
.endm

	VECTOR_TABLE x86_vectors, x86_nucleus_int3
	VECTOR_TABLE x86_vectors_hw, x86_hw_int3

x86_hw_int3:
	testb	$3, 8(%rsp)		/* rip, cs */
	jz	x86_nucleus_int3
	jmp	x86_nucleus_breakpoint

/*
 * Exceptions. Stack: vector, error, rip, cs, rflags, rsp, ss.
 * 4 instructions to decide, 15 to reflect.
 * The interrupted code's soft mask is left as it was: x86_event_entry
 * saves it in the frame and the return restores it.
 */
x86_nucleus_exception:
	testb	$3, 24(%rsp)
	jnz	2f
	cmpb	$0, PERCPU(KERNEL_RING0)	/* hardware mode: ring 0 is the kernel's too, */
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
2:	cmpb	$0, PERCPU(EV_BUSY)
	jne	x86_nucleus_fatal
	popq	PERCPU(EV_VECTOR)
	popq	PERCPU(EV_ERROR)
x86_nucleus_reflect_frame:
	movb	$1, PERCPU(EV_BUSY)
	popq	PERCPU(EV_RIP)
	popq	PERCPU(EV_CS)
	popq	PERCPU(EV_RFLAGS)
	popq	PERCPU(EV_RSP)
	popq	PERCPU(EV_SS)
	pushq	PERCPU(EV_ENTRY_SS)
	pushq	PERCPU(EV_STACK)
	pushq	$(X86_RFLAGS_IF | X86_RFLAGS_BASE)
	pushq	PERCPU(EV_ENTRY_CS)
	pushq	PERCPU(EV_ENTRY)
	iretq

/* Page fault: the only exception that needs CR2 (4 more instructions). */
x86_nucleus_pf:
	pushq	%rax
	movq	%cr2, %rax
	movq	%rax, PERCPU(EV_CR2)
	popq	%rax
	pushq	$X86_VEC_PF
	jmp	x86_nucleus_exception

/*
 * int3 is either a service call (svc_armed set by x86_svc) or a breakpoint.
 * Service calls dispatch in 6 instructions; rcx is theirs to clobber.
 */
x86_nucleus_int3:
	cmpb	$0, PERCPU(SVC_ARMED)
	je	1f
	movb	$0, PERCPU(SVC_ARMED)
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
 * code (4-6, and 9-13 in x86_nucleus_resume) or reflect (19).
 */
x86_nucleus_irq:
	pushq	%rax
	movq	8(%rsp), %rax
	btsq	%rax, PERCPU(IRQ_PENDING)
	movb	$1, PERCPU(IRQ_PENDING_ANY)
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
	cmpb	$0, PERCPU(KERNEL_RING0)	/* kvm_pvm: ring 0 is the nucleus, never reflected */
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
	incq	PERCPU(IRQ_IN_NUCLEUS)		/* ... an entry interrupted with IF clear */
	jmp	1f
5:	popq	%rax
2:	cmpb	$0, PERCPU(IRQ_MASKED)
	jne	3f
	cmpb	$0, PERCPU(EV_BUSY)
	jne	3f
	popq	PERCPU(EV_VECTOR)
	movq	$0, PERCPU(EV_ERROR)
	jmp	x86_nucleus_reflect_frame
1:	addq	$8, %rsp
	jmp	x86_nucleus_resume
3:	addq	$8, %rsp		/* deferred */
	jmp	x86_nucleus_resume

/*
 * Resume the code an interrupt was recorded in (not reflected). Stack: rip,
 * cs, rflags, rsp, ss. If that code was a halt, between its check of the
 * deferred interrupts and its hlt (the kernel's x86_halt_direct, or
 * x86_svc_halt here), it resumes after the hlt: the interrupt it waits for
 * has come. A CPU delivers none there but at the hlt, and resumes after it
 * anyway; the test VM's emulated AMD-V delivered timer interrupts inside
 * that window and then halted on, until the VMM's watchdog woke it 1 s
 * later (the kernel's log: "its interrupt had come and was deferred").
 */
x86_nucleus_resume:
	pushq	%rax
	pushq	%rcx
	movq	16(%rsp), %rcx			/* rax, rcx, rip */
	leaq	x86_halt_window(%rip), %rax
	cmpq	%rax, %rcx
	jb	1f
	leaq	x86_halt_insn(%rip), %rax
	cmpq	%rax, %rcx
	jbe	2f
1:	leaq	x86_svc_halt(%rip), %rax
	cmpq	%rax, %rcx
	jb	3f
	leaq	x86_svc_halt_insn(%rip), %rax
	cmpq	%rax, %rcx
	ja	3f
2:	incq	%rax				/* past the one-byte hlt */
	movq	%rax, 16(%rsp)
3:	popq	%rcx
	popq	%rax
	iretq

/*
 * Unreflectable exception (in ring 0, or while an event record is being
 * copied out: a kernel bug either way). The VMM reads the registers (KVM_GET_REGS) and
 * the frame at rsp: rax, vector, error, rip, cs, rflags, rsp, ss.
 */
x86_nucleus_fatal:
	pushq	%rax
	movq	PERCPU(PANIC_DOORBELL), %rax
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
	cmpb	$0, PERCPU(IRQ_PENDING_ANY)
	jne	1f
	sti
x86_svc_halt_insn:
	hlt
	cli
1:	iretq

x86_svc_nop:
	iretq
x86_nucleus_end:

	.section .rodata
	.balign 8
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
