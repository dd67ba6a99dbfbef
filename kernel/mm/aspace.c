// SPDX-License-Identifier: MIT
/*
 * Portable page-table walker. Levels count from the leaf (0) up to the root
 * (ARCH_PT_LEVELS - 1); leaves may sit at levels 0..ARCH_PT_MAX_LEAF_LEVEL.
 * Page tables are reached through the direct map. Intermediate tables are
 * created on demand and freed when an unmap empties them, except the tables
 * linked from the root: those of the kernel window are shared between
 * address spaces (aspace_share()), and all are freed by aspace_destroy().
 */
#include <kernel/aspace.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <kernel/string.h>

static size_t aspace_nr_tables;

static arch_pte_t *pt_entries(paddr_t table)
{
	return arch_phys_to_virt(table);
}

static size_t level_size(int level)
{
	return (size_t)1 << arch_pt_shift(level);
}

static paddr_t pt_alloc(void)
{
	paddr_t pa = pmm_alloc(0);

	if (pa != PADDR_INVALID) {
		memset(pt_entries(pa), 0, PAGE_SIZE);
		aspace_nr_tables++;
	}
	return pa;
}

static void pt_free(paddr_t pa)
{
	pmm_free(pa, 0);
	aspace_nr_tables--;
}

int aspace_init(struct aspace *as)
{
	as->root = pt_alloc();
	return as->root == PADDR_INVALID ? -ENOMEM : 0;
}

/*
 * The entry for va at level, creating intermediate tables on the way.
 * NULL with *err = -EEXIST if a large page covers va above level, or
 * -ENOMEM.
 */
static arch_pte_t *pt_walk_create(struct aspace *as, vaddr_t va, int level, int *err)
{
	paddr_t table = as->root;

	for (int l = ARCH_PT_LEVELS - 1; l > level; l--) {
		arch_pte_t *e = &pt_entries(table)[arch_pt_index(va, l)];

		if (!arch_pte_present(*e)) {
			paddr_t next = pt_alloc();

			if (next == PADDR_INVALID) {
				*err = -ENOMEM;
				return NULL;
			}
			*e = arch_pte_table(next);
		} else if (arch_pte_is_leaf(*e, l)) {
			*err = -EEXIST;
			return NULL;
		}
		table = arch_pte_addr(*e);
	}
	return &pt_entries(table)[arch_pt_index(va, level)];
}

/*
 * The leaf entry mapping va and its level; or NULL, with *level the level of
 * the absent entry (nothing is mapped in va's block of that level's size).
 * With path, path[l] is the entry visited at each level l >= *level.
 */
static arch_pte_t *pt_lookup_path(const struct aspace *as, vaddr_t va, int *level,
				  arch_pte_t **path)
{
	paddr_t table = as->root;

	for (int l = ARCH_PT_LEVELS - 1; l >= 0; l--) {
		arch_pte_t *e = &pt_entries(table)[arch_pt_index(va, l)];

		*level = l;
		if (path)
			path[l] = e;
		if (!arch_pte_present(*e))
			return NULL;
		if (arch_pte_is_leaf(*e, l))
			return e;
		table = arch_pte_addr(*e);
	}
	return NULL;
}

static arch_pte_t *pt_lookup(const struct aspace *as, vaddr_t va, int *level)
{
	return pt_lookup_path(as, va, level, NULL);
}

static bool pt_table_empty(const arch_pte_t *table)
{
	for (unsigned int i = 0; i < ARCH_PT_ENTRIES; i++)
		if (table[i])
			return false;
	return true;
}

/*
 * After the entry path[level] was cleared: free the tables that are now
 * empty, bottom up. Tables linked from the root are kept: the kernel window
 * shares them between address spaces (aspace_share()).
 */
static void pt_free_empty(arch_pte_t **path, int level)
{
	for (int l = level; l < ARCH_PT_LEVELS - 2; l++) {
		arch_pte_t *table = (arch_pte_t *)ALIGN_DOWN((uintptr_t)path[l], PAGE_SIZE);

		if (!pt_table_empty(table))
			return;
		pt_free(arch_pte_addr(*path[l + 1]));
		*path[l + 1] = 0;
	}
}

static int map_level(vaddr_t va, paddr_t pa, size_t left, unsigned int flags)
{
	for (int l = (flags & MAP_SMALL) ? 0 : ARCH_PT_MAX_LEAF_LEVEL; l > 0; l--)
		if (IS_ALIGNED(va, level_size(l)) && IS_ALIGNED(pa, level_size(l)) &&
		    left >= level_size(l))
			return l;
	return 0;
}

int aspace_map(struct aspace *as, vaddr_t va, paddr_t pa, size_t size, unsigned int flags)
{
	size_t done = 0;
	int err = 0;

	ASSERT(IS_ALIGNED(va | pa | size, PAGE_SIZE));
	while (done < size) {
		int level = map_level(va + done, pa + done, size - done, flags);
		arch_pte_t *e = pt_walk_create(as, va + done, level, &err);

		if (e && arch_pte_present(*e))
			err = -EEXIST;
		if (err)
			break;
		*e = arch_pte_leaf(pa + done, level, flags & ~MAP_SMALL);
		done += level_size(level);
	}
	if (err && done)
		aspace_unmap(as, va, done);
	return err;
}

/* Replace the large leaf *e at level by a table of leaves one level down. */
static int pt_split(arch_pte_t *e, int level)
{
	paddr_t table = pt_alloc();
	paddr_t base = arch_pte_addr(*e);
	unsigned int flags = arch_pte_flags(*e);
	size_t step = level_size(level - 1);

	if (table == PADDR_INVALID)
		return -ENOMEM;
	for (unsigned int i = 0; i < ARCH_PT_ENTRIES; i++)
		pt_entries(table)[i] = arch_pte_leaf(base + i * step, level - 1, flags);
	*e = arch_pte_table(table);
	return 0;
}

/*
 * Apply op to every leaf that maps part of [va, va + size), splitting large
 * pages that stick out of the range first, so op always sees whole leaves
 * inside it. path[] is the walk to the leaf. Flushes the TLB if op changed
 * anything. Returns 0, or -ENOMEM if a split found no page-table page.
 */
static int pt_for_each_leaf(struct aspace *as, vaddr_t va, size_t size,
			    void (*op)(arch_pte_t **path, int level, unsigned int flags),
			    unsigned int flags)
{
	vaddr_t end = va + size;
	bool changed = false;
	int err = 0;

	ASSERT(IS_ALIGNED(va | size, PAGE_SIZE));
	while (va < end) {
		arch_pte_t *path[ARCH_PT_LEVELS];
		int level;
		arch_pte_t *e = pt_lookup_path(as, va, &level, path);
		vaddr_t leaf_start = ALIGN_DOWN(va, level_size(level));

		if (!e) {
			va = leaf_start + level_size(level);
			continue;
		}
		if (leaf_start < va || leaf_start + level_size(level) > end) {
			/* A large page sticks out of the range: split it, then retry. */
			err = pt_split(e, level);
			if (err)
				break;
			continue;
		}
		op(path, level, flags);
		changed = true;
		va = leaf_start + level_size(level);
	}
	if (changed)
		arch_tlb_flush_all();
	return err;
}

static void leaf_clear(arch_pte_t **path, int level, unsigned int flags __unused)
{
	*path[level] = 0;
	pt_free_empty(path, level);
}

static void leaf_protect(arch_pte_t **path, int level, unsigned int flags)
{
	*path[level] = arch_pte_leaf(arch_pte_addr(*path[level]), level, flags);
}

int aspace_unmap(struct aspace *as, vaddr_t va, size_t size)
{
	return pt_for_each_leaf(as, va, size, leaf_clear, 0);
}

int aspace_protect(struct aspace *as, vaddr_t va, size_t size, unsigned int flags)
{
	return pt_for_each_leaf(as, va, size, leaf_protect, flags);
}

int aspace_query(const struct aspace *as, vaddr_t va, paddr_t *pa, unsigned int *flags)
{
	int level;
	arch_pte_t *e = pt_lookup(as, va, &level);

	if (!e)
		return -ENOENT;
	if (pa)
		*pa = arch_pte_addr(*e) + (va & (level_size(level) - 1));
	if (flags)
		*flags = arch_pte_flags(*e);
	return 0;
}

void aspace_share(struct aspace *dst, const struct aspace *src, vaddr_t va, size_t size)
{
	int top = ARCH_PT_LEVELS - 1;

	ASSERT(IS_ALIGNED(va | size, level_size(top)));
	for (vaddr_t a = va; a < va + size; a += level_size(top)) {
		unsigned int i = arch_pt_index(a, top);

		pt_entries(dst->root)[i] = pt_entries(src->root)[i];
	}
}

static void pt_free_tree(paddr_t table, int level)
{
	arch_pte_t *e = pt_entries(table);

	if (level > 0)
		for (unsigned int i = 0; i < ARCH_PT_ENTRIES; i++)
			if (arch_pte_present(e[i]) && !arch_pte_is_leaf(e[i], level))
				pt_free_tree(arch_pte_addr(e[i]), level - 1);
	pt_free(table);
}

void aspace_destroy(struct aspace *as)
{
	int top = ARCH_PT_LEVELS - 1;
	arch_pte_t *e = pt_entries(as->root);

	/* Only user space: the kernel window's tables are shared. */
	for (unsigned int i = 0; i < arch_pt_index(CRTOS_USER_TOP, top); i++)
		if (arch_pte_present(e[i]))
			pt_free_tree(arch_pte_addr(e[i]), top - 1);
	pt_free(as->root);
	as->root = PADDR_INVALID;
}

size_t aspace_table_pages(void)
{
	return aspace_nr_tables;
}
