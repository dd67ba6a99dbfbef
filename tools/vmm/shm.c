// SPDX-License-Identifier: MIT
/*
 * Shared slots from the VMM's side (crtos/shm.h): a shared mapping of an
 * RT program is the Linux object itself, mapped MAP_SHARED here and
 * registered as a KVM memory slot of its own above guest RAM. We attach
 * (FREE -> ATTACHED) when a shadow sends an object, and free what the
 * kernel released (RELEASED -> FREE) at the next attach, reap or shutdown.
 * Nothing the kernel wrote is trusted beyond the state word.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <crtos/mmio.h>
#include <crtos/shm.h>
#include "internal.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

#define PAGE	4096ull

/* The kernel's slot table, or NULL before it published one (or if it is not sane). */
static struct crtos_shm_table *shm_table(struct cell *c)
{
	uint64_t gpa = __atomic_load_n(&c->comm->shm_table_gpa, __ATOMIC_ACQUIRE);
	struct crtos_shm_table *t;

	if (!gpa || gpa > c->mem_size || c->mem_size - gpa < sizeof(*t))
		return NULL;
	t = (struct crtos_shm_table *)(c->mem + gpa);
	if (t->magic != CRTOS_SHM_TABLE_MAGIC || t->abi_version != CRTOS_ABI_VERSION ||
	    t->gpa_base < c->mmio_gpa + CRTOS_MMIO_SIZE || t->gpa_base % CRTOS_SHM_SLOT_SPAN)
		return NULL;
	return t;
}

static int shm_set_region(struct cell *c, unsigned int i, uint64_t gpa, uint64_t size, void *host,
			  bool readonly)
{
	struct kvm_userspace_memory_region r = {
		.slot = CRTOS_SHM_KVM_SLOT(i),
		.flags = readonly ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	if (!ioctl(c->vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		return 0;
	if (!readonly || errno != EINVAL)
		return -errno;
	r.flags = 0;	/* no KVM_CAP_READONLY_MEM: the kernel never maps it writable anyway */
	return ioctl(c->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) ? -errno : 0;
}

/* Undo what attach did for entry i (slot registered or not). */
static void shm_detach(struct cell *c, unsigned int i)
{
	struct cell_shm *s = &c->shm[i];

	if (s->registered)
		shm_set_region(c, i, 0, 0, s->host, false);
	if (s->host && s->kind == CRTOS_SHM_SYSV)
		shmdt(s->host);
	else if (s->host)
		munmap(s->host, s->size);
	memset(s, 0, sizeof(*s));
}

/* Free every entry the kernel released. Under shm_lock. */
static void shm_sweep_locked(struct cell *c, struct crtos_shm_table *t)
{
	for (unsigned int i = 0; i < CRTOS_SHM_SLOTS; i++) {
		struct crtos_shm_slot *e = &t->slots[i];

		if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != CRTOS_SHM_RELEASED)
			continue;
		shm_detach(c, i);
		__atomic_store_n(&e->state, CRTOS_SHM_FREE, __ATOMIC_RELEASE);
	}
}

void shm_sweep(struct cell *c)
{
	struct crtos_shm_table *t = shm_table(c);

	if (!t)
		return;
	pthread_mutex_lock(&c->shm_lock);
	shm_sweep_locked(c, t);
	pthread_mutex_unlock(&c->shm_lock);
}

void shm_destroy(struct cell *c)
{
	for (unsigned int i = 0; i < CRTOS_SHM_SLOTS; i++)
		shm_detach(c, i);
}

/* Map the object of req (fd for a file) here: s gets host, size, valid, writable. 0 or -errno. */
static int shm_map_object(const struct cell_shm_req *req, int fd, struct cell_shm *s)
{
	struct shmid_ds ds;
	struct stat st;
	int prot;

	if (req->kind == CRTOS_SHM_SYSV) {
		if (shmctl((int)req->sysv_id, IPC_STAT, &ds))
			return -errno;
		s->size = (ds.shm_segsz + PAGE - 1) & ~(PAGE - 1);
		s->writable = !req->readonly;
		s->host = shmat((int)req->sysv_id, NULL, req->readonly ? SHM_RDONLY : 0);
		if (s->host == (void *)-1) {
			s->host = NULL;
			return -errno;
		}
		s->valid = s->size;
		return 0;
	}
	if (fstat(fd, &st))
		return -errno;
	s->size = (req->len + PAGE - 1) & ~(PAGE - 1);
	s->writable = (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR;
	prot = PROT_READ | (s->writable ? PROT_WRITE : 0);
	s->host = mmap(NULL, s->size, prot, MAP_SHARED, fd, (off_t)req->offset);
	if (s->host == MAP_FAILED) {
		s->host = NULL;
		return -errno;
	}
	s->valid = 0;
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > req->offset)
		s->valid = (uint64_t)st.st_size - req->offset;
	else if (!S_ISREG(st.st_mode))
		s->valid = s->size;	/* a device: no end we can see */
	s->valid = (s->valid + PAGE - 1) & ~(PAGE - 1);
	if (s->valid > s->size)
		s->valid = s->size;
	return 0;
}

/* Resident and, where the limit allows, locked: the RT side never waits for a page. */
static void shm_populate(struct cell_shm *s)
{
	if (!s->valid)
		return;
	madvise(s->host, s->valid, s->writable ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
	mlock2(s->host, s->valid, MLOCK_ONFAULT);	/* best effort: the pages are shared anyway */
}

int cell_shm_attach(struct cell *c, const struct cell_shm_req *req, int fd, uint64_t *gpa)
{
	struct crtos_shm_table *t = shm_table(c);
	struct crtos_shm_slot *e = NULL;
	struct cell_shm *s;
	unsigned int i;
	int ret;

	if (!t)
		return -EAGAIN;
	if (req->kind != CRTOS_SHM_SYSV && (!req->len || req->len > CRTOS_SHM_SLOT_SPAN ||
					    req->offset % PAGE))
		return req->len > CRTOS_SHM_SLOT_SPAN ? -ENOMEM : -EINVAL;
	pthread_mutex_lock(&c->shm_lock);
	shm_sweep_locked(c, t);
	for (i = 0; i < CRTOS_SHM_SLOTS && !e; i++)
		if (__atomic_load_n(&t->slots[i].state, __ATOMIC_ACQUIRE) == CRTOS_SHM_FREE)
			e = &t->slots[i];
	if (!e) {
		pthread_mutex_unlock(&c->shm_lock);
		return -ENOMEM;
	}
	i = (unsigned int)(e - t->slots);
	s = &c->shm[i];
	s->kind = req->kind;
	ret = shm_map_object(req, fd, s);
	if (!ret && s->size > CRTOS_SHM_SLOT_SPAN)
		ret = -ENOMEM;
	if (!ret) {
		shm_populate(s);
		ret = shm_set_region(c, i, crtos_shm_slot_gpa(t, i), s->size, s->host, !s->writable);
		s->registered = !ret;
	}
	if (ret) {
		shm_detach(c, i);
		pthread_mutex_unlock(&c->shm_lock);
		return ret;
	}
	e->owner = req->owner;
	e->kind = req->kind;
	e->writable = s->writable;
	e->size = s->size;
	e->valid = s->valid;
	e->offset = req->offset;
	e->sysv_id = req->sysv_id;
	__atomic_store_n(&e->state, CRTOS_SHM_ATTACHED, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&c->shm_lock);
	*gpa = crtos_shm_slot_gpa(t, i);
	return 0;
}
