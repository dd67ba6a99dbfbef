// SPDX-License-Identifier: MIT
/*
 * The local APIC in x2APIC mode: TSC-deadline timer and interrupt
 * acknowledgement (the nucleus writes EOI). Every MSR access is a service
 * call into ring 0 (~8 us here), so the timer is re-armed only when the
 * earliest deadline changes.
 */
#include <kernel/arch.h>
#include <kernel/printk.h>
#include <asm/internal.h>
#include <asm/svc.h>

static uint64_t x86_timer_armed;	/* deadline currently in the MSR, 0 if none */

int x86_apic_init(void)
{
	uint64_t base = x86_rdmsr(MSR_APIC_BASE);

	x86_wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
	x86_wrmsr(MSR_X2APIC_SVR, APIC_SVR_ENABLE | CRTOS_VEC_SPURIOUS);
	x86_wrmsr(MSR_X2APIC_TPR, 0);
	x86_wrmsr(MSR_X2APIC_LVT_TIMER, APIC_LVT_TSC_DEADLINE | CRTOS_VEC_TIMER);
	if (!(x86_rdmsr(MSR_APIC_BASE) & APIC_BASE_EXTD)) {
		pr_err("x2APIC mode could not be enabled\n");
		return -ENODEV;
	}
	return 0;
}

void arch_timer_set_deadline(uint64_t deadline)
{
	unsigned long flags = arch_irq_save();

	if (deadline != x86_timer_armed) {
		x86_timer_armed = deadline;
		x86_wrmsr(MSR_TSC_DEADLINE, deadline);
	}
	arch_irq_restore(flags);
}

/* The timer fired: the MSR is disarmed by hardware. Masked. */
void x86_timer_fired(void)
{
	x86_timer_armed = 0;
}
