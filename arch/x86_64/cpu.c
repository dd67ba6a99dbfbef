// SPDX-License-Identifier: MIT
/* Second-stage CPU setup, idling, and the MMU hooks of the arch contract. */
#include <kernel/arch.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <asm/internal.h>
#include <asm/svc.h>

int arch_init(void)
{
	int err;

	if (x86_hardware_mode())
		pr_info("mode: hardware (VT-x/AMD-V): kernel at ring 0, programs at ring 3; "
			"kernel window at %#lx; SMEP %s, SMAP %s; IST stacks for NMI, #DF, #MC\n",
			(unsigned long)x86_kernel_base(),
			x86_read_cr4() & X86_CR4_SMEP ? "on" : "off (KVM does not offer it)",
			x86_smap ? "on" : "off (KVM does not offer it)");
	else
		pr_info("mode: kvm_pvm: kernel at ring 3, nucleus at ring 0 (guest ring 0 is "
			"emulated); kernel window at %#lx\n", (unsigned long)x86_kernel_base());
	if (x86_boot_params->kernel_base != x86_kernel_base())
		panic("the VMM says the kernel window is at %#llx, the image runs at %#lx",
		      (unsigned long long)x86_boot_params->kernel_base,
		      (unsigned long)x86_kernel_base());
	err = x86_fpu_init(x86_boot_params->xcr0);

	if (err)
		return err;
	x86_syscall_init();
	return x86_apic_init();
}

/*
 * Halt until an interrupt, hardware mode: as the nucleus's X86_SVC_HALT. The
 * kernel runs with IF set (the soft mask defers), so IF goes off for the
 * check: an interrupt deferred since the caller decided to idle must not be
 * slept through; sti's one-instruction shadow makes sti;hlt atomic. The
 * waking interrupt is deferred (masked) and replayed when the caller unmasks.
 * An interrupt the nucleus defers inside [x86_halt_window, x86_halt_insn]
 * resumes after the hlt (x86_nucleus_resume): the test VM's emulated CPU
 * delivered timer interrupts there and then halted on, for a second each.
 */
static __attribute__((noinline, noclone)) void x86_halt_direct(void)
{
	__asm__ volatile("cli\n\t"
			 ".globl x86_halt_window\n"
			 "x86_halt_window:\n\t"
			 "cmpb $0, %0\n\t"
			 "jne 1f\n\t"
			 "sti\n\t"
			 ".globl x86_halt_insn\n"
			 "x86_halt_insn:\n\t"
			 "hlt\n"
			 "1:\tsti"
			 : : "m"(this_cpu()->irq_pending_any) : "memory", "cc");
}

uint64_t x86_privileged_direct(uint64_t op, uint64_t a, uint64_t b)
{
	uint32_t lo, hi;

	switch (op) {
	case X86_SVC_WRITE_CR3:
		__asm__ volatile("movq %0, %%cr3" : : "r"(a) : "memory");
		return 0;
	case X86_SVC_WRMSR:
		__asm__ volatile("wrmsr" : : "c"((uint32_t)a), "a"((uint32_t)b),
				 "d"((uint32_t)(b >> 32)) : "memory");
		return 0;
	case X86_SVC_RDMSR:
		__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"((uint32_t)a));
		return (uint64_t)hi << 32 | lo;
	case X86_SVC_INVLPG:
		__asm__ volatile("invlpg (%0)" : : "r"(a) : "memory");
		return 0;
	case X86_SVC_FLUSH_TLB:
		__asm__ volatile("movq %%cr3, %%rax; movq %%rax, %%cr3" : : : "rax", "memory");
		return 0;
	case X86_SVC_HALT:
		x86_halt_direct();
		return 0;
	default:
		return (uint64_t)-ENOSYS;
	}
}

void arch_idle_wait(void)
{
	x86_privileged(X86_SVC_HALT, 0, 0);
	x86_timer_check_oversleep();
}

/* CPUID 0x80000008's EAX[7:0] (MAXPHYADDR); 36 where the leaf is missing (SDM vol. 3, 4.1.4). */
unsigned int arch_phys_addr_bits(void)
{
	uint32_t eax = 0x80000000, ebx, ecx = 0, edx;

	__asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
	if (eax < 0x80000008)
		return 36;
	eax = 0x80000008;
	ecx = 0;
	__asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
	return eax & 0xff;
}

void arch_aspace_activate(paddr_t root)
{
	x86_privileged(X86_SVC_WRITE_CR3, root, 0);
}

void arch_tlb_flush_page(vaddr_t va)
{
	x86_privileged(X86_SVC_INVLPG, va, 0);
}

void arch_tlb_flush_all(void)
{
	x86_privileged(X86_SVC_FLUSH_TLB, 0, 0);
}
