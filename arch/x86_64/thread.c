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

/*
 * x86_rdfsbase() and x86_wrfsbase(v), x86_rdgsbase() and x86_wrgsbase(v):
 * the program's segment bases, read and written at the kernel's ring
 * (CR4.FSGSBASE allows it at ring 3 too, which kvm_pvm needs).
 */
#define X86_SEGMENT_BASE_ACCESS(seg)						\
static uint64_t x86_rd##seg##base(void)						\
{										\
	uint64_t v;								\
										\
	__asm__ volatile("rd" #seg "base %0" : "=r"(v));			\
	return v;								\
}										\
										\
static void x86_wr##seg##base(uint64_t v)					\
{										\
	__asm__ volatile("wr" #seg "base %0" : : "r"(v) : "memory");		\
}

X86_SEGMENT_BASE_ACCESS(fs)
X86_SEGMENT_BASE_ACCESS(gs)

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
	prev->gs_base = x86_rdgsbase();
	x86_wrgsbase(next->gs_base);
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

/*
 * GS is the program's in both modes: the kernel and the nucleus never use it
 * (their per-CPU block is reached RIP-relative, see nucleus.S), so a
 * program may set it with arch_prctl(ARCH_SET_GS) or wrgsbase, as on Linux.
 */
void arch_thread_set_gs(struct arch_thread *at, uint64_t gs, bool current)
{
	at->gs_base = gs;
	if (current)
		x86_wrgsbase(gs);
}

uint64_t arch_thread_get_gs(struct arch_thread *at, bool current)
{
	return current ? x86_rdgsbase() : at->gs_base;
}
