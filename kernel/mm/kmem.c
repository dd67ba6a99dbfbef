// SPDX-License-Identifier: MIT
/*
 * Slab heap. A slab is one page holding objects of one size class; its free
 * objects form a list threaded through their first two bytes (offsets in the
 * page), with the head in the page's metadata. Slabs with at least one free
 * object sit on their class's partial list. An empty slab goes back to the
 * page allocator unless it is the only partial slab of its class (which
 * keeps a free/alloc cycle from bouncing a page each time).
 */
#include <kernel/arch.h>
#include <kernel/kmem.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <kernel/string.h>

#define KMEM_CLASSES	8		/* 16 .. 2048 bytes */

static uint32_t kmem_partial[KMEM_CLASSES];	/* first slab with a free object, PMM_NIL if none */
static size_t kmem_live;

static unsigned int kmem_class_size(unsigned int cls)
{
	return KMEM_MIN_SMALL << cls;
}

static unsigned int kmem_class_for(size_t size)
{
	unsigned int cls = 0;

	while (kmem_class_size(cls) < size)
		cls++;
	return cls;
}

void kmem_init(void)
{
	for (unsigned int c = 0; c < KMEM_CLASSES; c++)
		kmem_partial[c] = PMM_NIL;
	kmem_live = 0;
}

static struct page *kmem_slab(uint32_t idx)
{
	return pmm_page((paddr_t)idx << PAGE_SHIFT);
}

static void kmem_partial_push(struct page *pg)
{
	uint32_t idx = (uint32_t)(pmm_page_addr(pg) >> PAGE_SHIFT);
	uint32_t *head = &kmem_partial[pg->slab_class];

	pg->prev = PMM_NIL;
	pg->next = *head;
	if (*head != PMM_NIL)
		kmem_slab(*head)->prev = idx;
	*head = idx;
}

static void kmem_partial_remove(struct page *pg)
{
	if (pg->prev != PMM_NIL)
		kmem_slab(pg->prev)->next = pg->next;
	else
		kmem_partial[pg->slab_class] = pg->next;
	if (pg->next != PMM_NIL)
		kmem_slab(pg->next)->prev = pg->prev;
	pg->next = pg->prev = PMM_NIL;
}

static struct page *kmem_new_slab(unsigned int cls)
{
	unsigned int size = kmem_class_size(cls);
	paddr_t pa = pmm_alloc(0);
	struct page *pg;
	uint8_t *base;

	if (pa == PADDR_INVALID)
		return NULL;
	pg = pmm_page(pa);
	base = arch_phys_to_virt(pa);
	for (unsigned int off = 0; off < PAGE_SIZE; off += size)
		*(uint16_t *)(base + off) = off + size < PAGE_SIZE ? (uint16_t)(off + size) : KMEM_NONE;
	pg->flags |= PG_SLAB;
	pg->slab_class = (uint8_t)cls;
	pg->slab_inuse = 0;
	pg->slab_free = 0;
	kmem_partial_push(pg);
	return pg;
}

static void *kmem_alloc_small(size_t size)
{
	unsigned int cls = kmem_class_for(size);
	struct page *pg;
	uint8_t *base, *obj;

	if (kmem_partial[cls] == PMM_NIL && !kmem_new_slab(cls))
		return NULL;
	pg = kmem_slab(kmem_partial[cls]);
	base = arch_phys_to_virt(pmm_page_addr(pg));
	obj = base + pg->slab_free;
	pg->slab_free = *(uint16_t *)obj;
	pg->slab_inuse++;
	if (pg->slab_free == KMEM_NONE)
		kmem_partial_remove(pg);
	return obj;
}

static void kmem_free_small(struct page *pg, void *p)
{
	uint8_t *base = arch_phys_to_virt(pmm_page_addr(pg));
	unsigned int off = (unsigned int)((uint8_t *)p - base);
	bool was_full = pg->slab_free == KMEM_NONE;

	if (off % kmem_class_size(pg->slab_class) || !pg->slab_inuse)
		panic("kfree(%p): not an object of its %u-byte slab", p,
		      kmem_class_size(pg->slab_class));
	*(uint16_t *)p = pg->slab_free;
	pg->slab_free = (uint16_t)off;
	pg->slab_inuse--;
	if (was_full)
		kmem_partial_push(pg);
	if (pg->slab_inuse == 0 && (pg->prev != PMM_NIL || pg->next != PMM_NIL)) {
		kmem_partial_remove(pg);
		pg->flags &= ~PG_SLAB;
		pmm_free(pmm_page_addr(pg), 0);
	}
}

void *kmalloc(size_t size)
{
	unsigned long flags;
	void *p = NULL;

	if (!size)
		return NULL;
	flags = arch_irq_save();
	if (size <= KMEM_MAX_SMALL) {
		p = kmem_alloc_small(size);
	} else {
		unsigned int order = pmm_order_for(size);
		paddr_t pa = pmm_alloc(order);

		if (pa != PADDR_INVALID) {
			struct page *pg = pmm_page(pa);

			pg->flags |= PG_LARGE;
			p = arch_phys_to_virt(pa);
		}
	}
	if (p)
		kmem_live++;
	arch_irq_restore(flags);
	return p;
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);

	if (p)
		memset(p, 0, size);
	return p;
}

void kfree(void *p)
{
	unsigned long flags;
	struct page *pg;

	if (!p)
		return;
	flags = arch_irq_save();
	pg = pmm_page(arch_virt_to_phys(p) & ~(PAGE_SIZE - 1));
	if (pg->flags & PG_SLAB) {
		kmem_free_small(pg, p);
	} else if ((pg->flags & PG_LARGE) && IS_ALIGNED((uintptr_t)p, PAGE_SIZE)) {
		pg->flags &= ~PG_LARGE;
		pmm_free(arch_virt_to_phys(p), pg->order);
	} else {
		panic("kfree(%p): not a pointer kmalloc returned", p);
	}
	kmem_live--;
	arch_irq_restore(flags);
}

size_t kmem_size(const void *p)
{
	struct page *pg = pmm_page(arch_virt_to_phys(p) & ~(PAGE_SIZE - 1));

	if (pg->flags & PG_SLAB)
		return kmem_class_size(pg->slab_class);
	return PAGE_SIZE << pg->order;
}

size_t kmem_cached_pages(void)
{
	unsigned long flags = arch_irq_save();
	size_t n = 0;

	/* A kept empty slab is its class's only partial slab. */
	for (unsigned int c = 0; c < KMEM_CLASSES; c++)
		if (kmem_partial[c] != PMM_NIL && kmem_slab(kmem_partial[c])->slab_inuse == 0)
			n++;
	arch_irq_restore(flags);
	return n;
}

size_t kmem_live_objects(void)
{
	return kmem_live;
}
