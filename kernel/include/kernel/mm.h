/* SPDX-License-Identifier: MIT */
/* Memory at boot (kernel/mm/mm.c): the page allocator, the heap and the kernel's page tables. */
#ifndef KERNEL_MM_H
#define KERNEL_MM_H

#include <kernel/aspace.h>
#include <crtos/boot.h>

/*
 * Set up the page allocator over the boot params' memory map, the heap, and
 * the kernel address space (direct map of RAM with W^X for the kernel image,
 * the MMIO window uncached), and switch to it. -EINVAL on a bad map.
 */
int mm_init(const struct crtos_boot_params *bp);

/*
 * Adopt RAM the VMM has populated since the last call (comm.ram_ready).
 * Returns the number of bytes added. Cheap when there is nothing new.
 */
size_t mm_poll_late_ram(void);

/* Wait (polling) until all RAM is adopted, at most timeout_ns. Returns true if it is. */
bool mm_wait_all_ram(uint64_t timeout_ns);

/* Whether the VMM is still populating RAM the allocator will get. */
bool mm_ram_pending(void);

/* The kernel's address space, whose window every address space shares. */
struct aspace *kernel_aspace(void);

/*
 * The kernel window: guest-physical 0 and up, CRTOS_KERNEL_WINDOW long. Its
 * base depends on the mode (crtos/abi.h); only the arch knows it.
 */
static inline vaddr_t kernel_window_base(void)
{
	return (vaddr_t)arch_phys_to_virt(0);
}

static inline bool is_kernel_window_address(uint64_t va)
{
	return va - kernel_window_base() < CRTOS_KERNEL_WINDOW;
}

#endif
