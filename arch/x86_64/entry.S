/* SPDX-License-Identifier: MIT */
/*
 * Kernel entry points: the boot entry (ring 0, a few instructions, then
 * ring 3 for good under kvm_pvm; ring 0 throughout in hardware mode), the
 * landing point of reflected events, the system call entries of both
 * modes, and the fault-tolerant probes.
 */
#include <crtos/abi.h>
#include <asm/x86.h>
#include <asm-offsets.h>

	.code64

/* The middle of a struct crtos_regs, pushed: r15 down to rdx (rcx, rbx, rax follow). */
.macro PUSH_GPRS_R15_TO_RDX
	.irp reg, r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx
	pushq	%\reg
	.endr
.endm

/*
 * First instructions, at CPL 0 (the entry state is in crtos/boot.h):
 * load our GDT (whose TSS descriptor needs the TSS address split up), IDT
 * and TSS, then, under kvm_pvm, iret to ring 3 on the boot stack (28
 * emulated instructions); in hardware mode stay at ring 0.
 */
	.section .text.boot, "ax"
	.globl _start
_start:
	rdtsc
	movl	%eax, x86_tsc_entry(%rip)
	movl	%edx, x86_tsc_entry+4(%rip)
	leaq	x86_bsp_percpu+PCPU_TSS(%rip), %rax
	leaq	x86_bsp_percpu+PCPU_GDT+CRTOS_SEL_TSS(%rip), %rdx
	movw	%ax, 2(%rdx)
	shrq	$16, %rax
	movb	%al, 4(%rdx)
	movb	%ah, 7(%rdx)
	shrq	$16, %rax
	movl	%eax, 8(%rdx)
	lgdt	x86_gdt_desc(%rip)
	lidt	x86_idt_desc(%rip)
	movw	$CRTOS_SEL_TSS, %ax
	ltr	%ax
	leaq	x86_boot_stack_top(%rip), %rax
	movq	%rax, %rsp
	cmpl	$BOOT_MODE_HARDWARE, BOOT_CPU_MODE(%rdi)
	je	x86_boot_kernel
	pushq	$CRTOS_SEL_USER_DS
	pushq	%rax
	pushq	$(X86_RFLAGS_IF | X86_RFLAGS_BASE)
	pushq	$CRTOS_SEL_USER_CS
	leaq	x86_boot_kernel(%rip), %rax
	pushq	%rax
	iretq

	.section .text
/* The kernel's ring from here on (3 under kvm_pvm, 0 in hardware mode). rdi: the boot params. */
x86_boot_kernel:
	xorl	%ebp, %ebp
	call	x86_start
	ud2

/*
 * Reflected events land here: ring 3, on the per-CPU event stack, with
 * ev_busy set and the event in PERCPU(EV_)*. Pick the stack to handle it
 * on, build a struct crtos_regs there (preceded by the interrupted code's
 * soft mask), mask, release the record and call x86_event().
 *
 * Kernel code that was interrupted on the current kernel stack goes on
 * below its red zone; anything else (user code, or kernel code not yet on
 * its stack, like a syscall entry's first instructions) starts at the top
 * of the current kernel stack.
 */
	.globl x86_event_entry
x86_event_entry:
	pushq	%rax
	pushq	%rcx
	movq	PERCPU(KSTACK_TOP), %rax
	movq	%rax, %rcx
	subq	PERCPU(EV_RSP), %rcx
	cmpq	PERCPU(KSTACK_SIZE), %rcx
	jae	1f
	movq	PERCPU(EV_RSP), %rax
	subq	$128, %rax
	andq	$-16, %rax
1:	movq	%rsp, %rcx
	movq	%rax, %rsp
	movzbl	PERCPU(IRQ_MASKED), %eax
	pushq	%rax			/* at REGS_SIZE(frame); keeps it 16-byte aligned */
	pushq	PERCPU(EV_CR2)
	pushq	PERCPU(EV_SS)
	pushq	PERCPU(EV_RSP)
	pushq	PERCPU(EV_RFLAGS)
	pushq	PERCPU(EV_CS)
	pushq	PERCPU(EV_RIP)
	pushq	PERCPU(EV_ERROR)
	pushq	PERCPU(EV_VECTOR)
	PUSH_GPRS_R15_TO_RDX
	pushq	0(%rcx)			/* rcx, saved on the event stack */
	pushq	%rbx
	pushq	8(%rcx)			/* rax */
	movb	$1, PERCPU(IRQ_MASKED)
	movb	$0, PERCPU(EV_BUSY)
	movq	%rsp, %rdi
	cld
	call	x86_event
	/* fall through */

/* The GPRs of a struct crtos_regs at rsp, popped: rax up to r15. */
.macro POP_GPRS_RAX_TO_R15
	.irp reg, rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15
	popq	%\reg
	.endr
.endm

/*
 * Return from an event to the frame at rsp, with the soft mask the
 * interrupted code had: if that was unmasked, unmask and replay what was
 * deferred meanwhile. Then iretq (ring 3 to ring 3 runs natively, ~100
 * cycles), or, in hardware mode back to a program, sysretq where it
 * restores exactly what iretq would (below). An interrupt that arrives
 * after the unmask is reflected as a nested event below this frame and
 * returns here.
 */
	.globl x86_event_return
x86_event_return:
	cmpb	$0, REGS_SIZE(%rsp)
	jne	3f
	movb	$0, PERCPU(IRQ_MASKED)
	cmpb	$0, PERCPU(IRQ_PENDING_ANY)
	jne	2f
3:	testb	$3, REGS_CS(%rsp)
	jz	5f
	cmpb	$0, PERCPU(KERNEL_RING0)
	jne	x86_return_to_program_hw
5:	POP_GPRS_RAX_TO_R15
	addq	$16, %rsp		/* vector, error code */
	iretq
2:	call	x86_irq_replay
	jmp	x86_event_return

/*
 * Hardware mode, back to a program: sysretq where it gives what iretq
 * would: rip in rcx and rflags in r11 as sysret takes them (a system
 * call's frame, unless a signal changed it), the standard user
 * selectors (sysret loads them from MSR_STAR), no TF or RF (sysret cannot
 * restore RF, and TF would trap after the first instruction), and rip in
 * the lower half (on Intel a non-canonical one faults at ring 0 on the
 * program's stack). sysretq costs about half of iretq on hardware. From
 * the stack switch on, only NMI and #MC could come, and they have IST
 * stacks. (On AMD, sysret leaves SS's hidden attributes alone: harmless to
 * 64-bit programs, the only kind the realm runs.)
 */
x86_return_to_program_hw:
	movq	REGS_RCX(%rsp), %rax
	cmpq	REGS_RIP(%rsp), %rax
	jne	1f
	shrq	$47, %rax
	jnz	1f
	movq	REGS_R11(%rsp), %rax
	cmpq	REGS_RFLAGS(%rsp), %rax
	jne	1f
	testq	$(X86_RFLAGS_TF | X86_RFLAGS_RF), %rax
	jnz	1f
	cmpq	$CRTOS_SEL_USER_CS, REGS_CS(%rsp)
	jne	1f
	cmpq	$CRTOS_SEL_USER_DS, REGS_SS(%rsp)
	jne	1f
	POP_GPRS_RAX_TO_R15
	addq	$16, %rsp		/* vector, error code */
	cli				/* none may find the program's stack at ring 0 */
	movq	24(%rsp), %rsp		/* rip, cs, rflags, rsp: the program's stack */
	sysretq
1:	POP_GPRS_RAX_TO_R15
	addq	$16, %rsp
	iretq

/*
 * User-access windows. In hardware mode with SMAP the kernel may touch a
 * program's pages only between USER_ACCESS_BEGIN (stac) and
 * USER_ACCESS_END (clac): everywhere else such an access faults, and a bug
 * that follows a program's pointer is caught instead of obeyed. stac and
 * clac raise #UD at ring 3 and on CPUs without SMAP, hence the flag
 * (x86_smap, set at boot). Both clobber the arithmetic flags. The entries
 * never start with AC set: SYSCALL clears it (FMASK), and an event is
 * reflected with fresh RFLAGS.
 */
.macro USER_ACCESS_BEGIN
	cmpb	$0, x86_smap(%rip)
	je	.Luser_access_begin\@
	stac
.Luser_access_begin\@:
.endm
.macro USER_ACCESS_END
	cmpb	$0, x86_smap(%rip)
	je	.Luser_access_end\@
	clac
.Luser_access_end\@:
.endm

/*
 * Probes: a load or store that may fault, at any address (a program's
 * too). On a fault, x86_exception finds the instruction in __ex_table,
 * records the fault in the per-CPU probe fields and resumes at the fixup,
 * which returns -EFAULT.
 */
	.globl x86_probe_read
x86_probe_read:			/* rdi: address, rsi: where to store the value */
	USER_ACCESS_BEGIN
1:	movq	(%rdi), %rax
	USER_ACCESS_END
	movq	%rax, (%rsi)
	xorl	%eax, %eax
	ret
2:	USER_ACCESS_END
	movl	$-14, %eax		/* -EFAULT */
	ret
	.pushsection __ex_table, "a"
	.quad	1b, 2b
	.popsection

	.globl x86_probe_write
x86_probe_write:		/* rdi: address, rsi: value */
	USER_ACCESS_BEGIN
1:	movq	%rsi, (%rdi)
	USER_ACCESS_END
	xorl	%eax, %eax
	ret
2:	USER_ACCESS_END
	movl	$-14, %eax
	ret
	.pushsection __ex_table, "a"
	.quad	1b, 2b
	.popsection

	.section .bss
	.balign 4096
	.globl x86_idt
x86_idt:
	.space	256 * 16
	.globl x86_boot_stack, x86_boot_stack_top
x86_boot_stack:
	.space	X86_BOOT_STACK_SIZE
x86_boot_stack_top:

	.section .data
	.balign 16
	.globl x86_gdt_desc
x86_gdt_desc:
	.word	X86_GDT_BYTES - 1
	.quad	x86_bsp_percpu + PCPU_GDT
	.balign 16
x86_idt_desc:
	.word	4095
	.quad	x86_idt

	.section .text
/*
 * System calls from user code, hardware mode: `syscall` lands here at ring 0
 * with the user's rsp and, as FMASK includes IF, interrupts off, so nothing
 * can push onto the user's stack. Mask softly, move to the thread's kernel
 * stack, and only then let interrupts in again (they are deferred while
 * masked); the rest is the kvm_pvm entry's. GS stays the program's (see
 * nucleus.S).
 */
	.globl x86_syscall_entry_ring0
x86_syscall_entry_ring0:
	movb	$1, PERCPU(IRQ_MASKED)
	movq	%rsp, PERCPU(USER_RSP)
	movq	PERCPU(KSTACK_TOP), %rsp
	sti
	jmp	x86_syscall_frame

/*
 * System calls from user code. Under kvm_pvm `syscall` lands here still at
 * ring 3, with the user's rsp (see docs/architecture.md). Mask first, so that the per-CPU
 * scratch slot cannot be reused by an interrupt-driven switch before it is
 * consumed; an interrupt before that first store is reflected with the user
 * rsp and handled at the top of the kernel stack, which is harmless.
 * The frame is a struct crtos_regs with vector X86_VEC_SYSCALL.
 */
	.globl x86_syscall_entry
x86_syscall_entry:
	movb	$1, PERCPU(IRQ_MASKED)
	movq	%rsp, PERCPU(USER_RSP)
	movq	PERCPU(KSTACK_TOP), %rsp
x86_syscall_frame:
	pushq	$0			/* the user's soft mask: never masked */
	pushq	$0			/* cr2 */
	pushq	$CRTOS_SEL_USER_DS
	pushq	PERCPU(USER_RSP)
	pushq	%r11			/* rflags */
	pushq	$CRTOS_SEL_USER_CS
	pushq	%rcx			/* rip */
	pushq	$0			/* error code */
	pushq	$X86_VEC_SYSCALL
	PUSH_GPRS_R15_TO_RDX
	pushq	%rcx
	pushq	%rbx
	pushq	%rax
	movq	%rsp, %rdi
	cld
	call	x86_syscall
	jmp	x86_event_return

/*
 * x86_enter_user(rip, rsp, kstack_top): leave the kernel for user code for
 * the first time. The frame goes at the top of the kernel stack (what is
 * below is never returned to); x86_event_return unmasks and irets.
 */
	.globl x86_enter_user
x86_enter_user:
	movq	%rdx, %rsp
	pushq	$0			/* unmask on the way out */
	pushq	$0			/* cr2 */
	pushq	$CRTOS_SEL_USER_DS
	pushq	%rsi			/* rsp */
	pushq	$(X86_RFLAGS_IF | X86_RFLAGS_BASE)
	pushq	$CRTOS_SEL_USER_CS
	pushq	%rdi			/* rip */
	pushq	$0
	pushq	$0
	xorl	%eax, %eax
	.rept	15			/* rax .. r15: all zero, as Linux starts a process */
	pushq	%rax
	.endr
	jmp	x86_event_return

/* x86_enter_user_frame(frame): return to user code through a complete frame (arch_enter_user_regs). */
	.globl x86_enter_user_frame
x86_enter_user_frame:
	movq	%rdi, %rsp
	jmp	x86_event_return

/*
 * Copies between kernel and user memory that fail instead of faulting:
 * arch_copy_user(dst, src, n) returns the number of bytes NOT copied (0 on
 * success); the caller has checked that the user range is below the kernel
 * window. rep movsb is restartable: on a fault rcx holds what is left.
 */
	.globl arch_copy_user
arch_copy_user:
	movq	%rdx, %rcx
	USER_ACCESS_BEGIN
1:	rep movsb
	USER_ACCESS_END
	xorl	%eax, %eax
	ret
2:	USER_ACCESS_END
	movq	%rcx, %rax
	ret
	.pushsection __ex_table, "a"
	.quad	1b, 2b
	.popsection

/* arch_strnlen_user(s, max): length of s (< max), max if no NUL within max, -1 on a fault. */
	.globl arch_strnlen_user
arch_strnlen_user:
	USER_ACCESS_BEGIN
	xorl	%eax, %eax
3:	cmpq	%rsi, %rax
	jae	5f
4:	cmpb	$0, (%rdi, %rax)
	je	5f
	incq	%rax
	jmp	3b
5:	USER_ACCESS_END
	ret
6:	USER_ACCESS_END
	movq	$-1, %rax
	ret
	.pushsection __ex_table, "a"
	.quad	4b, 6b
	.popsection
