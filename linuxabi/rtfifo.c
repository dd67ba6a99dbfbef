// SPDX-License-Identifier: MIT
/*
 * RT-FIFOs, an RT fd kind (linuxabi/rtfd.h): /dev/rtf/NAME, a byte ring in
 * cell memory that RT programs read and write without Linux, and that
 * Linux processes reach through the cell's FUSE mount (the VMM). The
 * shared directory and its protocol are in crtos/rtfifo.h: one realm
 * writes, one reads (claimed at open, EBUSY for the other realm), so the
 * ring needs no lock across realms. Every operation here runs masked: the
 * realm's readers and writers are serialized by that.
 *
 * Semantics, as a pipe's where they can be: a read takes what is there
 * (blocking while empty, unless O_NONBLOCK: EAGAIN); after the last writer
 * closes, readers drain the ring and then read end of file (0), until a
 * writer opens again; a FIFO nobody has written blocks its readers. Writes
 * of CRTOS_FIFO_ATOMIC bytes or fewer are all or nothing; a full FIFO
 * blocks the writer or says EAGAIN. Nobody reading is not an error: the
 * bytes wait (no SIGPIPE), so a dead Linux reader only fills the FIFO.
 */
#include <kernel/kernel.h>
#include <kernel/pmm.h>
#include <kernel/printk.h>
#include <kernel/string.h>
#include <linuxabi/rtfd.h>
#include <crtos/comm.h>
#include <crtos/mmio.h>
#include <crtos/rtfifo.h>
#include <linux/fcntl.h>
#include <linux/poll.h>
#include <asm/ioctls.h>
#include <asm/unistd_64.h>

#define RTF_PREFIX	"/dev/rtf/"

struct lx_fifo {
	uint8_t *data;			/* the ring, in the direct map; NULL: entry free */
	paddr_t pa;
	unsigned int order;
	int opens;			/* RT fds that name it */
	int readers, writers;		/* ... opened for reading, for writing */
	uint32_t seen_lseq;		/* the VMM's last change we woke waiters for */
};

static struct crtos_fifo_dir *fifo_dir;
static struct lx_fifo fifos[CRTOS_FIFO_MAX];

static struct crtos_fifo *fifo_sh(const struct lx_fifo *f)
{
	return &fifo_dir->fifos[f - fifos];
}

void lx_rtfifo_init(void)
{
	unsigned int order = 0;
	paddr_t pa;

	while ((PAGE_SIZE << order) < sizeof(*fifo_dir))
		order++;
	pa = pmm_alloc(order);
	if (pa == PADDR_INVALID) {
		pr_err("rtfifo: no memory for the FIFO directory: RT-FIFOs are off\n");
		return;
	}
	fifo_dir = arch_phys_to_virt(pa);
	memset(fifo_dir, 0, sizeof(*fifo_dir));
	fifo_dir->magic = CRTOS_FIFO_DIR_MAGIC;
	fifo_dir->abi_version = CRTOS_ABI_VERSION;
	fifo_dir->max = CRTOS_FIFO_MAX;
	__atomic_store_n(&kernel_comm()->fifo_dir_gpa, (uint64_t)pa, __ATOMIC_RELEASE);
}

bool lx_rt_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n >= CRTOS_FIFO_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* The live FIFO called name, or NULL. Masked. */
static struct lx_fifo *fifo_find(const char *name)
{
	for (int i = 0; i < CRTOS_FIFO_MAX; i++)
		if (fifos[i].data && !strcmp(fifo_dir->fifos[i].name, name))
			return &fifos[i];
	return NULL;
}

/* Tell the other side and the realm's waiters that f changed. Masked. */
static void fifo_changed(struct lx_fifo *f)
{
	struct crtos_fifo *sh = fifo_sh(f);

	__atomic_fetch_add(&sh->kseq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&sh->linux_waiting, __ATOMIC_SEQ_CST)) {
		volatile uint64_t *bell = arch_phys_to_virt(kernel_boot_params()->mmio_gpa +
							     CRTOS_MMIO_FIFO_DOORBELL);
		*bell = 1;
	}
	lx_rtfd_wake_all();
}

/*
 * An RT thread is about to wait on f: ask the VMM for a kick at its next
 * change. True if the VMM changed it since lseq (look again instead).
 */
static bool fifo_want_kick(struct lx_fifo *f, uint32_t lseq)
{
	struct crtos_fifo *sh = fifo_sh(f);

	__atomic_store_n(&sh->rt_waiting, 1, __ATOMIC_SEQ_CST);
	return __atomic_load_n(&sh->lseq, __ATOMIC_SEQ_CST) != lseq;
}

void lx_rtfifo_set_polling(bool polling)
{
	if (fifo_dir && READ_ONCE(fifo_dir->rt_polling) != polling)
		__atomic_store_n(&fifo_dir->rt_polling, polling, __ATOMIC_SEQ_CST);
}

bool lx_rtfifo_poll(void)
{
	bool woke = false;

	if (!fifo_dir)
		return false;
	for (int i = 0; i < CRTOS_FIFO_MAX; i++) {
		struct crtos_fifo *sh = &fifo_dir->fifos[i];
		uint32_t lseq;

		if (!fifos[i].data)
			continue;
		lseq = __atomic_load_n(&sh->lseq, __ATOMIC_ACQUIRE);
		if (lseq == fifos[i].seen_lseq)
			continue;
		fifos[i].seen_lseq = lseq;
		__atomic_store_n(&sh->rt_waiting, 0, __ATOMIC_RELAXED);
		woke = true;
	}
	if (woke)
		lx_rtfd_wake_all();
	return woke;
}

static bool fifo_readable(const struct lx_rtfd *f)
{
	return (f->flags & O_ACCMODE) != O_WRONLY;
}

static bool fifo_writable(const struct lx_rtfd *f)
{
	return (f->flags & O_ACCMODE) != O_RDONLY;
}

/* n bytes between the ring at stream position pos and user memory at buf (in: to the ring). */
static int fifo_copy(struct lx_fifo *f, uint64_t pos, uint64_t buf, uint64_t n, bool in)
{
	uint64_t size = fifo_sh(f)->size, off = pos & (size - 1), first = MIN(n, size - off);

	if (in)
		return copy_from_user(f->data + off, buf, first) ?:
		       copy_from_user(f->data, buf + first, n - first);
	return copy_to_user(buf, f->data + off, first) ?: copy_to_user(buf + first, f->data, n - first);
}

static long fifo_try_read(struct lx_rtfd *rf, uint64_t buf, size_t len)
{
	struct lx_fifo *f = rf->obj;
	struct crtos_fifo *sh = fifo_sh(f);
	uint64_t head, tail, fill, n;

	if (!fifo_readable(rf))
		return -EBADF;
	for (;;) {
		uint32_t lseq = __atomic_load_n(&sh->lseq, __ATOMIC_ACQUIRE);

		head = __atomic_load_n(&sh->head, __ATOMIC_ACQUIRE);
		tail = __atomic_load_n(&sh->tail, __ATOMIC_RELAXED);
		fill = crtos_fifo_fill(sh, head, tail);
		if (fill || !len)
			break;
		if (crtos_fifo_writers_gone(sh))
			return 0;	/* end of file */
		if (!fifo_want_kick(f, lseq))
			return -EAGAIN;
	}
	n = MIN((uint64_t)len, fill);
	if (fifo_copy(f, tail, buf, n, false))
		return -EFAULT;
	__atomic_store_n(&sh->tail, tail + n, __ATOMIC_RELEASE);
	fifo_changed(f);
	return (long)n;
}

static long fifo_try_write(struct lx_rtfd *rf, uint64_t buf, size_t len)
{
	struct lx_fifo *f = rf->obj;
	struct crtos_fifo *sh = fifo_sh(f);
	uint64_t head, tail, room, n;

	if (!fifo_writable(rf))
		return -EBADF;
	if (!len)
		return 0;
	for (;;) {
		uint32_t lseq = __atomic_load_n(&sh->lseq, __ATOMIC_ACQUIRE);

		head = __atomic_load_n(&sh->head, __ATOMIC_RELAXED);
		tail = __atomic_load_n(&sh->tail, __ATOMIC_ACQUIRE);
		room = sh->size - crtos_fifo_fill(sh, head, tail);
		if (room >= len || (room && (len > CRTOS_FIFO_ATOMIC || len > sh->size)))
			break;
		if (!fifo_want_kick(f, lseq)) {
			sh->rt_full++;
			return -EAGAIN;
		}
	}
	n = MIN((uint64_t)len, room);
	if (fifo_copy(f, head, buf, n, true))
		return -EFAULT;
	__atomic_store_n(&sh->head, head + n, __ATOMIC_RELEASE);
	fifo_changed(f);
	return (long)n;
}

static unsigned int fifo_poll(struct lx_rtfd *rf)
{
	struct lx_fifo *f = rf->obj;
	struct crtos_fifo *sh = fifo_sh(f);
	unsigned int mask = 0;
	uint32_t lseq;

	do {
		uint64_t fill;

		lseq = __atomic_load_n(&sh->lseq, __ATOMIC_ACQUIRE);
		fill = crtos_fifo_fill(sh, __atomic_load_n(&sh->head, __ATOMIC_ACQUIRE),
				 __atomic_load_n(&sh->tail, __ATOMIC_ACQUIRE));
		mask = 0;
		if (fifo_readable(rf) && fill)
			mask |= POLLIN | POLLRDNORM;
		else if (fifo_readable(rf) && crtos_fifo_writers_gone(sh))
			mask |= POLLHUP;
		if (fifo_writable(rf) && sh->size - fill >= MIN(sh->size, (uint64_t)CRTOS_FIFO_ATOMIC))
			mask |= POLLOUT | POLLWRNORM;
	} while (!mask && fifo_want_kick(f, lseq));
	return mask;
}

/* Every change either side made (data in or out, an end of file): each bumps its sequence. */
static uint64_t fifo_events_so_far(struct lx_rtfd *rf)
{
	struct crtos_fifo *sh = fifo_sh(rf->obj);

	return (uint64_t)__atomic_load_n(&sh->kseq, __ATOMIC_ACQUIRE) +
	       __atomic_load_n(&sh->lseq, __ATOMIC_ACQUIRE);
}

/* FIONREAD: the bytes waiting. */
static long fifo_ioctl(struct lx_rtfd *rf, unsigned int cmd, uint64_t arg)
{
	struct crtos_fifo *sh = fifo_sh(rf->obj);
	int n;

	if (cmd != FIONREAD)
		return -ENOTTY;
	n = (int)crtos_fifo_fill(sh, __atomic_load_n(&sh->head, __ATOMIC_ACQUIRE),
			   __atomic_load_n(&sh->tail, __ATOMIC_ACQUIRE));
	return copy_to_user(arg, &n, sizeof(n));
}

static void fifo_hold(struct lx_rtfd *rf)
{
	struct lx_fifo *f = rf->obj;
	struct crtos_fifo *sh = fifo_sh(f);

	f->opens++;
	if (fifo_readable(rf))
		sh->rt_readers = (uint32_t)++f->readers;
	if (fifo_writable(rf) && (sh->rt_writers = (uint32_t)++f->writers) == 1)
		__atomic_store_n(&sh->hup, 0, __ATOMIC_RELEASE);
}

static void fifo_drop(struct lx_rtfd *rf)
{
	struct lx_fifo *f = rf->obj;
	struct crtos_fifo *sh = fifo_sh(f);

	f->opens--;
	if (fifo_readable(rf) && (sh->rt_readers = (uint32_t)--f->readers) == 0)
		__atomic_store_n(&sh->reader_side, CRTOS_FIFO_SIDE_NONE, __ATOMIC_RELEASE);
	if (fifo_writable(rf) && (sh->rt_writers = (uint32_t)--f->writers) == 0) {
		__atomic_store_n(&sh->hup, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&sh->writer_side, CRTOS_FIFO_SIDE_NONE, __ATOMIC_RELEASE);
	}
	fifo_changed(f);
}

static const struct lx_rtfd_ops fifo_ops = {
	.name = "rtfifo",
	.try_read = fifo_try_read,
	.try_write = fifo_try_write,
	.poll = fifo_poll,
	.events_so_far = fifo_events_so_far,
	.ioctl = fifo_ioctl,
	.hold = fifo_hold,
	.drop = fifo_drop,
};

/* Claim the realm's role in *side (crtos/rtfifo.h). Masked. */
static bool fifo_claim(uint32_t *side)
{
	uint32_t none = CRTOS_FIFO_SIDE_NONE;

	return __atomic_compare_exchange_n(side, &none, CRTOS_FIFO_SIDE_RT, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST) || none == CRTOS_FIFO_SIDE_RT;
}

/* Give back the roles no RT fd uses (an open failed after claiming them). Masked. */
static void fifo_release_unused(struct lx_fifo *f)
{
	struct crtos_fifo *sh = fifo_sh(f);

	if (!f->readers && sh->reader_side == CRTOS_FIFO_SIDE_RT)
		__atomic_store_n(&sh->reader_side, CRTOS_FIFO_SIDE_NONE, __ATOMIC_RELEASE);
	if (!f->writers && sh->writer_side == CRTOS_FIFO_SIDE_RT)
		__atomic_store_n(&sh->writer_side, CRTOS_FIFO_SIDE_NONE, __ATOMIC_RELEASE);
}

/* Take the roles an open with acc (O_RDONLY...) needs. Masked. 0 or -EBUSY. */
static int fifo_claim_roles(struct lx_fifo *f, unsigned int acc)
{
	struct crtos_fifo *sh = fifo_sh(f);
	bool rd = acc != O_WRONLY, wr = acc != O_RDONLY;

	if (rd && !fifo_claim(&sh->reader_side))
		return -EBUSY;
	if (wr && !fifo_claim(&sh->writer_side)) {
		fifo_release_unused(f);
		return -EBUSY;
	}
	return 0;
}

static unsigned int fifo_order(uint64_t size)
{
	unsigned int order = 0;

	while ((PAGE_SIZE << order) < size)
		order++;
	return order;
}

long lx_rtfifo_create(const char *name, uint64_t size, uint64_t *index)
{
	struct lx_fifo *f = NULL;
	struct crtos_fifo *sh;
	unsigned int order;
	unsigned long flags;
	paddr_t pa;

	if (!fifo_dir)
		return -ENODEV;
	if (!lx_rt_name_ok(name))
		return -EINVAL;
	size = size ? size : CRTOS_FIFO_DEFAULT_SIZE;
	if (size < CRTOS_FIFO_MIN_SIZE || size > CRTOS_FIFO_MAX_SIZE || (size & (size - 1)))
		return -EINVAL;
	order = fifo_order(size);
	pa = pmm_alloc(order);
	if (pa == PADDR_INVALID)
		return -ENOMEM;
	flags = arch_irq_save();
	if ((f = fifo_find(name))) {
		*index = (uint64_t)(f - fifos);
		arch_irq_restore(flags);
		pmm_free(pa, order);
		return -EEXIST;
	}
	for (int i = 0; i < CRTOS_FIFO_MAX && !f; i++)
		if (!fifos[i].data)
			f = &fifos[i];
	if (!f) {
		arch_irq_restore(flags);
		pmm_free(pa, order);
		return -ENOSPC;
	}
	sh = fifo_sh(f);
	*f = (struct lx_fifo){ .data = arch_phys_to_virt(pa), .pa = pa, .order = order,
			       .seen_lseq = sh->lseq };
	strlcpy(sh->name, name, sizeof(sh->name));
	sh->size = size;
	sh->data_gpa = pa;
	sh->head = sh->tail = 0;
	sh->writer_side = sh->reader_side = CRTOS_FIFO_SIDE_NONE;
	sh->hup = 0;
	sh->rt_waiting = sh->rt_readers = sh->rt_writers = 0;
	sh->rt_full = 0;
	sh->gen++;
	__atomic_store_n(&sh->state, CRTOS_FIFO_LIVE, __ATOMIC_RELEASE);
	__atomic_fetch_add(&fifo_dir->seq, 1, __ATOMIC_RELEASE);
	*index = (uint64_t)(f - fifos);
	arch_irq_restore(flags);
	pr_info("rtfifo: %s created, %lu bytes\n", name, (unsigned long)size);
	return 0;
}

long lx_rtfifo_remove(const char *name)
{
	unsigned long flags = arch_irq_save();
	struct lx_fifo *f = fifo_dir ? fifo_find(name) : NULL;
	struct crtos_fifo *sh;
	struct lx_fifo gone;

	if (!f) {
		arch_irq_restore(flags);
		return -ENOENT;
	}
	sh = fifo_sh(f);
	if (f->opens || READ_ONCE(sh->linux_readers) || READ_ONCE(sh->linux_writers)) {
		arch_irq_restore(flags);
		return -EBUSY;
	}
	__atomic_store_n(&sh->state, CRTOS_FIFO_FREE, __ATOMIC_RELEASE);
	__atomic_fetch_add(&fifo_dir->seq, 1, __ATOMIC_RELEASE);
	gone = *f;
	f->data = NULL;
	arch_irq_restore(flags);
	pmm_free(gone.pa, gone.order);
	pr_info("rtfifo: %s removed\n", name);
	return 0;
}

long lx_rtfifo_open(uint64_t upath, uint64_t oflags)
{
	struct lx_process *p = lx_current()->proc;
	char path[sizeof(RTF_PREFIX) + CRTOS_FIFO_NAME_MAX];
	unsigned int acc = (unsigned int)(oflags & O_ACCMODE);
	long len = strncpy_from_user(path, upath, sizeof(path)), fd, err;
	struct lx_fifo *f;
	unsigned long flags;
	uint64_t index;

	if (len < 0)
		return len;
	if ((size_t)len >= sizeof(path))
		return -ENAMETOOLONG;
	if (strncmp(path, RTF_PREFIX, sizeof(RTF_PREFIX) - 1) || !lx_rt_name_ok(path + sizeof(RTF_PREFIX) - 1))
		return -ENOENT;
	if (acc == O_ACCMODE)
		return -EINVAL;
	if (oflags & O_DIRECTORY)
		return -ENOTDIR;
	flags = arch_irq_save();
	f = fifo_dir ? fifo_find(path + sizeof(RTF_PREFIX) - 1) : NULL;
	index = f ? (uint64_t)(f - fifos) : 0;
	arch_irq_restore(flags);
	if (f && (oflags & O_CREAT) && (oflags & O_EXCL))
		return -EEXIST;
	err = f ? 0 : lx_rtfifo_create(path + sizeof(RTF_PREFIX) - 1, 0, &index);	/* first open */
	if (err && err != -EEXIST)
		return err;
	/*
	 * The placeholder that holds the number (linuxabi/rtfd.h): an eventfd,
	 * whose EFD_CLOEXEC and EFD_NONBLOCK are O_CLOEXEC and O_NONBLOCK in
	 * Linux (no UAPI header carries them).
	 */
	fd = rcall(__NR_eventfd2, 0, oflags & (O_CLOEXEC | O_NONBLOCK), 0, 0, 0, 0);
	if (fd < 0)
		return fd;
	flags = arch_irq_save();
	f = &fifos[index];
	err = !f->data ? -ENOENT : fifo_claim_roles(f, acc);
	if (!err) {
		err = lx_rtfd_add(p, (int)fd, &fifo_ops, f, acc | (unsigned int)(oflags & O_NONBLOCK));
		if (err)
			fifo_release_unused(f);
	}
	arch_irq_restore(flags);
	if (err) {
		if (err == -EBUSY)
			pr_info("process %d: %s: Linux holds the %s end of this FIFO: -EBUSY\n", p->pid,
				path, acc == O_RDONLY ? "reading" : "writing");
		rcall(__NR_close, (uint64_t)fd, 0, 0, 0, 0, 0);
		return err;
	}
	return fd;
}
