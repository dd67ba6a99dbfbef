// SPDX-License-Identifier: MIT
/*
 * Early boot of the x86-64 layer, at ring 3: the boot CPU's per-CPU block
 * (GDT, TSS, stacks, all static so they are valid before the first
 * instruction), the IDT, and the hand-over to kmain.
 *
 * The kernel runs at CPL 3 under kvm_pvm (docs/architecture.md explains
 * why): its pages carry the user bit, and the only CPL 0 code is the
 * nucleus (nucleus.S). In hardware mode (VT-x/AMD-V) it runs at CPL 0 and
 * its pages are the supervisor's; the mode comes from boot_params.
 */
#include <kernel/arch.h>
#include <kernel/mm.h>
#include <kernel/pmm.h>
#include <kernel/printk.h>
#include <crtos/mmio.h>
#include <asm/internal.h>
#include <asm/svc.h>
#include <kernel/string.h>

/* GDT descriptors: flat segments in the Linux selector layout (crtos/abi.h). */
#define GDT_KERNEL_CS32	0x00cf9b000000ffffull
#define GDT_KERNEL_CS64	0x00af9b000000ffffull
#define GDT_KERNEL_DS	0x00cf93000000ffffull
#define GDT_USER_CS32	0x00cffb000000ffffull
#define GDT_USER_DS	0x00cff3000000ffffull
#define GDT_USER_CS64	0x00affb000000ffffull
#define GDT_TSS_LOW	(0x0000890000000000ull | (sizeof(struct x86_tss) - 1))	/* base filled by _start */

static uint8_t x86_nucleus_stack[X86_NUCLEUS_STACK_SIZE] __attribute__((aligned(16)));
static uint8_t x86_event_stack[X86_EVENT_STACK_SIZE] __attribute__((aligned(16)));
static uint8_t x86_ist_stacks[X86_NR_IST][X86_IST_STACK_SIZE] __attribute__((aligned(16)));
extern uint8_t x86_boot_stack[], x86_boot_stack_top[];
extern void x86_event_entry(void);
extern const uint8_t x86_vectors[], x86_vectors_hw[];

struct x86_idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
};

extern struct x86_idt_gate x86_idt[256];

uint64_t x86_tsc_entry;			/* written by _start */
uint64_t x86_pte_kernel_bits = X86_PTE_US;	/* kvm_pvm: the kernel runs at CPL 3; 0 in hardware mode */
uint64_t x86_mmio_base;			/* VA of the hypercall window */
const struct crtos_boot_params *x86_boot_params;

struct x86_percpu x86_bsp_percpu = {
	.ev_entry = (uint64_t)x86_event_entry,
	.ev_stack = (uint64_t)(x86_event_stack + sizeof(x86_event_stack)),
	.kstack_top = (uint64_t)x86_boot_stack_top,
	.kstack_size = X86_BOOT_STACK_SIZE,
	.tss = {
		.rsp0 = (uint64_t)(x86_nucleus_stack + sizeof(x86_nucleus_stack)),
		.iomap_base = sizeof(struct x86_tss),
	},
	.gdt = {
		[CRTOS_SEL_KERNEL_CS / 8 - 1] = GDT_KERNEL_CS32,
		[CRTOS_SEL_KERNEL_CS / 8] = GDT_KERNEL_CS64,
		[CRTOS_SEL_KERNEL_DS / 8] = GDT_KERNEL_DS,
		[CRTOS_SEL_USER_DS / 8 - 1] = GDT_USER_CS32,
		[CRTOS_SEL_USER_DS / 8] = GDT_USER_DS,
		[CRTOS_SEL_USER_CS / 8] = GDT_USER_CS64,
		[CRTOS_SEL_TSS / 8] = GDT_TSS_LOW,
	},
};

_Static_assert(offsetof(struct x86_percpu, ev_ss) - offsetof(struct x86_percpu, ev_vector) == 6 * 8,
	       "the event record must mirror the hardware frame");
_Static_assert(CRTOS_SEL_TSS / 8 + 2 <= X86_GDT_ENTRIES, "GDT too small for the TSS descriptor");

/* The IST slot of vector v: hardware mode's NMI, #DF and #MC (asm/x86.h), else 0. */
static uint8_t x86_gate_ist(int v, bool hardware)
{
	if (!hardware)
		return 0;
	switch (v) {
	case X86_VEC_NMI:
		return X86_IST_NMI;
	case X86_VEC_DF:
		return X86_IST_DF;
	case X86_VEC_MC:
		return X86_IST_MC;
	default:
		return 0;
	}
}

/*
 * Interrupt gates for all 256 vectors. int3 is reachable from CPL 3 (it is
 * the service-call instruction); every other gate has DPL 0, so an `int n`
 * from ring 3 raises #GP instead.
 */
static void x86_idt_init(bool hardware)
{
	for (int v = 0; v < 256; v++) {
		uint64_t addr = (uint64_t)((hardware ? x86_vectors_hw : x86_vectors) + 16 * v);
		struct x86_idt_gate *g = &x86_idt[v];

		g->offset_low = (uint16_t)addr;
		g->selector = CRTOS_SEL_KERNEL_CS;
		g->ist = x86_gate_ist(v, hardware);
		g->type_attr = v == X86_VEC_BP ? 0xee : 0x8e;
		g->offset_mid = (uint16_t)(addr >> 16);
		g->offset_high = (uint32_t)(addr >> 32);
		g->reserved = 0;
	}
}

/*
 * The mode the VMM chose: where the kernel runs, so which selectors reflected
 * events land with, and whether kernel pages are the user's too.
 */
static void x86_mode_init(const struct crtos_boot_params *bp)
{
	bool hw = bp->cpu_mode == CRTOS_MODE_HARDWARE;

	x86_bsp_percpu.kernel_ring0 = hw;
	x86_bsp_percpu.ev_entry_cs = hw ? CRTOS_SEL_KERNEL_CS : CRTOS_SEL_USER_CS;
	x86_bsp_percpu.ev_entry_ss = hw ? CRTOS_SEL_KERNEL_DS : CRTOS_SEL_USER_DS;
	x86_pte_kernel_bits = hw ? 0 : X86_PTE_US;
	for (int i = 0; hw && i < X86_NR_IST; i++)
		x86_bsp_percpu.tss.ist[i] = (uint64_t)(x86_ist_stacks[i] + X86_IST_STACK_SIZE);
	x86_smap = hw && (x86_read_cr4() & X86_CR4_SMAP);
}

/* Whether SMAP guards program memory: the user-access windows' stac/clac (entry.S). */
bool x86_smap;

bool x86_hardware_mode(void)
{
	return this_cpu()->kernel_ring0;
}

/* First C code, on the boot stack (ring 3 under kvm_pvm, ring 0 in hardware mode). */
_Noreturn void x86_start(const struct crtos_boot_params *bp)
{
	x86_boot_params = bp;
	x86_mode_init(bp);
	x86_mmio_base = (uintptr_t)arch_phys_to_virt(bp->mmio_gpa);
	x86_bsp_percpu.panic_doorbell = x86_mmio_base + CRTOS_MMIO_PANIC;
	x86_idt_init(bp->cpu_mode == CRTOS_MODE_HARDWARE);
	/*
	 * The VMM starts the vCPU with IF clear; under kvm_pvm the iret to ring 3
	 * set it. Masking is the soft mask's job in both modes (arch_irq_save()),
	 * so from here on, with every gate in place, IF is clear only inside the
	 * nucleus and the system call entry's first instructions.
	 */
	if (bp->cpu_mode == CRTOS_MODE_HARDWARE)
		__asm__ volatile("sti" : : : "memory");
	kmain(bp);
}

uint64_t arch_boot_tsc(void)
{
	return x86_tsc_entry;
}

/*
 * Kernel code called at a program's page: a fault where SMEP is on (hardware
 * mode, where KVM offers it), a plain call otherwise (kvm_pvm: the kernel
 * runs at ring 3, where program pages are its own). The page holds `ret`.
 */
static __attribute__((noinline)) void x86_inject_exec_user(void)
{
	const vaddr_t va = 0x10000;
	paddr_t pa = pmm_alloc(0);
	bool smep = x86_hardware_mode() && (x86_read_cr4() & X86_CR4_SMEP);

	if (pa == PADDR_INVALID ||
	    aspace_map(kernel_aspace(), va, pa, PAGE_SIZE, MAP_READ | MAP_EXEC | MAP_USER)) {
		pr_err("fault injection: exec-user: no page to map\n");
		return;
	}
	*(volatile uint8_t *)arch_phys_to_virt(pa) = 0xc3;
	pr_info("fault injection: exec-user: calling a program page at %#lx (SMEP %s)\n",
		(unsigned long)va, smep ? "on" : "off");
	((void (*)(void))va)();
	pr_info("fault injection: exec-user: the kernel ran a program page's code\n");
	aspace_unmap(kernel_aspace(), va, PAGE_SIZE);
	pmm_free(pa, 0);
}

/*
 * Kernel code reading a program's page: through arch_copy_user (a user-access
 * window) it works in every mode; directly it faults where SMAP is on
 * (hardware mode, where KVM offers it) and works otherwise.
 */
static __attribute__((noinline)) void x86_inject_read_user(void)
{
	const vaddr_t va = 0x10000;
	paddr_t pa = pmm_alloc(0);
	uint64_t copied = 0;

	if (pa == PADDR_INVALID || aspace_map(kernel_aspace(), va, pa, PAGE_SIZE, MAP_READ | MAP_USER)) {
		pr_err("fault injection: read-user: no page to map\n");
		return;
	}
	*(volatile uint64_t *)arch_phys_to_virt(pa) = 0x5a5a5a5a5a5a5a5aull;
	if (arch_copy_user(&copied, (const void *)va, sizeof(copied)) || copied != 0x5a5a5a5a5a5a5a5aull)
		pr_err("fault injection: read-user: arch_copy_user failed to read a program page\n");
	else
		pr_info("fault injection: read-user: arch_copy_user read the program page (SMAP %s)\n",
			x86_smap ? "on" : "off");
	copied = *(volatile uint64_t *)va;
	pr_info("fault injection: read-user: the kernel read a program page directly: %#lx\n",
		(unsigned long)copied);
	aspace_unmap(kernel_aspace(), va, PAGE_SIZE);
	pmm_free(pa, 0);
}

/*
 * An exception with an unusable stack: in hardware mode its delivery faults
 * again, and the CPU raises #DF, which the IST gives a stack of its own;
 * under kvm_pvm the exception comes from ring 3 and switches to TSS.RSP0.
 */
static __attribute__((noinline)) void x86_inject_bad_stack(void)
{
	uint64_t bad = kernel_window_base() + CRTOS_KERNEL_WINDOW - PAGE_SIZE / 2;

	__asm__ volatile("movq %0, %%rsp\n\tud2" : : "r"(bad) : "memory");
}

bool arch_inject_fault(const char *kind)
{
	if (!strcmp(kind, "exec-user"))
		x86_inject_exec_user();
	else if (!strcmp(kind, "read-user"))
		x86_inject_read_user();
	else if (!strcmp(kind, "bad-stack"))
		x86_inject_bad_stack();
	else if (!strcmp(kind, "ring0"))
		x86_svc(X86_SVC_WRMSR, 0xdeadbeef, 0);	/* #GP inside the nucleus: not reflectable */
	else if (!strcmp(kind, "gp"))	/* #GP in kernel code, no fixup: privileged at ring 3, */
		__asm__ volatile("wrmsr" : : "c"(0xdeadbeef), "a"(0), "d"(0));	/* no MSR at ring 0 */
	else
		return false;
	return true;
}
