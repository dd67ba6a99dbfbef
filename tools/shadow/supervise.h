/* SPDX-License-Identifier: MIT */
/*
 * Between crtos run and the shadows of its program's processes: one unix
 * socket (SOCK_SEQPACKET) per shadow, Linux-side only (the kernel never
 * sees it). crtos run holds the cell (its own, or a connection to a
 * serving cell), so it is the one that makes and frees RT processes:
 *
 *   shadow: SUP_FORK            -> crtos run: SUP_FORKED {status, index,
 *                                  channel GPA} + fds [doorbell, socket]
 *                                  (the new process's doorbell eventfd,
 *                                  and the child shadow's socket to us)
 *   child shadow: SUP_HELLO {pid}  (once it serves the new channel)
 *   shadow: SUP_SHM {shm_*} + [fd] -> crtos run: SUP_SHM_DONE {status,
 *                                  shm_gpa} (a shared slot of the cell for
 *                                  the object: vmm.h, cell_shm_attach)
 *
 * The end of a socket (every holder closed it, or died) says the shadow
 * is gone: crtos run then reaps its RT process. A shadow whose socket
 * reports a hang-up knows crtos run is gone, and ends.
 */
#ifndef SHADOW_SUPERVISE_H
#define SHADOW_SUPERVISE_H

#include <stdint.h>

enum sup_op {
	SUP_FORK = 1,
	SUP_FORKED,
	SUP_HELLO,
	SUP_SHM,
	SUP_SHM_DONE,
};

struct sup_msg {
	uint32_t op;			/* enum sup_op */
	int32_t status;			/* SUP_FORKED: 0 or -errno */
	uint32_t index;			/* SUP_FORKED: the new process's doorbell index */
	int32_t pid;			/* SUP_HELLO: the child shadow's pid */
	uint64_t channel_gpa;		/* SUP_FORKED: where its channel is in the memfd */
	uint32_t shm_kind;		/* SUP_SHM: enum crtos_shm_kind */
	uint32_t shm_readonly;		/* SUP_SHM: a SysV segment attached read-only */
	uint64_t shm_offset;		/* SUP_SHM: a file's offset */
	uint64_t shm_len;		/* SUP_SHM: a file's bytes */
	int64_t shm_sysv_id;		/* SUP_SHM: a SysV segment's id */
	uint32_t shm_from_slot;		/* SUP_SHM: 1 + i: the object of the cell's shared slot i,
					 * sent with no fd (a mapping grown by mremap); 0: the fd */
	uint32_t reserved;
	uint64_t shm_gpa;		/* SUP_SHM_DONE: the slot's GPA */
};

#define SUP_FDS		2		/* SUP_FORKED: doorbell, socket */

#endif
