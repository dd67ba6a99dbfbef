/* SPDX-License-Identifier: MIT */
/*
 * The kernel log ring: a single-producer (kernel), single-consumer (VMM)
 * ring of variable-length records in shared memory.
 *
 * The producer never waits for the consumer: a real-time kernel must not
 * block on Linux. When a record does not fit, it is dropped, and both the
 * ring's dropped counter and the gap in sequence numbers say so; nothing is
 * lost silently. Records never wrap: one that does not fit before the end of
 * the data area is preceded by a padding record that fills the rest.
 *
 * head and tail count bytes since the ring was created (they never wrap in
 * practice: 2^64 bytes); the offset of a position is pos & (data_size - 1).
 * The producer publishes a record with a release store of head, the consumer
 * frees space with a release store of tail; each reads the other's index
 * with an acquire load. Both sides use the functions below, so the protocol
 * is written once and unit-tested on the host.
 */
#ifndef CRTOS_LOGRING_H
#define CRTOS_LOGRING_H

#include <stdbool.h>
#include <stddef.h>
#include <crtos/abi.h>

#define CRTOS_LOG_MAGIC		0x474f4c534f5452ull	/* "RTOSLOG" */

/* Header of the ring area (log_gpa in the boot params). */
struct crtos_log_ring {
	uint64_t magic;			/* VMM, at setup: CRTOS_LOG_MAGIC */
	uint32_t abi_version;		/* VMM, at setup */
	uint32_t data_size;		/* VMM, at setup: bytes in data[], a power of two >= 256 */
	uint64_t head;			/* kernel: bytes produced */
	uint64_t dropped;		/* kernel: records that did not fit */
	uint64_t next_seq;		/* kernel: sequence number of the next record */
	uint64_t pad0[3];
	uint64_t tail;			/* VMM: bytes consumed (own cache line) */
	uint64_t pad1[7];
	uint8_t data[];			/* records, 8-byte aligned */
};

#define CRTOS_LOG_REC_PAD	0x1	/* flags: filler up to the end of data[] */

struct crtos_log_rec {
	uint32_t len;			/* header + text bytes; the record takes align8(len) */
	uint16_t flags;			/* CRTOS_LOG_REC_* */
	uint8_t level;			/* 0 (emergency) .. 7 (debug), as Linux's loglevels */
	uint8_t reserved;
	uint64_t seq;			/* sequence number, 0 for the first record */
	uint64_t tsc;			/* TSC when the record was written */
	char text[];			/* not NUL-terminated */
};

static inline uint32_t crtos_log_align(uint32_t n)
{
	return (n + 7u) & ~7u;
}

/* Largest text one record can carry in a ring of data_size bytes. */
static inline uint32_t crtos_log_max_text(const struct crtos_log_ring *r)
{
	return r->data_size / 4 - (uint32_t)sizeof(struct crtos_log_rec);
}

/* VMM side, before the kernel runs: initialise a ring covering total bytes. */
static inline bool crtos_log_init(struct crtos_log_ring *r, size_t total)
{
	size_t data = 256;

	if (total < sizeof(*r) + data)
		return false;
	while (data * 2 <= total - sizeof(*r) && data * 2 <= (1u << 30))
		data *= 2;
	r->magic = CRTOS_LOG_MAGIC;
	r->abi_version = CRTOS_ABI_VERSION;
	r->data_size = (uint32_t)data;
	r->head = r->tail = r->dropped = r->next_seq = 0;
	return true;
}

/*
 * Producer: append one record of len text bytes (truncated to
 * crtos_log_max_text()). Returns false, and counts the record as dropped,
 * when the ring is full. Never blocks. Single producer only.
 */
static inline bool crtos_log_write(struct crtos_log_ring *r, uint8_t level,
				   uint64_t tsc, const char *text, uint32_t len)
{
	uint32_t size = r->data_size, mask = size - 1;
	uint64_t head = r->head;
	uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	uint64_t seq = r->next_seq;
	uint32_t need, to_end, pad;
	struct crtos_log_rec *rec;

	if (len > crtos_log_max_text(r))
		len = crtos_log_max_text(r);
	need = crtos_log_align((uint32_t)sizeof(*rec) + len);
	to_end = size - (uint32_t)(head & mask);
	pad = need > to_end ? to_end : 0;

	__atomic_store_n(&r->next_seq, seq + 1, __ATOMIC_RELAXED);
	if (head + pad + need - tail > size) {
		__atomic_store_n(&r->dropped, r->dropped + 1, __ATOMIC_RELAXED);
		return false;
	}
	if (pad) {
		rec = (struct crtos_log_rec *)&r->data[head & mask];
		rec->len = pad;
		rec->flags = CRTOS_LOG_REC_PAD;
		head += pad;
	}
	rec = (struct crtos_log_rec *)&r->data[head & mask];
	rec->len = (uint32_t)sizeof(*rec) + len;
	rec->flags = 0;
	rec->level = level;
	rec->reserved = 0;
	rec->seq = seq;
	rec->tsc = tsc;
	for (uint32_t i = 0; i < len; i++)
		rec->text[i] = text[i];
	__atomic_store_n(&r->head, head + need, __ATOMIC_RELEASE);
	return true;
}

/*
 * Consumer state, private to the VMM. It keeps its own copy of data_size and
 * tail so that a kernel that scribbles over the ring header cannot make the
 * consumer read outside the ring.
 */
struct crtos_log_reader {
	struct crtos_log_ring *ring;
	uint32_t data_size;
	uint32_t text_len;		/* of the record last returned, validated */
	uint64_t tail;
};

static inline void crtos_log_reader_init(struct crtos_log_reader *rd, struct crtos_log_ring *r)
{
	rd->ring = r;
	rd->data_size = r->data_size;
	rd->text_len = 0;
	rd->tail = 0;
}

/*
 * Consumer: fetch the next record into *out. Returns 1 with a record, 0 when
 * the ring is empty, -1 when the ring holds something that is not a valid
 * record (the reader then stops; the caller reports the corruption).
 * The record stays valid until crtos_log_release(); its text has
 * rd->text_len bytes (use that, not rec->len, which the kernel could change).
 */
static inline int crtos_log_read(struct crtos_log_reader *rd, const struct crtos_log_rec **out)
{
	uint32_t mask = rd->data_size - 1;
	uint64_t head = __atomic_load_n(&rd->ring->head, __ATOMIC_ACQUIRE);

	if (head - rd->tail > rd->data_size)
		return -1;
	while (rd->tail != head) {
		uint32_t off = (uint32_t)(rd->tail & mask);
		const struct crtos_log_rec *rec = (const void *)&rd->ring->data[off];
		uint32_t len = rec->len;

		if (rec->flags & CRTOS_LOG_REC_PAD) {
			if (len != rd->data_size - off || rd->tail + len > head)
				return -1;
			rd->tail += len;
			__atomic_store_n(&rd->ring->tail, rd->tail, __ATOMIC_RELEASE);
			continue;
		}
		if (len < sizeof(*rec) || off + crtos_log_align(len) > rd->data_size ||
		    rd->tail + crtos_log_align(len) > head)
			return -1;
		rd->text_len = len - (uint32_t)sizeof(*rec);
		*out = rec;
		return 1;
	}
	return 0;
}

/* Consumer: release the record returned by the last crtos_log_read(). */
static inline void crtos_log_release(struct crtos_log_reader *rd)
{
	rd->tail += crtos_log_align((uint32_t)sizeof(struct crtos_log_rec) + rd->text_len);
	__atomic_store_n(&rd->ring->tail, rd->tail, __ATOMIC_RELEASE);
}

#endif
