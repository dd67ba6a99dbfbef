// SPDX-License-Identifier: MIT
/*
 * The RT realm's vDSO: clock_gettime(), gettimeofday(), time() and getcpu()
 * without entering the kernel. glibc and musl find these functions as they do
 * on Linux: by name and version (LINUX_2.6) in the ELF image AT_SYSINFO_EHDR
 * points to.
 *
 * The clocks come from the VMM's clock page, which the kernel maps read-only
 * one page below the image (vvar_clock, placed by vdso.lds), and the TSC,
 * which ring 3 reads natively. The page is read under its sequence counter
 * and converted with crtos_clock_delta_ns(), as kernel/clock.c does, so this
 * path and the system call give the same clocks. Whatever the page cannot
 * serve (CPU-time clocks, invalid ids, a page that is not ours, a NULL
 * pointer) is the real system call's, results and errors alike.
 *
 * The image is mapped as is into every process: position-independent code
 * with no dynamic relocations, no writable data and no libc.
 */
#include <stdbool.h>
#include <stddef.h>
#include <crtos/clock.h>
#include <asm/unistd_64.h>
#include <linux/time.h>

#define VDSO_NSEC_PER_SEC	1000000000ull

/*
 * The clock page, the page below the vDSO's ELF header (vdso.lds). Not const:
 * the VMM changes it, and the compiler may cache what a const object holds.
 */
extern struct crtos_clock vvar_clock __attribute__((visibility("hidden")));

/* The exported interface, as Linux's vDSO declares it (vdso.map). */
int __vdso_clock_gettime(__kernel_clockid_t clk, struct __kernel_timespec *ts);
int __vdso_gettimeofday(struct __kernel_old_timeval *tv, struct timezone *tz);
__kernel_old_time_t __vdso_time(__kernel_old_time_t *t);
long __vdso_getcpu(unsigned int *cpu, unsigned int *node, void *unused);

static long vdso_syscall2(long nr, long a0, long a1)
{
	long ret;

	asm volatile("syscall"
		     : "=a"(ret)
		     : "0"(nr), "D"(a0), "S"(a1)
		     : "rcx", "r11", "memory");
	return ret;
}

/* The TSC, read only once the loads before it (the clock page's) are done. */
static uint64_t vdso_read_tsc(void)
{
	uint32_t lo, hi;

	asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* Where the page keeps clock clk's reference, or NULL if it does not serve clk. */
static const int64_t *vdso_clock_ref(const struct crtos_clock *c, long clk)
{
	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_TAI:			/* the page has no TAI offset yet: as the kernel */
		return &c->real_ref_ns;
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:	/* the kernel's RAW and COARSE are MONOTONIC too */
	case CLOCK_MONOTONIC_COARSE:
		return &c->mono_ref_ns;
	case CLOCK_BOOTTIME:
		return &c->boot_ref_ns;
	default:
		return NULL;
	}
}

/*
 * Clock clk now, in nanoseconds, from the clock page and the TSC. False if
 * the page cannot serve clk (the caller makes the system call instead).
 * Spins while the VMM updates the page.
 */
static bool vdso_clock_ns(long clk, uint64_t *ns)
{
	const struct crtos_clock *c = &vvar_clock;
	const int64_t *ref = vdso_clock_ref(c, clk);
	struct crtos_clock snap;
	int64_t base;
	uint32_t seq;
	uint64_t tsc;

	if (!ref || c->magic != CRTOS_CLOCK_MAGIC || c->abi_version != CRTOS_ABI_VERSION)
		return false;
	do {
		while ((seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE)) & 1)
			asm volatile("pause");
		snap.tsc_ref = c->tsc_ref;
		snap.mult = c->mult;
		snap.shift = c->shift;
		base = *ref;
		tsc = vdso_read_tsc();
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while (seq != __atomic_load_n(&c->seq, __ATOMIC_RELAXED));
	/* A TSC a hair behind the reference would convert to centuries. */
	if ((int64_t)(tsc - snap.tsc_ref) < 0)
		tsc = snap.tsc_ref;
	*ns = (uint64_t)base + crtos_clock_delta_ns(&snap, tsc);
	return true;
}

/* clock_gettime(): 0, or the system call's result for what the page cannot serve. */
int __vdso_clock_gettime(__kernel_clockid_t clk, struct __kernel_timespec *ts)
{
	uint64_t ns;

	if (!ts || !vdso_clock_ns(clk, &ns))
		return (int)vdso_syscall2(__NR_clock_gettime, clk, (long)ts);
	ts->tv_sec = (__kernel_time64_t)(ns / VDSO_NSEC_PER_SEC);
	ts->tv_nsec = (long long)(ns % VDSO_NSEC_PER_SEC);
	return 0;
}

/* gettimeofday(): CLOCK_REALTIME in microseconds; the time zone is always UTC. */
int __vdso_gettimeofday(struct __kernel_old_timeval *tv, struct timezone *tz)
{
	uint64_t ns;

	if (tv) {
		if (!vdso_clock_ns(CLOCK_REALTIME, &ns))
			return (int)vdso_syscall2(__NR_gettimeofday, (long)tv, (long)tz);
		tv->tv_sec = (__kernel_long_t)(ns / VDSO_NSEC_PER_SEC);
		tv->tv_usec = (__kernel_long_t)(ns % VDSO_NSEC_PER_SEC / 1000);
	}
	if (tz) {
		tz->tz_minuteswest = 0;
		tz->tz_dsttime = 0;
	}
	return 0;
}

/* time(): seconds of CLOCK_REALTIME, also stored in *t if t is not NULL. */
__kernel_old_time_t __vdso_time(__kernel_old_time_t *t)
{
	__kernel_old_time_t secs;
	uint64_t ns;

	if (!vdso_clock_ns(CLOCK_REALTIME, &ns))
		return vdso_syscall2(__NR_time, (long)t, 0);
	secs = (__kernel_old_time_t)(ns / VDSO_NSEC_PER_SEC);
	if (t)
		*t = secs;
	return secs;
}

/* getcpu(): the RT realm has one CPU, number 0, on node 0. */
long __vdso_getcpu(unsigned int *cpu, unsigned int *node, void *unused)
{
	const struct crtos_clock *c = &vvar_clock;

	(void)unused;
	if (cpu)
		*cpu = c->magic == CRTOS_CLOCK_MAGIC ? c->cpu : 0;
	if (node)
		*node = 0;
	return 0;
}

/* The unprefixed names, weak, as Linux exports them. */
int clock_gettime(__kernel_clockid_t, struct __kernel_timespec *)
	__attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct __kernel_old_timeval *, struct timezone *)
	__attribute__((weak, alias("__vdso_gettimeofday")));
__kernel_old_time_t time(__kernel_old_time_t *)
	__attribute__((weak, alias("__vdso_time")));
long getcpu(unsigned int *, unsigned int *, void *)
	__attribute__((weak, alias("__vdso_getcpu")));
