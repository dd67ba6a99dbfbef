// SPDX-License-Identifier: MIT
/*
 * Shared slots from the VMM's side (crtos/shm.h): a shared mapping of an
 * RT program is the Linux object itself, mapped MAP_SHARED here and
 * registered as a KVM memory slot of its own above guest RAM. We attach
 * (FREE -> ATTACHED) when a shadow sends an object, and free what the
 * kernel released (RELEASED -> FREE) at the next attach, reap or shutdown.
 * Nothing the kernel wrote is trusted beyond the state word.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <crtos/mmio.h>
#include <crtos/shm.h>
#include "internal.h"


#define PAGE	4096ull

/* The kernel's slot table, or NULL before it published one (or if it is not sane). */
static struct crtos_shm_table *shm_table(struct cell *c)
{
	struct crtos_shm_table *t = cell_guest_struct(c,
		__atomic_load_n(&c->comm->shm_table_gpa, __ATOMIC_ACQUIRE), sizeof(*t));

	if (!t || t->magic != CRTOS_SHM_TABLE_MAGIC || t->abi_version != CRTOS_ABI_VERSION ||
	    t->gpa_base < c->mmio_gpa + CRTOS_MMIO_SIZE || t->gpa_base % CRTOS_SHM_SLOT_SPAN)
		return NULL;
	return t;
}

/* The entries of t in use: the kernel's nr_slots, which we bound (it is guest memory). */
static unsigned int shm_nr_slots(const struct crtos_shm_table *t)
{
	uint32_t n = __atomic_load_n(&t->nr_slots, __ATOMIC_RELAXED);

	return n < CRTOS_SHM_SLOTS ? n : CRTOS_SHM_SLOTS;
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
	if (s->has_fd)
		close(s->fd);
	memset(s, 0, sizeof(*s));
}

/* Free every entry the kernel released. Under shm_lock. */
static void shm_sweep_locked(struct cell *c, struct crtos_shm_table *t)
{
	for (unsigned int i = 0, n = shm_nr_slots(t); i < n; i++) {
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

static int region_unlink(const struct cell_shm_region_info *r, void *ctx)
{
	(void)ctx;
	unlink(r->path);
	return 0;
}

void shm_destroy(struct cell *c)
{
	for (unsigned int i = 0; i < CRTOS_SHM_SLOTS; i++)
		shm_detach(c, i);
	if (c->cpu_locked)	/* the CPU was ours: so are its regions, which end with us */
		cell_shm_region_list(c, region_unlink, NULL);
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
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->size = (req->len + PAGE - 1) & ~(PAGE - 1);
	s->writable = (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR;
	prot = PROT_READ | (s->writable ? PROT_WRITE : 0);
	s->host = mmap(NULL, s->size, prot, MAP_SHARED, fd, (off_t)req->offset);
	if (s->host == MAP_FAILED) {
		s->host = NULL;
		return -errno;
	}
	s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);	/* without it: no growing, no shm_watch() */
	s->has_fd = s->fd >= 0;
	s->offset = req->offset;
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

/*
 * The object of shared slot i, for a mapping of it that mremap grows: our
 * own fd of the file, if the slot is in use (the kernel keeps the old slot
 * until it has adopted the new one). The process that asks may not be the
 * one that mapped it: its shadow names the slot the kernel told it, and
 * every process of a cell has its user. Under shm_lock. The fd, or -errno.
 */
static int shm_slot_fd(struct cell *c, struct crtos_shm_table *t, uint32_t i)
{
	if (i >= shm_nr_slots(t) ||
	    __atomic_load_n(&t->slots[i].state, __ATOMIC_ACQUIRE) != CRTOS_SHM_ADOPTED ||
	    !c->shm[i].host || c->shm[i].kind != CRTOS_SHM_FILE || !c->shm[i].has_fd)
		return -EBADF;
	return c->shm[i].fd;
}

int cell_shm_attach(struct cell *c, const struct cell_shm_req *req, int fd, uint64_t *gpa)
{
	struct crtos_shm_table *t = shm_table(c);
	struct crtos_shm_slot *e = NULL;
	struct cell_shm *s;
	unsigned int i, n;
	int ret;

	if (!t)
		return -EAGAIN;
	if (req->kind != CRTOS_SHM_SYSV && (!req->len || req->len > CRTOS_SHM_SLOT_SPAN ||
					    req->offset % PAGE))
		return req->len > CRTOS_SHM_SLOT_SPAN ? -ENOMEM : -EINVAL;
	pthread_mutex_lock(&c->shm_lock);
	shm_sweep_locked(c, t);
	if (req->from_slot && req->kind == CRTOS_SHM_FILE)
		fd = shm_slot_fd(c, t, req->from_slot - 1);
	if (fd < 0 && req->kind == CRTOS_SHM_FILE) {
		pthread_mutex_unlock(&c->shm_lock);
		return -EBADF;
	}
	for (i = 0, n = shm_nr_slots(t); i < n && !e; i++)
		if (__atomic_load_n(&t->slots[i].state, __ATOMIC_ACQUIRE) == CRTOS_SHM_FREE)
			e = &t->slots[i];
	if (!e) {
		if (!c->shm_full_said)
			fprintf(c->msg, "crtos: all %u shared slots of the cell are in use: the realm's "
				"shared mappings past them fail with ENOMEM\n", n);
		c->shm_full_said = true;
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
	e->valid_now = s->valid_now = s->valid;
	__atomic_store_n(&e->state, CRTOS_SHM_ATTACHED, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&c->shm_lock);
	*gpa = crtos_shm_slot_gpa(t, i);
	return 0;
}

#define SHM_WATCH_NS	50000000ull	/* look at most this often (the log thread wakes more) */

/* The bytes of [0, s->valid) that s's file has now, a page multiple; s->valid_now if unknown. */
static uint64_t shm_valid_now(const struct cell_shm *s)
{
	struct stat st;
	uint64_t now = 0;

	if (fstat(s->fd, &st) || !S_ISREG(st.st_mode))
		return s->valid_now;
	if ((uint64_t)st.st_size > s->offset)
		now = ((uint64_t)st.st_size - s->offset + PAGE - 1) & ~(PAGE - 1);
	return now < s->valid ? now : s->valid;
}

void shm_watch(struct cell *c)
{
	struct crtos_shm_table *t;
	uint64_t now_ns = vmm_now_ns();
	bool changed = false;

	if (now_ns - c->shm_watched_ns < SHM_WATCH_NS || !(t = shm_table(c)))
		return;
	c->shm_watched_ns = now_ns;
	pthread_mutex_lock(&c->shm_lock);
	for (unsigned int i = 0, n = shm_nr_slots(t); i < n; i++) {
		struct cell_shm *s = &c->shm[i];
		uint32_t state = __atomic_load_n(&t->slots[i].state, __ATOMIC_ACQUIRE);
		uint64_t valid_now;

		if (!s->host || s->kind != CRTOS_SHM_FILE || !s->has_fd ||
		    (state != CRTOS_SHM_ATTACHED && state != CRTOS_SHM_ADOPTED))
			continue;
		valid_now = shm_valid_now(s);
		if (valid_now == s->valid_now)
			continue;
		s->valid_now = valid_now;
		__atomic_store_n(&t->slots[i].valid_now, valid_now, __ATOMIC_RELEASE);
		changed = true;
	}
	pthread_mutex_unlock(&c->shm_lock);
	if (changed) {
		__atomic_fetch_add(&t->resized, 1, __ATOMIC_SEQ_CST);
		eventfd_write(c->kick_efd, 1);
	}
}

/* ---- RT shared-memory regions (vmm.h) ---- */

#define REGION_DIR	"/dev/shm"

/* A region's name: 1 to 31 of [A-Za-z0-9._-], not "." or "..", as an RT-FIFO's. */
static bool region_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > 31 || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static void region_path(const struct cell *c, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, REGION_DIR "/crtos-cell%d-%s", c->cpu, name);
}

int cell_shm_region_create(struct cell *c, const char *name, uint64_t size, struct vmm_err *err)
{
	char path[96];
	int fd;

	if (!region_name_ok(name))
		return vmm_fail(err, -EINVAL, "bad region name '%s': 1-31 of A-Z a-z 0-9 . _ -", name);
	if (!size || size % PAGE || size > CELL_SHM_REGION_MAX_SIZE)
		return vmm_fail(err, -EINVAL, "a region's size is a multiple of 4K, up to 1G");
	region_path(c, name, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return vmm_fail(err, -errno, "cannot create %s: %s", path, strerror(errno));
	if (ftruncate(fd, (off_t)size)) {
		int ret = -errno;

		close(fd);
		unlink(path);
		return vmm_fail(err, ret, "cannot size %s: %s", path, strerror(-ret));
	}
	close(fd);
	return 0;
}

int cell_shm_region_remove(struct cell *c, const char *name, struct vmm_err *err)
{
	char path[96];

	if (!region_name_ok(name))
		return vmm_fail(err, -EINVAL, "bad region name '%s'", name);
	region_path(c, name, path, sizeof(path));
	if (unlink(path))
		return vmm_fail(err, -errno, "no region %s (%s)", name, strerror(errno));
	return 0;
}

/* Shared slots mapping the file st names now. */
static unsigned int region_slots(struct cell *c, const struct stat *st)
{
	unsigned int n = 0;

	pthread_mutex_lock(&c->shm_lock);
	for (unsigned int i = 0; i < CRTOS_SHM_SLOTS; i++)
		n += c->shm[i].host && c->shm[i].kind == CRTOS_SHM_FILE &&
		     c->shm[i].dev == st->st_dev && c->shm[i].ino == st->st_ino;
	pthread_mutex_unlock(&c->shm_lock);
	return n;
}

int cell_shm_region_list(struct cell *c, int (*each)(const struct cell_shm_region_info *, void *),
			 void *ctx)
{
	char prefix[32];
	DIR *d = opendir(REGION_DIR);
	struct dirent *de;
	int ret = 0;

	if (!d)
		return 0;
	snprintf(prefix, sizeof(prefix), "crtos-cell%d-", c->cpu);
	while (!ret && (de = readdir(d))) {
		struct cell_shm_region_info r = { 0 };
		struct stat st;

		if (strncmp(de->d_name, prefix, strlen(prefix)) ||
		    !region_name_ok(de->d_name + strlen(prefix)))
			continue;
		snprintf(r.name, sizeof(r.name), "%s", de->d_name + strlen(prefix));
		region_path(c, r.name, r.path, sizeof(r.path));
		if (lstat(r.path, &st) || !S_ISREG(st.st_mode))
			continue;
		r.size = (uint64_t)st.st_size;
		r.uid = st.st_uid;
		r.mode = st.st_mode & 07777;
		r.slots = region_slots(c, &st);
		ret = each(&r, ctx);
	}
	closedir(d);
	return ret;
}
