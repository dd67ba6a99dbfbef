/* SPDX-License-Identifier: MIT */
/*
 * x86-64 4-level page-table entries, as seen by the portable page-table code
 * (kernel/aspace.c). Levels count from the leaf: 0 = PT (4 KiB pages),
 * 1 = PD (2 MiB pages), 2 = PDPT, 3 = PML4. Leaves are allowed at levels 0
 * and 1; 1 GiB pages are not used (kvm_pvm's shadow MMU is only known to
 * handle 2 MiB ones).
 *
 * The kernel runs at ring 3 under kvm_pvm, so its own pages must carry the
 * user bit too: x86_pte_kernel_bits says what a kernel mapping gets, and the
 * boot code sets it once for the platform (see docs/architecture.md).
 */
#ifndef ASM_PTE_H
#define ASM_PTE_H

#include <kernel/types.h>
#include <kernel/mmflags.h>

#define ARCH_PT_LEVELS		4
#define ARCH_PT_ENTRIES		512
#define ARCH_PT_MAX_LEAF_LEVEL	1

#define X86_PTE_P	(1ull << 0)
#define X86_PTE_RW	(1ull << 1)
#define X86_PTE_US	(1ull << 2)
#define X86_PTE_PWT	(1ull << 3)
#define X86_PTE_PCD	(1ull << 4)
#define X86_PTE_A	(1ull << 5)
#define X86_PTE_D	(1ull << 6)
#define X86_PTE_PS	(1ull << 7)
#define X86_PTE_G	(1ull << 8)
#define X86_PTE_SW_USER	(1ull << 9)	/* software bit: a MAP_USER mapping */
#define X86_PTE_NX	(1ull << 63)
#define X86_PTE_ADDR	0x000ffffffffff000ull

typedef uint64_t arch_pte_t;

/* Bits every kernel (non-MAP_USER) mapping gets: X86_PTE_US when the kernel runs at ring 3. */
extern uint64_t x86_pte_kernel_bits;

static inline unsigned int arch_pt_shift(int level)
{
	return PAGE_SHIFT + 9u * (unsigned int)level;
}

static inline unsigned int arch_pt_index(vaddr_t va, int level)
{
	return (unsigned int)(va >> arch_pt_shift(level)) & (ARCH_PT_ENTRIES - 1);
}

static inline bool arch_pte_present(arch_pte_t pte)
{
	return pte & X86_PTE_P;
}

static inline bool arch_pte_is_leaf(arch_pte_t pte, int level)
{
	return level == 0 || (pte & X86_PTE_PS);
}

static inline paddr_t arch_pte_addr(arch_pte_t pte)
{
	return pte & X86_PTE_ADDR;
}

/* An entry pointing at a next-level table: permissive, the leaf decides. */
static inline arch_pte_t arch_pte_table(paddr_t table)
{
	return table | X86_PTE_P | X86_PTE_RW | X86_PTE_US;
}

static inline arch_pte_t arch_pte_leaf(paddr_t pa, int level, unsigned int flags)
{
	arch_pte_t pte = pa | X86_PTE_P | X86_PTE_A;

	if (level > 0)
		pte |= X86_PTE_PS;
	if (flags & MAP_WRITE)
		pte |= X86_PTE_RW | X86_PTE_D;
	if (!(flags & MAP_EXEC))
		pte |= X86_PTE_NX;
	if (flags & MAP_USER)
		pte |= X86_PTE_US | X86_PTE_SW_USER;
	else
		pte |= x86_pte_kernel_bits;
	if (flags & MAP_UNCACHED)
		pte |= X86_PTE_PCD | X86_PTE_PWT;
	if (flags & MAP_GLOBAL)
		pte |= X86_PTE_G;
	return pte;
}

/* The MAP_* flags a leaf entry was made with. */
static inline unsigned int arch_pte_flags(arch_pte_t pte)
{
	unsigned int flags = MAP_READ;

	if (pte & X86_PTE_RW)
		flags |= MAP_WRITE;
	if (!(pte & X86_PTE_NX))
		flags |= MAP_EXEC;
	if (pte & X86_PTE_SW_USER)
		flags |= MAP_USER;
	if (pte & X86_PTE_PCD)
		flags |= MAP_UNCACHED;
	if (pte & X86_PTE_G)
		flags |= MAP_GLOBAL;
	return flags;
}

#endif
