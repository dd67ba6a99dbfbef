// SPDX-License-Identifier: MIT
/*
 * Self-tests of the x86-64 layer, in the running cell: exception
 * reflection (with the vector, error code and faulting address the kernel
 * sees), service calls, the TSC-deadline timer, the soft interrupt mask and
 * halting. Timings are printed for information; they are not asserted.
 * Also the arch's part of portable self-tests (arch_selftest_*()).
 */
#include <kernel/aspace.h>
#include <kernel/clock.h>
#include <kernel/irq.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/selftest.h>
#include <kernel/string.h>
#include <asm/internal.h>
#include <asm/svc.h>

/* The kernel is built without SSE (-mgeneral-regs-only), so nothing else uses xmm0. */
void arch_selftest_fpu_put(uint64_t val)
{
	__asm__ volatile("movq %0, %%xmm0" : : "r"(val));
}

uint64_t arch_selftest_fpu_get(void)
{
	uint64_t val;

	__asm__ volatile("movq %%xmm0, %0" : "=r"(val));
	return val;
}

static uint64_t us_since(uint64_t tsc)
{
	return clock_cycles_to_ns(arch_read_tsc() - tsc) / NSEC_PER_USEC;
}

static int expect_fault(int (*insn)(void), unsigned int vector)
{
	struct x86_percpu *c = this_cpu();

	c->probe_vector = ~0ull;
	CHECK_EQ(insn(), -EFAULT);
	CHECK_EQ(c->probe_vector, vector);
	return 0;
}

SELFTEST(x86_invalid_opcode_is_reflected)
{
	return expect_fault(x86_test_ud, X86_VEC_UD);
}

SELFTEST(x86_breakpoint_is_not_a_service_call)
{
	return expect_fault(x86_test_int3, X86_VEC_BP);
}

/*
 * The kernel runs where its mode says: under kvm_pvm at ring 3, where
 * privileged instructions fault; in hardware mode at ring 0, with kernel
 * pages that user code cannot reach.
 */
SELFTEST(x86_kernel_runs_at_its_modes_ring)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	if (x86_hardware_mode()) {
		CHECK_EQ(cs, CRTOS_SEL_KERNEL_CS);
		CHECK_EQ(x86_pte_kernel_bits & X86_PTE_US, 0);
		return 0;
	}
	CHECK_EQ(cs & 3, 3);
	CHECK(!expect_fault(x86_test_cli, X86_VEC_GP));
	CHECK(!expect_fault(x86_test_hlt, X86_VEC_GP));
	return 0;
}

SELFTEST(x86_divide_error_is_reflected)
{
	return expect_fault(x86_test_div0, X86_VEC_DE);
}

SELFTEST(x86_exception_while_masked_is_reflected)
{
	unsigned long flags = arch_irq_save();
	int ret = expect_fault(x86_test_ud, X86_VEC_UD);

	CHECK(arch_irqs_masked());
	arch_irq_restore(flags);
	CHECK(!arch_irqs_masked());
	return ret;
}

SELFTEST(x86_service_call_round_trip)
{
	uint64_t start = arch_read_tsc(), n = 100;

	for (uint64_t i = 0; i < n; i++)
		CHECK_EQ(x86_svc(X86_SVC_NOP, i, 0), X86_SVC_NOP);
	CHECK_EQ(x86_svc(X86_SVC_NR + 5, 0, 0), (uint64_t)-ENOSYS);
	pr_info("  service call round trip: %lu ns\n",
		(unsigned long)(clock_cycles_to_ns(arch_read_tsc() - start) / n));
	return 0;
}

SELFTEST(x86_x2apic_is_enabled)
{
	uint64_t base = x86_rdmsr(MSR_APIC_BASE);

	CHECK(base & APIC_BASE_EN);
	CHECK(base & APIC_BASE_EXTD);
	CHECK_EQ(x86_rdmsr(MSR_X2APIC_LVT_TIMER), APIC_LVT_TSC_DEADLINE | CRTOS_VEC_TIMER);
	return 0;
}

static volatile uint64_t timer_fired_tsc;

static void timer_test_handler(unsigned int vector __unused, void *arg __unused)
{
	timer_fired_tsc = arch_read_tsc();
}

/* Arm the timer delay_us ahead with a test handler; returns the deadline. */
static uint64_t timer_test_arm(uint64_t delay_us)
{
	uint64_t deadline;

	irq_unregister(CRTOS_VEC_TIMER);
	irq_register(CRTOS_VEC_TIMER, timer_test_handler, NULL);
	timer_fired_tsc = 0;
	deadline = arch_read_tsc() + clock_ns_to_cycles(delay_us * NSEC_PER_USEC);
	arch_timer_set_deadline(deadline);
	return deadline;
}

static bool timer_test_wait(uint64_t limit_us)
{
	uint64_t start = arch_read_tsc();

	while (!timer_fired_tsc && us_since(start) < limit_us)
		arch_cpu_relax();
	irq_unregister(CRTOS_VEC_TIMER);
	return timer_fired_tsc != 0;
}

SELFTEST(x86_timer_interrupt_preempts_ring3)
{
	uint64_t deadline = timer_test_arm(500);

	CHECK(timer_test_wait(100000));
	CHECK(timer_fired_tsc >= deadline);
	pr_info("  deadline to handler: %lu ns\n",
		(unsigned long)clock_cycles_to_ns(timer_fired_tsc - deadline));
	return 0;
}

/* The same from a process's address space (its own tables, the kernel window shared). */
SELFTEST(x86_timer_interrupt_reaches_a_process_address_space)
{
	struct aspace as;
	uint64_t deadline;
	bool fired;

	CHECK_EQ(aspace_init(&as), 0);
	aspace_share(&as, kernel_aspace(), kernel_window_base(), CRTOS_KERNEL_WINDOW);
	arch_aspace_activate(as.root);
	deadline = timer_test_arm(500);
	fired = timer_test_wait(100000);
	arch_aspace_activate(kernel_aspace()->root);
	aspace_destroy(&as);
	CHECK(fired);
	CHECK(timer_fired_tsc >= deadline);
	return 0;
}

SELFTEST(x86_masked_interrupt_is_deferred_then_replayed)
{
	uint64_t count = irq_count(CRTOS_VEC_TIMER), start;
	unsigned long flags = arch_irq_save();

	timer_test_arm(100);
	start = arch_read_tsc();
	/* Until it arrives (under emulation, milliseconds late), then a little longer. */
	while (!READ_ONCE(this_cpu()->irq_pending_any) && us_since(start) < 100000)
		arch_cpu_relax();
	start = arch_read_tsc();
	while (us_since(start) < 1000)
		arch_cpu_relax();
	CHECK_EQ(irq_count(CRTOS_VEC_TIMER), count);
	CHECK(this_cpu()->irq_pending_any);
	arch_irq_restore(flags);
	CHECK_EQ(irq_count(CRTOS_VEC_TIMER), count + 1);
	CHECK(timer_fired_tsc != 0);
	irq_unregister(CRTOS_VEC_TIMER);
	return 0;
}

SELFTEST(x86_halt_wakes_on_timer)
{
	unsigned long flags = arch_irq_save();
	uint64_t deadline = timer_test_arm(1000);

	/* Spurious wake-ups are allowed; the deferred timer ends the wait. */
	while (!this_cpu()->irq_pending_any &&
	       arch_read_tsc() < deadline + clock_ns_to_cycles(NSEC_PER_SEC))
		arch_idle_wait();
	CHECK(arch_read_tsc() >= deadline);
	arch_irq_restore(flags);
	CHECK(timer_fired_tsc >= deadline);
	pr_info("  deadline to handler after halt: %lu ns\n",
		(unsigned long)clock_cycles_to_ns(timer_fired_tsc - deadline));
	irq_unregister(CRTOS_VEC_TIMER);
	return 0;
}

SELFTEST(x86_exception_names)
{
	CHECK(!strcmp(x86_exception_name(X86_VEC_PF), "page fault"));
	CHECK(!strcmp(x86_exception_name(40), "interrupt"));
	return 0;
}
