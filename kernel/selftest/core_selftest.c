// SPDX-License-Identifier: MIT
/* Self-tests of the clock, the log and backtraces in the running kernel. */
#include <kernel/arch.h>
#include <kernel/clock.h>
#include <kernel/kernel.h>
#include <kernel/selftest.h>

/*
 * The clock moves with the TSC: no slower, and no faster than the TSC cycles
 * that bracket both readings (taken outside them, so that a slow moment
 * between a reading and its TSC, as under emulation, cannot fail the test).
 */
SELFTEST(clock_monotonic_advances_with_the_tsc)
{
	uint64_t before = arch_read_tsc(), t0 = clock_monotonic_ns(), c0 = arch_read_tsc(), t1, c1;

	while (arch_read_tsc() - c0 < clock_ns_to_cycles(1000 * NSEC_PER_USEC))
		arch_cpu_relax();
	t1 = clock_monotonic_ns();
	c1 = arch_read_tsc();
	CHECK(t1 > t0);
	CHECK(t1 - t0 >= 1000 * NSEC_PER_USEC);
	CHECK(t1 - t0 <= clock_cycles_to_ns(c1 - before) + 1000);
	return 0;
}

SELFTEST(clock_conversions_round_trip)
{
	uint64_t ns = 123456789;
	uint64_t back = clock_cycles_to_ns(clock_ns_to_cycles(ns));

	CHECK(back <= ns + 2 && back + 2 >= ns);
	CHECK(clock_tsc_to_monotonic(clock_monotonic_to_tsc(5 * NSEC_PER_SEC + clock_monotonic_ns()))
	      >= 5 * NSEC_PER_SEC);
	return 0;
}

SELFTEST(clock_realtime_is_after_2020)
{
	CHECK(clock_realtime_ns() > 1577836800ll * (int64_t)NSEC_PER_SEC);
	CHECK(clock_boottime_ns() >= clock_monotonic_ns() - NSEC_PER_MSEC);
	return 0;
}

SELFTEST(printk_filters_and_truncates)
{
	char big[700];

	for (unsigned int i = 0; i < sizeof(big) - 1; i++)
		big[i] = 'a' + (char)(i % 26);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ(printk(LOG_DEBUG, "%s", big), 0);	/* below the default level: not recorded */
	CHECK_EQ(printk(LOG_INFO, "  %.40s...\n", big), 46);
	CHECK_EQ(printk(LOG_INFO, "  %s\n", big), 511);	/* 512-byte buffer, NUL included */
	return 0;
}

static __attribute__((noinline)) int backtrace_depth(int depth, uint64_t *frames, int max)
{
	int n;

	if (depth)
		n = backtrace_depth(depth - 1, frames, max);
	else
		n = arch_backtrace(arch_current_frame(), frames, max);
	__asm__ volatile("" : : : "memory");	/* not a tail call */
	return n;
}

SELFTEST(backtrace_walks_kernel_frames)
{
	uint64_t frames[16];
	int n = backtrace_depth(3, frames, 16);

	CHECK(n >= 5);
	CHECK(frames[0] == frames[1] && frames[1] == frames[2]);	/* the recursion's call site */
	return 0;
}

SELFTEST(comm_page_reports_a_booted_kernel)
{
	struct crtos_comm *comm = kernel_comm();

	CHECK_EQ(comm->magic, CRTOS_COMM_MAGIC);
	CHECK_EQ(comm->state, CRTOS_STATE_RUNNING);
	CHECK(comm->tsc_entry && comm->tsc_entry < comm->tsc_ready);
	CHECK(comm->tsc_ready < arch_read_tsc());
	return 0;
}
