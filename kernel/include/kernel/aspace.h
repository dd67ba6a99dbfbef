/* SPDX-License-Identifier: MIT */
/*
 * Address spaces: page tables, portable over the arch's entry format
 * (asm/pte.h). Mappings use the largest page the alignment of va, pa and
 * the remaining size allow (2 MiB or 4 KiB on x86-64), unless MAP_SMALL.
 * Page-table pages come from the page allocator; unmapping frees those it
 * empties. Not for the real-time path (allocates).
 */
#ifndef KERNEL_ASPACE_H
#define KERNEL_ASPACE_H

#include <kernel/arch.h>
#include <kernel/mmflags.h>

#define MAP_SMALL	0x100u	/* aspace_map: only base pages */

struct aspace {
	paddr_t root;			/* top-level table */
};

/* An empty address space. -ENOMEM if no page for the root. */
int aspace_init(struct aspace *as);

/*
 * Map [va, va + size) to [pa, pa + size) with MAP_* flags. All page-aligned.
 * Fails with -EEXIST if anything in the range is mapped already, -ENOMEM
 * when out of page-table pages; on failure nothing of the range is mapped.
 */
int aspace_map(struct aspace *as, vaddr_t va, paddr_t pa, size_t size, unsigned int flags);

/*
 * Unmap [va, va + size), page-aligned; holes are fine. A large page that is
 * only partly covered is split first. Flushes the TLB. -ENOMEM if a split
 * needs a page-table page and there is none (then nothing is unmapped).
 */
int aspace_unmap(struct aspace *as, vaddr_t va, size_t size);

/*
 * Change the flags of every mapped page in [va, va + size), page-aligned;
 * holes are skipped. Large pages partly covered are split. Flushes the TLB.
 * -ENOMEM if a split finds no page-table page (then nothing changed).
 */
int aspace_protect(struct aspace *as, vaddr_t va, size_t size, unsigned int flags);

/* Translate va: 0 with *pa (of va itself) and *flags, or -ENOENT. */
int aspace_query(const struct aspace *as, vaddr_t va, paddr_t *pa, unsigned int *flags);

/*
 * Make [va, va + size) of dst use the same page tables as src, sharing the
 * top-level entries (va and size aligned to a top-level entry). Later
 * changes under those entries show in both. Used for the kernel window.
 */
void aspace_share(struct aspace *dst, const struct aspace *src, vaddr_t va, size_t size);

/* Free every page-table page below the kernel window, and the root. */
void aspace_destroy(struct aspace *as);

/* Page-table pages currently allocated by all address spaces. */
size_t aspace_table_pages(void);

#endif
