/* SPDX-License-Identifier: MIT */
/* Portable mapping attributes, translated to page-table bits by the arch layer. */
#ifndef KERNEL_MMFLAGS_H
#define KERNEL_MMFLAGS_H

#define MAP_READ	0x01u	/* always implied: every present mapping is readable */
#define MAP_WRITE	0x02u
#define MAP_EXEC	0x04u
#define MAP_USER	0x08u	/* accessible to RT processes, not only to the kernel */
#define MAP_UNCACHED	0x10u	/* device memory (the MMIO window) */
#define MAP_GLOBAL	0x20u	/* same in every address space: kept in the TLB across switches */

#define MAP_KERNEL_RW	(MAP_READ | MAP_WRITE | MAP_GLOBAL)
#define MAP_KERNEL_RX	(MAP_READ | MAP_EXEC | MAP_GLOBAL)
#define MAP_KERNEL_RO	(MAP_READ | MAP_GLOBAL)

#endif
