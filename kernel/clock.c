// SPDX-License-Identifier: MIT
/*
 * Clocks from the TSC and the VMM's clock page. The page is read under its
 * sequence counter, so a refresh by the VMM is never seen half-written. The
 * inverse conversion (ns to cycles) uses a multiplier computed here, with a
 * 64-bit division done once at init.
 */
#include <kernel/arch.h>
#include <kernel/clock.h>
#include <crtos/clock.h>

static const struct crtos_clock *clock_page;
static uint64_t clock_inv_mult;		/* cycles = (ns * clock_inv_mult) >> 32 */

int clock_init(const void *page)
{
	const struct crtos_clock *c = page;

	if (c->magic != CRTOS_CLOCK_MAGIC || c->abi_version != CRTOS_ABI_VERSION ||
	    c->tsc_khz < 1000 || !c->mult)
		return -EINVAL;
	clock_page = c;
	clock_inv_mult = (c->tsc_khz << 32) / 1000000;
	return 0;
}

/* A consistent copy of the clock page. */
static void clock_snapshot(struct crtos_clock *out)
{
	uint32_t seq;

	do {
		seq = __atomic_load_n(&clock_page->seq, __ATOMIC_ACQUIRE);
		*out = *clock_page;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((seq & 1) || seq != __atomic_load_n(&clock_page->seq, __ATOMIC_RELAXED));
}

uint64_t clock_tsc_to_monotonic(uint64_t tsc)
{
	struct crtos_clock c;

	clock_snapshot(&c);
	return (uint64_t)c.mono_ref_ns + crtos_clock_delta_ns(&c, tsc);
}

uint64_t clock_monotonic_ns(void)
{
	return clock_tsc_to_monotonic(arch_read_tsc());
}

int64_t clock_realtime_ns(void)
{
	struct crtos_clock c;

	clock_snapshot(&c);
	return c.real_ref_ns + (int64_t)crtos_clock_delta_ns(&c, arch_read_tsc());
}

uint64_t clock_boottime_ns(void)
{
	struct crtos_clock c;

	clock_snapshot(&c);
	return (uint64_t)c.boot_ref_ns + crtos_clock_delta_ns(&c, arch_read_tsc());
}

uint64_t clock_cycles_to_ns(uint64_t cycles)
{
	struct crtos_clock c;

	clock_snapshot(&c);
	return (uint64_t)(((unsigned __int128)cycles * c.mult) >> c.shift);
}

uint64_t clock_ns_to_cycles(uint64_t ns)
{
	return (uint64_t)(((unsigned __int128)ns * clock_inv_mult) >> 32);
}

uint64_t clock_monotonic_to_tsc(uint64_t ns)
{
	struct crtos_clock c;

	clock_snapshot(&c);
	if (ns <= (uint64_t)c.mono_ref_ns)
		return c.tsc_ref;
	return c.tsc_ref + clock_ns_to_cycles(ns - (uint64_t)c.mono_ref_ns);
}

uint64_t clock_tsc_khz(void)
{
	return clock_page->tsc_khz;
}
