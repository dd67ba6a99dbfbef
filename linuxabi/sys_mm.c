// SPDX-License-Identifier: MIT
/*
 * Memory system calls (dual: both realms change; see mm.c). Private file
 * mappings are copies: the pages are ours, and the shadow reads the file
 * into them (it maps them at the same address). Shared mappings (of a
 * file, /dev/shm, a memfd, shared anonymous memory, SysV segments) are the
 * Linux object's own pages, a shared slot (shm.c, crtos/shm.h).
 */
#include <linuxabi/handlers.h>
#include <linuxabi/linux.h>
#include <asm-generic/mman-common.h>
#include <linux/ipc.h>
#include <linux/mman.h>
#include <linux/shm.h>
#include <asm/unistd_64.h>

#define LX_MAP_SHARED		0x01
#define LX_MAP_PRIVATE		0x02
#define LX_MAP_SHARED_VALIDATE	0x03
#define LX_PROT_ALL		(PROT_READ | PROT_WRITE | PROT_EXEC)
#define LX_SHMLBA		PAGE_SIZE	/* x86's */

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
	if (flags & LX_MAP_SHARED)
		return lx_mmap_shared(addr, len, map, flags & MAP_FIXED, flags & MAP_ANONYMOUS ? -1 :
				      (int64_t)(int)fd, flags & MAP_ANONYMOUS ? 0 : off,
				      flags & MAP_ANONYMOUS ? CRTOS_SHM_MAP_ANON : CRTOS_SHM_MAP_FD,
				      &got) ?: (long)got;
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

/* shmat: the segment's size from Linux, then a shared slot like a shared file mapping. */
static long shmat_locked(const uint64_t *a)
{
	struct shmid64_ds *ds = (struct shmid64_ds *)lx_bounce(lx_current()->proc);
	uint64_t addr = a[1], shmflg = a[2];
	unsigned int map = MAP_READ | (shmflg & SHM_RDONLY ? 0 : MAP_WRITE) |
			   (shmflg & SHM_EXEC ? MAP_EXEC : 0);
	vaddr_t got;
	long err;

	if (shmflg & SHM_REMAP && !addr)
		return -EINVAL;
	if (addr & (LX_SHMLBA - 1)) {
		if (!(shmflg & SHM_RND))
			return -EINVAL;
		addr &= ~(uint64_t)(LX_SHMLBA - 1);
	}
	err = rcall(__NR_shmctl, a[0], IPC_STAT, lx_bounce_in_shadow(lx_current()->proc), 0, 0, 0);
	if (err)
		return err;
	/* Without SHM_REMAP a segment never replaces a mapping (Linux: EINVAL). */
	if (addr && !(shmflg & SHM_REMAP) && !lx_range_free(addr, ds->shm_segsz))
		return -EINVAL;
	err = lx_mmap_shared(addr, ds->shm_segsz, map, addr != 0, (int64_t)a[0], 0,
			     CRTOS_SHM_MAP_SYSV, &got);
	return err ?: (long)got;
}

long sys_shmat(const uint64_t *a)
{
	if (mm_borrowed())
		return -ENOMEM;
	mm_lock();
	return mm_unlock(shmat_locked(a));
}

long sys_shmdt(const uint64_t *a)
{
	if (mm_borrowed())
		return -ENOMEM;
	mm_lock();
	return mm_unlock(lx_shmdt(a[0]));
}

/* The range must be mapped; the shadow's msync writes the shared object's pages (ours too). */
long sys_msync(const uint64_t *a)
{
	long err;

	if (a[2] & ~(uint64_t)(MS_ASYNC | MS_INVALIDATE | MS_SYNC) ||
	    (a[2] & (MS_ASYNC | MS_SYNC)) == (MS_ASYNC | MS_SYNC))
		return -EINVAL;
	mm_lock();
	err = lx_msync_check(a[0], a[1]);
	err = err ?: rcall(__NR_msync, a[0], a[1], a[2], 0, 0, 0);
	return mm_unlock(err);
}

long sys_mincore(const uint64_t *a)
{
	mm_lock();
	return mm_unlock(lx_mincore(a[0], a[1], a[2]));
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
