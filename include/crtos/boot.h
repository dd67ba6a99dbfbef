/* SPDX-License-Identifier: MIT */
/*
 * VMM -> kernel hand-off: the kernel image header and the boot parameters.
 *
 * Entry state, both modes (the VMM sets it with KVM_SET_SREGS/KVM_SET_REGS; see
 * docs/architecture.md, "Boot"): 64-bit mode, CPL 0, interrupts off,
 * CR3 = CRTOS_GPA_BOOT_PT, which maps guest RAM and the MMIO window at
 * kernel_base + GPA with 2 MiB pages (RWX; U=1 under kvm_pvm), where
 * kernel_base = crtos_kernel_base(mode) and the VMM has relocated the
 * image (it is linked at its GPA, and every R_X86_64_RELATIVE entry of
 * .rela.dyn has had kernel_base added). GDTR points at a
 * minimal flat GDT at CRTOS_GPA_BOOT_GDT; the kernel loads its own GDT,
 * IDT and TSS at once. RIP = ELF entry, RSP = 0 (the kernel sets its stack),
 * RDI = kernel_base + CRTOS_GPA_BOOT_PARAMS.
 */
#ifndef CRTOS_BOOT_H
#define CRTOS_BOOT_H

#include <crtos/abi.h>

/*
 * In the kernel ELF, section ".crtos.header". Written at build time; the VMM
 * reads it before loading anything and refuses an image whose magic or ABI
 * version differs from its own.
 */
#define CRTOS_IMAGE_MAGIC	0x534f545243ull	/* "CRTOS" */

struct crtos_image_header {
	uint64_t magic;			/* CRTOS_IMAGE_MAGIC */
	uint32_t abi_version;		/* CRTOS_ABI_VERSION of the kernel */
	uint32_t header_size;		/* sizeof(struct crtos_image_header) */
	uint64_t link_base;		/* 0: linked at its GPA, relocated by the VMM */
	uint64_t load_gpa;		/* CRTOS_GPA_KERNEL */
	uint64_t min_mem;		/* smallest RAM size the kernel can boot in */
};

/* Memory map entry types. */
enum crtos_mem_type {
	CRTOS_MEM_FREE = 1,	/* usable RAM, populated and locked by the VMM */
	CRTOS_MEM_LATE,		/* usable RAM, still being populated: see comm.ram_ready */
	CRTOS_MEM_BOOT,		/* boot params, comm, clock page, boot page tables */
	CRTOS_MEM_KERNEL,	/* the kernel image (all PT_LOAD segments) */
	CRTOS_MEM_LOG,		/* the log ring */
	CRTOS_MEM_MMIO,		/* the hypercall window: no RAM behind it */
};

struct crtos_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint32_t type;			/* enum crtos_mem_type */
	uint32_t reserved;
};

/* Idle policy for the kernel's idle loop (boot_params.idle_mode). */
enum crtos_idle_mode {
	CRTOS_IDLE_POLL = 1,	/* spin on shared memory and the TSC, never halt */
	CRTOS_IDLE_HALT,	/* spin for idle_spin_us, then halt until an interrupt */
};

/*
 * Where the kernel runs (boot_params.cpu_mode), decided by the VMM from the
 * KVM it found (docs/architecture.md, "Two modes").
 */
enum crtos_cpu_mode {
	CRTOS_MODE_PVM = 1,	/* kvm_pvm: guest ring 0 is emulated; kernel at ring 3, nucleus at ring 0 */
	CRTOS_MODE_HARDWARE,	/* VT-x/AMD-V: kernel at ring 0, programs at ring 3, as on bare metal */
};

/* Where the kernel window starts in each mode (see crtos/abi.h). */
static inline uint64_t crtos_kernel_base(uint32_t cpu_mode)
{
	return cpu_mode == CRTOS_MODE_HARDWARE ? CRTOS_KERNEL_BASE_HARDWARE : CRTOS_KERNEL_BASE_PVM;
}

#define CRTOS_BOOT_MAGIC	0x544f4f42534f5452ull	/* "RTOSBOOT" */
#define CRTOS_MAX_MEM_REGIONS	16
#define CRTOS_CMDLINE_MAX	1024

/* At CRTOS_GPA_BOOT_PARAMS. Written by the VMM before the vCPU starts; read-only for the kernel. */
struct crtos_boot_params {
	uint64_t magic;			/* CRTOS_BOOT_MAGIC */
	uint32_t abi_version;		/* CRTOS_ABI_VERSION */
	uint32_t size;			/* sizeof(struct crtos_boot_params) */

	uint64_t mem_size;		/* bytes of RAM at GPA 0 */
	uint64_t log_gpa;		/* struct crtos_log_ring */
	uint64_t log_size;		/* bytes, including the ring header */
	uint64_t mmio_gpa;		/* hypercall window, see crtos/mmio.h */
	uint64_t mmio_size;
	uint64_t boot_pt_end;		/* first GPA after the boot page tables */

	uint32_t idle_mode;		/* enum crtos_idle_mode */
	uint32_t idle_spin_us;		/* CRTOS_IDLE_HALT: spin this long before halting */
	uint32_t host_cpu;		/* Linux CPU the vCPU thread is pinned to */
	uint32_t nr_regions;

	/*
	 * The guest's XSAVE features (CPUID leaf 0xD of KVM_GET_SUPPORTED_CPUID,
	 * restricted to the user state crtos handles): the XCR0 a kernel at
	 * ring 0 loads. 0: KVM offers no XSAVE, CR4.OSXSAVE is clear, the kernel
	 * uses FXSAVE. A kernel at ring 3 (kvm_pvm) runs under the host's XCR0
	 * and only reports this. Written by the VMM.
	 */
	uint64_t xcr0;
	uint32_t cpu_mode;		/* enum crtos_cpu_mode */
	uint32_t reserved;
	uint64_t kernel_base;		/* crtos_kernel_base(cpu_mode): where GPA 0 is mapped */

	struct crtos_mem_region regions[CRTOS_MAX_MEM_REGIONS];
	char cmdline[CRTOS_CMDLINE_MAX];	/* NUL-terminated, space-separated words */
};

_Static_assert(sizeof(struct crtos_boot_params) <= 4096, "boot params must fit one page");

#endif
