// SPDX-License-Identifier: MIT
/*
 * The clock page: Linux's clocks paired with the guest TSC. The pair is read
 * as rdtsc, the three clocks, rdtsc; of 20 tries the narrowest window wins,
 * and the TSC at its middle is the reference. The guest's TSC offset (0
 * under kvm_pvm, where the guest reads the host TSC) is asked from KVM.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>
#include <sys/ioctl.h>
#include "internal.h"

#define MSR_IA32_TSC	0x10

static int64_t ts_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Guest TSC minus host TSC, from KVM's view of the vCPU's IA32_TSC. */
static int64_t clock_guest_tsc_offset(struct cell *c)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} msrs = { .hdr = { .nmsrs = 1 }, .entry = { .index = MSR_IA32_TSC } };
	uint64_t before = __rdtsc(), after;

	if (ioctl(c->vcpu_fd, KVM_GET_MSRS, &msrs) != 1)
		return 0;
	after = __rdtsc();
	return (int64_t)(msrs.entry.data - (before + (after - before) / 2));
}

int clock_setup(struct cell *c, struct vmm_err *err)
{
	struct crtos_clock *clk = c->clock;
	int khz = ioctl(c->vcpu_fd, KVM_GET_TSC_KHZ, 0);
	uint64_t best = UINT64_MAX;
	int64_t offset = clock_guest_tsc_offset(c);

	if (khz < 1000)
		return vmm_fail(err, -ENODEV, "KVM_GET_TSC_KHZ failed: the host has no usable TSC");
	clk->magic = CRTOS_CLOCK_MAGIC;
	clk->abi_version = CRTOS_ABI_VERSION;
	clk->cpu = (uint32_t)c->cpu;
	crtos_clock_set_rate(clk, (uint64_t)khz);
	for (int i = 0; i < 20; i++) {
		uint64_t t0 = __rdtsc();
		int64_t mono = ts_ns(CLOCK_MONOTONIC);
		int64_t real = ts_ns(CLOCK_REALTIME);
		int64_t boot = ts_ns(CLOCK_BOOTTIME);
		uint64_t t1 = __rdtsc();

		if (t1 - t0 < best) {
			best = t1 - t0;
			/* The window is ~0.1 us wide: its middle stands for all three reads. */
			clk->tsc_ref = t0 + (t1 - t0) / 2 + (uint64_t)offset;
			clk->mono_ref_ns = mono;
			clk->real_ref_ns = real;
			clk->boot_ref_ns = boot;
		}
	}
	clk->read_uncertainty_ns = crtos_clock_delta_ns(&(struct crtos_clock){
		.tsc_ref = 0, .mult = clk->mult, .shift = clk->shift }, best);
	return 0;
}

/* Milliseconds from since_ns (host CLOCK_MONOTONIC) to the guest TSC value tsc. */
double clock_tsc_to_ms_since(const struct cell *c, uint64_t tsc, uint64_t since_ns)
{
	int64_t at = c->clock->mono_ref_ns;

	if (tsc >= c->clock->tsc_ref)
		at += (int64_t)crtos_clock_delta_ns(c->clock, tsc);
	else
		at -= (int64_t)crtos_clock_delta_ns(&(struct crtos_clock){ .tsc_ref = tsc,
				.mult = c->clock->mult, .shift = c->clock->shift }, c->clock->tsc_ref);
	return (double)(at - (int64_t)since_ns) / 1e6;
}
