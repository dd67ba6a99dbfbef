// SPDX-License-Identifier: MIT
/* kernel/mm/kmem.c on the host: heap objects are usable, disjoint and returned. */
#include <stdlib.h>
#include <string.h>
#include <kernel/kmem.h>
#include <kernel/pmm.h>
#include "harness.h"
#include "stub.h"

#define RAM	(32ul << 20)

static void kmem_reset(void)
{
	stub_pmm_reset(RAM, 0);
	kmem_init();
}

TEST(kmem_small_objects_use_their_size_class)
{
	kmem_reset();
	for (size_t size = 1; size <= KMEM_MAX_SMALL; size = size * 2 + 1) {
		void *p = kmalloc(size);

		EXPECT(p != NULL);
		EXPECT(IS_ALIGNED((uintptr_t)p - (uintptr_t)stub_ram, 16));
		EXPECT(kmem_size(p) >= size && kmem_size(p) < 2 * size + KMEM_MIN_SMALL);
		kfree(p);
	}
	EXPECT_EQ(kmem_live_objects(), 0);
	EXPECT(kmalloc(0) == NULL);
	kfree(NULL);
}

TEST(kmem_random_workload_keeps_objects_intact)
{
	struct { uint8_t *p; size_t size; uint8_t tag; } live[2000];
	int nlive = 0;
	size_t free_before;

	kmem_reset();
	free_before = pmm_free_pages();
	srand(7);
	for (int step = 0; step < 30000; step++) {
		if (nlive < 2000 && (rand() % 2 || !nlive)) {
			size_t size = rand() % 8 ? (size_t)(rand() % 2048 + 1) : (size_t)(rand() % 40000 + 1);
			uint8_t *p = kmalloc(size);

			EXPECT(p != NULL);
			live[nlive].p = p;
			live[nlive].size = size;
			live[nlive].tag = (uint8_t)step;
			memset(p, (uint8_t)step, size);
			nlive++;
		} else {
			int i = rand() % nlive;

			for (size_t b = 0; b < live[i].size; b++)
				EXPECT(live[i].p[b] == live[i].tag);
			kfree(live[i].p);
			live[i] = live[--nlive];
		}
	}
	while (nlive--)
		kfree(live[nlive].p);
	EXPECT_EQ(kmem_live_objects(), 0);
	/* At most one cached slab per size class stays out of the page allocator. */
	EXPECT(free_before - pmm_free_pages() <= 8);
}

/* A size class's first use keeps an empty slab: counted apart, so free + cached stays put. */
TEST(kmem_kept_empty_slabs_are_counted_as_cached)
{
	size_t free_before;
	void *a, *b;

	kmem_reset();
	free_before = pmm_free_pages();
	EXPECT_EQ(kmem_cached_pages(), 0);
	a = kmalloc(100);
	b = kmalloc(1000);
	EXPECT_EQ(kmem_cached_pages(), 0);	/* both slabs hold an object */
	kfree(a);
	kfree(b);
	EXPECT_EQ(kmem_cached_pages(), 2);	/* one kept empty slab for each class */
	EXPECT_EQ(pmm_free_pages() + kmem_cached_pages(), free_before);
	a = kmalloc(100);
	EXPECT_EQ(kmem_cached_pages(), 1);	/* reused, no longer empty */
	kfree(a);
	EXPECT_EQ(pmm_free_pages() + kmem_cached_pages(), free_before);
}

TEST(kmem_rejects_pointers_it_did_not_return)
{
	uint8_t *p;

	kmem_reset();
	p = kmalloc(64);
	EXPECT_PANIC(kfree(p + 16));
	EXPECT_PANIC(kfree(arch_phys_to_virt(pmm_alloc(0))));
}

TEST(kmem_fails_cleanly_when_memory_runs_out)
{
	int n = 0;

	kmem_reset();
	while (kmalloc(1 << 20))
		n++;
	EXPECT(n > 0);
	EXPECT(kmalloc(1 << 20) == NULL);
	EXPECT(kzalloc(100) != NULL || pmm_free_pages() == 0);
}
