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

void arch_idle_wait(void)
{
	x86_svc(X86_SVC_HALT, 0, 0);
}

void arch_aspace_activate(paddr_t root)
{
	x86_svc(X86_SVC_WRITE_CR3, root, 0);
}

void arch_tlb_flush_page(vaddr_t va)
{
	x86_svc(X86_SVC_INVLPG, va, 0);
}

void arch_tlb_flush_all(void)
{
	x86_svc(X86_SVC_FLUSH_TLB, 0, 0);
}
