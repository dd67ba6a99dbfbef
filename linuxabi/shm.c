// SPDX-License-Identifier: MIT
/*
 * Shared slots, the kernel's side (crtos/shm.h): the memory of shared
 * mappings, a KVM memory slot per mapping that the VMM backs with the
 * Linux object itself. We allocate the table, adopt what the VMM attached
 * (mapping it into the kernel window, where futex words and user copies
 * reach it), count the VMAs that map each slot, and release it when the
 * last goes. The counts are ours alone; the VMM sees only the state word.
 *
 * Context: any thread; the counts are changed masked (VMAs of different
 * processes, under different memory locks, share a slot after fork).
 */
#include <kernel/kernel.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <kernel/printk.h>
#include <kernel/string.h>
#include <linuxabi/linux.h>
#include <linuxabi/rtfd.h>
#include <crtos/boot.h>
#include <linux/fcntl.h>
#include <asm/unistd_64.h>
#include <crtos/comm.h>
#include <crtos/shm.h>

/* The first PML4 entry of the kernel window holds RAM: slots must share it (aspace_share). */
#define SHM_GPA_LIMIT	(CRTOS_U64(512) << 30)

static struct crtos_shm_table *shm_table;
static unsigned int shm_refs[CRTOS_SHM_SLOTS];
static unsigned int shm_nr_slots;	/* our copy of the table's nr_slots, which the VMM could write */

/* How many slot spans fit from base below the window's limit and the CPU's reach. */
static unsigned int shm_slots_that_fit(uint64_t base)
{
	uint64_t limit = SHM_GPA_LIMIT;
	unsigned int bits = arch_phys_addr_bits();

	if (bits < 64 && (CRTOS_U64(1) << bits) < limit)
		limit = CRTOS_U64(1) << bits;
	if (base >= limit)
		return 0;
	return (unsigned int)MIN((limit - base) / CRTOS_SHM_SLOT_SPAN, (uint64_t)CRTOS_SHM_SLOTS);
}

void lx_shm_init(void)
{
	const struct crtos_boot_params *bp = kernel_boot_params();
	uint64_t base = ALIGN_UP(bp->mmio_gpa + bp->mmio_size, CRTOS_SHM_SLOT_SPAN);
	unsigned int order = 0, nr = shm_slots_that_fit(base);
	paddr_t pa;

	if (!nr) {
		pr_err("shm: RAM ends too high for shared slots: shared mappings are off\n");
		return;
	}
	while ((PAGE_SIZE << order) < sizeof(*shm_table))
		order++;
	pa = pmm_alloc(order);
	if (pa == PADDR_INVALID) {
		pr_err("shm: no memory for the slot table: shared mappings are off\n");
		return;
	}
	shm_table = arch_phys_to_virt(pa);
	memset(shm_table, 0, sizeof(*shm_table));
	shm_table->magic = CRTOS_SHM_TABLE_MAGIC;
	shm_table->abi_version = CRTOS_ABI_VERSION;
	shm_table->nr_slots = shm_nr_slots = nr;
	shm_table->gpa_base = base;
	if (nr < CRTOS_SHM_SLOTS)
		pr_info("shm: %u shared slots (the GPA space above RAM holds no more)\n", nr);
	__atomic_store_n(&kernel_comm()->shm_table_gpa, (uint64_t)pa, __ATOMIC_RELEASE);
}

static uint32_t slot_state(unsigned int i)
{
	return __atomic_load_n(&shm_table->slots[i].state, __ATOMIC_ACQUIRE);
}

static void slot_release(unsigned int i)
{
	__atomic_store_n(&shm_table->slots[i].state, CRTOS_SHM_RELEASED, __ATOMIC_RELEASE);
	__atomic_fetch_add(&shm_table->released, 1, __ATOMIC_RELEASE);
}

long lx_shm_adopt(paddr_t gpa, size_t len, unsigned int owner, struct lx_shm_slot *out)
{
	struct crtos_shm_slot *e;
	unsigned long flags;
	unsigned int i;
	long err = 0;

	if (!shm_table || gpa < shm_table->gpa_base)
		return -EPROTO;
	i = (unsigned int)((gpa - shm_table->gpa_base) / CRTOS_SHM_SLOT_SPAN);
	if (i >= shm_nr_slots || gpa != crtos_shm_slot_gpa(shm_table, i) ||
	    slot_state(i) != CRTOS_SHM_ATTACHED)
		return -EPROTO;
	e = &shm_table->slots[i];
	if (e->owner != owner || e->size < len || e->size > CRTOS_SHM_SLOT_SPAN ||
	    e->valid > e->size || (e->valid & (PAGE_SIZE - 1)))
		err = -EPROTO;
	if (!err && e->valid)
		err = aspace_map(kernel_aspace(), (vaddr_t)arch_phys_to_virt(gpa), gpa, e->valid,
				 e->writable ? MAP_KERNEL_RW : MAP_KERNEL_RO);
	if (err) {
		pr_err("shm: slot %u from the VMM does not check out (%ld): released\n", i, err);
		slot_release(i);
		return -EPROTO;
	}
	flags = arch_irq_save();
	shm_refs[i] = 1;
	__atomic_store_n(&e->state, CRTOS_SHM_ADOPTED, __ATOMIC_RELEASE);
	arch_irq_restore(flags);
	*out = (struct lx_shm_slot){ .index = i, .valid = e->valid, .sysv = e->kind == CRTOS_SHM_SYSV };
	return 0;
}

void lx_shm_get(unsigned int i)
{
	unsigned long flags = arch_irq_save();

	ASSERT(i < shm_nr_slots && shm_refs[i]);
	shm_refs[i]++;
	arch_irq_restore(flags);
}

void lx_shm_put(unsigned int i)
{
	unsigned long flags = arch_irq_save();
	bool last;

	ASSERT(i < shm_nr_slots && shm_refs[i]);
	last = --shm_refs[i] == 0;
	arch_irq_restore(flags);
	if (!last)
		return;
	/* No program PTE is left (the caller unmapped first): the window's go, then the slot. */
	if (shm_table->slots[i].valid)
		aspace_unmap(kernel_aspace(),
			     (vaddr_t)arch_phys_to_virt(crtos_shm_slot_gpa(shm_table, i)),
			     shm_table->slots[i].valid);
	slot_release(i);
}

void lx_shm_reap(unsigned int owner)
{
	for (unsigned int i = 0; shm_table && i < shm_nr_slots; i++)
		if (slot_state(i) == CRTOS_SHM_ATTACHED && shm_table->slots[i].owner == owner)
			slot_release(i);
}

uint64_t lx_shm_resized(void)
{
	return shm_table ? __atomic_load_n(&shm_table->resized, __ATOMIC_ACQUIRE) : 0;
}

size_t lx_shm_valid_now(unsigned int i)
{
	const struct crtos_shm_slot *e = &shm_table->slots[i];
	uint64_t now = __atomic_load_n(&e->valid_now, __ATOMIC_ACQUIRE);

	/* Never more than the kernel window maps (valid): futex words go through it. */
	return now < e->valid ? ALIGN_DOWN(now, PAGE_SIZE) : e->valid;
}

paddr_t lx_shm_gpa(unsigned int i)
{
	return crtos_shm_slot_gpa(shm_table, i);
}

unsigned int lx_shm_in_use(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; shm_table && i < shm_nr_slots; i++)
		n += slot_state(i) != CRTOS_SHM_FREE && slot_state(i) != CRTOS_SHM_RELEASED;
	return n;
}

/*
 * /dev/rtshm/NAME is the cell's region file /dev/shm/crtos-cell<CPU>-NAME
 * (the VMM's, vmm.h): the shadow opens it, through the channel's bounce
 * buffer (serialized by the memory lock, which shmat also takes for it).
 * Never created, emptied or resized from here: its size is fixed.
 */
long lx_rtshm_open(const char *name, uint64_t flags, uint64_t mode)
{
	struct lx_process *p = lx_current()->proc;
	long ret;

	if (!lx_rt_name_ok(name))
		return -ENOENT;
	if (flags & O_CREAT && flags & O_EXCL)
		return -EEXIST;
	kmutex_lock(&p->mm_lock);
	snprintf(lx_bounce(p), CRTOS_BOUNCE_SIZE, "/dev/shm/crtos-cell%u-%s",
		 kernel_boot_params()->host_cpu, name);
	ret = rcall(__NR_openat, (uint64_t)AT_FDCWD, lx_bounce_in_shadow(p),
		    flags & ~(uint64_t)(O_CREAT | O_EXCL | O_TRUNC), mode, 0, 0);
	kmutex_unlock(&p->mm_lock);
	return ret;
}
