/* SPDX-License-Identifier: MIT */
/*
 * The physical page allocator: a binary buddy allocator over guest RAM.
 * Blocks are 2^order pages, order 0 .. PMM_MAX_ORDER, naturally aligned.
 * Allocation and free take O(PMM_MAX_ORDER) steps, whatever the state: no
 * search, no unbounded loop. Any context; interrupts are masked inside.
 */
#ifndef KERNEL_PMM_H
#define KERNEL_PMM_H

#include <kernel/types.h>

#define PMM_MAX_ORDER	10		/* largest block: 4 MiB */
#define PADDR_INVALID	((paddr_t)-1)

/* Per-page metadata, one per page of RAM (16 bytes). */
struct page {
	uint32_t next, prev;		/* list links (page indices); pmm free lists or kmem slab lists */
	uint16_t flags;			/* PG_* */
	uint8_t order;			/* order of the block this page heads */
	uint8_t slab_class;		/* kmem: size class of the slab */
	uint16_t slab_inuse;		/* kmem: objects handed out */
	uint16_t slab_free;		/* kmem: offset of the first free object, or KMEM_NONE */
};

#define PG_FREE		0x1		/* heads a free block of 2^order pages */
#define PG_ALLOCATED	0x2		/* heads a block pmm_alloc() returned */
#define PG_SLAB		0x4		/* kmem: a slab page */
#define PG_LARGE	0x8		/* kmem: heads an allocation of 2^order pages */

#define PMM_NIL		0xffffffffu	/* end of a page list */

/*
 * Take over the metadata array for nr_pages pages of RAM starting at
 * guest-physical 0. All pages start reserved; pmm_add() frees them.
 */
void pmm_init(struct page *pages, size_t nr_pages);

/* Make [start, start + size) available; both page-aligned, inside RAM, not yet added. */
void pmm_add(paddr_t start, size_t size);

/* Allocate 2^order contiguous pages, aligned to their size; PADDR_INVALID if none. */
paddr_t pmm_alloc(unsigned int order);

/*
 * fn is called when an allocation finds nothing free; it returns true if
 * it added memory (then the allocation is tried again, and fn called again
 * while it still finds nothing). Any context.
 */
void pmm_set_refill(bool (*fn)(void));

/*
 * Free a block pmm_alloc() returned, with the same order. Panics when pa
 * does not head an allocated block (a double free, or a wrong address).
 */
void pmm_free(paddr_t pa, unsigned int order);

/*
 * Allocate up to 2^order contiguous pages, each of which is then freed on
 * its own with pmm_free(pa, 0). Falls back to smaller blocks: *npages says
 * how many pages the block has. PADDR_INVALID when memory is exhausted.
 */
paddr_t pmm_alloc_pages(unsigned int order, size_t *npages);

/* Pages currently free, and pages ever added. */
size_t pmm_free_pages(void);
size_t pmm_total_pages(void);

/* Metadata of the page at pa (which must be RAM). */
struct page *pmm_page(paddr_t pa);
paddr_t pmm_page_addr(const struct page *pg);

/* Smallest order whose block holds size bytes. */
unsigned int pmm_order_for(size_t size);

#endif
