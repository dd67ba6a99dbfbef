// SPDX-License-Identifier: MIT
/*
 * Boot-time memory setup. The VMM's memory map (boot params) is checked,
 * not trusted blindly: every region must lie in RAM, be page-aligned and not
 * overlap the kernel image. The page metadata array is carved from the first
 * free region large enough. RAM the VMM is still populating (CRTOS_MEM_LATE)
 * joins the allocator as comm.ram_ready advances.
 */
#include <kernel/arch.h>
#include <kernel/clock.h>
#include <kernel/kernel.h>
#include <kernel/kmem.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <kernel/printk.h>
#include <crtos/mmio.h>

extern const char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern const char __data_start[], __kernel_end[];

static struct aspace mm_kernel_as;
static paddr_t mm_late_start, mm_late_end, mm_late_added;

struct aspace *kernel_aspace(void)
{
	return &mm_kernel_as;
}

static int mm_check_regions(const struct crtos_boot_params *bp)
{
	if (bp->nr_regions > CRTOS_MAX_MEM_REGIONS || !IS_ALIGNED(bp->mem_size, HUGE_SIZE))
		return -EINVAL;
	for (uint32_t i = 0; i < bp->nr_regions; i++) {
		const struct crtos_mem_region *r = &bp->regions[i];

		if (!IS_ALIGNED(r->gpa | r->size, PAGE_SIZE) || r->gpa + r->size < r->gpa)
			return -EINVAL;
		if (r->type != CRTOS_MEM_MMIO && r->gpa + r->size > bp->mem_size)
			return -EINVAL;
	}
	return 0;
}

/* Place the page metadata in a free region; returns its address or PADDR_INVALID. */
static paddr_t mm_place_metadata(const struct crtos_boot_params *bp, size_t bytes)
{
	for (uint32_t i = 0; i < bp->nr_regions; i++)
		if (bp->regions[i].type == CRTOS_MEM_FREE && bp->regions[i].size >= bytes)
			return bp->regions[i].gpa;
	return PADDR_INVALID;
}

static void mm_add_free(const struct crtos_boot_params *bp, paddr_t meta, size_t meta_size)
{
	for (uint32_t i = 0; i < bp->nr_regions; i++) {
		const struct crtos_mem_region *r = &bp->regions[i];

		if (r->type == CRTOS_MEM_LATE) {
			mm_late_start = mm_late_added = r->gpa;
			mm_late_end = r->gpa + r->size;
		}
		if (r->type != CRTOS_MEM_FREE)
			continue;
		if (r->gpa == meta) {
			if (r->size > meta_size)
				pmm_add(r->gpa + meta_size, r->size - meta_size);
		} else {
			pmm_add(r->gpa, r->size);
		}
	}
}

static paddr_t pa_of(const void *va)
{
	return arch_virt_to_phys(va);
}

/* Map [start, end) of RAM (physical) into the direct map with flags. */
static int mm_map_direct(paddr_t start, paddr_t end, unsigned int flags)
{
	if (end <= start)
		return 0;
	return aspace_map(&mm_kernel_as, (vaddr_t)arch_phys_to_virt(start), start, end - start,
			  flags);
}

static int mm_build_kernel_aspace(const struct crtos_boot_params *bp)
{
	paddr_t text = pa_of(__text_start), text_end = pa_of(__text_end);
	paddr_t ro = pa_of(__rodata_start), ro_end = pa_of(__rodata_end);
	paddr_t data = pa_of(__data_start), end = ALIGN_UP(pa_of(__kernel_end), PAGE_SIZE);
	int err;

	err = aspace_init(&mm_kernel_as);
	/* Page 0 stays unmapped. */
	err = err ?: mm_map_direct(PAGE_SIZE, text, MAP_KERNEL_RW);
	err = err ?: mm_map_direct(text, text_end, MAP_KERNEL_RX | MAP_SMALL);
	err = err ?: mm_map_direct(ro, ro_end, MAP_KERNEL_RO | MAP_SMALL);
	err = err ?: mm_map_direct(data, end, MAP_KERNEL_RW | MAP_SMALL);
	err = err ?: mm_map_direct(end, bp->mem_size, MAP_KERNEL_RW);
	err = err ?: aspace_map(&mm_kernel_as, (vaddr_t)arch_phys_to_virt(bp->mmio_gpa),
				bp->mmio_gpa, bp->mmio_size, MAP_KERNEL_RW | MAP_UNCACHED);
	if (err)
		return err;
	arch_aspace_activate(mm_kernel_as.root);
	return 0;
}

/*
 * Out of memory early after boot: the rest of RAM may still be on its way
 * from the VMM. Wait for its next chunk (up to 10 s), not for all of it:
 * true as soon as some arrived, and the allocator tries again. (Waiting for
 * all of it failed an exec in the loaded test VM, where populating 256 MiB
 * took longer than 10 s, though RAM had arrived meanwhile.)
 */
static bool mm_refill_from_late_ram(void)
{
	uint64_t start = arch_read_tsc(), limit = clock_ns_to_cycles(10 * NSEC_PER_SEC);

	while (mm_ram_pending() && arch_read_tsc() - start < limit) {
		if (mm_poll_late_ram())
			return true;
		arch_cpu_relax();
	}
	return false;
}

int mm_init(const struct crtos_boot_params *bp)
{
	size_t nr_pages = bp->mem_size >> PAGE_SHIFT;
	size_t meta_size = ALIGN_UP(nr_pages * sizeof(struct page), PAGE_SIZE);
	paddr_t meta;
	int err;

	err = mm_check_regions(bp);
	if (err)
		return err;
	meta = mm_place_metadata(bp, meta_size);
	if (meta == PADDR_INVALID)
		return -ENOMEM;
	pmm_init(arch_phys_to_virt(meta), nr_pages);
	pmm_set_refill(mm_refill_from_late_ram);
	mm_add_free(bp, meta, meta_size);
	kmem_init();
	err = mm_build_kernel_aspace(bp);
	if (err)
		return err;
	mm_poll_late_ram();
	return 0;
}

bool mm_ram_pending(void)
{
	return mm_late_added < mm_late_end;
}

bool mm_wait_all_ram(uint64_t timeout_ns)
{
	uint64_t start = arch_read_tsc(), limit = clock_ns_to_cycles(timeout_ns);

	while (mm_late_added < mm_late_end && arch_read_tsc() - start < limit) {
		mm_poll_late_ram();
		arch_cpu_relax();
	}
	return mm_late_added == mm_late_end;
}

size_t mm_poll_late_ram(void)
{
	struct crtos_comm *comm = kernel_comm();
	paddr_t ready = __atomic_load_n(&comm->ram_ready, __ATOMIC_ACQUIRE);
	unsigned long flags;
	size_t added = 0;
	bool all;

	if (ready > mm_late_end)
		ready = mm_late_end;
	ready = ALIGN_DOWN(ready, PAGE_SIZE);
	/*
	 * Masked from the look at mm_late_added to its update: the idle loop
	 * and any thread waiting for RAM (pmm's refill, from a system call)
	 * poll, and one preempted between the two would see the other add the
	 * same chunk again: pages in the allocator twice, handed out twice.
	 */
	flags = arch_irq_save();
	if (ready > mm_late_added) {
		added = ready - mm_late_added;
		pmm_add(mm_late_added, added);
		mm_late_added = ready;
		WRITE_ONCE(comm->ram_in_use, pmm_total_pages() * PAGE_SIZE);
	}
	all = added && mm_late_added == mm_late_end;
	arch_irq_restore(flags);
	if (all)
		pr_info("memory: all %lu MiB of RAM ready\n",
			(unsigned long)(kernel_boot_params()->mem_size >> 20));
	return added;
}
