/* SPDX-License-Identifier: MIT */
/*
 * In-kernel self-tests (cmdline "selftest[=filter]"), run in the real cell
 * on the real CPU: each checks one behaviour of the running kernel and its
 * arch layer, which host unit tests cannot (MMU, exceptions, interrupts).
 *
 *	SELFTEST(pmm_blocks_are_aligned)
 *	{
 *		CHECK(...);
 *		return 0;
 *	}
 *
 * A test returns 0 when it passes; CHECK() returns -1 from it after printing
 * what failed. Tests are collected from the .selftests section and run in
 * the order they are defined. A test must leave interrupts unmasked and the
 * timer disarmed; the runner fails one that does not, and repairs the state
 * so that one failure does not cascade into the next tests.
 */
#ifndef KERNEL_SELFTEST_H
#define KERNEL_SELFTEST_H

#include <kernel/printk.h>

struct selftest {
	const char *name;
	int (*fn)(void);
};

#define SELFTEST(name) \
	static int selftest_##name(void); \
	static const struct selftest selftest_desc_##name \
		__attribute__((used, no_reorder, section(".selftests"), aligned(8))) = \
		{ #name, selftest_##name }; \
	static int selftest_##name(void)

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			pr_err("  check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			return -1; \
		} \
	} while (0)

#define CHECK_EQ(a, b) \
	do { \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
		if (a_ != b_) { \
			pr_err("  check failed at %s:%d: %s == %s (%#llx != %#llx)\n", __FILE__, \
			       __LINE__, #a, #b, a_, b_); \
			return -1; \
		} \
	} while (0)

/* Run the tests whose name contains filter (all for NULL or ""). Returns the failures. */
int selftest_run(const char *filter);

/*
 * Test hook (cmdline "fault=KIND"): make the kernel fail in a known way, to
 * check that the failure is reported. KIND: null, unmapped, write-text, ud,
 * div0, panic, assert, hang, and arch kinds (arch_inject_fault).
 */
void fault_inject(const char *kind);

#endif
