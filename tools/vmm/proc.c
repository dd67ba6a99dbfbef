// SPDX-License-Identifier: MIT
/*
 * RT processes, from the VMM's side: ask the kernel for a new process and
 * its channel (CRTOS_CTL_SPAWN), give it a doorbell (an ioeventfd on its slot
 * of the hypercall window, so the kernel's store wakes the shadow without a
 * VM exit), and free it once its shadow is gone (CRTOS_CTL_REAP).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <crtos/channel.h>
#include <crtos/mmio.h>
#include "internal.h"

#define CTL_TIMEOUT_MS	5000

/* One control request (name: for the FIFO requests, or NULL), waited for. Serialised by ctl_lock. */
int ctl_request(struct cell *c, uint32_t op, uint64_t arg, const char *name, uint64_t out[4])
{
	struct crtos_ctl *ctl = &c->comm->ctl;
	struct timespec pause = { .tv_nsec = 20000 };
	uint64_t deadline = vmm_now_ns() + CTL_TIMEOUT_MS * 1000000ull;
	uint32_t seq;
	int ret;

	pthread_mutex_lock(&c->ctl_lock);
	ctl->op = op;
	ctl->args[0] = arg;
	snprintf(ctl->name, sizeof(ctl->name), "%s", name ? name : "");
	seq = ctl->req_seq + 1;
	__atomic_store_n(&ctl->req_seq, seq, __ATOMIC_RELEASE);
	eventfd_write(c->kick_efd, 1);
	while (__atomic_load_n(&ctl->ack_seq, __ATOMIC_ACQUIRE) != seq) {
		if (vmm_now_ns() > deadline || __atomic_load_n(&c->vcpu_exited, __ATOMIC_ACQUIRE)) {
			pthread_mutex_unlock(&c->ctl_lock);
			return -ETIMEDOUT;
		}
		nanosleep(&pause, NULL);
	}
	ret = ctl->result;
	if (out)
		memcpy(out, ctl->out, sizeof(ctl->out));
	pthread_mutex_unlock(&c->ctl_lock);
	return ret;
}

static int doorbell_assign(struct cell *c, struct cell_proc *p, bool assign)
{
	struct kvm_ioeventfd io = {
		.addr = c->mmio_gpa + CRTOS_MMIO_DOORBELL(p->index),
		.len = 8,
		.fd = p->doorbell_fd,
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};

	return ioctl(c->vm_fd, KVM_IOEVENTFD, &io) ? -errno : 0;
}

int cell_spawn(struct cell *c, struct cell_proc *p, struct vmm_err *err)
{
	uint64_t out[4];
	int ret;

	memset(p, 0, sizeof(*p));
	p->doorbell_fd = -1;
	ret = ctl_request(c, CRTOS_CTL_SPAWN, 0, NULL, out);
	if (ret == -ETIMEDOUT)
		return vmm_fail(err, ret, "the kernel did not answer a request to create a process");
	if (ret)
		return vmm_fail(err, ret, "the kernel cannot create a process: %s", strerror(-ret));
	p->channel_gpa = out[0];
	p->index = (unsigned int)out[1];
	if (p->channel_gpa + CRTOS_CHANNEL_SIZE > c->mem_size) {
		cell_reap(c, p);
		return vmm_fail(err, -EPROTO, "the kernel gave a channel outside guest memory");
	}
	p->doorbell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->doorbell_fd < 0 || doorbell_assign(c, p, true)) {
		ret = -errno;
		cell_reap(c, p);
		return vmm_fail(err, ret, "cannot set up the process's doorbell: %s", strerror(-ret));
	}
	p->assigned = true;
	return 0;
}

const struct crtos_channel *cell_channel(const struct cell *c, const struct cell_proc *p)
{
	return (const struct crtos_channel *)(c->mem + p->channel_gpa);
}

int cell_reap(struct cell *c, struct cell_proc *p)
{
	int ret = 0;

	if (p->assigned)
		doorbell_assign(c, p, false);
	if (p->doorbell_fd >= 0)
		close(p->doorbell_fd);
	if (p->channel_gpa)
		ret = ctl_request(c, CRTOS_CTL_REAP, p->index, NULL, NULL);
	shm_sweep(c);	/* the slots only it mapped */
	memset(p, 0, sizeof(*p));
	p->doorbell_fd = -1;
	return ret;
}

int cell_memfd(const struct cell *c)
{
	return c->mem_fd;
}

int cell_kick_fd(const struct cell *c)
{
	return c->kick_efd;
}
