// SPDX-License-Identifier: MIT
/*
 * The guest at its first instruction (crtos/boot.h): memory map, boot
 * parameters, comm page, log ring, boot page tables, GDT, and the vCPU's
 * 64-bit entry state set directly with KVM_SET_SREGS (no firmware, no real
 * mode). Guest-physical layout:
 *
 *	0x0000     unused (the kernel leaves page 0 unmapped)
 *	0x1000     boot params        0x2000  comm page    0x3000  clock page
 *	0x4000     boot GDT           0x5000  boot page tables (PML4, PDPT, PDs)
 *	2 MiB      kernel image, then the log ring, then free RAM
 *	boot_mem   RAM still being populated at boot (CRTOS_MEM_LATE)
 *	mem_size   the hypercall window (CRTOS_MMIO_SIZE), no RAM behind it
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <crtos/mmio.h>
#include "internal.h"

#define PTE_P	0x001ull
#define PTE_RW	0x002ull
#define PTE_US	0x004ull
#define PTE_PS	0x080ull

#define CR0_PE	(1ull << 0)
#define CR0_MP	(1ull << 1)
#define CR0_ET	(1ull << 4)
#define CR0_NE	(1ull << 5)
#define CR0_WP	(1ull << 16)
#define CR0_AM	(1ull << 18)
#define CR0_PG	(1ull << 31)
#define CR4_PAE	(1ull << 5)
#define CR4_PGE	(1ull << 7)
#define CR4_OSFXSR	(1ull << 9)
#define CR4_OSXMMEXCPT	(1ull << 10)
#define CR4_FSGSBASE	(1ull << 16)
#define CR4_OSXSAVE	(1ull << 18)
#define CR4_SMEP	(1ull << 20)
#define CR4_SMAP	(1ull << 21)
#define EFER_SCE	(1ull << 0)
#define EFER_LME	(1ull << 8)
#define EFER_LMA	(1ull << 10)
#define EFER_NXE	(1ull << 11)

static void *gpa(struct cell *c, uint64_t addr)
{
	return c->mem + addr;
}

static void boot_add_region(struct crtos_boot_params *bp, uint64_t start, uint64_t end,
			    enum crtos_mem_type type)
{
	if (end > start && bp->nr_regions < CRTOS_MAX_MEM_REGIONS)
		bp->regions[bp->nr_regions++] = (struct crtos_mem_region){
			.gpa = start, .size = end - start, .type = type,
		};
}

static void boot_fill_params(struct cell *c)
{
	struct crtos_boot_params *bp = c->bp;
	uint64_t kernel_end = (c->img.load_end + 4095) & ~4095ull;

	bp->magic = CRTOS_BOOT_MAGIC;
	bp->abi_version = CRTOS_ABI_VERSION;
	bp->size = sizeof(*bp);
	bp->mem_size = c->mem_size;
	bp->log_gpa = c->log_gpa;
	bp->log_size = c->log_bytes;
	bp->mmio_gpa = c->mmio_gpa;
	bp->mmio_size = CRTOS_MMIO_SIZE;
	bp->idle_mode = c->idle == VMM_IDLE_POLL ? CRTOS_IDLE_POLL : CRTOS_IDLE_HALT;
	bp->idle_spin_us = c->cfg.idle_spin_us ? c->cfg.idle_spin_us : 200;
	bp->host_cpu = (uint32_t)c->cpu;
	bp->xcr0 = c->guest.xcr0;
	bp->cpu_mode = c->guest.mode;
	bp->kernel_base = crtos_kernel_base(c->guest.mode);
	boot_add_region(bp, 0, CRTOS_GPA_KERNEL, CRTOS_MEM_BOOT);
	boot_add_region(bp, CRTOS_GPA_KERNEL, kernel_end, CRTOS_MEM_KERNEL);
	boot_add_region(bp, c->log_gpa, c->log_gpa + c->log_bytes, CRTOS_MEM_LOG);
	boot_add_region(bp, c->log_gpa + c->log_bytes, c->boot_mem, CRTOS_MEM_FREE);
	boot_add_region(bp, c->boot_mem, c->mem_size, CRTOS_MEM_LATE);
	boot_add_region(bp, c->mmio_gpa, c->mmio_gpa + CRTOS_MMIO_SIZE, CRTOS_MEM_MMIO);
	snprintf(bp->cmdline, sizeof(bp->cmdline), "%s", c->cfg.cmdline ? c->cfg.cmdline : "");
}

/*
 * Map [0, mem_size + 2 MiB) (RAM and the hypercall window) at the kernel
 * window's base with 2 MiB pages; user-accessible only under kvm_pvm, where
 * the kernel runs at ring 3. One PDPT (512 GiB), one page directory per GiB.
 */
static int boot_page_tables(struct cell *c, struct vmm_err *err)
{
	uint64_t span = c->mem_size + 2 * MiB;
	uint64_t nr_pd = (span + GiB - 1) / GiB;
	uint64_t pml4 = CRTOS_GPA_BOOT_PT, pdpt = pml4 + 4096, pd0 = pdpt + 4096;
	uint64_t *pml4e = gpa(c, pml4), *pdpte = gpa(c, pdpt);
	unsigned int top = (unsigned int)((c->bp->kernel_base >> 39) & 511);
	uint64_t us = c->guest.mode == CRTOS_MODE_PVM ? PTE_US : 0;

	if (pd0 + nr_pd * 4096 > CRTOS_GPA_KERNEL)
		return vmm_fail(err, -E2BIG, "too much memory for the boot page tables");
	pml4e[top] = pdpt | PTE_P | PTE_RW | us;
	for (uint64_t g = 0; g < nr_pd; g++) {
		uint64_t *pde = gpa(c, pd0 + g * 4096);

		pdpte[g] = (pd0 + g * 4096) | PTE_P | PTE_RW | us;
		for (uint64_t i = 0; i < 512 && g * GiB + i * 2 * MiB < span; i++)
			pde[i] = (g * GiB + i * 2 * MiB) | PTE_P | PTE_RW | us | PTE_PS;
	}
	c->bp->boot_pt_end = pd0 + nr_pd * 4096;
	return 0;
}

static void boot_gdt(struct cell *c)
{
	uint64_t *gdt = gpa(c, CRTOS_GPA_BOOT_GDT);

	gdt[CRTOS_SEL_KERNEL_CS / 8] = 0x00af9b000000ffffull;	/* 64-bit code, DPL 0 */
	gdt[CRTOS_SEL_KERNEL_DS / 8] = 0x00cf93000000ffffull;	/* data, DPL 0 */
}

static int boot_vcpu_state(struct cell *c, struct vmm_err *err)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = CRTOS_SEL_KERNEL_CS,
		.type = 11, .present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = CRTOS_SEL_KERNEL_DS,
		.type = 3, .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment tr = {
		.base = 0, .limit = 0x67, .selector = 0, .type = 11, .present = 1, .s = 0,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = c->bp->kernel_base + c->img.entry,
		.rdi = c->bp->kernel_base + CRTOS_GPA_BOOT_PARAMS,
		.rflags = 2,
	};

	if (ioctl(c->vcpu_fd, KVM_GET_SREGS, &sregs))
		return vmm_fail(err, -errno, "KVM_GET_SREGS failed: %s", strerror(errno));
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;
	sregs.cr3 = CRTOS_GPA_BOOT_PT;
	sregs.cr4 = CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_FSGSBASE;
	if (c->guest.xsave)
		sregs.cr4 |= CR4_OSXSAVE;	/* the kernel loads XCR0 = boot_params.xcr0 */
	if (c->guest.smep)
		sregs.cr4 |= CR4_SMEP;
	if (c->guest.smap)
		sregs.cr4 |= CR4_SMAP;
	sregs.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = tr;
	sregs.gdt.base = c->bp->kernel_base + CRTOS_GPA_BOOT_GDT;
	sregs.gdt.limit = 4095;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	if (ioctl(c->vcpu_fd, KVM_SET_SREGS, &sregs))
		return vmm_fail(err, -errno, "KVM_SET_SREGS (64-bit entry state) failed: %s",
				strerror(errno));
	if (ioctl(c->vcpu_fd, KVM_SET_REGS, &regs))
		return vmm_fail(err, -errno, "KVM_SET_REGS failed: %s", strerror(errno));
	return 0;
}

int boot_setup(struct cell *c, struct vmm_err *err)
{
	int ret;

	c->bp = gpa(c, CRTOS_GPA_BOOT_PARAMS);
	c->comm = gpa(c, CRTOS_GPA_COMM);
	c->clock = gpa(c, CRTOS_GPA_CLOCK);
	c->log = gpa(c, c->log_gpa);
	if (!crtos_log_init(c->log, c->log_bytes))
		return vmm_fail(err, -EINVAL, "log ring of %llu bytes is too small",
				(unsigned long long)c->log_bytes);
	crtos_log_reader_init(&c->reader, c->log);
	c->comm->ram_ready = c->boot_mem;
	boot_fill_params(c);
	boot_gdt(c);
	ret = boot_page_tables(c, err);
	ret = ret ?: vmm_image_load(&c->img, c->mem, c->mem_size, c->bp->kernel_base, err);
	ret = ret ?: clock_setup(c, err);
	ret = ret ?: boot_vcpu_state(c, err);
	return ret;
}
