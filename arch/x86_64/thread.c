// SPDX-License-Identifier: MIT
/*
 * Thread state of the x86-64 layer: the kernel stack switch (switch.S), the
 * FS base, and the FPU/vector state. The kernel itself never uses the FPU
 * (it is built with -mgeneral-regs-only), so only threads that run user
 * code carry an XSAVE area, saved and restored with every switch: all of the
 * state the host's XCR0 enables (~0.2 us per switch, measured on these
 * machines; guest ring 3 sees the host's XCR0).
 */
#include <kernel/kmem.h>
#include <kernel/thread.h>
#include <kernel/string.h>
#include <asm/internal.h>

#define XSAVE_FCW_INIT		0x037f
#define XSAVE_MXCSR_INIT	0x1f80
#define XSAVE_MXCSR_OFFSET	24
#define XSAVE_MXCSR_MASK_OFFSET	28
#define XSAVE_SW_BYTES_OFFSET	464	/* software-available bytes of the legacy area */
#define XSAVE_HEADER_OFFSET	512	/* XSTATE_BV, XCOMP_BV, reserved: 64 bytes */
#define XSAVE_LEGACY_FEATURES	0x3	/* x87 and SSE: what an FXSAVE image holds */
#define FP_XSTATE_MAGIC1	0x46505853u	/* Linux's values (asm/sigcontext.h) */
#define FP_XSTATE_MAGIC2	0x46505845u
#define FP_XSTATE_MAGIC2_SIZE	4

void x86_switch(uint64_t *prev_rsp, uint64_t next_rsp);

static uint32_t x86_xsave_size;

static void x86_cpuid(uint32_t leaf, uint32_t sub, uint32_t regs[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(regs[0]), "=b"(regs[1]), "=c"(regs[2]), "=d"(regs[3])
			 : "a"(leaf), "c"(sub));
}

/* Bytes of XSAVE area for the state enabled in XCR0 (CPUID 0xD.0 EBX). */
uint32_t x86_fpu_state_size(void)
{
	uint32_t regs[4];

	if (!x86_xsave_size) {
		x86_cpuid(0xd, 0, regs);
		x86_xsave_size = regs[1];
	}
	return x86_xsave_size;
}

static void *x86_fpu_alloc(void)
{
	uint32_t size = x86_fpu_state_size();
	uint8_t *area = kzalloc(size < 64 ? 64 : size);	/* size classes >= 64 are 64-aligned */

	if (!area)
		return NULL;
	*(uint16_t *)area = XSAVE_FCW_INIT;
	*(uint32_t *)(area + XSAVE_MXCSR_OFFSET) = XSAVE_MXCSR_INIT;
	return area;
}

static void x86_fpu_save(void *area)
{
	__asm__ volatile("xsaveopt64 %0" : "+m"(*(uint8_t (*)[4096])area) : "a"(-1), "d"(-1));
}

/* Every component, whatever the last XRSTOR loaded from (XSAVEOPT may skip some). */
static void x86_fpu_save_all(void *area)
{
	__asm__ volatile("xsave64 %0" : "+m"(*(uint8_t (*)[4096])area) : "a"(-1), "d"(-1));
}

static void x86_fpu_restore(const void *area)
{
	__asm__ volatile("xrstor64 %0" : : "m"(*(const uint8_t (*)[4096])area), "a"(-1), "d"(-1));
}

static uint64_t x86_rdfsbase(void)
{
	uint64_t v;

	__asm__ volatile("rdfsbase %0" : "=r"(v));
	return v;
}

static void x86_wrfsbase(uint64_t v)
{
	__asm__ volatile("wrfsbase %0" : : "r"(v) : "memory");
}

int arch_thread_init(struct arch_thread *at, void *kstack, size_t size, void (*entry)(void),
		     bool user)
{
	uint64_t *sp = (uint64_t *)((uint8_t *)kstack + size);

	memset(at, 0, sizeof(*at));
	*--sp = 0;			/* entry's "return address": none */
	*--sp = (uint64_t)entry;	/* where x86_switch returns */
	for (int i = 0; i < 6; i++)
		*--sp = 0;		/* rbp, rbx, r12-r15 */
	at->rsp = (uint64_t)sp;
	at->kstack_top = (uint64_t)kstack + size;
	at->kstack_size = size;
	if (user) {
		at->xsave = x86_fpu_alloc();
		if (!at->xsave)
			return -ENOMEM;
	}
	return 0;
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

static uint64_t x86_xcr0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

size_t arch_fpu_frame_size(void)
{
	return x86_fpu_state_size() + FP_XSTATE_MAGIC2_SIZE;
}

size_t arch_fpu_frame_align(void)
{
	return 64;
}

static void *x86_current_xsave(void)
{
	return thread_current()->arch.xsave;
}

/* The initial state: defaults in the legacy area, XSTATE_BV 0 (every component at init). */
static void x86_fpu_load_init(void)
{
	static uint8_t *init_area;

	if (!init_area)
		init_area = x86_fpu_alloc();
	if (init_area)
		x86_fpu_restore(init_area);
}

int arch_fpu_save_frame(uint64_t uaddr)
{
	uint8_t *area = x86_current_xsave();
	uint32_t size = x86_fpu_state_size(), magic2 = FP_XSTATE_MAGIC2;
	struct x86_fpx_sw_bytes sw = {
		.magic1 = FP_XSTATE_MAGIC1, .extended_size = size + FP_XSTATE_MAGIC2_SIZE,
		.xfeatures = x86_xcr0(), .xstate_size = size,
	};
	unsigned long flags = arch_irq_save();
	int err;

	x86_fpu_save_all(area);
	memcpy(area + XSAVE_SW_BYTES_OFFSET, &sw, sizeof(sw));
	err = arch_copy_user((void *)uaddr, area, size) ||
	      arch_copy_user((void *)(uaddr + size), &magic2, sizeof(magic2)) ? -EFAULT : 0;
	x86_fpu_load_init();
	arch_irq_restore(flags);
	return err;
}

static uint32_t x86_mxcsr_mask(void)
{
	static uint32_t mask;
	uint8_t *probe;

	if (!mask && (probe = x86_fpu_alloc())) {
		__asm__ volatile("fxsave64 %0" : "+m"(*(uint8_t (*)[512])probe));
		memcpy(&mask, probe + XSAVE_MXCSR_MASK_OFFSET, sizeof(mask));
		kfree(probe);
		if (!mask)
			mask = 0xffbf;	/* the architectural default */
	}
	return mask;
}

/* XRSTOR that fails instead of faulting the kernel. */
static int x86_fpu_restore_checked(const void *area)
{
	int err;

	__asm__ volatile("1:	xrstor64 %[area]\n"
			 "	xorl %[err], %[err]\n"
			 "	jmp 3f\n"
			 "2:	movl $-22, %[err]\n"
			 "3:\n"
			 "	.pushsection __ex_table, \"a\"\n"
			 "	.quad 1b, 2b\n"
			 "	.popsection\n"
			 : [err] "=r"(err)
			 : [area] "m"(*(const uint8_t (*)[4096])area), "a"(-1), "d"(-1)
			 : "memory");
	return err;
}

int arch_fpu_restore_frame(uint64_t uaddr)
{
	uint8_t *area = x86_current_xsave();
	uint32_t size = x86_fpu_state_size(), mxcsr;
	struct x86_fpx_sw_bytes sw;
	uint64_t features;
	unsigned long flags = arch_irq_save();
	int err = 0;

	if (arch_copy_user(area, (const void *)uaddr, size)) {
		err = -EFAULT;
		goto fail;
	}
	memcpy(&sw, area + XSAVE_SW_BYTES_OFFSET, sizeof(sw));
	memcpy(&features, area + XSAVE_HEADER_OFFSET, sizeof(features));
	features &= x86_xcr0();
	if (sw.magic1 != FP_XSTATE_MAGIC1)
		features &= XSAVE_LEGACY_FEATURES;	/* an FXSAVE-only frame */
	memcpy(&mxcsr, area + XSAVE_MXCSR_OFFSET, sizeof(mxcsr));
	mxcsr &= x86_mxcsr_mask();
	memcpy(area + XSAVE_MXCSR_OFFSET, &mxcsr, sizeof(mxcsr));
	memset(area + XSAVE_HEADER_OFFSET, 0, 64);	/* standard format, reserved bytes zero */
	memcpy(area + XSAVE_HEADER_OFFSET, &features, sizeof(features));
	err = x86_fpu_restore_checked(area);
	if (!err) {
		arch_irq_restore(flags);
		return 0;
	}
fail:
	x86_fpu_load_init();
	arch_irq_restore(flags);
	return err;
}

void arch_thread_adopt(struct arch_thread *at)
{
	struct x86_percpu *c = this_cpu();

	memset(at, 0, sizeof(*at));
	at->kstack_top = c->kstack_top;
	at->kstack_size = c->kstack_size;
}

void arch_thread_free(struct arch_thread *at)
{
	kfree(at->xsave);
	at->xsave = NULL;
}

void arch_thread_switch(struct arch_thread *prev, struct arch_thread *next)
{
	struct x86_percpu *c = this_cpu();

	if (prev->xsave)
		x86_fpu_save(prev->xsave);
	prev->fs_base = x86_rdfsbase();
	c->kstack_top = next->kstack_top;
	c->kstack_size = next->kstack_size;
	if (next->xsave)
		x86_fpu_restore(next->xsave);
	x86_wrfsbase(next->fs_base);
	x86_switch(&prev->rsp, next->rsp);
}

void arch_thread_set_tls(struct arch_thread *at, uint64_t tls, bool current)
{
	at->fs_base = tls;
	if (current)
		x86_wrfsbase(tls);
}

uint64_t arch_thread_get_tls(struct arch_thread *at, bool current)
{
	return current ? x86_rdfsbase() : at->fs_base;
}
