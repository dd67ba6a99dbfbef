// SPDX-License-Identifier: MIT
/*
 * Self-tests of memory management in the running kernel: blocks from the
 * page allocator are usable memory, the heap hands out disjoint objects, and
 * the page tables aspace_map() builds are the ones the MMU walks (a mapping
 * can be written through, an unmapped or read-only one faults).
 */
#include <kernel/aspace.h>
#include <kernel/kmem.h>
#include <kernel/mm.h>
#include <kernel/pmm.h>
#include <kernel/selftest.h>
#include <kernel/string.h>

/* A kernel-window address nothing else uses: the second PML4 entry of the window. */
#define TEST_VA		(kernel_window_base() + (CRTOS_KERNEL_WINDOW / 2))

SELFTEST(pmm_blocks_are_aligned_usable_and_returned)
{
	size_t before = pmm_free_pages();
	paddr_t blocks[PMM_MAX_ORDER + 1];

	for (unsigned int o = 0; o <= PMM_MAX_ORDER; o++) {
		blocks[o] = pmm_alloc(o);
		CHECK(blocks[o] != PADDR_INVALID);
		CHECK(IS_ALIGNED(blocks[o], PAGE_SIZE << o));
		memset(arch_phys_to_virt(blocks[o]), (int)o, PAGE_SIZE << o);
	}
	for (unsigned int o = 0; o <= PMM_MAX_ORDER; o++) {
		uint8_t *p = arch_phys_to_virt(blocks[o]);

		CHECK(p[0] == o && p[(PAGE_SIZE << o) - 1] == o);
		pmm_free(blocks[o], o);
	}
	CHECK_EQ(pmm_free_pages(), before);
	return 0;
}

SELFTEST(kmem_objects_are_disjoint_and_freed)
{
	static const size_t sizes[] = { 1, 16, 17, 100, 512, 2048, 2049, 5000, 70000 };
	size_t live = kmem_live_objects();
	uint8_t *objs[ARRAY_SIZE(sizes)];

	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
		objs[i] = kmalloc(sizes[i]);
		CHECK(objs[i] != NULL);
		CHECK(IS_ALIGNED((uintptr_t)objs[i], 16));
		CHECK(kmem_size(objs[i]) >= sizes[i]);
		memset(objs[i], 0x40 + (int)i, sizes[i]);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
		CHECK(objs[i][0] == 0x40 + i && objs[i][sizes[i] - 1] == 0x40 + i);
		kfree(objs[i]);
	}
	CHECK_EQ(kmem_live_objects(), live);
	CHECK(kmalloc(0) == NULL);
	return 0;
}

SELFTEST(aspace_mapping_is_used_by_the_mmu)
{
	struct aspace *as = kernel_aspace();
	paddr_t page = pmm_alloc(0), pa;
	volatile uint64_t *alias = (uint64_t *)TEST_VA;
	uint64_t *direct = arch_phys_to_virt(page);
	unsigned int flags;

	CHECK(page != PADDR_INVALID);
	CHECK_EQ(aspace_map(as, TEST_VA, page, PAGE_SIZE, MAP_KERNEL_RW), 0);
	CHECK_EQ(aspace_query(as, TEST_VA + 8, &pa, &flags), 0);
	CHECK_EQ(pa, page + 8);
	CHECK(flags & MAP_WRITE);
	*alias = 0x1234abcd;
	CHECK_EQ(*direct, 0x1234abcd);
	CHECK_EQ(aspace_map(as, TEST_VA, page, PAGE_SIZE, MAP_KERNEL_RW), -EEXIST);
	CHECK_EQ(aspace_unmap(as, TEST_VA, PAGE_SIZE), 0);
	CHECK_EQ(aspace_query(as, TEST_VA, NULL, NULL), -ENOENT);
	pmm_free(page, 0);
	return 0;
}

SELFTEST(aspace_unmapped_page_faults_with_address)
{
	struct arch_fault fault;
	uint64_t val;

	CHECK_EQ(arch_probe_read((void *)TEST_VA, &val, &fault), -EFAULT);
	CHECK(fault.page_fault);
	CHECK_EQ(fault.addr, TEST_VA);
	CHECK(!fault.present);
	CHECK(!fault.write);
	return 0;
}

SELFTEST(aspace_read_only_page_faults_on_write)
{
	struct aspace *as = kernel_aspace();
	paddr_t page = pmm_alloc(0);
	struct arch_fault fault;
	uint64_t val;

	CHECK(page != PADDR_INVALID);
	*(uint64_t *)arch_phys_to_virt(page) = 77;
	CHECK_EQ(aspace_map(as, TEST_VA, page, PAGE_SIZE, MAP_KERNEL_RO), 0);
	CHECK_EQ(arch_probe_read((void *)TEST_VA, &val, NULL), 0);
	CHECK_EQ(val, 77);
	CHECK_EQ(arch_probe_write((void *)TEST_VA, 1, &fault), -EFAULT);
	CHECK(fault.page_fault);
	CHECK(fault.present);
	CHECK(fault.write);
	CHECK_EQ(fault.addr, TEST_VA);
	CHECK_EQ(aspace_unmap(as, TEST_VA, PAGE_SIZE), 0);
	pmm_free(page, 0);
	return 0;
}

SELFTEST(aspace_kernel_text_is_not_writable)
{
	extern char __text_start[];
	struct arch_fault fault;
	uint64_t val;

	CHECK_EQ(arch_probe_read(__text_start, &val, NULL), 0);
	CHECK_EQ(arch_probe_write(__text_start, val, &fault), -EFAULT);
	CHECK(fault.page_fault);
	CHECK(fault.write);
	return 0;
}

SELFTEST(aspace_large_page_split_on_partial_unmap)
{
	struct aspace *as = kernel_aspace();
	paddr_t block = pmm_alloc(9);	/* 2 MiB, 2 MiB-aligned: mapped as one large page */
	paddr_t pa;

	CHECK(block != PADDR_INVALID);
	CHECK_EQ(aspace_map(as, TEST_VA, block, HUGE_SIZE, MAP_KERNEL_RW), 0);
	*(volatile uint64_t *)(TEST_VA + HUGE_SIZE - 8) = 99;
	CHECK_EQ(aspace_unmap(as, TEST_VA + PAGE_SIZE, PAGE_SIZE), 0);
	CHECK_EQ(aspace_query(as, TEST_VA + PAGE_SIZE, NULL, NULL), -ENOENT);
	CHECK_EQ(aspace_query(as, TEST_VA + 2 * PAGE_SIZE, &pa, NULL), 0);
	CHECK_EQ(pa, block + 2 * PAGE_SIZE);
	CHECK_EQ(*(volatile uint64_t *)(TEST_VA + HUGE_SIZE - 8), 99);
	CHECK_EQ(aspace_unmap(as, TEST_VA, HUGE_SIZE), 0);
	pmm_free(block, 9);
	return 0;
}
