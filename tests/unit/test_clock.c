// SPDX-License-Identifier: MIT
/*
 * TSC to nanoseconds: the shared conversion (crtos/clock.h, used by the VMM
 * and the kernel) and kernel/clock.c's clocks over a clock page.
 */
#include <string.h>
#include <kernel/clock.h>
#include <crtos/clock.h>
#include "harness.h"

extern uint64_t stub_tsc;

static struct crtos_clock page;

static void page_set(uint64_t khz, uint64_t tsc_ref, int64_t mono, int64_t real)
{
	memset(&page, 0, sizeof(page));
	page.magic = CRTOS_CLOCK_MAGIC;
	page.abi_version = CRTOS_ABI_VERSION;
	crtos_clock_set_rate(&page, khz);
	page.tsc_ref = tsc_ref;
	page.mono_ref_ns = mono;
	page.real_ref_ns = real;
	page.boot_ref_ns = mono + 5;
}

TEST(clock_conversion_is_exact_to_a_part_in_1e10)
{
	static const uint64_t rates[] = { 1000, 1000000, 2596130, 3000000, 4999999 };

	for (unsigned int i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		page_set(rates[i], 0, 0, 0);
		/* One second, one day and a year of cycles. */
		for (uint64_t secs = 1; secs <= 366ull * 86400; secs *= 86400) {
			uint64_t cycles = rates[i] * 1000 * secs;
			long double want = (long double)secs * 1e9L;
			long double got = crtos_clock_delta_ns(&page, cycles);

			EXPECT(got <= want && want - got <= want * 1e-10L + 1);
		}
	}
}

TEST(clock_conversion_does_not_overflow_over_decades)
{
	page_set(5000000, 0, 0, 0);	/* 5 GHz for 100 years: 1.6e19 cycles */
	EXPECT(crtos_clock_delta_ns(&page, 15768000000000000000ull) / 1000000000ull / 86400 / 365 == 99);
}

TEST(kernel_clocks_follow_the_page)
{
	page_set(2000000, 1000, 5 * 1000000000ll, 1700000000ll * 1000000000ll);
	EXPECT_EQ(clock_init(&page), 0);
	stub_tsc = 1000 + 2000000000ull;	/* one second at 2 GHz */
	EXPECT_EQ(clock_monotonic_ns(), 6000000000ull);
	EXPECT_EQ(clock_realtime_ns(), 1700000001ll * 1000000000ll);
	EXPECT_EQ(clock_boottime_ns(), 6000000005ull);
	EXPECT_EQ(clock_ns_to_cycles(1000000000), 2000000000);
	EXPECT_EQ(clock_cycles_to_ns(2000), 1000);
	EXPECT_EQ(clock_monotonic_to_tsc(6000000000ull), stub_tsc);
	EXPECT_EQ(clock_tsc_to_monotonic(clock_monotonic_to_tsc(7000000000ull)), 7000000000ull);
	EXPECT_EQ(clock_tsc_khz(), 2000000);
}

TEST(kernel_clock_rejects_a_bad_page)
{
	page_set(2000000, 0, 0, 0);
	page.magic = 0;
	EXPECT_EQ(clock_init(&page), -EINVAL);
	page_set(2000000, 0, 0, 0);
	page.abi_version = CRTOS_ABI_VERSION + 1;
	EXPECT_EQ(clock_init(&page), -EINVAL);
	page_set(999, 0, 0, 0);
	EXPECT_EQ(clock_init(&page), -EINVAL);
}
