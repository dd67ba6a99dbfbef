// SPDX-License-Identifier: MIT
/*
 * Shared mappings, from the shadow's side (crtos/shm.h). We map the object
 * at the program's address ourselves, so Linux checks the rights as it
 * would for the program (EACCES, ENODEV, EBADF), then send it to crtos run,
 * whose cell makes it a shared slot, and answer with the slot's GPA. Our
 * mapping is Linux's own: a fork keeps it (shm_drop_ram_mirror), so a
 * forked shadow shares exactly what the forked program shares.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <crtos/shm.h>
#include "shadow.h"
#include "shadow/supervise.h"

/* Map the object at va (how: crtos/channel.h); *fdp: what to send, -1 for SysV. 0 or -errno. */
static int shm_map_here(void *va, uint64_t len, int prot, int64_t fd, uint64_t offset, int how,
			int *fdp)
{
	int mfd = -1;

	*fdp = -1;
	if (how == CRTOS_SHM_MAP_SYSV) {
		void *p = shmat((int)fd, va, prot & PROT_WRITE ? 0 : SHM_RDONLY);

		return p == (void *)-1 ? -errno : p == va ? 0 : -EEXIST;
	}
	if (how == CRTOS_SHM_MAP_ANON) {
		mfd = memfd_create("crtos-shared-anon", MFD_CLOEXEC);
		if (mfd < 0 || ftruncate(mfd, (off_t)len)) {
			int err = -errno;

			if (mfd >= 0)
				close(mfd);
			return err;
		}
		fd = mfd;
		offset = 0;
	}
	if (mmap(va, len, prot & (PROT_READ | PROT_WRITE), MAP_SHARED | MAP_FIXED_NOREPLACE,
		 (int)fd, (off_t)offset) != va) {
		int err = errno == EEXIST ? -EEXIST : -errno;

		if (mfd >= 0)
			close(mfd);
		return err;
	}
	*fdp = mfd >= 0 ? mfd : (int)fd;
	return 0;
}

/* The next line of /proc/self/maps into line (NUL-terminated); false at the end. */
static bool maps_line(int fd, char *buf, size_t size, size_t *have, size_t *pos, char *line,
		      size_t max)
{
	size_t n = 0;

	for (;;) {
		if (*pos == *have) {
			ssize_t got = read(fd, buf, size);

			if (got <= 0)
				return n > 0 && (line[n] = 0, true);
			*have = (size_t)got;
			*pos = 0;
		}
		char ch = buf[(*pos)++];

		if (ch == '\n') {
			line[n] = 0;
			return true;
		}
		if (n + 1 < max)
			line[n++] = ch;
	}
}

/* The file offset our shared mapping has at va (from /proc/self/maps). 0 or -EFAULT. */
static int shm_offset_at(uint64_t va, uint64_t *offset)
{
	static char buf[16384];
	char line[512];
	size_t have = 0, pos = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), err = -EFAULT;

	if (fd < 0)
		return -EFAULT;
	while (err && maps_line(fd, buf, sizeof(buf), &have, &pos, line, sizeof(line))) {
		unsigned long start, end;
		unsigned long long off;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s %llx", &start, &end, perms, &off) == 4 &&
		    va >= start && va < end && perms[3] == 's') {
			*offset = off + (va - start);
			err = 0;
		}
	}
	close(fd);
	return err;
}

/*
 * CRTOS_SHADOW_SHM_GROW: Linux grows our mapping (more of the object, at
 * the offsets that follow), then the VMM maps the object again, that much
 * of it, from the old slot's own fd (the program may have closed its own).
 * Serialized with the rest of the program's memory changes by the kernel.
 */
long shm_grow(uint64_t old, uint64_t old_len, uint64_t new_len, uint64_t target, uint32_t slot)
{
	int flags = target == old ? 0 : MREMAP_MAYMOVE | MREMAP_FIXED;
	struct sup_msg msg = { .op = SUP_SHM, .shm_kind = CRTOS_SHM_FILE, .shm_len = new_len,
			       .shm_from_slot = slot + 1 };
	void *p;
	int err;

	if (target + new_len > CRTOS_USER_TOP || target + new_len < target || new_len <= old_len)
		return -EINVAL;
	err = shm_offset_at(old, &msg.shm_offset);
	if (err)
		return err;
	p = mremap((void *)(uintptr_t)old, old_len, new_len, flags, (void *)(uintptr_t)target);
	if (p == MAP_FAILED)
		return -errno;
	err = sup_call(&msg, -1);
	if (!err && (msg.op != SUP_SHM_DONE || msg.status))
		err = msg.op == SUP_SHM_DONE ? msg.status : -EAGAIN;
	if (err) {
		if (mremap(p, new_len, old_len, flags, (void *)(uintptr_t)old) == MAP_FAILED)
			fprintf(stderr, "crtos: the shadow cannot undo a grown mapping at %p: %s\n", p,
				strerror(errno));
		return err;
	}
	return (long)msg.shm_gpa;
}

long shm_map(uint64_t va, uint64_t len, int prot, int64_t fd, uint64_t offset, int how)
{
	void *p = (void *)(uintptr_t)va;
	struct sup_msg msg = {
		.op = SUP_SHM,
		.shm_kind = how == CRTOS_SHM_MAP_SYSV ? CRTOS_SHM_SYSV : CRTOS_SHM_FILE,
		.shm_readonly = !(prot & PROT_WRITE),
		.shm_offset = how == CRTOS_SHM_MAP_ANON ? 0 : offset,
		.shm_len = len,
		.shm_sysv_id = how == CRTOS_SHM_MAP_SYSV ? fd : -1,
	};
	int send_fd, err;

	if (va + len > CRTOS_USER_TOP || va + len < va)
		return -EINVAL;
	err = shm_map_here(p, len, prot, fd, offset, how, &send_fd);
	if (err == -EEXIST)
		fprintf(stderr, "crtos: the shadow cannot map %p-%p: it is in use\n", p,
			(char *)p + len);
	if (err)
		return err;
	err = sup_call(&msg, send_fd);
	if (how == CRTOS_SHM_MAP_ANON)
		close(send_fd);
	if (!err && (msg.op != SUP_SHM_DONE || msg.status))
		err = msg.op == SUP_SHM_DONE ? msg.status : -EAGAIN;
	if (err) {
		if (how == CRTOS_SHM_MAP_SYSV)
			shmdt(p);
		else
			munmap(p, len);
		return err;
	}
	return (long)msg.shm_gpa;
}


/*
 * Collect the ranges below CRTOS_USER_TOP mapped from the RAM memfd, then
 * unmap them (not while reading: the file would shift under us). Only
 * plain system calls: we may be a child just forked from many threads.
 */
void shm_drop_ram_mirror(void)
{
	static struct { unsigned long start, end; } ranges[4096];
	static char buf[16384];
	char line[512];
	size_t have = 0, pos = 0, n = 0;
	struct stat st;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(sh.memfd, &st)) {
		if (fd >= 0)
			close(fd);
		munmap(NULL, CRTOS_USER_TOP);	/* the old way: shared mappings are lost */
		return;
	}
	while (n < sizeof(ranges) / sizeof(ranges[0]) &&
	       maps_line(fd, buf, sizeof(buf), &have, &pos, line, sizeof(line))) {
		unsigned long start, end, ino;
		unsigned int maj, min;

		if (sscanf(line, "%lx-%lx %*s %*s %x:%x %lu", &start, &end, &maj, &min, &ino) == 5 &&
		    start < CRTOS_USER_TOP && ino == (unsigned long)st.st_ino &&
		    maj == major(st.st_dev) && min == minor(st.st_dev)) {
			ranges[n].start = start;
			ranges[n++].end = end < CRTOS_USER_TOP ? end : CRTOS_USER_TOP;
		}
	}
	close(fd);
	for (size_t i = 0; i < n; i++)
		munmap((void *)ranges[i].start, ranges[i].end - ranges[i].start);
}
