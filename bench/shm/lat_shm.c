// SPDX-License-Identifier: MIT
/*
 * lat_shm: what a shared mapping costs to set up and tear down, each cycle
 * timed on its own with CLOCK_MONOTONIC: mmap(MAP_SHARED) of a file in
 * /dev/shm, a store to every page, munmap (4 KiB and 1 MiB); the same for
 * shared anonymous memory; shmat + a store to every page + shmdt of a SysV
 * segment. An ordinary Linux program: the same binary runs natively and in
 * the crtos RT realm (where every mapping is a shared slot the VMM makes).
 *
 *   lat_shm [ITERATIONS]
 *
 * Prints one line per case: name, samples, and min/median/p90/p99/max in
 * nanoseconds.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include "../lib/timing.h"

#define PAGE	4096

static void report(const char *name, long long *t, int n)
{
	sort_ns(t, n);
	printf("%-26s n=%d min=%lld median=%lld p90=%lld p99=%lld max=%lld\n", name, n, t[0],
	       t[n / 2], t[n * 90 / 100], t[n * 99 / 100], t[n - 1]);
	fflush(stdout);
}

static void touch(volatile char *p, size_t len)
{
	for (size_t off = 0; off < len; off += PAGE)
		p[off] = 1;
}

/* mmap(MAP_SHARED) of fd (-1: anonymous) + a store per page + munmap, n times. */
static void bench_mmap(const char *name, int fd, size_t len, int n, long long *t)
{
	int flags = MAP_SHARED | (fd < 0 ? MAP_ANONYMOUS : 0);

	for (int i = 0; i < n; i++) {
		long long t0 = now_ns();
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);

		if (p == MAP_FAILED) {
			perror("mmap");
			exit(1);
		}
		touch(p, len);
		munmap(p, len);
		t[i] = now_ns() - t0;
	}
	report(name, t, n);
}

static void bench_sysv(size_t len, int n, long long *t)
{
	int id = shmget(IPC_PRIVATE, len, IPC_CREAT | 0600);

	for (int i = 0; i < n && id >= 0; i++) {
		long long t0 = now_ns();
		char *p = shmat(id, NULL, 0);

		if (p == (void *)-1) {
			perror("shmat");
			exit(1);
		}
		touch(p, len);
		shmdt(p);
		t[i] = now_ns() - t0;
	}
	shmctl(id, IPC_RMID, NULL);
	report("shmat+touch+shmdt 4K", t, n);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200;
	long long *t = calloc((size_t)n, sizeof(*t));
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/lat_shm-%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (n <= 0 || !t || fd < 0 || ftruncate(fd, 1 << 20)) {
		perror("lat_shm setup");
		return 1;
	}
	unlink(path);
	bench_mmap("file mmap+touch+munmap 4K", fd, PAGE, n, t);
	bench_mmap("file mmap+touch+munmap 1M", fd, 1 << 20, n, t);
	bench_mmap("anon mmap+touch+munmap 4K", -1, PAGE, n, t);
	bench_sysv(PAGE, n, t);
	close(fd);
	return 0;
}
