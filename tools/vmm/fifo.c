// SPDX-License-Identifier: MIT
/*
 * RT-FIFOs from Linux (vmm.h): the kernel's directory in guest memory
 * (crtos/rtfifo.h), read and written as the Linux party. Every Linux
 * opener goes through fifo_lock, so that for the kernel Linux is one
 * reader or one writer. Nothing the kernel wrote is trusted: names are
 * bounded, rings must lie inside guest memory, a broken head/tail pair is
 * an I/O error. After a change the kernel waits for, the kernel is kicked.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <crtos/rtfifo.h>
#include "internal.h"

/* The directory, or NULL before the kernel published it (or if it is not sane). */
static struct crtos_fifo_dir *fifo_dir(struct cell *c)
{
	struct crtos_fifo_dir *d = cell_guest_struct(c,
		__atomic_load_n(&c->comm->fifo_dir_gpa, __ATOMIC_ACQUIRE), sizeof(*d));

	if (!d || d->magic != CRTOS_FIFO_DIR_MAGIC || d->abi_version != CRTOS_ABI_VERSION)
		return NULL;
	return d;
}

/* Entry index if live and its ring is inside guest memory; NULL otherwise. */
static struct crtos_fifo *fifo_entry(struct cell *c, unsigned int index)
{
	struct crtos_fifo_dir *d = fifo_dir(c);
	struct crtos_fifo *f;
	uint64_t size;

	if (!d || index >= CRTOS_FIFO_MAX)
		return NULL;
	f = &d->fifos[index];
	if (__atomic_load_n(&f->state, __ATOMIC_ACQUIRE) != CRTOS_FIFO_LIVE)
		return NULL;
	size = f->size;
	if (size < CRTOS_FIFO_MIN_SIZE || size > CRTOS_FIFO_MAX_SIZE || (size & (size - 1)) ||
	    f->data_gpa > c->mem_size || c->mem_size - f->data_gpa < size)
		return NULL;
	return f;
}

/* The entry h names, if it is still the FIFO h opened. */
static struct crtos_fifo *fifo_of(struct cell *c, const struct cell_fifo_handle *h)
{
	struct crtos_fifo *f = fifo_entry(c, h->index);

	return f && f->gen == h->gen ? f : NULL;
}

/* We changed f: the kernel's waiters look again (a kick, unless its idle loop polls anyway). */
static void fifo_changed(struct cell *c, struct crtos_fifo *f)
{
	struct crtos_fifo_dir *d = fifo_dir(c);

	__atomic_fetch_add(&f->lseq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&f->rt_waiting, __ATOMIC_SEQ_CST) &&
	    !(d && __atomic_load_n(&d->rt_polling, __ATOMIC_SEQ_CST)))
		eventfd_write(c->kick_efd, 1);
}

static void fifo_fill_info(const struct crtos_fifo *f, unsigned int index, struct cell_fifo_info *o)
{
	uint64_t head = __atomic_load_n(&f->head, __ATOMIC_ACQUIRE);
	uint64_t tail = __atomic_load_n(&f->tail, __ATOMIC_ACQUIRE);

	memset(o, 0, sizeof(*o));
	memcpy(o->name, f->name, sizeof(o->name) - 1);
	o->index = index;
	o->gen = f->gen;
	o->size = f->size;
	o->fill = crtos_fifo_fill(f, head, tail);
	o->writer_side = f->writer_side;
	o->reader_side = f->reader_side;
	o->rt_readers = f->rt_readers;
	o->rt_writers = f->rt_writers;
	o->linux_readers = f->linux_readers;
	o->linux_writers = f->linux_writers;
	o->rt_full = f->rt_full;
	o->linux_full = f->linux_full;
	o->hup = f->hup;
}

int cell_fifo_info(struct cell *c, unsigned int index, struct cell_fifo_info *out)
{
	struct crtos_fifo *f = fifo_entry(c, index);

	if (!f)
		return -ENOENT;
	fifo_fill_info(f, index, out);
	return 0;
}

int cell_fifo_lookup(struct cell *c, const char *name, struct cell_fifo_info *out)
{
	for (unsigned int i = 0; i < CRTOS_FIFO_MAX; i++)
		if (!cell_fifo_info(c, i, out) && !strcmp(out->name, name))
			return 0;
	return -ENOENT;
}

int cell_fifo_create(struct cell *c, const char *name, uint64_t size, struct vmm_err *err)
{
	uint64_t out[4];
	int ret;

	if (!fifo_dir(c))
		return vmm_fail(err, -ENODEV, "the cell's kernel has no RT-FIFO directory");
	ret = ctl_request(c, CRTOS_CTL_FIFO_CREATE, size, name, out);
	if (ret == -EEXIST)
		return vmm_fail(err, ret, "a FIFO called %s exists already", name);
	if (ret == -EINVAL)
		return vmm_fail(err, ret, "cannot create FIFO '%s': a name is 1-31 of A-Z a-z 0-9 . _ -, "
				"a size a power of two from %llu to %llu bytes", name,
				(unsigned long long)CRTOS_FIFO_MIN_SIZE, (unsigned long long)CRTOS_FIFO_MAX_SIZE);
	if (ret == -ENOSPC)
		return vmm_fail(err, ret, "the cell has %d FIFOs already: remove one first", CRTOS_FIFO_MAX);
	if (ret)
		return vmm_fail(err, ret, "the kernel cannot create FIFO %s: %s", name, strerror(-ret));
	return 0;
}

int cell_fifo_remove(struct cell *c, const char *name, struct vmm_err *err)
{
	int ret;

	pthread_mutex_lock(&c->fifo_lock);	/* no Linux open meanwhile */
	ret = ctl_request(c, CRTOS_CTL_FIFO_REMOVE, 0, name, NULL);
	pthread_mutex_unlock(&c->fifo_lock);
	if (ret == -ENOENT)
		return vmm_fail(err, ret, "no FIFO called %s", name);
	if (ret == -EBUSY)
		return vmm_fail(err, ret, "FIFO %s is open (crtos fifo show %s says by whom): close it first",
				name, name);
	if (ret)
		return vmm_fail(err, ret, "the kernel cannot remove FIFO %s: %s", name, strerror(-ret));
	return 0;
}

static bool side_claim(uint32_t *side)
{
	uint32_t none = CRTOS_FIFO_SIDE_NONE;

	return __atomic_compare_exchange_n(side, &none, CRTOS_FIFO_SIDE_LINUX, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST) || none == CRTOS_FIFO_SIDE_LINUX;
}

int cell_fifo_open(struct cell *c, unsigned int index, bool rd, bool wr, struct cell_fifo_handle *h)
{
	struct crtos_fifo *f;
	int ret = 0;

	pthread_mutex_lock(&c->fifo_lock);
	f = fifo_entry(c, index);
	if (!f) {
		ret = -ENOENT;
	} else if (rd && !side_claim(&f->reader_side)) {
		ret = -EBUSY;
	} else if (wr && !side_claim(&f->writer_side)) {
		if (rd && !f->linux_readers)
			__atomic_store_n(&f->reader_side, CRTOS_FIFO_SIDE_NONE, __ATOMIC_RELEASE);
		ret = -EBUSY;
	} else {
		*h = (struct cell_fifo_handle){ .index = index, .gen = f->gen, .rd = rd, .wr = wr };
		if (rd)
			f->linux_readers++;
		if (wr && f->linux_writers++ == 0)
			__atomic_store_n(&f->hup, 0, __ATOMIC_RELEASE);
		fifo_changed(c, f);
	}
	pthread_mutex_unlock(&c->fifo_lock);
	return ret;
}

void cell_fifo_close(struct cell *c, const struct cell_fifo_handle *h)
{
	struct crtos_fifo *f;

	pthread_mutex_lock(&c->fifo_lock);
	f = fifo_of(c, h);
	if (f) {
		if (h->rd && f->linux_readers && --f->linux_readers == 0)
			__atomic_store_n(&f->reader_side, CRTOS_FIFO_SIDE_NONE, __ATOMIC_RELEASE);
		if (h->wr && f->linux_writers && --f->linux_writers == 0) {
			__atomic_store_n(&f->hup, 1, __ATOMIC_RELEASE);
			__atomic_store_n(&f->writer_side, CRTOS_FIFO_SIDE_NONE, __ATOMIC_RELEASE);
		}
		fifo_changed(c, f);
	}
	pthread_mutex_unlock(&c->fifo_lock);
}

/* n bytes between a ring of size bytes, at stream position pos, and buf (in: to the ring). */
static void ring_copy(uint8_t *ring, uint64_t size, uint64_t pos, void *buf, uint64_t n, bool in)
{
	uint64_t off = pos & (size - 1), first = n < size - off ? n : size - off;

	memcpy(in ? ring + off : buf, in ? buf : ring + off, first);
	memcpy(in ? ring : (uint8_t *)buf + first, in ? (uint8_t *)buf + first : ring, n - first);
}

static long fifo_read_locked(struct cell *c, struct crtos_fifo *f, void *buf, size_t len)
{
	uint64_t head = __atomic_load_n(&f->head, __ATOMIC_ACQUIRE);
	uint64_t tail = __atomic_load_n(&f->tail, __ATOMIC_RELAXED);
	uint64_t fill = head - tail, n;
	uint8_t *ring = c->mem + f->data_gpa;

	if (fill > f->size)
		return -EIO;
	if (!fill)
		return crtos_fifo_writers_gone(f) ? 0 : -EAGAIN;
	n = len < fill ? len : fill;
	ring_copy(ring, f->size, tail, buf, n, false);
	__atomic_store_n(&f->tail, tail + n, __ATOMIC_RELEASE);
	fifo_changed(c, f);
	return (long)n;
}

long cell_fifo_read(struct cell *c, const struct cell_fifo_handle *h, void *buf, size_t len)
{
	struct crtos_fifo *f;
	long ret;

	if (!h->rd)
		return -EBADF;
	pthread_mutex_lock(&c->fifo_lock);
	f = fifo_of(c, h);
	ret = !f ? -ENOENT : !len ? 0 : fifo_read_locked(c, f, buf, len);
	pthread_mutex_unlock(&c->fifo_lock);
	return ret;
}

static long fifo_write_locked(struct cell *c, struct crtos_fifo *f, const void *buf, size_t len)
{
	uint64_t head = __atomic_load_n(&f->head, __ATOMIC_RELAXED);
	uint64_t tail = __atomic_load_n(&f->tail, __ATOMIC_ACQUIRE);
	uint64_t room, n;
	uint8_t *ring = c->mem + f->data_gpa;

	if (head - tail > f->size)
		return -EIO;
	room = f->size - (head - tail);
	if (!room || (room < len && len <= CRTOS_FIFO_ATOMIC && len <= f->size)) {
		f->linux_full++;
		return -EAGAIN;
	}
	n = len < room ? len : room;
	ring_copy(ring, f->size, head, (void *)buf, n, true);
	__atomic_store_n(&f->head, head + n, __ATOMIC_RELEASE);
	fifo_changed(c, f);
	return (long)n;
}

long cell_fifo_write(struct cell *c, const struct cell_fifo_handle *h, const void *buf, size_t len)
{
	struct crtos_fifo *f;
	long ret;

	if (!h->wr)
		return -EBADF;
	pthread_mutex_lock(&c->fifo_lock);
	f = fifo_of(c, h);
	ret = !f ? -ENOENT : !len ? 0 : fifo_write_locked(c, f, buf, len);
	pthread_mutex_unlock(&c->fifo_lock);
	return ret;
}

unsigned int cell_fifo_poll(struct cell *c, const struct cell_fifo_handle *h)
{
	struct cell_fifo_info info;
	struct crtos_fifo *f;
	unsigned int mask = 0;

	pthread_mutex_lock(&c->fifo_lock);
	f = fifo_of(c, h);
	if (!f) {
		pthread_mutex_unlock(&c->fifo_lock);
		return POLLERR;
	}
	fifo_fill_info(f, h->index, &info);
	pthread_mutex_unlock(&c->fifo_lock);
	if (h->rd && info.fill)
		mask |= POLLIN | POLLRDNORM;
	else if (h->rd && info.writer_side == CRTOS_FIFO_SIDE_NONE && info.hup)
		mask |= POLLHUP;
	if (h->wr && info.size - info.fill >= (info.size < CRTOS_FIFO_ATOMIC ? info.size : CRTOS_FIFO_ATOMIC))
		mask |= POLLOUT | POLLWRNORM;
	return mask;
}

void cell_fifo_waiting(struct cell *c, unsigned int index, int delta)
{
	struct crtos_fifo *f = fifo_entry(c, index);

	if (f)
		__atomic_fetch_add(&f->linux_waiting, (uint32_t)delta, __ATOMIC_SEQ_CST);
}

int cell_fifo_event_fd(const struct cell *c)
{
	return c->fifo_efd;
}
