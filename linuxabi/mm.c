// SPDX-License-Identifier: MIT
/*
 * User memory of RT processes. Every page is allocated, zeroed and mapped
 * up front (no demand paging in the RT realm: page faults are slow and
 * nondeterministic), and mirrored in the shadow at the same address before
 * the program can use it. Unmapping removes the shadow's mapping first, so a
 * page is never reused while the shadow can still reach it.
 *
 * A VMA records the physical page behind each of its pages: it is the truth
 * the page tables follow (PROT_NONE pages have no page-table entry at all,
 * but keep their memory). Pages come in contiguous blocks when possible;
 * each contiguous run is one shadow mapping. The exception is a
 * *reservation*: anonymous memory mapped PROT_NONE (what allocators, JITs
 * and thread stacks' guards reserve address space with, gigabytes at a
 * time) has no pages and no shadow mapping until mprotect makes a part of
 * it accessible; that part then gets its zeroed pages, as an mmap would.
 *
 * A shared VMA maps a shared slot (shm.c) instead: its pages are the Linux
 * object's, never zeroed, copied or freed here; the shadow's mapping of it
 * is Linux's own (made by the shadow, kept by its fork), and each such VMA
 * holds one reference on the slot. Pages past the object's end have no
 * page (PADDR_INVALID) and no entry: a touch is SIGBUS.
 */
#include <kernel/clock.h>
#include <kernel/kmem.h>
#include <kernel/mm.h>
#include <kernel/pmm.h>
#include <kernel/string.h>
#include <linuxabi/linux.h>
#include <crtos/shm.h>
#include <asm-generic/mman-common.h>
#include <linux/mman.h>
#include <asm/unistd_64.h>

#define LX_MMAP_BOTTOM	0x10000ull	/* Linux's default mmap_min_addr */
#define LX_BLOCK_ORDER	9		/* allocate user memory 2 MiB at a time when possible */

struct lx_vma {
	struct vma v;
	paddr_t *pages;			/* one per page of [v.start, v.end) */
	bool foreign;			/* pages belong to the kernel (vDSO, clock page): never
					 * freed, zeroed or made writable through this VMA */
	bool shared;			/* pages are shared slot `slot`'s (see above) */
	bool sysv;			/* shared: a SysV segment (shmdt detaches it) */
	bool reserved;			/* a reservation (see above): pages is NULL */
	unsigned int slot;		/* (kept small: VMAs stay in the heap's 64-byte class) */
	unsigned int slot_page;		/* shared: the page of the slot at v.start */
};

_Static_assert(sizeof(struct lx_vma) <= 64, "a VMA fits the heap's 64-byte class");

static struct lx_vma *to_lx(struct vma *v)
{
	return container_of(v, struct lx_vma, v);
}

static size_t vma_pages(const struct vma *v)
{
	return (v->end - v->start) >> PAGE_SHIFT;
}

unsigned int lx_prot_to_map(unsigned long prot)
{
	unsigned int flags = prot & (PROT_READ | PROT_WRITE | PROT_EXEC) ? MAP_READ : 0;

	if (prot & PROT_WRITE)
		flags |= MAP_WRITE;
	if (prot & PROT_EXEC)
		flags |= MAP_EXEC;
	return flags;
}

/* PROT_* for the shadow's mirror. It never executes program code. */
static unsigned long map_to_prot(unsigned int flags)
{
	return (flags & MAP_READ ? PROT_READ : 0) | (flags & MAP_WRITE ? PROT_WRITE : 0);
}

static struct lx_process *cur_proc(void)
{
	return lx_current()->proc;
}

/* The first VMA that ends after addr, or NULL. */
static struct vma *vma_after(struct lx_process *p, vaddr_t addr)
{
	struct vma *v;

	list_for_each_entry(v, &p->vmas, node)
		if (v->end > addr)
			return v;
	return NULL;
}

static bool range_free(struct lx_process *p, vaddr_t start, vaddr_t end)
{
	struct vma *v = vma_after(p, start);

	return !v || v->start >= end;
}

bool lx_range_free(vaddr_t addr, size_t len)
{
	return range_free(cur_proc(), addr, addr + ALIGN_UP(len, PAGE_SIZE));
}

static void vma_insert(struct lx_process *p, struct vma *nv)
{
	struct vma *v = vma_after(p, nv->start);

	if (v)
		list_insert(&nv->node, v->node.prev, &v->node);
	else
		list_add_tail(&p->vmas, &nv->node);
}

/* Split v at addr (inside it): v keeps [start, addr), a new VMA gets the rest. */
static int vma_split(struct vma *v, vaddr_t addr)
{
	size_t head = (addr - v->start) >> PAGE_SHIFT, tail = vma_pages(v) - head;
	struct lx_vma *nv = kzalloc(sizeof(*nv));
	bool reserved = to_lx(v)->reserved;
	paddr_t *pages = nv && !reserved ? kmalloc(tail * sizeof(paddr_t)) : NULL;

	if (!nv || (!pages && !reserved)) {
		kfree(nv);
		return -ENOMEM;
	}
	if (pages)
		memcpy(pages, to_lx(v)->pages + head, tail * sizeof(paddr_t));
	nv->pages = pages;
	nv->reserved = reserved;
	nv->v.start = addr;
	nv->v.end = v->end;
	nv->v.prot = v->prot;
	nv->foreign = to_lx(v)->foreign;
	nv->shared = to_lx(v)->shared;
	nv->sysv = to_lx(v)->sysv;
	nv->slot = to_lx(v)->slot;
	nv->slot_page = to_lx(v)->slot_page + (unsigned int)head;
	if (nv->shared)
		lx_shm_get(nv->slot);
	v->end = addr;
	list_insert(&nv->v.node, &v->node, v->node.next);
	return 0;
}

/* Make start and end VMA boundaries (no VMA straddles them). */
static int vma_split_range(struct lx_process *p, vaddr_t start, vaddr_t end)
{
	struct vma *v = vma_after(p, start);
	int err = 0;

	if (v && v->start < start)
		err = vma_split(v, start);
	v = vma_after(p, end);
	if (!err && v && v->start < end)
		err = vma_split(v, end);
	return err;
}

static void vma_free(struct vma *v, bool free_pages)
{
	struct lx_vma *lv = to_lx(v);

	if (lv->shared)
		lx_shm_put(lv->slot);	/* the caller removed its page-table entries */
	else if (free_pages && !lv->foreign && !lv->reserved)
		for (size_t i = 0; i < vma_pages(v); i++)
			pmm_free(lv->pages[i], 0);
	list_del(&v->node);
	kfree(lv->pages);
	kfree(lv);
}

/* Calls fn for each run of physically contiguous pages of v in [start, end) (holes skipped). */
static long vma_for_each_run(struct vma *v, vaddr_t start, vaddr_t end, void *ctx,
			     long (*fn)(struct vma *v, vaddr_t va, paddr_t pa, size_t len, void *ctx))
{
	paddr_t *pages = to_lx(v)->pages;

	if (to_lx(v)->reserved)
		return 0;
	while (start < end) {
		size_t i = (start - v->start) >> PAGE_SHIFT, n = 1;
		long err;

		if (pages[i] == PADDR_INVALID) {
			start += PAGE_SIZE;
			continue;
		}
		while (start + n * PAGE_SIZE < end && pages[i + n] == pages[i] + n * PAGE_SIZE)
			n++;
		err = fn(v, start, pages[i], n * PAGE_SIZE, ctx);
		if (err)
			return err;
		start += n * PAGE_SIZE;
	}
	return 0;
}

static long run_mirror(struct vma *v, vaddr_t va, paddr_t pa, size_t len, void *ctx)
{
	(void)ctx;
	if (to_lx(v)->shared)
		return 0;	/* the shadow's mapping is Linux's own, kept across its fork */
	return rcall(CRTOS_SHADOW_MAP, va, len, pa, map_to_prot(v->prot), 0, 0);
}

/* ctx: the process whose page tables get the run. */
static long run_map(struct vma *v, vaddr_t va, paddr_t pa, size_t len, void *ctx)
{
	return aspace_map(&((struct lx_process *)ctx)->as, va, pa, len, v->prot | MAP_USER);
}

/* Page tables for [start, end) of v, following its protection. */
static long vma_map_pages(struct vma *v, vaddr_t start, vaddr_t end)
{
	if (!(v->prot & MAP_READ))
		return 0;	/* PROT_NONE: no entries at all */
	return vma_for_each_run(v, start, end, cur_proc(), run_map);
}

/*
 * A new VMA over [start, end), its pages zeroed unless the caller fills
 * them all (fork's copy); not yet mapped anywhere.
 */
static struct vma *vma_populate(vaddr_t start, vaddr_t end, unsigned int prot, bool zero)
{
	struct lx_vma *lv = kzalloc(sizeof(*lv));
	size_t n = (end - start) >> PAGE_SHIFT, done = 0;

	if (!lv || !(lv->pages = kmalloc(n * sizeof(paddr_t))))
		goto err;
	while (done < n) {
		unsigned int order = 0;
		size_t got;
		paddr_t pa;

		while (order < LX_BLOCK_ORDER && (2ul << order) <= n - done)
			order++;
		pa = pmm_alloc_pages(order, &got);	/* waits for late RAM if it must */
		if (pa == PADDR_INVALID)
			goto err;
		if (zero)
			memset(arch_phys_to_virt(pa), 0, got * PAGE_SIZE);
		for (size_t i = 0; i < got; i++)
			lv->pages[done + i] = pa + i * PAGE_SIZE;
		done += got;
	}
	lv->v.start = start;
	lv->v.end = end;
	lv->v.prot = prot;
	list_init(&lv->v.node);
	return &lv->v;
err:
	if (lv && lv->pages)
		for (size_t i = 0; i < done; i++)
			pmm_free(lv->pages[i], 0);
	if (lv)
		kfree(lv->pages);
	kfree(lv);
	return NULL;
}

/* Highest free range of len bytes below LX_MMAP_TOP, or 0. */
static vaddr_t find_free(struct lx_process *p, size_t len)
{
	vaddr_t end = LX_MMAP_TOP;
	struct vma *v;

	for (v = list_entry(p->vmas.prev, struct vma, node); &v->node != &p->vmas;
	     v = list_entry(v->node.prev, struct vma, node)) {
		if (v->start >= end)
			continue;
		if (end - v->end >= len && v->end <= end)
			return end - len;
		end = v->start;
	}
	return end - LX_MMAP_BOTTOM >= len ? end - len : 0;
}

/* Unmap [start, end) in both realms. Returns 0 or -errno. */
static long do_munmap(struct lx_process *p, vaddr_t start, vaddr_t end)
{
	struct vma *v, *tmp;
	long err;

	if (range_free(p, start, end))
		return 0;
	err = vma_split_range(p, start, end);
	err = err ?: rcall(CRTOS_SHADOW_UNMAP, start, end - start, 0, 0, 0, 0);
	if (err)
		return err;
	aspace_unmap(&p->as, start, end - start);
	list_for_each_entry_safe(v, tmp, &p->vmas, node)
		if (v->start >= start && v->end <= end)
			vma_free(v, true);
	return 0;
}

/*
 * Map fresh zeroed memory at addr (exactly there if fixed, else addr is a
 * hint) in both realms; *out is where it went.
 */
/* Insert v (mirrored already) and map its pages; *out: its start. 0, or -errno with v gone. */
static long vma_install(struct lx_process *p, struct vma *v, vaddr_t *out)
{
	long err;

	vma_insert(p, v);
	err = vma_map_pages(v, v->start, v->end);
	if (err) {
		do_munmap(p, v->start, v->end);
		return err;
	}
	*out = v->start;
	return 0;
}

/* Mirror v (new private memory over a free range) in the shadow, then install it. */
static long vma_mirror_install(struct lx_process *p, struct vma *v, vaddr_t *out)
{
	long err = vma_for_each_run(v, v->start, v->end, NULL, run_mirror);

	if (err) {
		rcall(CRTOS_SHADOW_UNMAP, v->start, v->end - v->start, 0, 0, 0, 0);
		vma_free(v, true);
		return err;
	}
	return vma_install(p, v, out);
}

/*
 * Where a new mapping of len bytes (page multiple) goes: exactly *addr if
 * fixed (what was there is unmapped), else *addr is a hint. 0 or -errno.
 */
static long mmap_place(struct lx_process *p, vaddr_t *addr, size_t len, bool fixed)
{
	vaddr_t a = *addr;

	if (!len || (a & (PAGE_SIZE - 1) && fixed))
		return -EINVAL;
	a = ALIGN_DOWN(a, PAGE_SIZE);
	if (fixed) {
		if (a < LX_MMAP_BOTTOM || !user_range_ok(a, len))
			return -ENOMEM;
		*addr = a;
		return do_munmap(p, a, a + len);
	}
	if (!a || a < LX_MMAP_BOTTOM || !user_range_ok(a, len) || !range_free(p, a, a + len)) {
		a = find_free(p, len);
		if (!a)
			return -ENOMEM;
	}
	*addr = a;
	return 0;
}

/* A reservation over [start, end): no pages, nothing in the shadow (see above). */
static struct vma *vma_reserve(vaddr_t start, vaddr_t end)
{
	struct lx_vma *lv = kzalloc(sizeof(*lv));

	if (!lv)
		return NULL;
	lv->reserved = true;
	lv->v.start = start;
	lv->v.end = end;
	list_init(&lv->v.node);
	return &lv->v;
}

/*
 * mprotect made reservation v accessible with prot: zeroed pages, mirrored
 * in the shadow, then page tables. 0, or -errno with v still a reservation.
 */
static long vma_commit(struct lx_process *p, struct vma *v, unsigned int prot)
{
	struct vma *fresh = vma_populate(v->start, v->end, prot, true);
	long err;

	if (!fresh)
		return -ENOMEM;
	to_lx(v)->pages = to_lx(fresh)->pages;
	to_lx(v)->reserved = false;
	kfree(to_lx(fresh));
	v->prot = prot;
	err = vma_for_each_run(v, v->start, v->end, NULL, run_mirror);
	if (err) {
		rcall(CRTOS_SHADOW_UNMAP, v->start, v->end - v->start, 0, 0, 0, 0);
	} else {
		err = vma_map_pages(v, v->start, v->end);
		if (err)
			do_munmap(p, v->start, v->end);		/* v is gone with its pages */
		return err;
	}
	for (size_t i = 0; i < vma_pages(v); i++)
		pmm_free(to_lx(v)->pages[i], 0);
	kfree(to_lx(v)->pages);
	to_lx(v)->pages = NULL;
	to_lx(v)->reserved = true;
	v->prot = 0;
	return err;
}

long lx_mmap_anon(vaddr_t addr, size_t len, unsigned int prot, bool fixed, vaddr_t *out)
{
	struct lx_process *p = cur_proc();
	struct vma *v;
	long err;

	len = ALIGN_UP(len, PAGE_SIZE);
	err = mmap_place(p, &addr, len, fixed);
	if (err)
		return err;
	if (!prot) {
		v = vma_reserve(addr, addr + len);
		if (!v)
			return -ENOMEM;
		return vma_install(p, v, out);
	}
	v = vma_populate(addr, addr + len, prot, true);
	if (!v)
		return -ENOMEM;
	return vma_mirror_install(p, v, out);
}

/* A VMA over [start, end) for shared slot sl at gpa: its pages, holes past the object's end. */
static struct vma *vma_shared(vaddr_t start, vaddr_t end, unsigned int prot, paddr_t gpa,
			      const struct lx_shm_slot *sl)
{
	struct lx_vma *lv = kzalloc(sizeof(*lv));
	size_t n = (end - start) >> PAGE_SHIFT;

	if (!lv || !(lv->pages = kmalloc(n * sizeof(paddr_t)))) {
		kfree(lv);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		lv->pages[i] = i * PAGE_SIZE < sl->valid ? gpa + i * PAGE_SIZE : PADDR_INVALID;
	lv->shared = true;
	lv->sysv = sl->sysv;
	lv->slot = sl->index;
	lv->v.start = start;
	lv->v.end = end;
	lv->v.prot = prot;
	list_init(&lv->v.node);
	return &lv->v;
}

/*
 * Map a shared object (how, fd and off as CRTOS_SHADOW_SHM_MAP's) at addr,
 * as lx_mmap_anon places it: the shadow maps it and has the VMM make it a
 * shared slot, which we adopt and map. *out is where it went.
 */
long lx_mmap_shared(vaddr_t addr, size_t len, unsigned int prot, bool fixed, int64_t fd,
		    uint64_t off, int how, vaddr_t *out)
{
	struct lx_process *p = cur_proc();
	struct lx_shm_slot sl;
	struct vma *v;
	long gpa, err;

	len = ALIGN_UP(len, PAGE_SIZE);
	if (len > CRTOS_SHM_SLOT_SPAN)
		return -ENOMEM;
	err = mmap_place(p, &addr, len, fixed);
	if (err)
		return err;
	gpa = rcall(CRTOS_SHADOW_SHM_MAP, addr, len, map_to_prot(prot), (uint64_t)fd, off,
		    (uint64_t)how);
	if (gpa < 0)
		return gpa;
	err = lx_shm_adopt((paddr_t)gpa, len, p->index, &sl);
	v = err ? NULL : vma_shared(addr, addr + len, prot, (paddr_t)gpa, &sl);
	if (!v) {
		if (!err)
			lx_shm_put(sl.index);
		rcall(CRTOS_SHADOW_UNMAP, addr, len, 0, 0, 0, 0);
		return err ?: -ENOMEM;
	}
	return vma_install(p, v, out);
}

/* shmdt: unmap every VMA of the SysV segment attached at addr. 0 or -EINVAL. */
long lx_shmdt(vaddr_t addr)
{
	struct lx_process *p = cur_proc();
	struct vma *v = vma_after(p, addr), *w, *tmp;
	unsigned int slot;
	long err = 0;

	if (!v || v->start != addr || !to_lx(v)->shared || !to_lx(v)->sysv)
		return -EINVAL;
	slot = to_lx(v)->slot;
	list_for_each_entry_safe(w, tmp, &p->vmas, node)
		if (to_lx(w)->shared && to_lx(w)->slot == slot && !err)
			err = do_munmap(p, w->start, w->end);
	return err;
}

/*
 * Map the kernel's physically contiguous pages [pa, pa + len) at addr, with
 * prot, in both realms (the vDSO and its clock page). The program may unmap
 * them but never write them.
 */
long lx_map_kernel_pages(vaddr_t addr, paddr_t pa, size_t len, unsigned int prot)
{
	struct lx_process *p = cur_proc();
	struct lx_vma *lv = kzalloc(sizeof(*lv));
	size_t n = len >> PAGE_SHIFT;
	long err;

	if (!lv || !(lv->pages = kmalloc(n * sizeof(paddr_t)))) {
		kfree(lv);
		return -ENOMEM;
	}
	if (!range_free(p, addr, addr + len) || (prot & MAP_WRITE)) {
		kfree(lv->pages);
		kfree(lv);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		lv->pages[i] = pa + i * PAGE_SIZE;
	lv->foreign = true;
	lv->v.start = addr;
	lv->v.end = addr + len;
	lv->v.prot = prot;
	list_init(&lv->v.node);
	err = vma_for_each_run(&lv->v, addr, addr + len, NULL, run_mirror);
	if (err) {
		vma_free(&lv->v, false);
		return err;
	}
	vma_insert(p, &lv->v);
	err = vma_map_pages(&lv->v, addr, addr + len);
	if (err)
		do_munmap(p, addr, addr + len);
	return err;
}

/* Whether any page of [start, end) is the kernel's. */
static bool range_foreign(struct lx_process *p, vaddr_t start, vaddr_t end)
{
	struct vma *v;

	list_for_each_entry(v, &p->vmas, node)
		if (v->start < end && v->end > start && to_lx(v)->foreign)
			return true;
	return false;
}

long lx_munmap(vaddr_t addr, size_t len)
{
	if ((addr & (PAGE_SIZE - 1)) || !len || !user_range_ok(addr, ALIGN_UP(len, PAGE_SIZE)))
		return -EINVAL;
	return do_munmap(cur_proc(), addr, addr + ALIGN_UP(len, PAGE_SIZE));
}

/* Whether [start, end) is mapped without holes. */
static bool range_mapped(struct lx_process *p, vaddr_t start, vaddr_t end)
{
	struct vma *v = vma_after(p, start);

	while (start < end) {
		if (!v || v->start > start)
			return false;
		start = v->end;
		v = list_entry(v->node.next, struct vma, node);
		if (&v->node == &p->vmas)
			v = NULL;
	}
	return true;
}

static bool range_has_reservation(struct lx_process *p, vaddr_t start, vaddr_t end)
{
	struct vma *v;

	list_for_each_entry(v, &p->vmas, node)
		if (v->start < end && v->end > start && to_lx(v)->reserved)
			return true;
	return false;
}

/*
 * mprotect of [start, end) (VMA boundaries) where reservations are: each
 * VMA on its own, a reservation made accessible gets its memory, one made
 * PROT_NONE again stays a reservation.
 */
static long mprotect_reservations(struct lx_process *p, vaddr_t start, vaddr_t end,
				  unsigned int prot)
{
	struct vma *v, *tmp;
	long err = 0;

	list_for_each_entry_safe(v, tmp, &p->vmas, node) {
		if (v->start < start || v->end > end || err)
			continue;
		if (to_lx(v)->reserved) {
			if (prot)
				err = vma_commit(p, v, prot);
			continue;
		}
		err = rcall(CRTOS_SHADOW_PROTECT, v->start, v->end - v->start, map_to_prot(prot),
			    0, 0, 0);
		if (err)
			break;
		if (!(prot & MAP_READ)) {
			aspace_unmap(&p->as, v->start, v->end - v->start);
		} else if (!(v->prot & MAP_READ)) {
			v->prot = prot;
			err = vma_map_pages(v, v->start, v->end);
		} else {
			err = aspace_protect(&p->as, v->start, v->end - v->start, prot | MAP_USER);
		}
		v->prot = prot;
	}
	return err;
}

long lx_mprotect(vaddr_t addr, size_t len, unsigned int prot)
{
	struct lx_process *p = cur_proc();
	vaddr_t end = addr + ALIGN_UP(len, PAGE_SIZE);
	struct vma *v;
	long err;

	if (addr & (PAGE_SIZE - 1) || !user_range_ok(addr, end - addr))
		return -EINVAL;
	if (addr == end)
		return 0;
	if (!range_mapped(p, addr, end))
		return -ENOMEM;
	if ((prot & MAP_WRITE) && range_foreign(p, addr, end))
		return -EACCES;
	err = vma_split_range(p, addr, end);
	if (!err && range_has_reservation(p, addr, end))
		return mprotect_reservations(p, addr, end, prot);
	err = err ?: rcall(CRTOS_SHADOW_PROTECT, addr, end - addr, map_to_prot(prot), 0, 0, 0);
	if (err)
		return err;
	list_for_each_entry(v, &p->vmas, node) {
		if (v->start < addr || v->end > end)
			continue;
		if (!(prot & MAP_READ)) {
			aspace_unmap(&p->as, v->start, v->end - v->start);
		} else if (!(v->prot & MAP_READ)) {
			v->prot = prot;
			err = vma_map_pages(v, v->start, v->end);
		} else {
			err = aspace_protect(&p->as, v->start, v->end - v->start, prot | MAP_USER);
		}
		v->prot = prot;
		if (err)
			return err;
	}
	return 0;
}

/* The program break: grows and shrinks the heap VMA(s) above brk_start. */
long lx_brk(vaddr_t brk)
{
	struct lx_process *p = cur_proc();
	vaddr_t old_end = ALIGN_UP(p->brk, PAGE_SIZE), new_end = ALIGN_UP(brk, PAGE_SIZE), got;

	if (brk < p->brk_start || !user_range_ok(brk, 0) || brk >= LX_MMAP_TOP)
		return (long)p->brk;
	if (new_end > old_end) {
		if (!range_free(p, old_end, new_end) ||
		    lx_mmap_anon(old_end, new_end - old_end, MAP_READ | MAP_WRITE, true, &got))
			return (long)p->brk;
	} else if (new_end < old_end && do_munmap(p, new_end, old_end)) {
		return (long)p->brk;
	}
	p->brk = brk;
	return (long)brk;
}

/*
 * The VMAs under [start, end) of an mremap: Linux wants one VMA; ours may
 * be several (an mremap that grew a mapping in place, mprotect back and
 * forth): adjacent ones of the same protection and kind (private or
 * shared) count as one. -EFAULT if the range is not mapped that way, else
 * 0 with the protection in *prot and the kind in *shared.
 */
static long remap_check(struct lx_process *p, vaddr_t start, vaddr_t end, unsigned int *prot,
			bool *shared)
{
	struct vma *v = vma_after(p, start);

	if (!v || v->start > start)
		return -EFAULT;
	*prot = v->prot;
	*shared = to_lx(v)->shared;
	for (vaddr_t at = start; at < end; at = v->end, v = list_entry(v->node.next, struct vma, node))
		if (&v->node == &p->vmas || v->start > at || v->prot != *prot || to_lx(v)->foreign ||
		    to_lx(v)->shared != *shared || to_lx(v)->reserved)
			return -EFAULT;
	return 0;
}

/* ctx: how far the run moves. */
static long run_mirror_moved(struct vma *v, vaddr_t va, paddr_t pa, size_t len, void *ctx)
{
	return run_mirror(v, va + *(const uint64_t *)ctx, pa, len, NULL);
}

/* Mirror the VMAs of [start, end) in the shadow delta bytes away (their future place). */
static long remap_mirror(struct lx_process *p, vaddr_t start, vaddr_t end, uint64_t delta)
{
	struct vma *v = vma_after(p, start);
	long err = 0;

	for (; !err && &v->node != &p->vmas && v->start < end;
	     v = list_entry(v->node.next, struct vma, node))
		err = vma_for_each_run(v, v->start, v->end, &delta, run_mirror_moved);
	return err;
}

/* Page tables for the VMAs of [start, end) (VMA boundaries) again, after a failed move. */
static void remap_map_back(struct lx_process *p, vaddr_t start, vaddr_t end)
{
	struct vma *v;

	list_for_each_entry(v, &p->vmas, node)
		if (v->start >= start && v->end <= end)
			vma_map_pages(v, v->start, v->end);
}

/*
 * Move the VMAs of [start, end) (VMA boundaries, their page-table entries
 * gone already) delta bytes in the list, and map them there.
 */
static long remap_relink(struct lx_process *p, vaddr_t start, vaddr_t end, uint64_t delta)
{
	struct list_node moving = LIST_INIT(moving);
	struct vma *v, *tmp;
	long err = 0;

	list_for_each_entry_safe(v, tmp, &p->vmas, node) {
		if (v->start >= start && v->end <= end) {
			list_del(&v->node);
			list_add_tail(&moving, &v->node);
		}
	}
	list_for_each_entry_safe(v, tmp, &moving, node) {
		list_del(&v->node);
		v->start += delta;
		v->end += delta;
		vma_insert(p, v);
		err = err ?: vma_map_pages(v, v->start, v->end);
	}
	return err;
}

/*
 * The shadow's side of a move of [old, old + len) to target. Private
 * memory: the shadow maps the same pages at target before it unmaps them
 * at old. Shared: the shadow's mapping is Linux's own; it moves it itself.
 */
static long remap_move_shadow(struct lx_process *p, vaddr_t old, size_t len, vaddr_t target,
			      bool shared)
{
	long err;

	if (shared) {
		err = rcall(__NR_mremap, old, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, target, 0);
		return err < 0 ? err : 0;
	}
	err = remap_mirror(p, old, old + len, target - old);
	err = err ?: rcall(CRTOS_SHADOW_UNMAP, old, len, 0, 0, 0, 0);
	if (err)
		rcall(CRTOS_SHADOW_UNMAP, target, len, 0, 0, 0, 0);
	return err;
}

/*
 * Move [old, old + old_len) to target (free, not overlapping it), growing
 * it to new_len with zeroed pages (private memory only). The pages move,
 * not their contents. dontunmap: old keeps fresh zeroed pages
 * (MREMAP_DONTUNMAP, private only). 0 or -errno; on failure nothing moved.
 */
static long remap_move(struct lx_process *p, vaddr_t old, size_t old_len, size_t new_len,
		       vaddr_t target, unsigned int prot, bool shared, bool dontunmap)
{
	struct vma *grown = NULL, *repl = NULL;
	long err = vma_split_range(p, old, old + old_len);
	vaddr_t at;

	if (!err && dontunmap && !(repl = vma_populate(old, old + old_len, prot, true)))
		err = -ENOMEM;
	if (!err && new_len > old_len &&
	    !(grown = vma_populate(target + old_len, target + new_len, prot, true)))
		err = -ENOMEM;
	err = err ?: (grown ? vma_mirror_install(p, grown, &at) : 0);
	if (!err) {
		err = aspace_unmap(&p->as, old, old_len);	/* may split a large page: ENOMEM */
		err = err ?: remap_move_shadow(p, old, old_len, target, shared);
		if (err) {
			remap_map_back(p, old, old + old_len);
			if (grown)
				do_munmap(p, target + old_len, target + new_len);
		}
	}
	if (err) {
		if (repl)
			vma_free(repl, true);
		return err;
	}
	err = remap_relink(p, old, old + old_len, target - old);
	return err ?: (repl ? vma_mirror_install(p, repl, &at) : 0);
}

/*
 * Grow the shared mapping [old, old + old_len) to new_len at target (old:
 * in place; else free, not overlapping it). A shared slot keeps its size,
 * so the grown mapping is a new slot of the same object from the same
 * offset (the shadow grows its own Linux mapping and has the VMM map that
 * much of the object), and the old VMAs go (their slot with them when
 * nothing else maps it). Pages past the object's end are SIGBUS, as
 * Linux's. 0 with *out, or -errno and nothing changed.
 */
static long remap_grow_shared(struct lx_process *p, vaddr_t old, size_t old_len, size_t new_len,
			      vaddr_t target, unsigned int prot, vaddr_t *out)
{
	int back = target == old ? 0 : MREMAP_MAYMOVE | MREMAP_FIXED;
	struct vma *v = vma_after(p, old), *nv, *tmp;
	struct lx_shm_slot sl;
	long gpa, err;

	if (to_lx(v)->sysv || new_len > CRTOS_SHM_SLOT_SPAN)
		return lx_fallback(-ENOMEM);	/* a SysV segment has its size */
	err = vma_split_range(p, old, old + old_len);
	err = err ?: aspace_unmap(&p->as, old, old_len);	/* may split a large page: ENOMEM */
	if (err)
		return err;
	gpa = rcall(CRTOS_SHADOW_SHM_GROW, old, old_len, new_len, target, to_lx(v)->slot, 0);
	err = gpa < 0 ? gpa : lx_shm_adopt((paddr_t)gpa, new_len, p->index, &sl);
	nv = err ? NULL : vma_shared(target, target + new_len, prot, (paddr_t)gpa, &sl);
	if (!nv) {
		if (!err)
			lx_shm_put(sl.index);
		if (gpa >= 0)
			rcall(__NR_mremap, target, new_len, old_len, (uint64_t)back, old, 0);
		remap_map_back(p, old, old + old_len);
		return err ?: -ENOMEM;
	}
	/* The shadow's mapping is at target already: the old VMAs go from the realm alone. */
	list_for_each_entry_safe(v, tmp, &p->vmas, node)
		if (v->start >= old && v->end <= old + old_len)
			vma_free(v, true);
	return vma_install(p, nv, out);
}

/*
 * mremap(old, old_len, new_len, flags, new_addr) as Linux orders its checks
 * (mm/mremap.c); sys_mm.c checked flags. *out: where the mapping is now.
 * Private file mappings are copies here: a grown one gets zeros, not more
 * of the file. A shared mapping grows with more of its object
 * (remap_grow_shared: not a SysV segment, -ENOMEM), and takes no
 * MREMAP_DONTUNMAP (-EINVAL).
 */
long lx_mremap(vaddr_t old, size_t old_len, size_t new_len, uint64_t flags, vaddr_t new_addr,
	       vaddr_t *out)
{
	struct lx_process *p = cur_proc();
	bool fixed = flags & MREMAP_FIXED, shared;
	unsigned int prot;
	vaddr_t at;
	long err;

	old_len = ALIGN_UP(old_len, PAGE_SIZE);
	new_len = ALIGN_UP(new_len, PAGE_SIZE);
	if ((old & (PAGE_SIZE - 1)) || !new_len)
		return -EINVAL;
	if (fixed) {
		if ((new_addr & (PAGE_SIZE - 1)) || new_addr < LX_MMAP_BOTTOM ||
		    !user_range_ok(new_addr, new_len) ||
		    (old + old_len > new_addr && new_addr + new_len > old))
			return -EINVAL;
		err = do_munmap(p, new_addr, new_addr + new_len);
		if (err)
			return err;
	}
	if (old_len > new_len) {
		err = user_range_ok(old, old_len) ? do_munmap(p, old + new_len, old + old_len) : -EINVAL;
		if (err)
			return err;
		old_len = new_len;
	}
	*out = old;
	if (old_len == new_len && !(flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)))
		return 0;
	err = remap_check(p, old, old + old_len, &prot, &shared);
	if (!err && (!old_len || (shared && (flags & MREMAP_DONTUNMAP))))
		err = lx_fallback(-EINVAL);	/* old_len 0: a second mapping of shared pages */
	if (err)
		return err;
	if (!(flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) && user_range_ok(old, new_len) &&
	    range_free(p, old + old_len, old + new_len)) {
		struct vma *grown;

		if (shared)
			return remap_grow_shared(p, old, old_len, new_len, old, prot, out);
		grown = vma_populate(old + old_len, old + new_len, prot, true);

		return grown ? vma_mirror_install(p, grown, &at) : -ENOMEM;
	}
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	if (!(flags & MREMAP_DONTUNMAP))
		new_addr = fixed ? new_addr : 0;	/* a plain move ignores it, as Linux does */
	if (!fixed && (!new_addr || (new_addr & (PAGE_SIZE - 1)) || new_addr < LX_MMAP_BOTTOM ||
		       !user_range_ok(new_addr, new_len) ||
		       !range_free(p, new_addr, new_addr + new_len)))
		new_addr = find_free(p, new_len);	/* DONTUNMAP's new_addr is only a hint */
	if (!new_addr)
		return -ENOMEM;
	if (shared && new_len > old_len)
		return remap_grow_shared(p, old, old_len, new_len, new_addr, prot, out);
	err = remap_move(p, old, old_len, new_len, new_addr, prot, shared, flags & MREMAP_DONTUNMAP);
	if (!err)
		*out = new_addr;
	return err;
}

/* MADV_DONTNEED on private anonymous memory: the pages read as zeros again. */
long lx_madvise_dontneed(vaddr_t addr, size_t len)
{
	struct lx_process *p = cur_proc();
	vaddr_t end = addr + ALIGN_UP(len, PAGE_SIZE);
	struct vma *v;

	if (addr & (PAGE_SIZE - 1) || !user_range_ok(addr, end - addr))
		return -EINVAL;
	if (!range_mapped(p, addr, end))
		return -ENOMEM;
	if (range_foreign(p, addr, end))
		return -EINVAL;
	list_for_each_entry(v, &p->vmas, node) {
		vaddr_t s = MAX(v->start, addr), e = MIN(v->end, end);

		if (to_lx(v)->shared || to_lx(v)->reserved || s >= e)
			continue;	/* Linux drops the pages and reads them back: the same bytes */
		for (vaddr_t a = s; a < e; a += PAGE_SIZE)
			memset(arch_phys_to_virt(to_lx(v)->pages[(a - v->start) >> PAGE_SHIFT]), 0,
			       PAGE_SIZE);
	}
	return 0;
}

/* Free all user memory of a process whose shadow is gone. */
void lx_mm_destroy(struct lx_process *p)
{
	struct vma *v, *tmp;

	aspace_unmap(&p->as, 0, LX_USER_TOP);
	list_for_each_entry_safe(v, tmp, &p->vmas, node)
		vma_free(v, true);
}

/* Unmap all user memory of the current process, in both realms (execve). */
long lx_mm_unmap_all(void)
{
	return do_munmap(cur_proc(), 0, LX_USER_TOP);
}

/* A copy of v for another process: fresh pages, the same contents (kernel and slot pages: the same pages). */
static struct vma *vma_copy(struct vma *v)
{
	struct lx_vma *src = to_lx(v), *lv;
	struct vma *nv;

	if (src->reserved) {
		nv = vma_reserve(v->start, v->end);
		return nv;
	}
	if (!src->foreign && !src->shared) {
		nv = vma_populate(v->start, v->end, v->prot, false);
		if (!nv)
			return NULL;
		for (size_t i = 0; i < vma_pages(v); i++)
			memcpy(arch_phys_to_virt(to_lx(nv)->pages[i]),
			       arch_phys_to_virt(src->pages[i]), PAGE_SIZE);
		return nv;
	}
	lv = kzalloc(sizeof(*lv));
	if (!lv || !(lv->pages = kmalloc(vma_pages(v) * sizeof(paddr_t)))) {
		kfree(lv);
		return NULL;
	}
	memcpy(lv->pages, src->pages, vma_pages(v) * sizeof(paddr_t));
	lv->foreign = src->foreign;
	lv->shared = src->shared;
	lv->sysv = src->sysv;
	lv->slot = src->slot;
	lv->slot_page = src->slot_page;
	if (lv->shared)
		lx_shm_get(lv->slot);	/* shared stays shared in the child */
	lv->v = *v;
	list_init(&lv->v.node);
	return &lv->v;
}

/* The process whose memory p runs in: p, or for a vfork child until it execs, its parent. */
struct lx_process *lx_mm_owner(struct lx_process *p)
{
	return p->vfork_mm ? p->vfork_mm : p;
}

/*
 * fork: give child (new, empty, not running) an eager copy of the current
 * process's memory, with its page tables; shared VMAs map the same slots.
 * The child's shadow is not mirrored yet: the child's first thread does
 * that (lx_mm_mirror_all). The caller holds the memory owner's mm_lock
 * until the shadow has forked, so that both see the same shared mappings.
 * 0 or -ENOMEM; on failure what was copied stays for the reap to free.
 */
long lx_mm_copy(struct lx_process *child)
{
	struct lx_process *p = lx_mm_owner(cur_proc());
	struct vma *v, *nv;
	long err = 0;

	list_for_each_entry(v, &p->vmas, node) {
		nv = vma_copy(v);
		if (!nv) {
			err = -ENOMEM;
			break;
		}
		list_add_tail(&child->vmas, &nv->node);
		if ((nv->prot & MAP_READ) &&
		    (err = vma_for_each_run(nv, nv->start, nv->end, child, run_map)))
			break;
	}
	child->brk_start = p->brk_start;
	child->brk = p->brk;
	return err;
}

/*
 * Mirror every mapping of owner (the current process, or the parent a vfork
 * child runs in) in the current process's shadow: a forked child's first step.
 */
long lx_mm_mirror_all(struct lx_process *owner)
{
	struct vma *v;
	long err = 0;

	kmutex_lock(&owner->mm_lock);
	list_for_each_entry(v, &owner->vmas, node) {
		err = vma_for_each_run(v, v->start, v->end, NULL, run_mirror);
		if (err)
			break;
	}
	kmutex_unlock(&owner->mm_lock);
	return err;
}

/*
 * p is being reaped while vfork children still run in its memory (it was
 * killed): they die, leave p's page tables, and take its memory, which is
 * freed at their own reap, once their shadows (which map it) are gone too.
 * Masked.
 */
void lx_mm_give_borrowers(struct lx_process *p)
{
	struct lx_process *c = lx_find_borrower(p);
	struct lx_thread *lt;

	if (!c)
		return;
	lx_process_kill(c, CRTOS_EXIT_SIGNAL, SIGKILL);
	list_for_each_entry(lt, &c->threads, proc_node)
		sched_set_aspace(lt->t, &c->as);
	while (!list_empty(&p->vmas)) {
		struct vma *v = list_first_entry(&p->vmas, struct vma, node);

		list_del(&v->node);
		list_add_tail(&c->vmas, &v->node);
	}
	c->vfork_mm = NULL;
}

/* msync's range: mapped without holes (ENOMEM), as Linux checks it. */
long lx_msync_check(vaddr_t addr, size_t len)
{
	vaddr_t end = addr + ALIGN_UP(len, PAGE_SIZE);

	if (addr & (PAGE_SIZE - 1) || !user_range_ok(addr, end - addr))
		return -EINVAL;
	return range_mapped(cur_proc(), addr, end) ? 0 : -ENOMEM;
}

/*
 * mincore: per page of [addr, addr + len), 1 if it has memory (RT memory
 * is never paged out), 0 for a reservation's page or a hole (a shared
 * file's page past its end); -EINVAL for an unaligned addr, -ENOMEM where
 * the range is not all mapped, -EFAULT for a bad vec: Linux's answers.
 */
long lx_mincore(vaddr_t addr, size_t len, uint64_t vec)
{
	struct lx_process *p = cur_proc();
	vaddr_t end = addr + ALIGN_UP(len, PAGE_SIZE);
	uint8_t chunk[64];
	size_t n = 0;

	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if (!user_range_ok(addr, end - addr) || !range_mapped(p, addr, end))
		return -ENOMEM;
	for (vaddr_t va = addr; va < end; va += PAGE_SIZE) {
		struct vma *v = vma_after(p, va);
		const struct lx_vma *lv = to_lx(v);

		chunk[n++] = !lv->reserved && lv->pages[(va - v->start) >> PAGE_SHIFT] != PADDR_INVALID;
		if (n == sizeof(chunk) || va + PAGE_SIZE == end) {
			if (copy_to_user(vec, chunk, n))
				return -EFAULT;
			vec += n;
			n = 0;
		}
	}
	return 0;
}

/* Page k of shared VMA v: its GPA while its object has it, else PADDR_INVALID. */
static paddr_t shared_page_now(const struct lx_vma *lv, size_t k)
{
	uint64_t off = ((uint64_t)lv->slot_page + k) << PAGE_SHIFT;

	return off < lx_shm_valid_now(lv->slot) ? lx_shm_gpa(lv->slot) + off : PADDR_INVALID;
}

/* Bring shared VMA v of p in line with its object's size now: entries dropped or put back. */
static void shared_vma_follow(struct lx_process *p, struct vma *v)
{
	struct lx_vma *lv = to_lx(v);

	for (size_t k = 0; k < vma_pages(v); k++) {
		paddr_t now = shared_page_now(lv, k);
		vaddr_t va = v->start + (k << PAGE_SHIFT);

		if (now == lv->pages[k])
			continue;
		lv->pages[k] = now;
		if (now == PADDR_INVALID)
			aspace_unmap(&p->as, va, PAGE_SIZE);
		else if (v->prot & MAP_READ)
			aspace_map(&p->as, va, now, PAGE_SIZE, v->prot | MAP_USER);
	}
}

void lx_mm_shm_follow(struct lx_process *p)
{
	struct lx_process *o = lx_mm_owner(p);
	uint64_t seen = lx_shm_resized();
	struct vma *v;

	if (seen == READ_ONCE(o->shm_resized_seen))
		return;
	kmutex_lock(&o->mm_lock);
	list_for_each_entry(v, &o->vmas, node)
		if (to_lx(v)->shared)
			shared_vma_follow(o, v);
	o->shm_resized_seen = seen;
	kmutex_unlock(&o->mm_lock);
}

/*
 * Whether a fault at addr touched a page past the end of a shared object
 * (Linux: SIGBUS). Masked, from the faulting thread: a read-only look.
 */
bool lx_mm_fault_is_bus(vaddr_t addr)
{
	struct lx_process *p = lx_mm_owner(cur_proc());
	struct vma *v = vma_after(p, addr);

	return v && v->start <= addr && to_lx(v)->shared && (v->prot & MAP_READ) &&
	       to_lx(v)->pages[(addr - v->start) >> PAGE_SHIFT] == PADDR_INVALID;
}
