// SPDX-License-Identifier: MIT
/*
 * kernel/mm/aspace.c on the host, with the real x86-64 entry format: what
 * aspace_map() writes is what the MMU would walk.
 */
#include <kernel/aspace.h>
#include <kernel/pmm.h>
#include "harness.h"
#include "stub.h"

#define RAM	(64ul << 20)
#define VA	0x0000400000000000ull

static struct aspace as_new(void)
{
	struct aspace as;

	stub_pmm_reset(RAM, 0);
	EXPECT_EQ(aspace_init(&as), 0);
	return as;
}

/* Walk the tables by hand, as the hardware would. */
static arch_pte_t hw_walk(const struct aspace *as, vaddr_t va, int *level)
{
	paddr_t table = as->root;

	for (int l = ARCH_PT_LEVELS - 1; l >= 0; l--) {
		arch_pte_t e = ((arch_pte_t *)arch_phys_to_virt(table))[arch_pt_index(va, l)];

		*level = l;
		if (!(e & X86_PTE_P) || l == 0 || (e & X86_PTE_PS))
			return e;
		table = e & X86_PTE_ADDR;
	}
	return 0;
}

TEST(aspace_maps_with_the_largest_pages_alignment_allows)
{
	struct aspace as = as_new();
	arch_pte_t e;
	int level;

	/* 2 MiB aligned on both sides: one large page, then 4 KiB pages. */
	EXPECT_EQ(aspace_map(&as, VA, 2 << 20, (2 << 20) + 3 * PAGE_SIZE, MAP_READ | MAP_WRITE), 0);
	e = hw_walk(&as, VA + 12345, &level);
	EXPECT_EQ(level, 1);
	EXPECT_EQ(e & X86_PTE_ADDR, 2 << 20);
	e = hw_walk(&as, VA + (2 << 20) + 2 * PAGE_SIZE, &level);
	EXPECT_EQ(level, 0);
	EXPECT_EQ(e & X86_PTE_ADDR, (4 << 20) + 2 * PAGE_SIZE);
	/* Misaligned physical address: small pages only. */
	EXPECT_EQ(aspace_map(&as, VA + (8 << 20), (2 << 20) + PAGE_SIZE, 2 << 20, MAP_READ), 0);
	hw_walk(&as, VA + (8 << 20), &level);
	EXPECT_EQ(level, 0);
}

TEST(aspace_entry_bits_follow_the_flags)
{
	struct aspace as = as_new();
	arch_pte_t e;
	int level;

	x86_pte_kernel_bits = 0;
	EXPECT_EQ(aspace_map(&as, VA, 0x5000, PAGE_SIZE, MAP_READ), 0);
	EXPECT_EQ(aspace_map(&as, VA + PAGE_SIZE, 0x6000, PAGE_SIZE,
			     MAP_READ | MAP_WRITE | MAP_EXEC | MAP_USER), 0);
	EXPECT_EQ(aspace_map(&as, VA + 2 * PAGE_SIZE, 0x7000, PAGE_SIZE, MAP_READ | MAP_UNCACHED), 0);
	e = hw_walk(&as, VA, &level);
	EXPECT((e & X86_PTE_P) && (e & X86_PTE_NX) && !(e & X86_PTE_RW) && !(e & X86_PTE_US));
	e = hw_walk(&as, VA + PAGE_SIZE, &level);
	EXPECT((e & X86_PTE_RW) && !(e & X86_PTE_NX) && (e & X86_PTE_US));
	e = hw_walk(&as, VA + 2 * PAGE_SIZE, &level);
	EXPECT((e & X86_PTE_PCD) && (e & X86_PTE_PWT));
	/* A ring-3 kernel's own pages need the user bit too. */
	x86_pte_kernel_bits = X86_PTE_US;
	EXPECT_EQ(aspace_map(&as, VA + 3 * PAGE_SIZE, 0x8000, PAGE_SIZE, MAP_READ), 0);
	e = hw_walk(&as, VA + 3 * PAGE_SIZE, &level);
	EXPECT(e & X86_PTE_US);
	x86_pte_kernel_bits = 0;
}

TEST(aspace_query_returns_address_and_flags)
{
	struct aspace as = as_new();
	unsigned int flags;
	paddr_t pa;

	EXPECT_EQ(aspace_map(&as, VA, 0x200000, 0x200000, MAP_READ | MAP_WRITE | MAP_USER), 0);
	EXPECT_EQ(aspace_query(&as, VA + 0x1234, &pa, &flags), 0);
	EXPECT_EQ(pa, 0x201234);
	EXPECT_EQ(flags, MAP_READ | MAP_WRITE | MAP_USER);
	EXPECT_EQ(aspace_query(&as, VA + 0x200000, &pa, &flags), -ENOENT);
}

TEST(aspace_refuses_overlaps_and_leaves_nothing_behind)
{
	struct aspace as = as_new();
	size_t tables;

	EXPECT_EQ(aspace_map(&as, VA + 5 * PAGE_SIZE, 0x10000, PAGE_SIZE, MAP_READ), 0);
	tables = aspace_table_pages();
	/* The range overlaps page 5: nothing of it may stay mapped. */
	EXPECT_EQ(aspace_map(&as, VA, 0x20000, 10 * PAGE_SIZE, MAP_READ), -EEXIST);
	EXPECT_EQ(aspace_query(&as, VA, NULL, NULL), -ENOENT);
	EXPECT_EQ(aspace_query(&as, VA + 4 * PAGE_SIZE, NULL, NULL), -ENOENT);
	EXPECT_EQ(aspace_query(&as, VA + 5 * PAGE_SIZE, NULL, NULL), 0);
	EXPECT_EQ(aspace_table_pages(), tables);
}

TEST(aspace_unmap_splits_large_pages_and_frees_empty_tables)
{
	struct aspace as = as_new();
	size_t tables = aspace_table_pages();
	long flushes = stub_tlb_flushes;
	paddr_t pa;

	EXPECT_EQ(aspace_map(&as, VA, 4 << 20, 2 << 20, MAP_READ | MAP_WRITE), 0);
	EXPECT_EQ(aspace_unmap(&as, VA + PAGE_SIZE, PAGE_SIZE), 0);
	EXPECT(stub_tlb_flushes > flushes);
	EXPECT_EQ(aspace_query(&as, VA + PAGE_SIZE, NULL, NULL), -ENOENT);
	EXPECT_EQ(aspace_query(&as, VA + 511 * PAGE_SIZE, &pa, NULL), 0);
	EXPECT_EQ(pa, (4 << 20) + 511 * PAGE_SIZE);
	EXPECT_EQ(aspace_unmap(&as, VA, 2 << 20), 0);
	/* Only the table under the root stays (it could be shared). */
	EXPECT_EQ(aspace_table_pages(), tables + 1);
	/* The emptied range takes a large page again. */
	EXPECT_EQ(aspace_map(&as, VA, 4 << 20, 2 << 20, MAP_READ), 0);
}

TEST(aspace_protect_rewrites_flags_and_splits)
{
	struct aspace as = as_new();
	unsigned int flags;
	paddr_t pa;

	EXPECT_EQ(aspace_map(&as, VA, 2 << 20, 2 << 20, MAP_READ | MAP_WRITE | MAP_USER), 0);
	EXPECT_EQ(aspace_protect(&as, VA + PAGE_SIZE, PAGE_SIZE, MAP_READ | MAP_USER), 0);
	EXPECT_EQ(aspace_query(&as, VA + PAGE_SIZE, &pa, &flags), 0);
	EXPECT_EQ(flags, MAP_READ | MAP_USER);
	EXPECT_EQ(pa, (2 << 20) + PAGE_SIZE);
	EXPECT_EQ(aspace_query(&as, VA, NULL, &flags), 0);
	EXPECT_EQ(flags, MAP_READ | MAP_WRITE | MAP_USER);
	/* Holes are skipped, not mapped. */
	EXPECT_EQ(aspace_protect(&as, VA + (4 << 20), PAGE_SIZE, MAP_READ), 0);
	EXPECT_EQ(aspace_query(&as, VA + (4 << 20), NULL, NULL), -ENOENT);
}

TEST(aspace_destroy_frees_every_table)
{
	struct aspace as = as_new();
	size_t free_pages = pmm_free_pages() + 1;	/* the root goes back too */
	size_t tables = aspace_table_pages() - 1;

	for (int i = 0; i < 64; i++)
		EXPECT_EQ(aspace_map(&as, VA + (uint64_t)i * (1ull << 30), 0x1000, PAGE_SIZE,
				     MAP_READ), 0);
	EXPECT(aspace_table_pages() > tables + 64);
	aspace_destroy(&as);
	EXPECT_EQ(aspace_table_pages(), tables);
	EXPECT_EQ(pmm_free_pages(), free_pages);
}

/* The window's base in either mode (crtos/abi.h): shared, and left alone by a user's destroy. */
static void check_share_at(uint64_t base)
{
	struct aspace kernel = as_new(), user;
	size_t tables;
	paddr_t pa;

	EXPECT_EQ(aspace_init(&user), 0);
	EXPECT_EQ(aspace_map(&kernel, base, 0x3000, PAGE_SIZE, MAP_READ), 0);
	aspace_share(&user, &kernel, base, CRTOS_KERNEL_WINDOW);
	EXPECT_EQ(aspace_query(&user, base, &pa, NULL), 0);
	EXPECT_EQ(pa, 0x3000);
	/* Later kernel mappings show up in the user space too. */
	EXPECT_EQ(aspace_map(&kernel, base + PAGE_SIZE, 0x4000, PAGE_SIZE, MAP_READ), 0);
	EXPECT_EQ(aspace_query(&user, base + PAGE_SIZE, &pa, NULL), 0);
	/* Destroying the user space leaves the kernel's tables alone. */
	tables = aspace_table_pages();
	aspace_destroy(&user);
	EXPECT_EQ(aspace_table_pages(), tables - 1);	/* only the user's root */
	EXPECT_EQ(aspace_query(&kernel, base + PAGE_SIZE, &pa, NULL), 0);
	EXPECT_EQ(pa, 0x4000);
	aspace_destroy(&kernel);
}

TEST(aspace_share_links_the_kernel_window_in_both_modes)
{
	check_share_at(CRTOS_KERNEL_BASE_HARDWARE);
	check_share_at(CRTOS_KERNEL_BASE_PVM);
}
