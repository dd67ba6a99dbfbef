// SPDX-License-Identifier: MIT
/*
 * Memory system calls (dual: both realms change; see mm.c). File mappings
 * are private copies for now: the pages are ours, and the shadow reads the
 * file into them (it maps them at the same address). Shared file mappings
 * need a file pager, not written yet: -ENODEV.
 */
#include <linuxabi/handlers.h>
#include <linuxabi/linux.h>
#include <asm-generic/mman-common.h>
#include <linux/mman.h>
#include <asm/unistd_64.h>

#define LX_MAP_SHARED		0x01
#define LX_MAP_PRIVATE		0x02
#define LX_MAP_SHARED_VALIDATE	0x03
#define LX_PROT_ALL		(PROT_READ | PROT_WRITE | PROT_EXEC)

/* The threads of a process change its memory one at a time (calls block midway, in the shadow). */
static void mm_lock(void)
{
	kmutex_lock(&lx_current()->proc->mm_lock);
}

/* A vfork child runs in its parent's memory until it execs: it may not change it. */
static bool mm_borrowed(void)
{
	return lx_current()->proc->vfork_mm;
}

static long mm_unlock(long ret)
{
	kmutex_unlock(&lx_current()->proc->mm_lock);
	return ret;
}

long sys_brk(const uint64_t *a)
{
	if (mm_borrowed())	/* the break cannot move: Linux's failure is the current break */
		return (long)lx_mm_owner(lx_current()->proc)->brk;
	mm_lock();
	return mm_unlock(lx_brk(a[0]));
}

/* Fill [addr, addr + len) from fd at off; the rest of the last page stays zero. */
static long mmap_read_file(uint64_t addr, size_t len, uint64_t fd, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		long n = rcall(__NR_pread64, fd, addr + done, len - done, off + done, 0, 0);

		if (n < 0)
			return n;
		if (n == 0)
			break;	/* past the end of the file: zeros, as Linux gives */
		done += (size_t)n;
	}
	return 0;
}

static long mmap_locked(const uint64_t *a)
{
	uint64_t addr = a[0], len = a[1], prot = a[2], flags = a[3], fd = a[4], off = a[5];
	unsigned int map = lx_prot_to_map(prot);
	vaddr_t got;
	long err;

	if (!len || (off & (PAGE_SIZE - 1)) || (prot & ~LX_PROT_ALL) ||
	    !(flags & (LX_MAP_SHARED | LX_MAP_PRIVATE)))
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS) && (flags & LX_MAP_SHARED_VALIDATE) != LX_MAP_PRIVATE)
		return -ENODEV;
	if (flags & MAP_ANONYMOUS)
		return lx_mmap_anon(addr, len, map, flags & MAP_FIXED, &got) ?: (long)got;
	err = lx_mmap_anon(addr, len, MAP_READ | MAP_WRITE, flags & MAP_FIXED, &got);
	if (err)
		return err;
	err = mmap_read_file(got, len, fd, off);
	err = err ?: lx_mprotect(got, len, map);
	if (err) {
		lx_munmap(got, len);
		return err;
	}
	return (long)got;
}

long sys_mmap(const uint64_t *a)
{
	if (mm_borrowed())
		return -ENOMEM;
	mm_lock();
	return mm_unlock(mmap_locked(a));
}

long sys_munmap(const uint64_t *a)
{
	if (mm_borrowed())
		return -ENOMEM;
	mm_lock();
	return mm_unlock(lx_munmap(a[0], a[1]));
}

/* mremap(old, old_len, new_len, flags, new_addr): the flags as Linux checks them, then mm.c. */
long sys_mremap(const uint64_t *a)
{
	uint64_t flags = a[3];
	vaddr_t got;
	long err;

	if (flags & ~(uint64_t)(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) ||
	    ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)) ||
	    ((flags & MREMAP_DONTUNMAP) && (!(flags & MREMAP_MAYMOVE) || a[1] != a[2])))
		return -EINVAL;
	if (mm_borrowed())
		return -ENOMEM;
	mm_lock();
	err = lx_mremap(a[0], a[1], a[2], flags, a[4], &got);
	return mm_unlock(err ?: (long)got);
}

long sys_mprotect(const uint64_t *a)
{
	if (a[2] & ~LX_PROT_ALL)
		return -EINVAL;
	if (mm_borrowed())
		return -ENOMEM;
	mm_lock();
	return mm_unlock(lx_mprotect(a[0], a[1], lx_prot_to_map(a[2])));
}

long sys_madvise(const uint64_t *a)
{
	switch (a[2]) {
	case MADV_DONTNEED:
		if (mm_borrowed())
			return -ENOMEM;
		mm_lock();
		return mm_unlock(lx_madvise_dontneed(a[0], a[1]));
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
	case MADV_WILLNEED:
	case MADV_FREE:
	case MADV_DONTFORK:
	case MADV_DOFORK:
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
	case MADV_DONTDUMP:
	case MADV_DODUMP:
		return (a[0] & (PAGE_SIZE - 1)) ? -EINVAL : 0;	/* memory stays resident anyway */
	default:
		return -EINVAL;
	}
}

/* RT memory is always resident and locked: the mlock family only checks its arguments. */
long sys_mlock(const uint64_t *a)
{
	return user_range_ok(a[0], a[1]) ? 0 : -ENOMEM;
}

long sys_munlock(const uint64_t *a)
{
	return sys_mlock(a);
}

long sys_mlock2(const uint64_t *a)
{
	return a[2] & ~1ull ? -EINVAL : sys_mlock(a);
}

long sys_mlockall(const uint64_t *a)
{
	return !a[0] || (a[0] & ~7ull) ? -EINVAL : 0;
}

long sys_munlockall(const uint64_t *a __unused)
{
	return 0;
}
