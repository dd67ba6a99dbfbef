// SPDX-License-Identifier: MIT
/*
 * The FPU and vector state of user threads: decided once at boot, then saved
 * and restored with every switch and carried in Linux's signal frames.
 *
 * Who decides XCR0 (docs/architecture.md, "The guest's FPU state"):
 * - a kernel at ring 0 owns it: the VMM set CR4.OSXSAVE only if KVM offers
 *   XSAVE, and passes the XCR0 KVM allows (boot_params.xcr0); the kernel
 *   loads exactly that with XSETBV. No XSAVE offered: FXSAVE, x87 and SSE.
 * - a kernel at ring 3 (kvm_pvm) cannot: ring 3 runs under the host's XCR0,
 *   whatever the guest's CR4 or XCR0 say, and a program may use all of it.
 *   The kernel reads the XCR0 in force (XGETBV) and saves all of it.
 * Either way the area's size and layout come from CPUID leaf 0xD's
 * sub-leaves for that XCR0 (asm/xstate.h), never from 0xD.0 EBX, which
 * describes the guest's idea of XCR0 and under kvm_pvm is too small; the
 * format is the standard one throughout (XSAVE/XSAVEOPT/XRSTOR), which is
 * also what Linux's signal frames hold; every area is 64-byte aligned.
 * The kernel itself never uses the FPU (-mgeneral-regs-only).
 */
#include <kernel/kmem.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <kernel/string.h>
#include <kernel/thread.h>
#include <asm/internal.h>
#include <asm/xstate.h>

#define XSAVE_FCW_INIT		0x037f
#define XSAVE_MXCSR_INIT	0x1f80
#define XSAVE_MXCSR_OFFSET	24
#define XSAVE_MXCSR_MASK_OFFSET	28
#define XSAVE_SW_BYTES_OFFSET	464	/* software-available bytes of the legacy area */
#define XSAVE_SW_BYTES_SIZE	48
#define XSAVE_HEADER_OFFSET	512	/* XSTATE_BV, XCOMP_BV, reserved: 64 bytes */
#define FP_XSTATE_MAGIC1	0x46505853u	/* Linux's values (asm/sigcontext.h) */
#define FP_XSTATE_MAGIC2	0x46505845u
#define FP_XSTATE_MAGIC2_SIZE	4
#define FPU_AREA_ALIGN		64

enum x86_fpu_mechanism {
	X86_FPU_FXSAVE = 1,	/* no XSAVE: the 512-byte legacy image */
	X86_FPU_XSAVE,		/* XSAVE (or XSAVEOPT) and XRSTOR, standard format */
};

static struct {
	enum x86_fpu_mechanism mechanism;
	bool xsaveopt;			/* CPUID 0xD.1 EAX bit 0 */
	bool owns_xcr0;			/* set by this kernel (ring 0), else the host's (kvm_pvm) */
	uint64_t xcr0_in_force;		/* XGETBV(0) */
	uint32_t size;			/* bytes of every area */
	struct x86_xstate_layout layout;	/* layout.xcr0: what every save and restore covers */
	uint8_t *init_area;		/* the initial state: defaults, XSTATE_BV 0 */
	uint32_t mxcsr_mask;		/* MXCSR bits this CPU accepts (FXSAVE's MXCSR_MASK) */
} x86_fpu;

static void x86_cpuid_insn(uint32_t leaf, uint32_t sub, struct x86_cpuid_regs *r, void *ctx)
{
	(void)ctx;
	__asm__ volatile("cpuid" : "=a"(r->eax), "=b"(r->ebx), "=c"(r->ecx), "=d"(r->edx)
			 : "a"(leaf), "c"(sub));
}

/* XGETBV(0) that fails (-EFAULT: #UD, CR4.OSXSAVE clear) instead of faulting the kernel. */
static int x86_xgetbv0_checked(uint64_t *xcr0)
{
	uint32_t lo = 0, hi = 0;
	int err;

	__asm__ volatile("1:	xgetbv\n"
			 "	xorl %[err], %[err]\n"
			 "	jmp 3f\n"
			 "2:	movl $-14, %[err]\n"
			 "3:\n"
			 "	.pushsection __ex_table, \"a\"\n"
			 "	.quad 1b, 2b\n"
			 "	.popsection\n"
			 : [err] "=r"(err), "+a"(lo), "+d"(hi)
			 : "c"(0));
	*xcr0 = (uint64_t)hi << 32 | lo;
	return err;
}

static bool x86_at_ring0(void)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return !(cs & 3);
}

/* Ring 0: XCR0 is ours to set, to what the VMM says KVM allows. */
static int x86_fpu_take_xcr0(uint64_t allowed)
{
	if (!allowed)
		return 0;	/* no XSAVE offered: CR4.OSXSAVE is clear, FXSAVE it is */
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)allowed),
			 "d"((uint32_t)(allowed >> 32)));
	x86_fpu.owns_xcr0 = true;
	return x86_xgetbv0_checked(&x86_fpu.xcr0_in_force);
}

/*
 * The components of `have` this kernel can describe and so save: every
 * user component CPUID sizes. Under kvm_pvm the host's XCR0 could hold
 * more (AMX, which Linux hands out only on request); those are left alone.
 */
static uint64_t x86_fpu_saveable(uint64_t have)
{
	struct x86_xstate_layout l;
	uint64_t xcr0 = X86_XFEATURES_LEGACY;

	for (uint32_t i = 2; i < X86_XSTATE_COMPONENTS; i++) {
		uint64_t bit = 1ull << i;

		if ((have & X86_XFEATURES_USER & bit) &&
		    !x86_xstate_layout(xcr0 | bit, false, x86_cpuid_insn, NULL, &l))
			xcr0 |= bit;
	}
	return xcr0;
}

static void x86_fpu_describe(void)
{
	char names[128];

	if (x86_fpu.mechanism == X86_FPU_FXSAVE) {
		pr_info("fpu: FXSAVE (KVM offers no XSAVE): x87 and SSE, 512-byte areas\n");
		return;
	}
	x86_xstate_names(x86_fpu.layout.xcr0, names, sizeof(names));
	pr_info("fpu: %s, XCR0 %#lx (%s), %u-byte areas, standard format; XCR0 %s\n",
		x86_fpu.xsaveopt ? "XSAVEOPT" : "XSAVE", (unsigned long)x86_fpu.layout.xcr0, names,
		x86_fpu.size,
		x86_fpu.owns_xcr0 ? "set by the kernel from what KVM allows" :
				    "is the host's (kvm_pvm: ring 3 runs under it)");
	if (x86_fpu.layout.xcr0 != x86_fpu.xcr0_in_force)
		pr_warn("fpu: XCR0 in force is %#lx; components %#lx are not saved\n",
			(unsigned long)x86_fpu.xcr0_in_force,
			(unsigned long)(x86_fpu.xcr0_in_force & ~x86_fpu.layout.xcr0));
}

static uint8_t *x86_fpu_alloc(void)
{
	uint8_t *area = kzalloc(x86_fpu.size);

	if (!area)
		return NULL;
	ASSERT(((uintptr_t)area & (FPU_AREA_ALIGN - 1)) == 0);
	*(uint16_t *)area = XSAVE_FCW_INIT;
	*(uint32_t *)(area + XSAVE_MXCSR_OFFSET) = XSAVE_MXCSR_INIT;
	return area;
}

static int x86_mxcsr_probe(void);

int x86_fpu_init(uint64_t boot_xcr0)
{
	struct x86_cpuid_regs r;
	uint64_t xcr0 = 0;
	int err;

	x86_fpu.mechanism = X86_FPU_FXSAVE;
	x86_fpu.size = X86_XSTATE_LEGACY_SIZE;
	if (x86_at_ring0())
		err = x86_fpu_take_xcr0(boot_xcr0);
	else
		err = x86_xgetbv0_checked(&x86_fpu.xcr0_in_force);
	if (err || (x86_fpu.xcr0_in_force & X86_XFEATURES_LEGACY) != X86_XFEATURES_LEGACY)
		x86_fpu.xcr0_in_force = 0;
	if (x86_fpu.xcr0_in_force)
		xcr0 = x86_fpu_saveable(x86_fpu.xcr0_in_force);
	if (xcr0 && !x86_xstate_layout(xcr0, false, x86_cpuid_insn, NULL, &x86_fpu.layout)) {
		x86_cpuid_insn(0xd, 1, &r, NULL);
		x86_fpu.mechanism = X86_FPU_XSAVE;
		x86_fpu.xsaveopt = r.eax & X86_XSAVE_XSAVEOPT;
		x86_fpu.size = x86_fpu.layout.size;
	} else {
		x86_fpu.layout = (struct x86_xstate_layout){ .xcr0 = X86_XFEATURES_LEGACY,
							     .size = X86_XSTATE_LEGACY_SIZE };
	}
	x86_fpu.init_area = x86_fpu_alloc();
	if (!x86_fpu.init_area)
		return -ENOMEM;
	x86_fpu_describe();
	return x86_mxcsr_probe();
}

uint32_t x86_fpu_state_size(void)
{
	return x86_fpu.size;
}

#define XSAVE_MASK_ARGS "a"((uint32_t)x86_fpu.layout.xcr0), "d"((uint32_t)(x86_fpu.layout.xcr0 >> 32))
#define FPU_AREA(area) (*(uint8_t (*)[X86_XSTATE_MAX_SIZE])(area))

/* The registers into area; XSAVEOPT may skip components unchanged since area was loaded. */
static void x86_fpu_save(void *area)
{
	if (x86_fpu.mechanism == X86_FPU_FXSAVE)
		__asm__ volatile("fxsave64 %0" : "+m"(FPU_AREA(area)));
	else if (x86_fpu.xsaveopt)
		__asm__ volatile("xsaveopt64 %0" : "+m"(FPU_AREA(area)) : XSAVE_MASK_ARGS);
	else
		__asm__ volatile("xsave64 %0" : "+m"(FPU_AREA(area)) : XSAVE_MASK_ARGS);
}

/* Every component, whatever the last restore loaded from (for copies and signal frames). */
static void x86_fpu_save_all(void *area)
{
	if (x86_fpu.mechanism == X86_FPU_FXSAVE)
		__asm__ volatile("fxsave64 %0" : "+m"(FPU_AREA(area)));
	else
		__asm__ volatile("xsave64 %0" : "+m"(FPU_AREA(area)) : XSAVE_MASK_ARGS);
}

static void x86_fpu_restore(const void *area)
{
	if (x86_fpu.mechanism == X86_FPU_FXSAVE)
		__asm__ volatile("fxrstor64 %0" : : "m"(FPU_AREA(area)));
	else
		__asm__ volatile("xrstor64 %0" : : "m"(FPU_AREA(area)), XSAVE_MASK_ARGS);
}

/* INSN from data a program wrote: -EINVAL (its #GP fixed up) instead of a kernel fault. */
#define FPU_RESTORE_CHECKED(insn, area, ...) ({ \
	int err_; \
	__asm__ volatile("1:	" insn " %[a]\n" \
			 "	xorl %[err], %[err]\n" \
			 "	jmp 3f\n" \
			 "2:	movl $-22, %[err]\n" \
			 "3:\n" \
			 "	.pushsection __ex_table, \"a\"\n" \
			 "	.quad 1b, 2b\n" \
			 "	.popsection\n" \
			 : [err] "=r"(err_) : [a] "m"(FPU_AREA(area)), ##__VA_ARGS__ : "memory"); \
	err_; \
})

static int x86_fpu_restore_checked(const void *area)
{
	if (x86_fpu.mechanism == X86_FPU_FXSAVE)
		return FPU_RESTORE_CHECKED("fxrstor64", area);
	return FPU_RESTORE_CHECKED("xrstor64", area, XSAVE_MASK_ARGS);
}

int x86_fpu_thread_init(struct arch_thread *at)
{
	at->xsave = x86_fpu_alloc();
	return at->xsave ? 0 : -ENOMEM;
}

void x86_fpu_switch(struct arch_thread *prev, struct arch_thread *next)
{
	if (prev->xsave)
		x86_fpu_save(prev->xsave);
	if (next->xsave)
		x86_fpu_restore(next->xsave);
}

void arch_thread_copy_fpu(struct arch_thread *at)
{
	unsigned long flags = arch_irq_save();

	if (at->xsave)
		x86_fpu_save_all(at->xsave);
	arch_irq_restore(flags);
}

/* The signal-frame format is Linux's: an XSAVE image, its _fpx_sw_bytes, FP_XSTATE_MAGIC2. */
struct x86_fpx_sw_bytes {
	uint32_t magic1;
	uint32_t extended_size;
	uint64_t xfeatures;
	uint32_t xstate_size;
	uint32_t padding[7];
};

_Static_assert(sizeof(struct x86_fpx_sw_bytes) == XSAVE_SW_BYTES_SIZE, "_fpx_sw_bytes is 48 bytes");

/* Linux's frame: the image, then (XSAVE only) FP_XSTATE_MAGIC2 just past it. */
size_t arch_fpu_frame_size(void)
{
	return x86_fpu.size + (x86_fpu.mechanism == X86_FPU_XSAVE ? FP_XSTATE_MAGIC2_SIZE : 0);
}

size_t arch_fpu_frame_align(void)
{
	return FPU_AREA_ALIGN;
}

static void *x86_current_xsave(void)
{
	return thread_current()->arch.xsave;
}

/* What a handler sees in _fpx_sw_bytes: the XCR0 and size of the image (zero for FXSAVE). */
static void x86_fpu_fill_sw_bytes(uint8_t *area)
{
	struct x86_fpx_sw_bytes sw = {
		.magic1 = FP_XSTATE_MAGIC1, .extended_size = x86_fpu.size + FP_XSTATE_MAGIC2_SIZE,
		.xfeatures = x86_fpu.layout.xcr0, .xstate_size = x86_fpu.size,
	};

	if (x86_fpu.mechanism == X86_FPU_FXSAVE)
		memset(area + XSAVE_SW_BYTES_OFFSET, 0, XSAVE_SW_BYTES_SIZE);
	else
		memcpy(area + XSAVE_SW_BYTES_OFFSET, &sw, sizeof(sw));
}

int arch_fpu_save_frame(uint64_t uaddr)
{
	uint8_t *area = x86_current_xsave();
	uint32_t size = x86_fpu.size, magic2 = FP_XSTATE_MAGIC2;
	unsigned long flags = arch_irq_save();
	int err;

	x86_fpu_save_all(area);
	x86_fpu_fill_sw_bytes(area);
	err = arch_copy_user((void *)uaddr, area, size) ? -EFAULT : 0;
	if (!err && x86_fpu.mechanism == X86_FPU_XSAVE &&
	    arch_copy_user((void *)(uaddr + size), &magic2, sizeof(magic2)))
		err = -EFAULT;
	x86_fpu_restore(x86_fpu.init_area);
	arch_irq_restore(flags);
	return err;
}

/*
 * MXCSR_MASK from an FXSAVE image, once, at boot. Not later: the first
 * sigreturn of a kvm_pvm cell that had run Firefox for a while made this
 * probe into a fresh heap page and stopped the cell ("KVM could not emulate
 * the kernel's instruction", at the fxsave64; 2 runs of 5). Our reading, not
 * proven: KVM's shadow MMU still write-protected that page (a page-table
 * page freed and handed out again), and KVM does not emulate a 64-bit
 * FXSAVE. At boot no page has been a page table yet.
 */
static int x86_mxcsr_probe(void)
{
	uint8_t *probe = x86_fpu_alloc();

	if (!probe)
		return -ENOMEM;
	__asm__ volatile("fxsave64 %0" : "+m"(*(uint8_t (*)[512])probe));
	memcpy(&x86_fpu.mxcsr_mask, probe + XSAVE_MXCSR_MASK_OFFSET, sizeof(x86_fpu.mxcsr_mask));
	kfree(probe);
	if (!x86_fpu.mxcsr_mask)
		x86_fpu.mxcsr_mask = 0xffbf;	/* the architectural default */
	return 0;
}

/*
 * A frame from user memory, made safe to load: MXCSR's reserved bits
 * cleared; for XSAVE, XSTATE_BV limited to what this kernel saves (legacy
 * only when the frame has no _fpx_sw_bytes, as Linux treats an FXSAVE-only
 * frame) and the header's other bytes zero (standard format).
 */
static void x86_fpu_sanitize(uint8_t *area)
{
	struct x86_fpx_sw_bytes sw;
	uint64_t features;
	uint32_t mxcsr;

	memcpy(&mxcsr, area + XSAVE_MXCSR_OFFSET, sizeof(mxcsr));
	mxcsr &= x86_fpu.mxcsr_mask;
	memcpy(area + XSAVE_MXCSR_OFFSET, &mxcsr, sizeof(mxcsr));
	if (x86_fpu.mechanism == X86_FPU_FXSAVE)
		return;
	memcpy(&sw, area + XSAVE_SW_BYTES_OFFSET, sizeof(sw));
	memcpy(&features, area + XSAVE_HEADER_OFFSET, sizeof(features));
	features &= x86_fpu.layout.xcr0;
	if (sw.magic1 != FP_XSTATE_MAGIC1)
		features &= X86_XFEATURES_LEGACY;
	memset(area + XSAVE_HEADER_OFFSET, 0, X86_XSTATE_HEADER_SIZE);
	memcpy(area + XSAVE_HEADER_OFFSET, &features, sizeof(features));
}

int arch_fpu_restore_frame(uint64_t uaddr)
{
	uint8_t *area = x86_current_xsave();
	unsigned long flags = arch_irq_save();
	int err;

	err = arch_copy_user(area, (const void *)uaddr, x86_fpu.size) ? -EFAULT : 0;
	if (!err) {
		x86_fpu_sanitize(area);
		err = x86_fpu_restore_checked(area);
	}
	if (err)
		x86_fpu_restore(x86_fpu.init_area);
	arch_irq_restore(flags);
	return err;
}
