// SPDX-License-Identifier: MIT
/* The cell socket (cellsock.h): messages with fds, the client's connect, the server loop. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <crtos/rtfifo.h>
#include <crtos/shm.h>
#include "cellsock.h"
#include "cli.h"

#define CELLSOCK_MAX_CLIENTS	64
#define CELLSOCK_MAX_FDS	3

void cellsock_path(int cpu, char *buf, size_t len)
{
	snprintf(buf, len, "%s/cell%d.sock", vmm_runtime_dir(), cpu);
}

int cellsock_send(int sock, const struct cellsock_msg *msg, const int *fds, int nfds)
{
	return cellsock_send_bytes(sock, msg, sizeof(*msg), fds, nfds);
}

int cellsock_send_bytes(int sock, const void *msg, size_t len, const int *fds, int nfds)
{
	char control[CMSG_SPACE(sizeof(int) * CELLSOCK_MAX_FDS)] = { 0 };
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nfds > CELLSOCK_MAX_FDS)
		return -EINVAL;
	if (nfds > 0) {
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

int cellsock_recv(int sock, struct cellsock_msg *msg, int *fds, int *nfds)
{
	char control[CMSG_SPACE(sizeof(int) * CELLSOCK_MAX_FDS)];
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			     .msg_controllen = sizeof(control) };
	struct cmsghdr *cm;
	int room = nfds ? *nfds : 0;
	ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

	if (nfds)
		*nfds = 0;
	if (n == 0)
		return -EPIPE;
	if (n < 0)
		return -errno;
	if (n != sizeof(*msg))
		return -EPROTO;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int got = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (int i = 0; i < got; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (nfds && *nfds < room)
				fds[(*nfds)++] = fd;
			else
				close(fd);
		}
	}
	msg->error[sizeof(msg->error) - 1] = '\0';
	return 0;
}

int cellsock_connect(int cpu)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (sock < 0)
		return -errno;
	cellsock_path(cpu, addr.sun_path, sizeof(addr.sun_path));
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr))) {
		int err = -errno;

		close(sock);
		return err;
	}
	return sock;
}

struct client {
	int sock;
	int pidfd;			/* the shadow's, once known */
	struct cell_proc proc;
	bool spawned;
};

static struct client clients[CELLSOCK_MAX_CLIENTS];
static int nr_clients;

static void client_drop(struct cell *c, int i)
{
	struct client *cl = &clients[i];

	/*
	 * If crtos run died, its shadow ends too: it sees its socket to crtos run
	 * hang up (and prints --stats first). Give it a second, then kill it.
	 */
	if (cl->pidfd >= 0) {
		struct pollfd pfd = { .fd = cl->pidfd, .events = POLLIN };

		if (poll(&pfd, 1, 1000) == 0) {
			syscall(SYS_pidfd_send_signal, cl->pidfd, SIGKILL, NULL, 0);
			poll(&pfd, 1, 2000);
		}
		close(cl->pidfd);
	}
	if (cl->spawned)
		cell_reap(c, &cl->proc);
	close(cl->sock);
	clients[i] = clients[--nr_clients];
}

static bool client_allowed(int sock)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return !getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) &&
	       (cred.uid == 0 || cred.uid == getuid());
}

static void client_accept(int lsock)
{
	int sock = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);

	if (sock < 0)
		return;
	if (nr_clients == CELLSOCK_MAX_CLIENTS || !client_allowed(sock)) {
		close(sock);
		return;
	}
	clients[nr_clients++] = (struct client){ .sock = sock, .pidfd = -1 };
}

/* crtos fifo's requests: the answer (FIFO_INFO messages, then FIFO_DONE). */
static void client_fifo(struct cell *c, struct client *cl, const struct cellsock_msg *msg)
{
	struct cellsock_msg reply = { .op = CELLSOCK_FIFO_DONE };
	struct vmm_err err = { .msg = "" };
	char name[sizeof(msg->name)];

	snprintf(name, sizeof(name), "%.*s", (int)sizeof(name) - 1, msg->name);
	if (msg->op == CELLSOCK_FIFO_CREATE)
		reply.status = cell_fifo_create(c, name, msg->size, &err);
	else if (msg->op == CELLSOCK_FIFO_REMOVE)
		reply.status = cell_fifo_remove(c, name, &err);
	for (unsigned int i = 0; msg->op == CELLSOCK_FIFO_LIST && i < CRTOS_FIFO_MAX; i++) {
		struct cellsock_msg info = { .op = CELLSOCK_FIFO_INFO };

		if (cell_fifo_info(c, i, &info.fifo) == 0 && cellsock_send(cl->sock, &info, NULL, 0))
			return;
	}
	snprintf(reply.error, sizeof(reply.error), "%s", err.msg);
	cellsock_send(cl->sock, &reply, NULL, 0);
}

/* A shared slot for the client's process; fd: the object, or -1 (SysV). */
static bool client_shm(struct cell *c, struct client *cl, struct cellsock_msg *msg, int fd)
{
	struct cellsock_msg reply = { .op = CELLSOCK_SHM_DONE };

	msg->shm.owner = cl->proc.index;
	reply.status = !cl->spawned ? -EPROTO :
		       fd < 0 && msg->shm.kind != CRTOS_SHM_SYSV && !msg->shm.from_slot ? -EBADF :
		       cell_shm_attach(c, &msg->shm, fd, &reply.shm_gpa);
	if (fd >= 0)
		close(fd);
	return !cellsock_send(cl->sock, &reply, NULL, 0);
}

static int client_region_info(const struct cell_shm_region_info *r, void *ctx)
{
	struct cellsock_msg info = { .op = CELLSOCK_REGION_INFO, .region = *r };

	return cellsock_send(*(int *)ctx, &info, NULL, 0);
}

/* crtos shm's requests: the answer (REGION_INFO messages, then REGION_DONE). */
static void client_region(struct cell *c, struct client *cl, const struct cellsock_msg *msg)
{
	struct cellsock_msg reply = { .op = CELLSOCK_REGION_DONE };
	struct vmm_err err = { .msg = "" };
	char name[sizeof(msg->name)];

	snprintf(name, sizeof(name), "%.*s", (int)sizeof(name) - 1, msg->name);
	if (msg->op == CELLSOCK_REGION_CREATE)
		reply.status = cell_shm_region_create(c, name, msg->size, &err);
	else if (msg->op == CELLSOCK_REGION_REMOVE)
		reply.status = cell_shm_region_remove(c, name, &err);
	else if (cell_shm_region_list(c, client_region_info, &cl->sock))
		return;
	snprintf(reply.error, sizeof(reply.error), "%s", err.msg);
	cellsock_send(cl->sock, &reply, NULL, 0);
}

/* One request of client i. Returns false when the client is done. */
static bool client_serve(struct cell *c, int i)
{
	struct client *cl = &clients[i];
	struct cellsock_msg msg, reply = { 0 };
	struct vmm_err err;
	int fds[CELLSOCK_MAX_FDS], nfds = CELLSOCK_MAX_FDS;

	if (cellsock_recv(cl->sock, &msg, fds, &nfds))
		return false;
	if (msg.op == CELLSOCK_SHM)
		return client_shm(c, cl, &msg, nfds ? fds[0] : -1);
	for (int k = 0; k < nfds; k++)
		close(fds[k]);	/* no other request brings fds */
	switch (msg.op) {
	case CELLSOCK_SPAWN:
		if (cl->spawned || cell_spawn(c, &cl->proc, &err)) {
			reply.op = CELLSOCK_ERROR;
			snprintf(reply.error, sizeof(reply.error), "%.*s", (int)sizeof(reply.error) - 1,
				 cl->spawned ? "one program per connection" : err.msg);
			cellsock_send(cl->sock, &reply, NULL, 0);
			return false;
		}
		cl->spawned = true;
		reply.op = CELLSOCK_SPAWNED;
		reply.index = cl->proc.index;
		reply.channel_gpa = cl->proc.channel_gpa;
		fds[0] = cell_memfd(c);
		fds[1] = cl->proc.doorbell_fd;
		fds[2] = cell_kick_fd(c);
		return !cellsock_send(cl->sock, &reply, fds, 3);
	case CELLSOCK_SHADOW:
		if (cl->pidfd < 0)
			cl->pidfd = (int)syscall(SYS_pidfd_open, msg.pid, 0);
		return true;
	case CELLSOCK_FIFO_CREATE:
	case CELLSOCK_FIFO_REMOVE:
	case CELLSOCK_FIFO_LIST:
		client_fifo(c, cl, &msg);
		return false;
	case CELLSOCK_REGION_CREATE:
	case CELLSOCK_REGION_REMOVE:
	case CELLSOCK_REGION_LIST:
		client_region(c, cl, &msg);
		return false;
	case CELLSOCK_REAP:
		reply.op = CELLSOCK_REAPED;
		reply.status = cl->spawned ? cell_reap(c, &cl->proc) : 0;
		cl->spawned = false;
		cellsock_send(cl->sock, &reply, NULL, 0);
		return false;
	default:
		return false;
	}
}

static int serve_listen(struct cell *c)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (sock < 0)
		return -errno;
	cellsock_path(cell_cpu(c), addr.sun_path, sizeof(addr.sun_path));
	unlink(addr.sun_path);	/* stale: we hold the CPU's lock */
	if (bind(sock, (struct sockaddr *)&addr, sizeof(addr)) || listen(sock, 16)) {
		int err = -errno;

		close(sock);
		return err;
	}
	chmod(addr.sun_path, 0600);
	return sock;
}

int cellsock_serve(struct cell *c, const sigset_t *set, int *signo, long timeout_ms)
{
	uint64_t deadline = vmm_now_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000;
	struct pollfd pfds[2 + CELLSOCK_MAX_CLIENTS];
	char path[108];
	int lsock = serve_listen(c), sfd = signalfd(-1, set, SFD_CLOEXEC);
	struct signalfd_siginfo si;

	*signo = 0;
	if (lsock < 0 || sfd < 0)
		return lsock < 0 ? lsock : -errno;
	while (!*signo && cell_wait(c, 0) == -ETIMEDOUT &&
	       (timeout_ms < 0 || vmm_now_ns() < deadline)) {
		pfds[0] = (struct pollfd){ .fd = lsock, .events = POLLIN };
		pfds[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		for (int i = 0; i < nr_clients; i++)
			pfds[2 + i] = (struct pollfd){ .fd = clients[i].sock, .events = POLLIN };
		if (poll(pfds, 2 + (nfds_t)nr_clients, 50) <= 0)
			continue;
		if (pfds[1].revents && read(sfd, &si, sizeof(si)) == sizeof(si))
			*signo = (int)si.ssi_signo;
		for (int i = nr_clients - 1; i >= 0; i--)
			if (pfds[2 + i].revents && !client_serve(c, i))
				client_drop(c, i);
		if (pfds[0].revents)
			client_accept(lsock);
	}
	while (nr_clients)
		client_drop(c, nr_clients - 1);
	cellsock_path(cell_cpu(c), path, sizeof(path));
	unlink(path);
	close(lsock);
	close(sfd);
	return 0;
}

int cellsock_request(const char *tool, int cpu, const struct cellsock_msg *req, uint32_t info_op,
		     uint32_t done_op, void (*each)(const struct cellsock_msg *, void *), void *ctx,
		     struct cellsock_msg *done)
{
	int sock, ret;

	if (cpu < 0)
		cpu = vmm_host_pick_cpu(-1, NULL);
	sock = cpu < 0 ? cpu : cellsock_connect(cpu);
	if (sock < 0) {
		fprintf(stderr, "crtos %s: no cell is held on CPU %d (%s): start one with "
			"'crtos cell --hold'%s\n", tool, cpu, strerror(-sock),
			cpu >= 0 ? "" : " and say --cpu");
		return EXIT_HOST;
	}
	if (cellsock_send(sock, req, NULL, 0)) {
		close(sock);
		fprintf(stderr, "crtos %s: the cell on CPU %d does not answer\n", tool, cpu);
		return EXIT_HOST;
	}
	while (!(ret = cellsock_recv(sock, done, NULL, NULL)) && done->op == info_op)
		each(done, ctx);
	close(sock);
	if (ret || done->op != done_op) {
		fprintf(stderr, "crtos %s: the cell on CPU %d broke off its answer\n", tool, cpu);
		return EXIT_HOST;
	}
	done->error[sizeof(done->error) - 1] = '\0';
	if (done->status) {
		fprintf(stderr, "crtos %s: %s\n", tool, done->error[0] ? done->error :
			strerror(-done->status));
		return 1;
	}
	return 0;
}
