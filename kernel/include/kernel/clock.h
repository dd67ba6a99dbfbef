/* SPDX-License-Identifier: MIT */
/*
 * Time. The TSC is the only clock; the VMM's clock page (crtos/clock.h)
 * says how TSC values map onto Linux's CLOCK_MONOTONIC, CLOCK_REALTIME and
 * CLOCK_BOOTTIME, so times here and in Linux agree. All functions are
 * lock-free and O(1): usable on the real-time path.
 */
#ifndef KERNEL_CLOCK_H
#define KERNEL_CLOCK_H

#include <kernel/types.h>

#define NSEC_PER_USEC	1000ull
#define NSEC_PER_MSEC	1000000ull
#define NSEC_PER_SEC	1000000000ull

/* Check and adopt the clock page. -EINVAL if it is not valid. */
int clock_init(const void *clock_page);

/* Linux CLOCK_MONOTONIC / CLOCK_REALTIME / CLOCK_BOOTTIME now, in ns. */
uint64_t clock_monotonic_ns(void);
int64_t clock_realtime_ns(void);
uint64_t clock_boottime_ns(void);

/* CLOCK_MONOTONIC at TSC value tsc. */
uint64_t clock_tsc_to_monotonic(uint64_t tsc);

/* TSC value at CLOCK_MONOTONIC time ns (for timer deadlines). */
uint64_t clock_monotonic_to_tsc(uint64_t ns);

/* Conversions of durations. */
uint64_t clock_cycles_to_ns(uint64_t cycles);
uint64_t clock_ns_to_cycles(uint64_t ns);

/* TSC frequency in kHz. */
uint64_t clock_tsc_khz(void);

#endif
