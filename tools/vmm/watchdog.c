// SPDX-License-Identifier: MIT
/*
 * The halt watchdog. A kernel that halts when idle first writes, in
 * comm->halted_until_tsc, the TSC by which its wake timer will have woken it
 * (kernel/idle.c). If that time is long past and the kernel still halts, its
 * wake-up interrupt was lost: without help the cell would sleep until Linux
 * next kicked it, perhaps forever (seen in the nested test VM, docs/test-vm.md).
 *
 * The log thread, which wakes at least every 100 ms, checks the promise. When
 * it is broken by more than WATCHDOG_GRACE_MS it asks the vCPU thread (a
 * signal takes it out of KVM_RUN) to look: only that thread may read the
 * vCPU's state. The vCPU thread reports where the wake-up went (the
 * TSC-deadline MSR, the LAPIC's timer entry and pending bits, the halted
 * RIP), then kicks the kernel through its doorbell interrupt. One report per
 * broken promise; a kernel that is not halted (a program spinning) is never
 * touched, as it made no promise.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include "internal.h"

#define WATCHDOG_GRACE_MS	1000
#define MSR_IA32_TSC		0x10
#define MSR_IA32_TSC_DEADLINE	0x6e0
#define APIC_REG_ISR		0x100
#define APIC_REG_IRR		0x200
#define APIC_REG_LVT_TIMER	0x320

/* Milliseconds since the guest TSC value tsc (negative: still to come). */
static double ms_since_tsc(const struct cell *c, uint64_t tsc)
{
	return (double)vmm_now_ns() / 1e6 - clock_tsc_to_ms_since(c, tsc, 0);
}

/*
 * Whether the VMM's process ran all along. The log thread looks at least
 * every 100 ms; a longer gap means the process was stopped (SIGSTOP, Ctrl-Z
 * of a crtos run with a cell of its own) or starved, and so was the vCPU:
 * its timer has expired meanwhile and is injected when the vCPU next enters
 * the guest, a promise late through no loss. The vCPU gets the grace period
 * again from the end of the gap.
 */
static bool watchdog_ran_along(struct cell *c)
{
	uint64_t now = vmm_now_ns(), last = c->watchdog_seen_ns;

	c->watchdog_seen_ns = now;
	if (last && now - last > WATCHDOG_GRACE_MS * 1000000ull / 2)
		c->watchdog_resumed_ns = now;
	return now - c->watchdog_resumed_ns >= WATCHDOG_GRACE_MS * 1000000ull;
}

void watchdog_poll(struct cell *c)
{
	uint64_t until = __atomic_load_n(&c->comm->halted_until_tsc, __ATOMIC_ACQUIRE);

	if (!watchdog_ran_along(c) || !until || until == c->watchdog_promise ||
	    ms_since_tsc(c, until) < WATCHDOG_GRACE_MS)
		return;
	c->watchdog_promise = until;
	__atomic_store_n(&c->watchdog_asked, true, __ATOMIC_RELEASE);
	cell_interrupt_vcpu(c);
}

static uint32_t lapic_reg(const struct kvm_lapic_state *l, unsigned int off)
{
	uint32_t v;

	memcpy(&v, &l->regs[off], sizeof(v));
	return v;
}

static bool lapic_bit(const struct kvm_lapic_state *l, unsigned int base, unsigned int vec)
{
	return lapic_reg(l, base + 0x10 * (vec / 32)) & (1u << (vec % 32));
}

/* The timer's side of the story: MSR, LVT entry, pending and in-service bits. */
static void watchdog_describe_timer(struct cell *c)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[2];
	} msrs = { .hdr = { .nmsrs = 2 },
		   .e = { { .index = MSR_IA32_TSC_DEADLINE }, { .index = MSR_IA32_TSC } } };
	struct kvm_lapic_state lapic;

	if (ioctl(c->vcpu_fd, KVM_GET_MSRS, &msrs) == 2) {
		if (!msrs.e[0].data)
			fprintf(c->msg, "crtos:   TSC-deadline timer: disarmed\n");
		else
			fprintf(c->msg, "crtos:   TSC-deadline timer: armed for %.3f ms ago\n",
				ms_since_tsc(c, msrs.e[0].data));
	}
	if (!ioctl(c->vcpu_fd, KVM_GET_LAPIC, &lapic))
		fprintf(c->msg, "crtos:   LAPIC timer entry %#x, vector %#x %s, %s\n",
			lapic_reg(&lapic, APIC_REG_LVT_TIMER), CRTOS_VEC_TIMER,
			lapic_bit(&lapic, APIC_REG_IRR, CRTOS_VEC_TIMER) ? "pending" : "not pending",
			lapic_bit(&lapic, APIC_REG_ISR, CRTOS_VEC_TIMER) ? "in service" :
									   "not in service");
}

void watchdog_check_vcpu(struct cell *c)
{
	struct kvm_mp_state mp = { 0 };
	struct crtos_regs r;
	uint64_t until;

	if (!__atomic_exchange_n(&c->watchdog_asked, false, __ATOMIC_ACQ_REL))
		return;
	until = __atomic_load_n(&c->comm->halted_until_tsc, __ATOMIC_ACQUIRE);
	if (!until)
		return;		/* it woke meanwhile */
	ioctl(c->vcpu_fd, KVM_GET_MP_STATE, &mp);
	fprintf(c->msg, "crtos: watchdog: the kernel halted until %.0f ms ago and still %s: its "
		"wake-up interrupt was lost; waking it\n", ms_since_tsc(c, until),
		mp.mp_state == KVM_MP_STATE_HALTED ? "halts" : "has not woken");
	watchdog_describe_timer(c);
	if (!kvm_get_regs(c, &r)) {
		fprintf(c->msg, "crtos:   vCPU registers:\n");
		vmm_report_regs(c->msg, &c->img, &r);
	}
	fflush(c->msg);
	c->watchdog_wakes++;
	eventfd_write(c->kick_efd, 1);
}
