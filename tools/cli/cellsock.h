/* SPDX-License-Identifier: MIT */
/*
 * A running cell serves `crtos run` over a unix socket (SOCK_SEQPACKET) at
 * <runtime dir>/cell<CPU>.sock. One connection per RT process (crtos run
 * opens one more for each process the program forks):
 *
 *   client: SPAWN                 -> cell: SPAWNED {index, channel GPA}
 *                                          + fds [memfd, doorbell, kick]
 *   client: SHADOW {pid}          (the shadow it started)
 *   client: SHM {shm} + [fd]      -> cell: SHM_DONE {status, shm_gpa}
 *                                          (a shared slot for the process's
 *                                          mapping: vmm.h, cell_shm_attach)
 *   client: REAP                  -> cell: REAPED {status}
 *
 * or, for crtos fifo, one request per connection:
 *
 *   client: FIFO_CREATE {name, size}   -> cell: FIFO_DONE {status, error}
 *   client: FIFO_REMOVE {name}         -> cell: FIFO_DONE {status, error}
 *   client: FIFO_LIST                  -> cell: FIFO_INFO {fifo}... FIFO_DONE
 *
 * or, for crtos shm (RT shared-memory regions), one request per connection:
 *
 *   client: REGION_CREATE {name, size}   -> cell: REGION_DONE {status, error}
 *   client: REGION_REMOVE {name}         -> cell: REGION_DONE {status, error}
 *   client: REGION_LIST                  -> cell: REGION_INFO {region}... REGION_DONE
 *
 * If the connection drops before REAP (crtos run was killed), the cell
 * makes sure the shadow is gone (its parent's death killed it: it runs with
 * PR_SET_PDEATHSIG) and reaps the process itself. Only root and the cell's
 * own user may connect.
 */
#ifndef CLI_CELLSOCK_H
#define CLI_CELLSOCK_H

#include <stdint.h>
#include <sys/types.h>
#include "vmm/vmm.h"

enum cellsock_op {
	CELLSOCK_SPAWN = 1,
	CELLSOCK_SPAWNED,
	CELLSOCK_SHADOW,
	CELLSOCK_REAP,
	CELLSOCK_REAPED,
	CELLSOCK_ERROR,
	CELLSOCK_FIFO_CREATE,
	CELLSOCK_FIFO_REMOVE,
	CELLSOCK_FIFO_LIST,
	CELLSOCK_FIFO_INFO,
	CELLSOCK_FIFO_DONE,
	CELLSOCK_SHM,
	CELLSOCK_SHM_DONE,
	CELLSOCK_REGION_CREATE,
	CELLSOCK_REGION_REMOVE,
	CELLSOCK_REGION_LIST,
	CELLSOCK_REGION_INFO,
	CELLSOCK_REGION_DONE,
};

struct cellsock_msg {
	uint32_t op;			/* enum cellsock_op */
	int32_t status;			/* 0 or -errno */
	uint32_t index;			/* the process's doorbell index */
	int32_t pid;			/* CELLSOCK_SHADOW */
	uint64_t channel_gpa;
	char error[256];		/* CELLSOCK_ERROR, FIFO_DONE: what went wrong */
	char name[32];			/* FIFO_CREATE, FIFO_REMOVE, REGION_CREATE, REGION_REMOVE */
	uint64_t size;			/* FIFO_CREATE: bytes, 0 the default; REGION_CREATE: bytes */
	struct cell_fifo_info fifo;	/* FIFO_INFO */
	struct cell_shm_req shm;	/* SHM (its owner is the connection's process) */
	uint64_t shm_gpa;		/* SHM_DONE */
	struct cell_shm_region_info region;	/* REGION_INFO */
};

/* The socket path of the cell on cpu. */
void cellsock_path(int cpu, char *buf, size_t len);

/* Send msg with up to 3 fds (nfds may be 0). 0 or -errno. */
int cellsock_send(int sock, const struct cellsock_msg *msg, const int *fds, int nfds);

/* The same for any message of len bytes (the shadows' sockets, shadow/supervise.h). */
int cellsock_send_bytes(int sock, const void *msg, size_t len, const int *fds, int nfds);

/* Receive a message and up to 3 fds (*nfds in: room, out: received). 0, -EPIPE at EOF, or -errno. */
int cellsock_recv(int sock, struct cellsock_msg *msg, int *fds, int *nfds);

/* Client: connect to the cell on cpu. The socket, or -errno (-ENOENT/-ECONNREFUSED: no cell). */
int cellsock_connect(int cpu);

/*
 * Client of crtos fifo and crtos shm (tool names it in messages): send req
 * to the cell on cpu (< 0: the default CPU), call each for every info_op
 * answer, and put the final done_op answer in *done. 0, or EXIT_HOST after
 * saying what went wrong (no cell, no answer).
 */
int cellsock_request(const char *tool, int cpu, const struct cellsock_msg *req, uint32_t info_op,
		     uint32_t done_op, void (*each)(const struct cellsock_msg *, void *), void *ctx,
		     struct cellsock_msg *done);

/*
 * Server: serve crtos run clients until the cell stops, a signal in set
 * arrives (*signo), or timeout_ms passes (< 0: none). 0 or -errno.
 */
int cellsock_serve(struct cell *c, const sigset_t *set, int *signo, long timeout_ms);

#endif
