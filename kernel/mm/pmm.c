// SPDX-License-Identifier: MIT
/*
 * Binary buddy allocator. A free block is represented by its first page,
 * flagged PG_FREE with its order, on the free list of that order; its buddy
 * is the block whose index differs in bit `order`. Freeing merges with the
 * buddy while the buddy is a free block of the same order. Pages that were
 * never added (boot structures, the kernel image) are never PG_FREE, so
 * nothing merges into them.
 */
#include <kernel/arch.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>

static struct page *pmm_pages;
static size_t pmm_nr_pages;
static uint32_t pmm_free_head[PMM_MAX_ORDER + 1];
static size_t pmm_nr_free, pmm_nr_total;

static uint32_t pmm_index(const struct page *pg)
{
	return (uint32_t)(pg - pmm_pages);
}

static void pmm_list_push(uint32_t idx, unsigned int order)
{
	struct page *pg = &pmm_pages[idx];

	pg->flags = PG_FREE;
	pg->order = (uint8_t)order;
	pg->prev = PMM_NIL;
	pg->next = pmm_free_head[order];
	if (pg->next != PMM_NIL)
		pmm_pages[pg->next].prev = idx;
	pmm_free_head[order] = idx;
}

static void pmm_list_remove(uint32_t idx, unsigned int order)
{
	struct page *pg = &pmm_pages[idx];

	if (pg->prev != PMM_NIL)
		pmm_pages[pg->prev].next = pg->next;
	else
		pmm_free_head[order] = pg->next;
	if (pg->next != PMM_NIL)
		pmm_pages[pg->next].prev = pg->prev;
	pg->flags = 0;
}

void pmm_init(struct page *pages, size_t nr_pages)
{
	pmm_pages = pages;
	pmm_nr_pages = nr_pages;
	for (size_t i = 0; i < nr_pages; i++)
		pages[i] = (struct page){ .next = PMM_NIL, .prev = PMM_NIL };
	for (unsigned int o = 0; o <= PMM_MAX_ORDER; o++)
		pmm_free_head[o] = PMM_NIL;
	pmm_nr_free = pmm_nr_total = 0;
}

/* Put a block on the free lists, merging with free buddies. Masked. */
static void pmm_release(uint32_t idx, unsigned int order)
{
	while (order < PMM_MAX_ORDER) {
		uint32_t buddy = idx ^ (1u << order);
		struct page *b = &pmm_pages[buddy];

		if (buddy + (1u << order) > pmm_nr_pages || !(b->flags & PG_FREE) || b->order != order)
			break;
		pmm_list_remove(buddy, order);
		idx &= ~(1u << order);
		order++;
	}
	pmm_list_push(idx, order);
}

void pmm_add(paddr_t start, size_t size)
{
	uint32_t idx = (uint32_t)(start >> PAGE_SHIFT);
	uint32_t end = (uint32_t)((start + size) >> PAGE_SHIFT);
	unsigned long flags;

	ASSERT(IS_ALIGNED(start, PAGE_SIZE) && IS_ALIGNED(size, PAGE_SIZE));
	ASSERT(end <= pmm_nr_pages);
	flags = arch_irq_save();
	while (idx < end) {
		unsigned int order = PMM_MAX_ORDER;

		while (order && (!IS_ALIGNED(idx, 1u << order) || idx + (1u << order) > end))
			order--;
		pmm_release(idx, order);
		idx += 1u << order;
		pmm_nr_free += 1u << order;
		pmm_nr_total += 1u << order;
	}
	arch_irq_restore(flags);
}

static bool (*pmm_refill)(void);

void pmm_set_refill(bool (*fn)(void))
{
	pmm_refill = fn;
}

/* A free block of exactly order, or PADDR_INVALID. */
static paddr_t pmm_take(unsigned int order)
{
	unsigned long flags;
	unsigned int o;
	uint32_t idx;

	if (order > PMM_MAX_ORDER)
		return PADDR_INVALID;
	flags = arch_irq_save();
	for (o = order; o <= PMM_MAX_ORDER && pmm_free_head[o] == PMM_NIL; o++)
		;
	if (o > PMM_MAX_ORDER) {
		arch_irq_restore(flags);
		return PADDR_INVALID;
	}
	idx = pmm_free_head[o];
	pmm_list_remove(idx, o);
	while (o > order) {
		o--;
		pmm_list_push(idx + (1u << o), o);
	}
	pmm_pages[idx].order = (uint8_t)order;
	pmm_pages[idx].flags = PG_ALLOCATED;
	pmm_nr_free -= 1u << order;
	arch_irq_restore(flags);
	return (paddr_t)idx << PAGE_SHIFT;
}

paddr_t pmm_alloc(unsigned int order)
{
	paddr_t pa = pmm_take(order);

	while (pa == PADDR_INVALID && pmm_refill && pmm_refill())	/* RAM arrived: again */
		pa = pmm_take(order);
	return pa;
}

/* The largest block up to order that is free, split into single pages. */
static paddr_t pmm_take_pages(unsigned int order, size_t *npages)
{
	for (int o = (int)MIN(order, PMM_MAX_ORDER); o >= 0; o--) {
		paddr_t pa = pmm_take((unsigned int)o);
		unsigned long flags;

		if (pa == PADDR_INVALID)
			continue;
		flags = arch_irq_save();
		for (uint32_t i = 0; i < 1u << o; i++) {
			pmm_pages[(pa >> PAGE_SHIFT) + i].flags = PG_ALLOCATED;
			pmm_pages[(pa >> PAGE_SHIFT) + i].order = 0;
		}
		arch_irq_restore(flags);
		*npages = 1ul << o;
		return pa;
	}
	*npages = 0;
	return PADDR_INVALID;
}

paddr_t pmm_alloc_pages(unsigned int order, size_t *npages)
{
	paddr_t pa = pmm_take_pages(order, npages);

	while (pa == PADDR_INVALID && pmm_refill && pmm_refill())
		pa = pmm_take_pages(order, npages);
	return pa;
}

void pmm_free(paddr_t pa, unsigned int order)
{
	uint32_t idx = (uint32_t)(pa >> PAGE_SHIFT);
	unsigned long flags;

	ASSERT(order <= PMM_MAX_ORDER && IS_ALIGNED(pa, PAGE_SIZE << order));
	ASSERT(idx + (1u << order) <= pmm_nr_pages);
	flags = arch_irq_save();
	if (!(pmm_pages[idx].flags & PG_ALLOCATED) || pmm_pages[idx].order != order)
		panic("pmm_free(%#lx, order %u): not an allocated block of that order (double free?)",
		      (unsigned long)pa, order);
	pmm_pages[idx].flags = 0;
	pmm_release(idx, order);
	pmm_nr_free += 1u << order;
	arch_irq_restore(flags);
}

size_t pmm_free_pages(void)
{
	return pmm_nr_free;
}

size_t pmm_total_pages(void)
{
	return pmm_nr_total;
}

struct page *pmm_page(paddr_t pa)
{
	ASSERT((pa >> PAGE_SHIFT) < pmm_nr_pages);
	return &pmm_pages[pa >> PAGE_SHIFT];
}

paddr_t pmm_page_addr(const struct page *pg)
{
	return (paddr_t)pmm_index(pg) << PAGE_SHIFT;
}

unsigned int pmm_order_for(size_t size)
{
	unsigned int order = 0;

	while ((PAGE_SIZE << order) < size)
		order++;
	return order;
}
