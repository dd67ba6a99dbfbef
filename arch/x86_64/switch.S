/* SPDX-License-Identifier: MIT */
/*
 * x86_switch(uint64_t *prev_rsp, uint64_t next_rsp): the kernel-stack half
 * of a context switch. Saves the callee-saved registers on the current
 * stack, stores the stack pointer in *prev_rsp, loads next_rsp and restores
 * the registers saved there. Returns on the next thread's stack: into its
 * own x86_switch call, or into the entry that arch_thread_init() planted.
 * Ring 3, native.
 */
	.code64
	.section .text
	.globl x86_switch
x86_switch:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
