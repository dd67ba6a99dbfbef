// SPDX-License-Identifier: MIT
/*
 * System calls and the way to user mode. `syscall` from user code lands in
 * x86_syscall_entry (entry.S) at ring 3 under kvm_pvm, in
 * x86_syscall_entry_ring0 at ring 0 in hardware mode; x86_syscall() checks
 * that the ring is the mode's.
 */
#include <kernel/panic.h>
#include <asm/internal.h>
#include <asm/svc.h>

void x86_syscall_entry(void);
void x86_syscall_entry_ring0(void);
_Noreturn void x86_enter_user(uint64_t ip, uint64_t sp, uint64_t kstack_top);
_Noreturn void x86_enter_user_frame(arch_regs_t *frame);

#define STAR_SELECTORS	((uint64_t)(CRTOS_SEL_USER_DS - 8) << 48 | (uint64_t)CRTOS_SEL_KERNEL_CS << 32)
/*
 * TF, DF, IOPL, NT, AC, as Linux, but never IF: the entry runs at ring 3,
 * where nothing can set IF again (iretq and popfq at CPL 3 leave it alone),
 * so a cleared IF would follow the thread back into user code and keep
 * every interrupt out of it. The entry masks in software instead.
 */
#define FMASK_FLAGS	0x47500
/*
 * Hardware mode: the entry runs at ring 0 on the user's stack until it has
 * switched, so IF must be cleared as Linux clears it; the entry sets it again.
 */
#define FMASK_FLAGS_RING0	(FMASK_FLAGS | X86_RFLAGS_IF)

void x86_syscall_init(void)
{
	x86_wrmsr(MSR_STAR, STAR_SELECTORS);
	if (x86_hardware_mode()) {
		x86_wrmsr(MSR_LSTAR, (uint64_t)x86_syscall_entry_ring0);
		x86_wrmsr(MSR_FMASK, FMASK_FLAGS_RING0);
	} else {
		x86_wrmsr(MSR_LSTAR, (uint64_t)x86_syscall_entry);
		x86_wrmsr(MSR_FMASK, FMASK_FLAGS);
	}
}

/* From x86_syscall_entry, unmasked, on the thread's kernel stack. */
void x86_syscall(arch_regs_t *regs);

void x86_syscall(arch_regs_t *regs)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	if (unlikely(!(cs & 3) != x86_hardware_mode()))
		panic("syscall entered ring %u, not the ring this mode runs the kernel at "
		      "(see docs/architecture.md, \"Two modes\")", cs & 3);
	this_cpu()->counters[X86_CNT_SYSCALLS]++;
	arch_irq_restore(0);
	syscall_entry(regs);
	arch_irq_save();
	user_return(regs);
}

_Noreturn void arch_enter_user(uint64_t ip, uint64_t sp)
{
	arch_irq_save();
	x86_enter_user(ip, sp, this_cpu()->kstack_top);
}

/* RFLAGS bits user code may set: CF PF AF ZF SF TF DF OF AC and RF, as Linux's FIX_EFLAGS. */
#define X86_RFLAGS_USER		0x40dd5ull

uint64_t x86_user_rflags(uint64_t rflags)
{
	return (rflags & X86_RFLAGS_USER) | X86_RFLAGS_IF | X86_RFLAGS_BASE;
}

_Noreturn void arch_enter_user_regs(const arch_regs_t *regs)
{
	static arch_regs_t copy;	/* regs may lie where the frame goes; masked, one CPU */
	arch_regs_t *frame;

	arch_irq_save();
	copy = *regs;
	/* The frame x86_event_return pops: the registers, then the soft-mask word. */
	frame = (arch_regs_t *)(this_cpu()->kstack_top - sizeof(*frame) - sizeof(uint64_t));
	*frame = copy;
	frame->cs = CRTOS_SEL_USER_CS;
	frame->ss = CRTOS_SEL_USER_DS;
	frame->rflags = x86_user_rflags(copy.rflags);
	*(uint64_t *)(frame + 1) = 0;		/* unmasked on the way out */
	x86_enter_user_frame(frame);
}
