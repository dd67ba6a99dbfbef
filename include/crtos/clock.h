/* SPDX-License-Identifier: MIT */
/*
 * The clock page: how the kernel turns its TSC into Linux's clocks.
 *
 * The VMM reads Linux's CLOCK_MONOTONIC, CLOCK_REALTIME and CLOCK_BOOTTIME
 * together with the TSC (a tight read, see tools/vmm/clock.c), and writes the
 * pairs here, so the kernel's clocks agree with Linux's to within the read's
 * uncertainty. The guest TSC equals the host TSC plus tsc_offset (0 on the
 * machines we know; measured, not assumed).
 *
 * A sequence counter guards updates (the VMM may refresh the page while the
 * kernel runs): the writer makes seq odd, writes, then makes it even; a reader
 * retries while seq is odd or changed under it. crtos_clock_ns() below is the
 * conversion both sides use, unit-tested on the host.
 */
#ifndef CRTOS_CLOCK_H
#define CRTOS_CLOCK_H

#include <crtos/abi.h>

#define CRTOS_CLOCK_MAGIC	0x4b434f4c43534f52ull	/* "ROSCLOCK" */

/* At CRTOS_GPA_CLOCK. Written by the VMM only; read by the kernel. */
struct crtos_clock {
	uint64_t magic;			/* CRTOS_CLOCK_MAGIC */
	uint32_t abi_version;
	uint32_t seq;			/* odd while an update is in progress */

	uint64_t tsc_khz;		/* TSC frequency, from KVM_GET_TSC_KHZ */
	uint64_t mult;			/* ns = ((tsc - tsc_ref) * mult) >> shift */
	uint32_t shift;
	uint32_t cpu;			/* the Linux CPU the cell runs on (getcpu() in the realm) */
	uint64_t tsc_ref;		/* guest TSC at the reference instant */
	int64_t mono_ref_ns;		/* Linux CLOCK_MONOTONIC at tsc_ref */
	int64_t real_ref_ns;		/* Linux CLOCK_REALTIME at tsc_ref */
	int64_t boot_ref_ns;		/* Linux CLOCK_BOOTTIME at tsc_ref */
	uint64_t read_uncertainty_ns;	/* width of the window the pair was read in */
};

/*
 * Nanoseconds elapsed between tsc_ref and tsc (tsc >= tsc_ref), exact for
 * any interval: the 128-bit product never overflows.
 */
static inline uint64_t crtos_clock_delta_ns(const struct crtos_clock *c, uint64_t tsc)
{
	unsigned __int128 prod = (unsigned __int128)(tsc - c->tsc_ref) * c->mult;

	return (uint64_t)(prod >> c->shift);
}

/*
 * Pick mult and shift for a TSC of tsc_khz (>= 1000, i.e. 1 MHz). With
 * shift 40 the rounding error of mult is below 1e-10 relative for any TSC up
 * to 100 GHz (2.4e-12, 0.2 us a day, at 2.6 GHz), and mult < 2^50, so the
 * product with a 64-bit cycle count fits 128 bits. Host side only: the
 * 128-bit division needs libgcc.
 */
static inline void crtos_clock_set_rate(struct crtos_clock *c, uint64_t tsc_khz)
{
	c->tsc_khz = tsc_khz;
	c->shift = 40;
	c->mult = (uint64_t)(((unsigned __int128)1000000 << 40) / tsc_khz);
}

#endif
