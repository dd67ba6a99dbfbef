// SPDX-License-Identifier: MIT
/*
 * The processes a program forks, from crtos run (run_procs.h): it holds
 * the cell, so it makes each RT process when a shadow asks (SUP_FORK) and
 * reaps it when that process's shadow is gone, which its socket's end
 * tells (the kernel may free the memory only then). When the program's
 * own shadow ends, the processes left (background jobs) end with it:
 * their cell may be about to stop.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "cellsock.h"
#include "run_procs.h"
#include "shadow/supervise.h"
#include <crtos/shm.h>

#define RUN_END_WAIT_MS	2000

void run_procs_init(struct run_procs *rp, struct cell *local, int cpu)
{
	memset(rp, 0, sizeof(*rp));
	rp->local = local;
	rp->cpu = cpu;
	rp->main_sock = -1;
	rp->main_cell_sock = -1;
	for (int i = 0; i < RUN_MAX_PROCS; i++)
		rp->procs[i].sock = -1;
}

int run_procs_socketpair(int *ours, int *theirs)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	*ours = sv[0];
	*theirs = sv[1];
	return 0;
}

/* A new process in a serving cell, on a connection of its own. 0 or -errno. */
static int run_proc_spawn_remote(struct run_procs *rp, struct run_proc *np, int *doorbell,
				 struct sup_msg *reply)
{
	struct cellsock_msg msg = { .op = CELLSOCK_SPAWN };
	int fds[3], nfds = 3;

	np->cell_sock = cellsock_connect(rp->cpu);
	if (np->cell_sock < 0)
		return np->cell_sock;
	if (cellsock_send(np->cell_sock, &msg, NULL, 0) ||
	    cellsock_recv(np->cell_sock, &msg, fds, &nfds) || msg.op != CELLSOCK_SPAWNED ||
	    nfds != 3) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		close(np->cell_sock);
		np->cell_sock = -1;
		return -EAGAIN;
	}
	close(fds[0]);		/* the memfd and the kick: the shadow has them */
	close(fds[2]);
	*doorbell = fds[1];
	reply->index = msg.index;
	reply->channel_gpa = msg.channel_gpa;
	return 0;
}

/* A new process in our own cell. 0 or -errno. */
static int run_proc_spawn_local(struct run_procs *rp, struct run_proc *np, int *doorbell,
				struct sup_msg *reply)
{
	struct vmm_err err;

	if (cell_spawn(rp->local, &np->cp, &err))
		return -EAGAIN;
	*doorbell = dup(np->cp.doorbell_fd);	/* ours stays: the reap deassigns with it */
	reply->index = np->cp.index;
	reply->channel_gpa = np->cp.channel_gpa;
	return *doorbell < 0 ? -errno : 0;
}

static void run_proc_reap(struct run_procs *rp, struct run_proc *np)
{
	struct cellsock_msg msg = { .op = CELLSOCK_REAP };

	if (rp->local) {
		cell_reap(rp->local, &np->cp);
	} else if (np->cell_sock >= 0) {
		cellsock_send(np->cell_sock, &msg, NULL, 0);
		cellsock_recv(np->cell_sock, &msg, NULL, NULL);
		close(np->cell_sock);
	}
	if (np->sock >= 0)
		close(np->sock);
	memset(np, 0, sizeof(*np));
	np->sock = -1;
	np->cell_sock = -1;
}

/* SUP_FORK from the shadow on sock: a process for its child, and the child's socket. */
static void run_proc_fork(struct run_procs *rp, int sock)
{
	struct sup_msg reply = { .op = SUP_FORKED };
	struct run_proc *np = NULL;
	int fds[SUP_FDS] = { -1, -1 }, err;
	bool spawned;

	for (int i = 0; i < RUN_MAX_PROCS && !np; i++)
		if (rp->procs[i].sock < 0)
			np = &rp->procs[i];
	if (!np) {
		reply.status = -EAGAIN;
		cellsock_send_bytes(sock, &reply, sizeof(reply), NULL, 0);
		return;
	}
	np->cell_sock = -1;
	err = rp->local ? run_proc_spawn_local(rp, np, &fds[0], &reply) :
			  run_proc_spawn_remote(rp, np, &fds[0], &reply);
	spawned = !err;
	np->channel_gpa = reply.channel_gpa;
	err = err ?: run_procs_socketpair(&np->sock, &fds[1]);
	reply.status = err;
	cellsock_send_bytes(sock, &reply, sizeof(reply), fds, err ? 0 : SUP_FDS);
	for (int i = 0; i < SUP_FDS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* From here on, the end of np->sock (the shadow never took it, or is gone) reaps it. */
	if (err && spawned)
		run_proc_reap(rp, np);
}

/* SUP_HELLO: the child shadow's pid (a serving cell kills it if we die). */
static void run_proc_hello(struct run_proc *np, pid_t pid)
{
	struct cellsock_msg msg = { .op = CELLSOCK_SHADOW, .pid = pid };

	np->pid = pid;
	if (np->cell_sock >= 0)
		cellsock_send(np->cell_sock, &msg, NULL, 0);
}

/* A message from a shadow, without waiting, and the one fd it may carry (*fd, else -1). */
static ssize_t run_proc_recv(int sock, struct sup_msg *msg, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	for (cm = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return n;
}

/* A shared slot in a serving cell, over the process's connection. 0 or -errno. */
static int run_proc_shm_remote(int cell_sock, const struct cell_shm_req *req, int fd,
			       uint64_t *gpa)
{
	struct cellsock_msg msg = { .op = CELLSOCK_SHM, .shm = *req };

	if (cell_sock < 0)
		return -EPROTO;
	if (cellsock_send(cell_sock, &msg, &fd, fd >= 0 ? 1 : 0) ||
	    cellsock_recv(cell_sock, &msg, NULL, NULL) || msg.op != CELLSOCK_SHM_DONE)
		return -EAGAIN;
	*gpa = msg.shm_gpa;
	return msg.status;
}

/* SUP_SHM from the shadow on sock (np: a forked process's, NULL: the program's), fd its object. */
static void run_proc_shm(struct run_procs *rp, int sock, struct run_proc *np,
			 const struct sup_msg *msg, int fd)
{
	struct sup_msg reply = { .op = SUP_SHM_DONE };
	struct cell_shm_req req = {
		.kind = msg->shm_kind, .offset = msg->shm_offset, .len = msg->shm_len,
		.sysv_id = msg->shm_sysv_id, .readonly = msg->shm_readonly,
		.owner = np ? np->cp.index : rp->main_index, .from_slot = msg->shm_from_slot,
	};

	if (fd < 0 && req.kind != CRTOS_SHM_SYSV && !req.from_slot)
		reply.status = -EBADF;
	else if (rp->local)
		reply.status = cell_shm_attach(rp->local, &req, fd, &reply.shm_gpa);
	else
		reply.status = run_proc_shm_remote(np ? np->cell_sock : rp->main_cell_sock, &req, fd,
						   &reply.shm_gpa);
	if (fd >= 0)
		close(fd);
	cellsock_send_bytes(sock, &reply, sizeof(reply), NULL, 0);
}

/* One message on a shadow's socket (np: a forked process's, NULL: the program's). */
static bool run_proc_serve_one(struct run_procs *rp, int sock, struct run_proc *np)
{
	struct sup_msg msg;
	int fd = -1;
	ssize_t n = run_proc_recv(sock, &msg, &fd);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n != sizeof(msg)) {
		if (fd >= 0)
			close(fd);
		return false;	/* the shadow is gone */
	}
	if (msg.op == SUP_SHM) {
		run_proc_shm(rp, sock, np, &msg, fd);
		return true;
	}
	if (fd >= 0)
		close(fd);
	if (msg.op == SUP_FORK)
		run_proc_fork(rp, sock);
	else if (msg.op == SUP_HELLO && np)
		run_proc_hello(np, msg.pid);
	return true;
}

int run_procs_channel(const struct run_procs *rp, pid_t pid, uint64_t *gpa)
{
	for (int i = 0; i < RUN_MAX_PROCS; i++) {
		if (rp->procs[i].sock >= 0 && rp->procs[i].pid == pid) {
			*gpa = rp->procs[i].channel_gpa;
			return 0;
		}
	}
	return -ESRCH;
}

int run_procs_pollfds(struct run_procs *rp, struct pollfd *pfd)
{
	int n = 0;

	pfd[n++] = (struct pollfd){ .fd = rp->main_sock, .events = POLLIN };
	for (int i = 0; i < RUN_MAX_PROCS; i++)
		if (rp->procs[i].sock >= 0)
			pfd[n++] = (struct pollfd){ .fd = rp->procs[i].sock, .events = POLLIN };
	return n;
}

void run_procs_serve(struct run_procs *rp, const struct pollfd *pfd, int n)
{
	if (n > 0 && pfd[0].fd >= 0 && pfd[0].revents && !run_proc_serve_one(rp, pfd[0].fd, NULL)) {
		close(rp->main_sock);
		rp->main_sock = -1;
	}
	for (int k = 1; k < n; k++) {
		struct run_proc *np = NULL;

		if (!pfd[k].revents)
			continue;
		for (int i = 0; i < RUN_MAX_PROCS && !np; i++)
			if (rp->procs[i].sock == pfd[k].fd)
				np = &rp->procs[i];
		if (np && !run_proc_serve_one(rp, np->sock, np))
			run_proc_reap(rp, np);
	}
}

void run_procs_end(struct run_procs *rp)
{
	struct pollfd pfd[1 + RUN_MAX_PROCS];
	int n, waited = 0;

	for (int i = 0; i < RUN_MAX_PROCS; i++)
		if (rp->procs[i].sock >= 0 && rp->procs[i].pid > 0)
			kill(rp->procs[i].pid, SIGKILL);
	if (rp->main_sock >= 0)
		close(rp->main_sock);
	rp->main_sock = -1;
	/* Their sockets end as they die; a shadow that never said hello ends without us. */
	while ((n = run_procs_pollfds(rp, pfd)) > 1 && waited < RUN_END_WAIT_MS) {
		poll(pfd, (nfds_t)n, 50);
		waited += 50;
		run_procs_serve(rp, pfd, n);
	}
	for (int i = 0; i < RUN_MAX_PROCS; i++)
		if (rp->procs[i].sock >= 0)
			run_proc_reap(rp, &rp->procs[i]);
}
