// SPDX-License-Identifier: MIT
/*
 * Thread state of the x86-64 layer: the kernel stack switch (switch.S), the
 * FS base, and the FPU/vector state (fpu.c). Only threads that run user code
 * carry an FPU area, saved and restored with every switch (~0.2 us per
 * switch, measured on these machines).
 */
#include <kernel/kmem.h>
#include <kernel/thread.h>
#include <kernel/string.h>
#include <asm/internal.h>
#include <asm/svc.h>

void x86_switch(uint64_t *prev_rsp, uint64_t next_rsp);

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

/*
 * Hardware mode: while the kernel runs, a program's GS base waits in
 * MSR_KERNEL_GS_BASE (see "GS" in nucleus.S). Exchange it for next's and
 * return the one that was there. Through the MSR, not swapgs; rdgsbase;
 * wrgsbase; swapgs: GS stays the per-CPU block throughout. With the swaps,
 * an event inside that window (the test VM's emulated AMD-V delivers some
 * with IF clear, see nucleus.S) found the program's GS, swapped it in as
 * the kernel's, and left the kernel running on it: a page fault at
 * x86_nucleus_irq reading the per-CPU block at GS 0.
 */
static uint64_t x86_swap_user_gs(uint64_t next)
{
	uint64_t prev = x86_rdmsr_ring0(MSR_KERNEL_GS_BASE);

	x86_wrmsr_ring0(MSR_KERNEL_GS_BASE, next);
	return prev;
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
	return user ? x86_fpu_thread_init(at) : 0;
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

	x86_fpu_switch(prev, next);
	prev->fs_base = x86_rdfsbase();
	c->kstack_top = next->kstack_top;
	c->kstack_size = next->kstack_size;
	x86_wrfsbase(next->fs_base);
	if (c->kernel_ring0)
		prev->gs_base = x86_swap_user_gs(next->gs_base);
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

int arch_thread_set_gs(struct arch_thread *at, uint64_t gs, bool current)
{
	if (!x86_hardware_mode())
		return -EINVAL;		/* kvm_pvm: GS is the kernel's (see nucleus.S) */
	at->gs_base = gs;
	if (current)
		x86_swap_user_gs(gs);
	return 0;
}

/*
 * Linux says HWCAP2_FSGSBASE where a program may wrgsbase. Under kvm_pvm it
 * may not: the kernel runs at ring 3 on the same GS (see nucleus.S), and
 * wasm2c's "Segue" in Firefox's sandboxed libraries, which checks this bit,
 * wrote its linear memory's base there and took the kernel down.
 */
#define X86_HWCAP2_FSGSBASE	(1ul << 1)	/* Linux's asm/hwcap2.h */

uint64_t arch_user_hwcap2(uint64_t linux_hwcap2)
{
	return x86_hardware_mode() ? linux_hwcap2 : linux_hwcap2 & ~X86_HWCAP2_FSGSBASE;
}

int arch_thread_get_gs(struct arch_thread *at, bool current, uint64_t *gs)
{
	if (!x86_hardware_mode())
		return -EINVAL;
	if (current) {
		*gs = x86_swap_user_gs(0);
		x86_swap_user_gs(*gs);
	} else {
		*gs = at->gs_base;
	}
	return 0;
}
