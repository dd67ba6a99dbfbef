// SPDX-License-Identifier: MIT
/*
 * fork, from the shadow's side. The kernel asks for a new process
 * (CRTOS_SHADOW_FORK_PREPARE): crtos run makes it in the cell and sends its
 * doorbell and a socket of its own for the child's shadow. Then the kernel
 * asks us to fork (CRTOS_SHADOW_FORK): the child, one thread (the twin
 * that forked), puts the new fds where ours were, drops the parent's
 * mirror of program memory (the kernel mirrors the child's copy next, in
 * its first calls), maps the new channel and serves it as the child's
 * main twin. Linux does the rest: the child shadow inherits fds, cwd,
 * credentials and process group, is the parent shadow's child, and exits
 * as the RT child ends, so the parent's wait4 reports it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include "shadow.h"
#include "shadow/supervise.h"

/* Processes crtos run made for us, not forked yet (several threads may fork at once). */
#define FORK_PENDING	8

static struct {
	unsigned int index;
	int doorbell, sup;		/* -1: free entry */
	uint64_t channel_gpa;
} pending[FORK_PENDING] = { [0 ... FORK_PENDING - 1] = { 0, -1, -1, 0 } };

static pthread_mutex_t sup_lock = PTHREAD_MUTEX_INITIALIZER;

/* Send msg with fd (or none: -1). The byte count sent, or -1. */
static ssize_t sup_send(const struct sup_msg *msg, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (fd >= 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sh.sup, &mh, MSG_NOSIGNAL);
}

/*
 * One request to crtos run (with send_fd, or -1) and its answer with up to
 * SUP_FDS fds. Under sup_lock. 0 or -errno.
 */
static int sup_call_locked(struct sup_msg *msg, int send_fd, int *fds, int *nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * SUP_FDS)];
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t n;

	/* Not cut short: the kernel may ask for EINTR (a signal came), but a fork restarts anyway. */
	do
		n = sup_send(msg, send_fd);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(*msg))
		return -EAGAIN;
	do
		n = recvmsg(sh.sup, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(*msg))
		return -EAGAIN;
	*nfds = 0;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			*nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds, CMSG_DATA(cm), sizeof(int) * (size_t)*nfds);
		}
	return 0;
}

int sup_call(struct sup_msg *msg, int send_fd)
{
	int fds[SUP_FDS], nfds = 0, err;

	if (sh.sup < 0)
		return -ENOSYS;
	pthread_mutex_lock(&sup_lock);
	err = sup_call_locked(msg, send_fd, fds, &nfds);
	pthread_mutex_unlock(&sup_lock);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return err;
}

long fork_prepare(void)
{
	struct sup_msg msg = { .op = SUP_FORK };
	int fds[SUP_FDS], nfds = 0, slot = -1, err;

	if (sh.sup < 0)
		return -ENOSYS;
	pthread_mutex_lock(&sup_lock);
	for (int i = 0; i < FORK_PENDING && slot < 0; i++)
		if (pending[i].doorbell < 0)
			slot = i;
	err = slot < 0 ? -EAGAIN : sup_call_locked(&msg, -1, fds, &nfds);
	if (!err && (msg.op != SUP_FORKED || msg.status || nfds != SUP_FDS)) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		err = msg.status ? msg.status : -EAGAIN;
	}
	if (!err) {
		pending[slot].index = msg.index;
		pending[slot].channel_gpa = msg.channel_gpa;
		pending[slot].doorbell = fds[0];
		pending[slot].sup = fds[1];
	}
	pthread_mutex_unlock(&sup_lock);
	return err ? err : (long)msg.index;
}

/* The child: take the new process's fds, channel and memory; serve it. Never returns. */
static _Noreturn void fork_child(int doorbell, int sup, uint64_t gpa)
{
	struct crtos_channel *old = sh.chan;
	struct sup_msg hello = { .op = SUP_HELLO };
	void *chan;

	/* Same fd numbers as the parent's: the kernel copied its list of our private fds. */
	if (dup3(doorbell, sh.doorbell, O_CLOEXEC) < 0 || dup3(sup, sh.sup, O_CLOEXEC) < 0)
		die(125, "a forked shadow cannot take its fds: %s", strerror(errno));
	close(doorbell);
	close(sup);
	for (int i = 0; i < FORK_PENDING; i++) {
		if (pending[i].doorbell >= 0) {
			close(pending[i].doorbell);
			close(pending[i].sup);
		}
		pending[i].doorbell = pending[i].sup = -1;
	}
	/* The parent's mirror of guest RAM: the kernel maps the child's copy next. */
	shm_drop_ram_mirror();
	chan = mmap(NULL, CRTOS_CHANNEL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, sh.memfd,
		    (off_t)gpa);
	if (chan == MAP_FAILED)
		die(125, "a forked shadow cannot map its channel: %s", strerror(errno));
	sh.chan = chan;
	munmap(old, CRTOS_CHANNEL_SIZE);
	slot_pages_drop();
	memset(sh.twin_tid, 0, sizeof(sh.twin_tid));
	memset(sh.calls, 0, sizeof(sh.calls));	/* as a new shadow's, for its new dispatcher */
	sh.twin_tid[0] = getpid();
	sh.prog_fd = -1;
	sh.main = false;
	sh.flags &= ~CRTOS_EXEC_STATS;	/* crtos run --stats is about the program it started */
	sh.chan->pid = getpid();
	sh.chan->shadow_va = (uint64_t)(uintptr_t)chan;
	hello.pid = getpid();
	send(sh.sup, &hello, sizeof(hello), MSG_NOSIGNAL);
	dispatcher_start(0);
	twin_loop(0);
}

long fork_shadow(unsigned int index, int abandon)
{
	int slot = -1, doorbell, sup;
	uint64_t gpa;
	pid_t pid;

	pthread_mutex_lock(&sup_lock);
	for (int i = 0; i < FORK_PENDING && slot < 0; i++)
		if (pending[i].doorbell >= 0 && pending[i].index == index)
			slot = i;
	if (slot < 0) {
		pthread_mutex_unlock(&sup_lock);
		return -EINVAL;
	}
	doorbell = pending[slot].doorbell;
	sup = pending[slot].sup;
	gpa = pending[slot].channel_gpa;
	pending[slot].doorbell = pending[slot].sup = -1;
	pthread_mutex_unlock(&sup_lock);
	pid = abandon ? 0 : fork();
	if (pid == 0 && !abandon)
		fork_child(doorbell, sup, gpa);
	/* Closing the child's socket in every process but the child tells crtos run if it failed. */
	close(doorbell);
	close(sup);
	if (abandon)
		return -EAGAIN;
	return pid < 0 ? -errno : pid;
}
