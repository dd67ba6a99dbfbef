// SPDX-License-Identifier: MIT
/*
 * The local APIC in x2APIC mode: TSC-deadline timer and interrupt
 * acknowledgement (the nucleus writes EOI). Every MSR access is a service
 * call into ring 0 (~8 us here), so the timer is re-armed only when the
 * earliest deadline changes.
 */
#include <kernel/arch.h>
#include <kernel/clock.h>
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

void arch_timer_lose_interrupt(void)
{
	x86_wrmsr(MSR_TSC_DEADLINE, 0);		/* x86_timer_armed kept: the kernel still waits */
}

/* The timer fired: the MSR is disarmed by hardware. Masked. */
void x86_timer_fired(void)
{
	x86_timer_armed = 0;
}

/*
 * After a halt, masked: a deadline that passed 100 ms ago or more, its
 * interrupt not handled yet, means the halt outlasted it (the halt
 * watchdog's kick ended it: a lost wake-up, seen in the nested test VM).
 * The log says whether the interrupt had come meanwhile and been deferred
 * while the CPU halted on (what the test VM's emulated CPU did until
 * x86_nucleus_resume ended a halt whose window an interrupt came in) or
 * had not come at all (lost before the CPU).
 */
void x86_timer_check_oversleep(void)
{
	const struct x86_percpu *c = this_cpu();
	uint64_t armed = x86_timer_armed, now = arch_read_tsc();
	bool deferred;

	if (!armed || now < armed || now - armed < clock_ns_to_cycles(100 * 1000000ull))
		return;
	deferred = READ_ONCE(c->irq_pending[CRTOS_VEC_TIMER / 64]) & (1ull << (CRTOS_VEC_TIMER % 64));
	pr_warn("halt: woke %lu ms after the timer's deadline; its interrupt %s\n",
		(unsigned long)(clock_cycles_to_ns(now - armed) / 1000000),
		deferred ? "had come and was deferred, yet the CPU halted on" : "had not come");
}
