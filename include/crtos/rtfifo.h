/* SPDX-License-Identifier: MIT */
/*
 * RT-FIFOs: byte rings in guest memory that RT programs open as
 * /dev/rtf/NAME and Linux processes reach as files of the cell's FUSE
 * mount (served by the VMM). The kernel allocates the directory at boot
 * and publishes its GPA in comm.fifo_dir_gpa; it alone creates and removes
 * FIFOs (an RT open, or CRTOS_CTL_FIFO_CREATE/REMOVE from the VMM).
 *
 * Bytes flow one way at a time between the realms: all the writers of a
 * FIFO are in one realm (writer_side) and all its readers in one realm
 * (reader_side, possibly the same). A side claims a role with a
 * compare-and-swap from CRTOS_FIFO_SIDE_NONE and gives it back when its
 * last reader or writer closes; an open that would need the role the other
 * realm holds fails with EBUSY. Each realm serializes its own readers and
 * writers (the kernel masks interrupts, the VMM takes a lock), so the ring
 * is single-producer single-consumer between two parties and lock-free:
 * the writer copies bytes and then stores head (release), the reader loads
 * head (acquire), copies and stores tail (release). Nothing on the RT side
 * ever waits for Linux.
 *
 * Wake-ups: a side that waits sets its *_waiting word, then looks again
 * (sequentially consistent); a side that changed head, tail or a claim
 * bumps its *seq word and, if the other side waits, notifies it: the
 * kernel stores to CRTOS_MMIO_FIFO_DOORBELL (an ioeventfd, no VM exit),
 * the VMM kicks the kernel (CRTOS_VEC_KICK) unless the kernel's idle loop
 * says it polls (rt_polling; it looks at every lseq after clearing it).
 */
#ifndef CRTOS_RTFIFO_H
#define CRTOS_RTFIFO_H

#include <crtos/abi.h>

#define CRTOS_FIFO_DIR_MAGIC	0x52494446534f5452ull	/* "RTOSFDIR" */
#define CRTOS_FIFO_MAX		64		/* FIFOs per cell */
#define CRTOS_FIFO_NAME_MAX	32		/* bytes of a name, with its NUL */
#define CRTOS_FIFO_DEFAULT_SIZE	CRTOS_U64(65536)
#define CRTOS_FIFO_MIN_SIZE	CRTOS_U64(4096)
#define CRTOS_FIFO_MAX_SIZE	(CRTOS_U64(16) << 20)
#define CRTOS_FIFO_ATOMIC	4096		/* writes this small are all or nothing (PIPE_BUF) */

enum crtos_fifo_state {
	CRTOS_FIFO_FREE = 0,
	CRTOS_FIFO_LIVE,	/* name, size and data_gpa are valid */
};

enum crtos_fifo_side {
	CRTOS_FIFO_SIDE_NONE = 0,
	CRTOS_FIFO_SIDE_RT,
	CRTOS_FIFO_SIDE_LINUX,
};

struct crtos_fifo {
	/* Kernel: set before state goes LIVE (release), fixed while LIVE. */
	uint32_t state;			/* enum crtos_fifo_state */
	uint32_t gen;			/* bumped at each creation in this entry */
	char name[CRTOS_FIFO_NAME_MAX];	/* [A-Za-z0-9._-], NUL-terminated */
	uint64_t size;			/* bytes, a power of two */
	uint64_t data_gpa;		/* the ring: size bytes, contiguous */

	/* The realm that holds the role (writer_side, reader_side). */
	uint64_t head;			/* writer: bytes ever written */
	uint64_t tail;			/* reader: bytes ever read */

	/* Either side, by compare-and-swap: enum crtos_fifo_side. */
	uint32_t writer_side;
	uint32_t reader_side;
	uint32_t hup;			/* writer role holder: 1 once the last writer closed,
					 * 0 when a writer opens (readers then see end of file) */
	uint32_t reserved;

	/* Kernel. */
	uint32_t rt_waiting;		/* RT threads wait on it: kick after a change */
	uint32_t kseq;			/* bumped after each change the kernel makes */
	uint32_t rt_readers, rt_writers;	/* open RT fds, for crtos fifo show */
	uint64_t rt_full;		/* RT writes that found it full */

	/* VMM. */
	uint32_t linux_waiting;		/* Linux readers, writers or pollers wait: ring the doorbell */
	uint32_t lseq;			/* bumped after each change the VMM makes */
	uint32_t linux_readers, linux_writers;	/* open FUSE files */
	uint64_t linux_full;		/* Linux writes that found it full */
};

struct crtos_fifo_dir {
	uint64_t magic;			/* kernel: CRTOS_FIFO_DIR_MAGIC */
	uint32_t abi_version;		/* kernel */
	uint32_t max;			/* kernel: CRTOS_FIFO_MAX */
	uint32_t seq;			/* kernel: bumped when a FIFO is created or removed */
	uint32_t rt_polling;		/* kernel: its idle loop polls every FIFO: no kick needed */
	struct crtos_fifo fifos[CRTOS_FIFO_MAX];
};

/* Bytes in the ring for head and tail as loaded (a broken pair, which only a bug can make, reads as empty). */
static inline uint64_t crtos_fifo_fill(const struct crtos_fifo *f, uint64_t head, uint64_t tail)
{
	return head - tail <= f->size ? head - tail : 0;
}

/* Every writer closed (after at least one opened): readers read end of file once it is empty. */
static inline int crtos_fifo_writers_gone(const struct crtos_fifo *f)
{
	return __atomic_load_n(&f->writer_side, __ATOMIC_ACQUIRE) == CRTOS_FIFO_SIDE_NONE &&
	       __atomic_load_n(&f->hup, __ATOMIC_ACQUIRE);
}

#endif
