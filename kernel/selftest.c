// SPDX-License-Identifier: MIT
/* The self-test runner and the fault-injection hook. */
#include <kernel/arch.h>
#include <kernel/clock.h>
#include <kernel/kernel.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/selftest.h>
#include <kernel/string.h>

extern const struct selftest __start_selftests[], __stop_selftests[];

int selftest_run(const char *filter)
{
	int passed = 0, failed = 0;

	for (const struct selftest *t = __start_selftests; t < __stop_selftests; t++) {
		uint64_t start;
		int ret;

		if (filter && *filter && !strstr(t->name, filter))
			continue;
		start = arch_read_tsc();
		ret = t->fn();
		if (arch_irqs_masked()) {
			pr_err("  the test left interrupts masked\n");
			ret = -1;
			arch_irq_restore(0);
		}
		arch_timer_set_deadline(0);
		pr_info("selftest %s: %s (%lu us)\n", t->name, ret ? "FAILED" : "ok",
			(unsigned long)(clock_cycles_to_ns(arch_read_tsc() - start) / NSEC_PER_USEC));
		if (ret)
			failed++;
		else
			passed++;
	}
	kernel_comm()->selftest_failures = (uint32_t)failed;
	pr_info("selftests: %d passed, %d failed\n", passed, failed);
	return failed;
}

/* Volatile so the compiler keeps the faulting accesses. */
static volatile uint64_t *volatile fault_ptr;
static volatile int fault_divisor;

void fault_inject(const char *kind)
{
	extern const char __text_start[];

	pr_info("fault injection: %s\n", kind);
	if (!strcmp(kind, "null")) {
		fault_ptr = NULL;
		(void)*fault_ptr;
	} else if (!strcmp(kind, "unmapped")) {
		fault_ptr = (uint64_t *)(kernel_window_base() + CRTOS_KERNEL_WINDOW - PAGE_SIZE);
		(void)*fault_ptr;
	} else if (!strcmp(kind, "write-text")) {
		fault_ptr = (uint64_t *)__text_start;
		*fault_ptr = 0;
	} else if (!strcmp(kind, "ud")) {
		__builtin_trap();
	} else if (!strcmp(kind, "div0")) {
		fault_divisor = 0;
		fault_divisor = 1 / fault_divisor;
	} else if (!strcmp(kind, "panic")) {
		panic("panic requested on the command line");
	} else if (!strcmp(kind, "assert")) {
		ASSERT(fault_divisor == 42);
	} else if (!strcmp(kind, "lost-wakeup")) {
		idle_inject_lost_wakeups();
	} else if (!strcmp(kind, "hang")) {
		arch_irq_save();
		for (;;)
			arch_cpu_relax();
	} else {
		if (!arch_inject_fault(kind))
			pr_err("fault injection: unknown kind '%s'\n", kind);
	}
}
