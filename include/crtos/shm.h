/* SPDX-License-Identifier: MIT */
/*
 * Shared slots: the memory of shared mappings (MAP_SHARED of a file, a
 * /dev/shm object, a memfd, shared anonymous memory, a SysV segment). Each
 * is a KVM memory slot of its own above guest RAM, backed by the VMM's
 * MAP_SHARED mapping of the Linux object, so RT programs, their shadows
 * and any Linux process that maps the object see the same bytes.
 *
 * The kernel allocates this table at boot and publishes its GPA in
 * comm.shm_table_gpa. Entry i (i < nr_slots) is KVM slot
 * CRTOS_SHM_KVM_SLOT(i) at gpa_base + i * CRTOS_SHM_SLOT_SPAN. Slots are
 * per cell, one per mapping: a desktop program's processes share them
 * (Firefox with four content processes used more than 64). Its state moves in one cycle, each
 * step by one side, with a release store after the fields it publishes:
 *
 *   FREE --VMM: object mapped, slot registered--> ATTACHED
 *   ATTACHED --kernel: a VMA maps it--> ADOPTED
 *   ADOPTED --kernel: no VMA maps it any more, no PTE left--> RELEASED
 *   ATTACHED --kernel: its owner was reaped without adopting it--> RELEASED
 *   RELEASED --VMM: slot deleted, object unmapped and closed--> FREE
 *
 * The kernel reads size and valid only in ATTACHED and checks them.
 *
 * Truncation. A file can shrink under its mappings (Linux SIGBUSes a touch
 * past its new end; the VMM's mapping of those pages is gone, and a guest
 * access to them would never complete). The VMM looks at each file slot's
 * size about every 100 ms; when the bytes the object has from the slot's
 * offset change, it writes them to valid_now (a page multiple, at most
 * valid), then bumps the table's resized and kicks the kernel. The kernel,
 * before each return to a program that has not seen that count, drops the
 * page-table entries of pages at or past valid_now in every VMA of such a
 * slot, and puts back those below it (the file grew again), so a touch of
 * a truncated page is SIGBUS as in Linux.
 */
#ifndef CRTOS_SHM_H
#define CRTOS_SHM_H

#include <crtos/abi.h>

#define CRTOS_SHM_TABLE_MAGIC	0x4d4853534f5452ull	/* "RTOSSHM" */
#define CRTOS_SHM_SLOTS		448	/* the table's entries; nr_slots of them are used */
#define CRTOS_SHM_SLOT_SPAN	(CRTOS_U64(1) << 30)	/* GPA space per slot: the largest mapping */
#define CRTOS_SHM_KVM_SLOT(i)	(1 + (i))		/* KVM slot 0 is guest RAM */

enum crtos_shm_state {
	CRTOS_SHM_FREE = 0,
	CRTOS_SHM_ATTACHED,
	CRTOS_SHM_ADOPTED,
	CRTOS_SHM_RELEASED,
};

enum crtos_shm_kind {
	CRTOS_SHM_FILE = 1,	/* a file, /dev/shm object or memfd, mapped from an fd */
	CRTOS_SHM_SYSV,		/* a SysV segment, attached by its id */
};

struct crtos_shm_slot {
	uint32_t state;			/* enum crtos_shm_state: written as above */
	uint32_t owner;			/* VMM: doorbell index of the process that asked */
	uint32_t kind;			/* VMM: enum crtos_shm_kind */
	uint32_t writable;		/* VMM: 1 if the object is mapped writable */
	uint64_t size;			/* VMM: bytes registered, a page multiple <= SPAN */
	uint64_t valid;			/* VMM: bytes the object had at attach (the rest: SIGBUS) */
	uint64_t offset;		/* VMM: the object's offset at the slot's start */
	int64_t sysv_id;		/* VMM: CRTOS_SHM_SYSV: the segment's id */
	uint64_t valid_now;		/* VMM, from ATTACHED on: the bytes of [0, valid) the object
					 * has now (see Truncation above) */
};

struct crtos_shm_table {
	uint64_t magic;			/* kernel: CRTOS_SHM_TABLE_MAGIC */
	uint32_t abi_version;		/* kernel */
	uint32_t nr_slots;		/* kernel: the entries in use, <= CRTOS_SHM_SLOTS: as many
					 * spans as fit below both the first 512 GiB (the kernel
					 * window's RAM entry) and the CPU's physical-address width */
	uint64_t gpa_base;		/* kernel: entry 0's GPA, the first GiB above the hypercall window */
	uint64_t released;		/* kernel: bumped after each RELEASED, for the VMM's sweep */
	uint64_t resized;		/* VMM: bumped after it changed any valid_now */
	struct crtos_shm_slot slots[CRTOS_SHM_SLOTS];
};

static inline uint64_t crtos_shm_slot_gpa(const struct crtos_shm_table *t, unsigned int i)
{
	return t->gpa_base + (uint64_t)i * CRTOS_SHM_SLOT_SPAN;
}

#endif
