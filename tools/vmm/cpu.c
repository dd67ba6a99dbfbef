// SPDX-License-Identifier: MIT
/*
 * The guest CPU, decided once from what KVM offers (KVM_GET_SUPPORTED_CPUID
 * and KVM_CHECK_EXTENSION), never from the host's own CPUID or XCR0: a KVM
 * may offer less than the CPU it runs on (the QEMU test VM offers no
 * AVX-512 on an AVX-512 host). The VMM adds a CPUID bit only where KVM can
 * honour it, and the XSAVE decision travels to the kernel in boot_params.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

#define CPUID_1_ECX_X2APIC	(1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_XSAVE	(1u << 26)
#define CPUID_7_EBX_SMEP	(1u << 7)
#define CPUID_7_EBX_SMAP	(1u << 20)
#define CPUID_1_ECX_HYPERVISOR	(1u << 31)
#define CPUID_MAX_ENTRIES	256

static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *cpuid, uint32_t leaf, uint32_t sub)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == leaf &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == sub))
			return e;
	}
	return NULL;
}

/* x86_cpuid_fn over a KVM CPUID table: what the guest's CPUID instruction will say. */
static void cpuid_from_table(uint32_t leaf, uint32_t sub, struct x86_cpuid_regs *r, void *ctx)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(ctx, leaf, sub);

	*r = e ? (struct x86_cpuid_regs){ e->eax, e->ebx, e->ecx, e->edx }
	       : (struct x86_cpuid_regs){ 0 };
}

static void cpuid_host(uint32_t leaf, uint32_t sub, struct x86_cpuid_regs *r, void *ctx)
{
	(void)ctx;
	__asm__ volatile("cpuid" : "=a"(r->eax), "=b"(r->ebx), "=c"(r->ecx), "=d"(r->edx)
			 : "a"(leaf), "c"(sub));
}

const char *vmm_kvm_flavor(void)
{
	struct stat st;

	if (!stat("/sys/module/kvm_pvm", &st))
		return "kvm_pvm";
	if (!stat("/sys/module/kvm_amd", &st))
		return "kvm_amd";
	if (!stat("/sys/module/kvm_intel", &st))
		return "kvm_intel";
	return "kvm";
}

const char *vmm_mode_name(uint32_t mode)
{
	return mode == CRTOS_MODE_PVM ? "kvm_pvm" : "hardware";
}

/*
 * kvm_pvm emulates the guest's ring 0 instruction by instruction, so the
 * kernel runs at ring 3 with a ring-0 nucleus; every other KVM runs the
 * guest's ring 0 natively (VT-x/AMD-V), and the kernel runs there.
 */
static void guest_mode_decide(struct vmm_guest_cpu *gc)
{
	if (!strcmp(vmm_kvm_flavor(), "kvm_pvm")) {
		gc->mode = CRTOS_MODE_PVM;
		gc->mode_reason = "kvm_pvm emulates guest ring 0: the kernel runs at ring 3 with a "
				  "ring-0 nucleus";
	} else {
		gc->mode = CRTOS_MODE_HARDWARE;
		gc->mode_reason = "VT-x/AMD-V runs guest ring 0 natively: the kernel runs at ring 0, "
				  "programs at ring 3";
	}
}

static void guest_cpu_decide(int kvm_fd, struct kvm_cpuid2 *cpuid, struct vmm_guest_cpu *gc)
{
	struct kvm_cpuid_entry2 *leaf1 = cpuid_find(cpuid, 1, 0);
	struct kvm_cpuid_entry2 *leaf7 = cpuid_find(cpuid, 7, 0);
	struct x86_cpuid_regs xd1;
	struct x86_xstate_layout layout;

	*gc = (struct vmm_guest_cpu){ 0 };
	guest_mode_decide(gc);
	gc->x2apic = leaf1 && (leaf1->ecx & CPUID_1_ECX_X2APIC);
	gc->tsc_deadline = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	/* The kernel never runs code from a program's pages; at ring 0 SMEP makes that a fault. */
	gc->smep = gc->mode == CRTOS_MODE_HARDWARE && leaf7 && (leaf7->ebx & CPUID_7_EBX_SMEP);
	/* Nor touches their memory outside its user-copy routines (stac/clac): SMAP. */
	gc->smap = gc->mode == CRTOS_MODE_HARDWARE && leaf7 && (leaf7->ebx & CPUID_7_EBX_SMAP);
	gc->xsave = leaf1 && (leaf1->ecx & CPUID_1_ECX_XSAVE);
	if (gc->xsave)
		gc->xcr0 = x86_xstate_allowed_xcr0(cpuid_from_table, cpuid);
	if (!gc->xcr0) {
		gc->xsave = false;
		return;
	}
	cpuid_from_table(0xd, 1, &xd1, cpuid);
	gc->xsave_ext = xd1.eax;
	if (!x86_xstate_layout(gc->xcr0, false, cpuid_from_table, cpuid, &layout))
		gc->xsave_size = layout.size;
	if (!x86_xstate_layout(gc->xcr0, true, cpuid_from_table, cpuid, &layout))
		gc->xsave_compacted_size = layout.size;
}

/* Leaf 1 and 0xD as the guest will see them: only what the decision allows. */
static void guest_cpu_apply(struct kvm_cpuid2 *cpuid, const struct vmm_guest_cpu *gc)
{
	struct kvm_cpuid_entry2 *leaf1 = cpuid_find(cpuid, 1, 0);
	struct kvm_cpuid_entry2 *xd0 = cpuid_find(cpuid, 0xd, 0);

	if (leaf1) {
		leaf1->ecx |= CPUID_1_ECX_HYPERVISOR;
		if (gc->tsc_deadline)
			leaf1->ecx |= CPUID_1_ECX_TSC_DEADLINE;
		if (!gc->xsave)
			leaf1->ecx &= ~CPUID_1_ECX_XSAVE;
	}
	if (xd0 && gc->xsave) {
		xd0->eax = (uint32_t)gc->xcr0;
		xd0->edx = (uint32_t)(gc->xcr0 >> 32);
	}
}

int vmm_guest_cpu_probe(int kvm_fd, struct vmm_guest_cpu *gc, struct kvm_cpuid2 **table,
			struct vmm_err *err)
{
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) +
					     CPUID_MAX_ENTRIES * sizeof(cpuid->entries[0]));

	if (!cpuid)
		return vmm_fail(err, -ENOMEM, "out of memory");
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid)) {
		int e = errno;

		free(cpuid);
		return vmm_fail(err, -e, "KVM_GET_SUPPORTED_CPUID failed: %s", strerror(e));
	}
	guest_cpu_decide(kvm_fd, cpuid, gc);
	guest_cpu_apply(cpuid, gc);
	if (table)
		*table = cpuid;
	else
		free(cpuid);
	return 0;
}

int vmm_kvm_tsc_khz(int kvm_fd)
{
	int vm = ioctl(kvm_fd, KVM_CREATE_VM, 0), vcpu = -1, khz = -ENODEV;

	if (vm >= 0)
		vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu >= 0) {
		khz = ioctl(vcpu, KVM_GET_TSC_KHZ, 0);
		if (khz < 0)
			khz = -errno;
		close(vcpu);
	}
	if (vm >= 0)
		close(vm);
	return khz;
}

/* The XCR0 this (host) CPU runs ring 3 under, which kvm_pvm's guests share; 0 without XSAVE. */
uint64_t vmm_host_xcr0(void)
{
	uint32_t a, b, c, d, lo, hi;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(c & (1u << 27)))	/* OSXSAVE */
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

/* Standard-format size for xcr0 by this CPU's own CPUID; 0 if it cannot say. */
uint32_t vmm_host_xsave_size(uint64_t xcr0)
{
	struct x86_xstate_layout layout;

	return x86_xstate_layout(xcr0, false, cpuid_host, NULL, &layout) ? 0 : layout.size;
}

void vmm_guest_cpu_describe(const struct vmm_guest_cpu *gc, char *buf, size_t len)
{
	char names[128];

	if (!gc->xsave) {
		snprintf(buf, len, "FXSAVE only (KVM offers no XSAVE): x87 and SSE, 512-byte areas");
		return;
	}
	x86_xstate_names(gc->xcr0, names, sizeof(names));
	snprintf(buf, len, "XSAVE%s%s%s, XCR0 %#llx (%s), %u-byte areas (standard format; "
		 "compacted %u)", gc->xsave_ext & X86_XSAVE_XSAVEOPT ? ", XSAVEOPT" : "",
		 gc->xsave_ext & X86_XSAVE_XSAVEC ? ", XSAVEC" : "",
		 gc->xsave_ext & X86_XSAVE_XSAVES ? ", XSAVES" : "", (unsigned long long)gc->xcr0,
		 names, gc->xsave_size, gc->xsave_compacted_size);
}
