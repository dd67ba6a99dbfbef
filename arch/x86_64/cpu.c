// SPDX-License-Identifier: MIT
/* Second-stage CPU setup, idling, and the MMU hooks of the arch contract. */
#include <kernel/arch.h>
#include <kernel/printk.h>
#include <asm/internal.h>
#include <asm/svc.h>

int arch_init(void)
{
	int err;

	if (x86_hardware_mode())
		pr_info("mode: hardware (VT-x/AMD-V): kernel at ring 0, programs at ring 3\n");
	else
		pr_info("mode: kvm_pvm: kernel at ring 3, nucleus at ring 0 (guest ring 0 is emulated)\n");
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
