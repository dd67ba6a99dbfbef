// SPDX-License-Identifier: MIT
/* kernel/mm/pmm.c on the host: the buddy allocator's contract. */
#include <stdlib.h>
#include <string.h>
#include <kernel/pmm.h>
#include "harness.h"
#include "stub.h"

#define RAM	(64ul << 20)
#define NPAGES	(RAM / PAGE_SIZE)

TEST(pmm_blocks_are_naturally_aligned)
{
	stub_pmm_reset(RAM, 0);
	for (unsigned int o = 0; o <= PMM_MAX_ORDER; o++) {
		paddr_t pa = pmm_alloc(o);

		EXPECT(pa != PADDR_INVALID);
		EXPECT(IS_ALIGNED(pa, PAGE_SIZE << o));
	}
	EXPECT(stub_irq_saves == 0 && !stub_irq_masked);
}

TEST(pmm_counts_and_coalesces_back_to_large_blocks)
{
	paddr_t pages[512];

	stub_pmm_reset(RAM, 0);
	EXPECT_EQ(pmm_total_pages(), NPAGES);
	EXPECT_EQ(pmm_free_pages(), NPAGES);
	for (int i = 0; i < 512; i++)
		pages[i] = pmm_alloc(0);
	EXPECT_EQ(pmm_free_pages(), NPAGES - 512);
	for (int i = 0; i < 512; i++)
		pmm_free(pages[i], 0);
	EXPECT_EQ(pmm_free_pages(), NPAGES);
	/* Everything merged again: the whole RAM comes back as 4 MiB blocks. */
	for (unsigned long i = 0; i < RAM >> (PAGE_SHIFT + PMM_MAX_ORDER); i++)
		EXPECT(pmm_alloc(PMM_MAX_ORDER) != PADDR_INVALID);
	EXPECT_EQ(pmm_free_pages(), 0);
	EXPECT_EQ(pmm_alloc(0), PADDR_INVALID);
}

TEST(pmm_never_hands_out_reserved_or_overlapping_pages)
{
	static uint8_t owner[NPAGES];
	struct { paddr_t pa; unsigned int order; } live[4096];
	int nlive = 0;

	stub_pmm_reset(RAM, 1 << 20);
	memset(owner, 0, sizeof(owner));
	srand(42);
	for (int step = 0; step < 20000; step++) {
		if (nlive < 4096 && (rand() % 3 || !nlive)) {
			unsigned int order = (unsigned int)(rand() % 6);
			paddr_t pa = pmm_alloc(order);

			if (pa == PADDR_INVALID)
				continue;
			EXPECT(pa >= (1 << 20));
			for (unsigned long p = 0; p < 1ul << order; p++) {
				EXPECT(!owner[(pa >> PAGE_SHIFT) + p]);
				owner[(pa >> PAGE_SHIFT) + p] = 1;
			}
			live[nlive].pa = pa;
			live[nlive++].order = order;
		} else {
			int i = rand() % nlive;

			for (unsigned long p = 0; p < 1ul << live[i].order; p++)
				owner[(live[i].pa >> PAGE_SHIFT) + p] = 0;
			pmm_free(live[i].pa, live[i].order);
			live[i] = live[--nlive];
		}
	}
	while (nlive--)
		pmm_free(live[nlive].pa, live[nlive].order);
	EXPECT_EQ(pmm_free_pages(), pmm_total_pages());
}

TEST(pmm_adds_ranges_of_any_page_alignment)
{
	stub_ram_reset(RAM);
	stub_pmm_reset(RAM, RAM - PAGE_SIZE);
	EXPECT_EQ(pmm_total_pages(), 1);
	pmm_add(3 * PAGE_SIZE, 13 * PAGE_SIZE);	/* odd start and size */
	EXPECT_EQ(pmm_total_pages(), 14);
	EXPECT(pmm_alloc(3) != PADDR_INVALID);	/* pages 8..15 */
	EXPECT_EQ(pmm_alloc(3), PADDR_INVALID);	/* 3..7 is not 8 aligned pages */
	EXPECT(pmm_alloc(2) == 4 * PAGE_SIZE);
}

TEST(pmm_detects_double_and_wrong_frees)
{
	paddr_t a, b;

	stub_pmm_reset(RAM, 0);
	a = pmm_alloc(1);
	b = pmm_alloc(1);
	pmm_free(a, 1);
	EXPECT_PANIC(pmm_free(a, 1));		/* still a free block of its own */
	pmm_free(b, 1);
	EXPECT_PANIC(pmm_free(b, 1));		/* merged into a larger free block */
	a = pmm_alloc(2);
	EXPECT_PANIC(pmm_free(a, 1));		/* wrong order */
	EXPECT_PANIC(pmm_free(a + PAGE_SIZE, 0));	/* not the head */
	pmm_free(a, 2);
	EXPECT_EQ(pmm_free_pages(), NPAGES);
}

TEST(pmm_alloc_pages_gives_pages_freed_one_by_one)
{
	size_t n;
	paddr_t pa;

	stub_pmm_reset(RAM, 0);
	pa = pmm_alloc_pages(4, &n);
	EXPECT_EQ(n, 16);
	EXPECT(IS_ALIGNED(pa, 16 * PAGE_SIZE));
	for (size_t i = 0; i < n; i++)
		pmm_free(pa + i * PAGE_SIZE, 0);	/* in any order, each its own */
	EXPECT_EQ(pmm_free_pages(), NPAGES);
	/* Smaller blocks when the large ones are gone. */
	while (pmm_alloc(PMM_MAX_ORDER) != PADDR_INVALID)
		;
	pa = pmm_alloc_pages(PMM_MAX_ORDER, &n);
	EXPECT(pa == PADDR_INVALID && n == 0);
}

TEST(pmm_rejects_orders_beyond_the_maximum)
{
	stub_pmm_reset(RAM, 0);
	EXPECT_EQ(pmm_alloc(PMM_MAX_ORDER + 1), PADDR_INVALID);
	EXPECT_EQ(pmm_order_for(1), 0);
	EXPECT_EQ(pmm_order_for(PAGE_SIZE + 1), 1);
	EXPECT_EQ(pmm_order_for(4 << 20), 10);
}
