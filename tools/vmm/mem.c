// SPDX-License-Identifier: MIT
/*
 * Guest RAM: one memfd, so that later a shadow process can map any part of
 * it at the address the RT process sees (a guest-physical address is a
 * memfd offset). Every page the kernel may use is populated and locked
 * before the kernel sees it: the boot region before the vCPU starts, the
 * rest by a helper thread on a Linux CPU, 2 MiB at a time, each chunk
 * announced in comm.ram_ready only once it is resident. Populating 4 KiB
 * shmem pages costs ~1.2 us each here (about 80 ms for 256 MiB), with
 * transparent huge pages for shmem (crtos doctor) ~20 ms.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include "internal.h"


#define POPULATE_CHUNK	(2 * MiB)

/* Make [off, off + len) resident (zero-filled) and, with the ONFAULT lock, locked. */
static int mem_populate(struct cell *c, uint64_t off, uint64_t len)
{
	if (!madvise(c->mem + off, len, MADV_POPULATE_WRITE))
		return 0;
	if (errno != EINVAL)
		return -errno;
	/* Kernels before 5.14: touch each page. */
	for (uint64_t p = off; p < off + len; p += 4096)
		((volatile uint8_t *)c->mem)[p] = 0;
	return 0;
}

int mem_create(struct cell *c, struct vmm_err *err)
{
	int ret;

	c->mem_fd = memfd_create("crtos-cell-ram", MFD_CLOEXEC);
	if (c->mem_fd < 0)
		return vmm_fail(err, -errno, "memfd_create failed: %s", strerror(errno));
	if (ftruncate(c->mem_fd, (off_t)c->mem_size))
		return vmm_fail(err, -errno, "cannot size guest memory to %llu MiB: %s",
				(unsigned long long)(c->mem_size / MiB), strerror(errno));
	c->mem = mmap(NULL, c->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->mem_fd, 0);
	if (c->mem == MAP_FAILED) {
		c->mem = NULL;
		return vmm_fail(err, -errno, "cannot map %llu MiB of guest memory: %s",
				(unsigned long long)(c->mem_size / MiB), strerror(errno));
	}
	/* Huge pages when the host allows them for shmem; harmless otherwise. */
	madvise(c->mem, c->mem_size, MADV_HUGEPAGE);
	if (!c->cfg.no_rt && mlock2(c->mem, c->mem_size, MLOCK_ONFAULT))
		return vmm_fail(err, -errno,
				"cannot lock %llu MiB of guest memory (%s): run as root or raise "
				"the locked-memory limit (ulimit -l)",
				(unsigned long long)(c->mem_size / MiB), strerror(errno));
	ret = mem_populate(c, 0, c->boot_mem);
	if (ret)
		return vmm_fail(err, ret, "cannot populate guest memory: %s (is the host out of memory?)",
				strerror(-ret));
	c->times.boot_mem = c->boot_mem;
	return 0;
}

static void *mem_population_thread(void *arg)
{
	struct cell *c = arg;
	uint64_t off;

	for (off = c->boot_mem; off < c->mem_size && !c->stopping; off += POPULATE_CHUNK) {
		uint64_t len = c->mem_size - off < POPULATE_CHUNK ? c->mem_size - off : POPULATE_CHUNK;

		if (mem_populate(c, off, len)) {
			fprintf(c->msg, "crtos: cannot populate guest memory at %llu MiB: %s; "
				"the kernel keeps %llu MiB\n", (unsigned long long)(off / MiB),
				strerror(errno), (unsigned long long)(off / MiB));
			break;
		}
		__atomic_store_n(&c->comm->ram_ready, off + len, __ATOMIC_RELEASE);
	}
	pthread_mutex_lock(&c->lock);
	c->ram_done_ns = vmm_now_ns();
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	/* A halted kernel would only notice at its next heartbeat. */
	eventfd_write(c->kick_efd, 1);
	return NULL;
}

int mem_start_population(struct cell *c, struct vmm_err *err)
{
	int ret;

	if (c->boot_mem >= c->mem_size) {
		c->ram_done_ns = vmm_now_ns();
		return 0;
	}
	ret = host_start_helper(&c->pop_thread, c->cpu, mem_population_thread, c);
	if (ret)
		return vmm_fail(err, ret, "cannot start the memory thread: %s", strerror(-ret));
	c->pop_started = true;
	return 0;
}

void mem_destroy(struct cell *c)
{
	if (c->mem)
		munmap(c->mem, c->mem_size);
	if (c->mem_fd >= 0)
		close(c->mem_fd);
	c->mem = NULL;
	c->mem_fd = -1;
}
