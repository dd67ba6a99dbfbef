/* SPDX-License-Identifier: MIT */
/*
 * The kernel heap. Small objects (up to KMEM_MAX_SMALL bytes) come from
 * one-page slabs of eight power-of-two size classes; larger ones are whole
 * page blocks from the page allocator. Every operation is bounded (no
 * search): O(1) for small objects, O(PMM_MAX_ORDER) for large ones.
 * Not for the real-time path: allocate at setup, not in a periodic loop.
 */
#ifndef KERNEL_KMEM_H
#define KERNEL_KMEM_H

#include <kernel/types.h>

#define KMEM_MIN_SMALL	16
#define KMEM_MAX_SMALL	2048
#define KMEM_NONE	0xffffu

/* Start with an empty heap; the page allocator must be set up. */
void kmem_init(void);

/*
 * At least size bytes, 16-byte aligned, and 64-byte aligned from 64 bytes up
 * (size classes are powers of two inside a page, larger blocks are pages:
 * XSAVE areas rely on it); NULL when memory is exhausted or size is 0.
 */
void *kmalloc(size_t size);

/* kmalloc, zero-filled. */
void *kzalloc(size_t size);

/* Free what kmalloc returned; NULL is ignored. Panics on a pointer kmalloc never returned. */
void kfree(void *p);

/* Bytes usable at p (the size class, or the page block). */
size_t kmem_size(const void *p);

/* Objects currently allocated, for leak checks. */
size_t kmem_live_objects(void);
/*
 * Empty slabs kept for reuse (at most one a size class): free memory in all
 * but name, which a count of free memory should include. Otherwise the first
 * use of a size class would read as a page lost.
 */
size_t kmem_cached_pages(void);

#endif
