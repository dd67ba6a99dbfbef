// SPDX-License-Identifier: MIT
/*
 * Memory management: anonymous mmap of several sizes, a hint address,
 * MAP_FIXED over part of a mapping, munmap of a middle part, mprotect,
 * madvise(MADV_DONTNEED), mincore, brk and mremap (shrink, grow in place, move,
 * MREMAP_FIXED, MREMAP_DONTUNMAP, realloc of large blocks, a private file
 * mapping moved; argv[1] names a file it may create), a 16 GiB PROT_NONE
 * reservation used piece by piece. Protected or unmapped memory is only ever
 * touched by the kernel (read/write on a pipe, expecting EFAULT), so the
 * program never faults itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

#define PAGE 4096UL
#define HINT ((void *)0x200000000UL)	/* 8 GiB: free in a static binary */

static int pfd[2];	/* non-blocking pipe the probes go through */
static char junk[PAGE];

/* Empty the pipe, keeping errno for the caller's check. */
static void drain(void)
{
	int err = errno;

	while (read(pfd[0], junk, sizeof(junk)) > 0)
		;
	errno = err;
}

/* Let the kernel read len bytes at p: write() them into the pipe. */
static long probe_read(const void *p, size_t len)
{
	long ret = write(pfd[1], p, len);

	drain();
	return ret;
}

/* Let the kernel write len bytes at p: read() them from the pipe. */
static long probe_write(void *p, size_t len)
{
	long ret;

	check_quiet("probe write", write(pfd[1], junk, len));
	ret = read(pfd[0], p, len);
	drain();
	return ret;
}

/* A fresh read-write mapping; the test cannot go on without it. */
static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		check_ok("mmap", -1);
		exit(1);
	}
	return p;
}

/* Is every byte of [p, p + len) equal to c? */
static int all(const void *p, size_t len, int c)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != c)
			return 0;
	return 1;
}

static void test_sizes(void)
{
	static const size_t sizes[] = { PAGE, 1 << 20, 8 << 20 };
	unsigned char *p;
	char what[64];
	size_t i, j;
	int ok;

	for (i = 0; i < 3; i++) {
		snprintf(what, sizeof(what), "mmap %zu KiB", sizes[i] >> 10);
		p = map(sizes[i]);
		check_ok(what, 0);
		check_true("  zero-filled", all(p, sizes[i], 0));
		for (j = 0; j < sizes[i]; j++)
			p[j] = j * 7 + (j >> 12);
		for (ok = 1, j = 0; j < sizes[i]; j++)
			ok &= p[j] == (unsigned char)(j * 7 + (j >> 12));
		check_true("  pattern reads back", ok);
		check_ok("  munmap", munmap(p, sizes[i]));
	}
}

static void test_hint_and_fixed(void)
{
	char *p = mmap(HINT, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *q;

	check_true("mmap at a free hint address", p == HINT);
	if (p != MAP_FAILED) {
		memset(p, 'H', PAGE);
		check_true("  reads back", all(p, PAGE, 'H'));
		munmap(p, PAGE);
	}

	p = map(4 * PAGE);
	memset(p, 'A', 4 * PAGE);
	q = mmap(p + PAGE, PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	check_true("MAP_FIXED over page 1 of 4", q == p + PAGE);
	check_true("  page 1 is new (zeros)", all(p + PAGE, PAGE, 0));
	check_true("  pages 0, 2, 3 kept", all(p, PAGE, 'A') && all(p + 2 * PAGE, 2 * PAGE, 'A'));
	munmap(p, 4 * PAGE);
}

static void test_munmap(void)
{
	char *p = map(3 * PAGE);

	memset(p, 'B', 3 * PAGE);
	check_ok("munmap middle page", munmap(p + PAGE, PAGE));
	check_true("  first page still readable", all(p, PAGE, 'B'));
	check_true("  last page still readable", all(p + 2 * PAGE, PAGE, 'B'));
	check_err("  read() into the hole", probe_write(p + PAGE, 16), EFAULT);
	check_err("  write() from the hole", probe_read(p + PAGE, 16), EFAULT);
	check_ok("munmap all of it", munmap(p, 3 * PAGE));
	check_err("read() into unmapped memory", probe_write(p, 16), EFAULT);
}

static void test_mprotect(void)
{
	char *p = map(2 * PAGE), buf[16];

	memset(p, 'C', 2 * PAGE);
	check_ok("mprotect PROT_READ", mprotect(p, PAGE, PROT_READ));
	check_long("  write() from it", write(pfd[1], p, sizeof(buf)), sizeof(buf));
	check_long("  read back", read(pfd[0], buf, sizeof(buf)), sizeof(buf));
	check_true("  data", all(buf, sizeof(buf), 'C'));
	check_err("  read() into it", probe_write(p, 16), EFAULT);
	check_long("  read() into the next page", probe_write(p + PAGE, 16), 16);
	check_ok("mprotect PROT_NONE", mprotect(p, PAGE, PROT_NONE));
	check_err("  write() from it", probe_read(p, 16), EFAULT);
	check_ok("mprotect PROT_READ|PROT_WRITE", mprotect(p, PAGE, PROT_READ | PROT_WRITE));
	check_true("  contents kept", all(p, PAGE, 'C'));
	munmap(p, 2 * PAGE);
}

/*
 * Address space reserved PROT_NONE (as allocators and JITs reserve
 * gigabytes) and made usable piece by piece with mprotect: 16 GiB, more
 * than the memory a cell has, a piece in its middle used, a piece
 * protected back to PROT_NONE, a MAP_FIXED piece, then all unmapped.
 */
static void test_reservation(void)
{
	size_t len = 16UL << 30;
	char *r = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *mid = r + (len / 2), *fixed;

	check_true("mmap 16 GiB PROT_NONE", r != MAP_FAILED);
	if (r == MAP_FAILED)
		return;
	check_err("  write() from it", probe_read(mid, 16), EFAULT);
	check_ok("  mprotect 64 KiB of it PROT_READ|PROT_WRITE",
		 mprotect(mid, 16 * PAGE, PROT_READ | PROT_WRITE));
	check_true("  the piece reads as zeros", all(mid, 16 * PAGE, 0));
	memset(mid, 'R', 16 * PAGE);
	check_long("  read() into the piece", probe_write(mid + PAGE, 16), 16);
	check_err("  write() from the page after it", probe_read(mid + 16 * PAGE, 16), EFAULT);
	check_ok("  mprotect its first page PROT_NONE", mprotect(mid, PAGE, PROT_NONE));
	check_err("  write() from that page", probe_read(mid, 16), EFAULT);
	check_ok("  mprotect it back", mprotect(mid, PAGE, PROT_READ | PROT_WRITE));
	check_true("  contents kept", all(mid, PAGE, 'R'));
	check_ok("  mprotect the piece and the page after it PROT_READ",
		 mprotect(mid, 17 * PAGE, PROT_READ));
	check_true("  the page after reads as zeros", all(mid + 16 * PAGE, PAGE, 0));
	fixed = mmap(r, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		     -1, 0);
	check_true("  MAP_FIXED at its start", fixed == r);
	if (fixed == r) {
		memset(r, 'F', 2 * PAGE);
		check_long("  write() from it", probe_read(r, 16), 16);
	}
	check_ok("  munmap all of it", munmap(r, len));
}

static void test_madvise(void)
{
	char *p = map(4 * PAGE);

	memset(p, 'D', 4 * PAGE);
	check_ok("madvise MADV_DONTNEED pages 1-2", madvise(p + PAGE, 2 * PAGE, MADV_DONTNEED));
	check_true("  pages 1-2 read zeros", all(p + PAGE, 2 * PAGE, 0));
	check_true("  pages 0, 3 kept", all(p, PAGE, 'D') && all(p + 3 * PAGE, PAGE, 'D'));
	munmap(p, 4 * PAGE);
}

/*
 * mincore: touched pages are in core (a 1 per page, the other bits of each
 * byte 0), as is an untouched PROT_NONE page's 0; an unaligned address,
 * an unmapped page and a bad vector are refused as Linux refuses them.
 */
static void test_mincore(void)
{
	char *p = map(4 * PAGE), *none;
	unsigned char vec[4] = { 9, 9, 9, 9 };

	memset(p, 'C', 4 * PAGE);
	check_ok("mincore of 4 touched pages", mincore(p, 4 * PAGE, vec));
	check_true("  each in core", vec[0] == 1 && vec[1] == 1 && vec[2] == 1 && vec[3] == 1);
	check_ok("mincore of 1 byte", mincore(p + PAGE, 1, vec));
	check_err("mincore at an unaligned address", mincore(p + 1, PAGE, vec), EINVAL);
	check_err("mincore with a bad vector", mincore(p, PAGE, (unsigned char *)8), EFAULT);
	munmap(p + 2 * PAGE, PAGE);
	check_err("mincore over an unmapped page", mincore(p, 4 * PAGE, vec), ENOMEM);
	munmap(p, 4 * PAGE);
	none = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check_true("mmap a PROT_NONE page", none != MAP_FAILED);
	if (none != MAP_FAILED) {
		check_ok("mincore of it", mincore(none, PAGE, vec));
		check_long("  not in core", vec[0], 0);
		munmap(none, PAGE);
	}
}

static uintptr_t brk_to(uintptr_t addr)
{
	return syscall(SYS_brk, addr);
}

/*
 * The C library's malloc may use brk too, so nothing here may allocate
 * (not even printf) until the break is back where it was: note, then print.
 */
static void test_brk(void)
{
	const uintptr_t small = 64 << 10, big = 1 << 20;
	uintptr_t cur = brk_to(0), end = cur + small + big;
	int ok[9];

	ok[0] = (uintptr_t)sbrk(0) == cur;
	/* Each step only touches memory the previous ones proved is there. */
	ok[1] = brk_to(cur + small) == cur + small;
	if (ok[1])
		memset((void *)cur, 0x5a, small);
	ok[2] = ok[1] && brk_to(end) == end;
	if (ok[2])
		memset((void *)(cur + small), 0xa5, big);
	ok[3] = ok[2] && brk_to(0) == end && all((void *)cur, small, 0x5a) &&
		all((void *)(cur + small), big, 0xa5);
	ok[4] = ok[2] && brk_to(cur + small) == cur + small && brk_to(0) == cur + small;
	ok[5] = ok[4] && probe_write((void *)((cur + small + PAGE - 1) & ~(PAGE - 1)), 16) == -1 &&
		errno == EFAULT;
	ok[6] = ok[4] && all((void *)cur, small, 0x5a);
	ok[7] = brk_to(cur) == cur && brk_to(0) == cur;
	ok[8] = brk_to(1) == cur;

	check_true("sbrk(0) is brk(0)", ok[0]);
	check_true("brk grow 64 KiB", ok[1]);
	check_true("brk grow 1 MiB more", ok[2]);
	check_true("  brk(0) and contents", ok[3]);
	check_true("brk shrink by 1 MiB", ok[4]);
	check_true("  released range gives EFAULT", ok[5]);
	check_true("  kept range intact", ok[6]);
	check_true("brk back to the start", ok[7]);
	check_true("brk below the heap start fails", ok[8]);
}

/* Fill [p, p + len) with a pattern that differs page to page; check it with same(). */
static void fill(char *p, size_t len, int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (char)(i * 13 + (i >> 12) + seed);
}

static int same(const char *p, size_t len, int seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (char)(i * 13 + (i >> 12) + seed))
			return 0;
	return 1;
}

static void test_mremap_in_place(void)
{
	char *p = map(4 * PAGE), *q;

	munmap(p + 2 * PAGE, 2 * PAGE);
	fill(p, 2 * PAGE, 1);
	q = mremap(p, 2 * PAGE, 3 * PAGE, 0);
	check_true("mremap grow in place (2 -> 3 pages)", q == p);
	check_true("  contents kept, the new page zeros", same(p, 2 * PAGE, 1) &&
		   all(p + 2 * PAGE, PAGE, 0));
	q = mremap(p, 3 * PAGE, 4 * PAGE, 0);
	check_true("mremap grow in place again (3 -> 4 pages)", q == p);
	memset(p + 2 * PAGE, 'G', 2 * PAGE);
	q = mremap(p, 4 * PAGE, PAGE, 0);
	check_true("mremap shrink (4 -> 1 page)", q == p);
	check_true("  the first page kept", same(p, PAGE, 1));
	check_err("  read() into the released pages", probe_write(p + PAGE, 16), EFAULT);
	q = mremap(p, PAGE, PAGE, 0);
	check_true("mremap to the same size", q == p);
	munmap(p, PAGE);
}

static void test_mremap_move(void)
{
	char *p = map(3 * PAGE), *q;

	munmap(p + 2 * PAGE, PAGE);
	fill(p, PAGE, 2);
	memset(p + PAGE, 'N', PAGE);	/* the neighbour that blocks growing */
	check_err("mremap grow into a neighbour without MREMAP_MAYMOVE",
		  (long)mremap(p, PAGE, 2 * PAGE, 0), ENOMEM);
	q = mremap(p, PAGE, 64 * PAGE, MREMAP_MAYMOVE);
	check_true("mremap MREMAP_MAYMOVE moves it (1 -> 64 pages)", q != MAP_FAILED && q != p);
	if (q == MAP_FAILED)
		return;
	check_true("  contents moved, the rest zeros", same(q, PAGE, 2) && all(q + PAGE, 63 * PAGE, 0));
	check_err("  read() into the old place", probe_write(p, 16), EFAULT);
	check_true("  the neighbour untouched", all(p + PAGE, PAGE, 'N'));
	fill(q, 64 * PAGE, 3);
	check_true("  the moved mapping is writable", same(q, 64 * PAGE, 3));
	munmap(p + PAGE, PAGE);
	munmap(q, 64 * PAGE);
}

static void test_mremap_fixed(void)
{
	char *p = map(8 * PAGE), *q;

	munmap(p + 2 * PAGE, 2 * PAGE);	/* p: 2 pages; p + 4 * PAGE: 4 pages, the target */
	fill(p, 2 * PAGE, 4);
	memset(p + 4 * PAGE, 'T', 4 * PAGE);
	q = mremap(p, 2 * PAGE, 3 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, p + 4 * PAGE);
	check_true("mremap MREMAP_FIXED over a mapping", q == p + 4 * PAGE);
	check_true("  contents moved, then zeros, then what was there",
		   same(q, 2 * PAGE, 4) && all(q + 2 * PAGE, PAGE, 0) && all(q + 3 * PAGE, PAGE, 'T'));
	check_err("  read() into the old place", probe_write(p, 16), EFAULT);
	q = mremap(p + 4 * PAGE, 2 * PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, p);
	check_true("mremap MREMAP_FIXED shrinking back", q == p);
	check_true("  the first page moved", same(p, PAGE, 4));
	check_err("  read() into the page left behind", probe_write(p + 5 * PAGE, 16), EFAULT);
	check_true("  the pages after it kept", all(p + 6 * PAGE, PAGE, 0) &&
		   all(p + 7 * PAGE, PAGE, 'T'));
	munmap(p, 8 * PAGE);
}

static void test_mremap_dontunmap(void)
{
	char *p = map(2 * PAGE), *q;

	fill(p, 2 * PAGE, 5);
	q = mremap(p, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
	check_true("mremap MREMAP_DONTUNMAP", q != MAP_FAILED && q != p);
	if (q == MAP_FAILED)
		return;
	check_true("  contents moved", same(q, 2 * PAGE, 5));
	check_true("  the old place stays mapped, zeros", all(p, 2 * PAGE, 0));
	memset(p, 'O', 2 * PAGE);
	check_true("  both writable apart", all(p, 2 * PAGE, 'O') && same(q, 2 * PAGE, 5));
	munmap(p, 2 * PAGE);
	munmap(q, 2 * PAGE);
}

static void test_mremap_errors(void)
{
	char *p = map(4 * PAGE);

	check_err("mremap unknown flag", (long)mremap(p, PAGE, PAGE, 8), EINVAL);
	check_err("mremap MREMAP_FIXED without MREMAP_MAYMOVE",
		  (long)mremap(p, PAGE, PAGE, MREMAP_FIXED, p + 2 * PAGE), EINVAL);
	check_err("mremap MREMAP_DONTUNMAP resizing",
		  (long)mremap(p, PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP), EINVAL);
	check_err("mremap unaligned address", (long)mremap(p + 1, PAGE, 2 * PAGE, MREMAP_MAYMOVE),
		  EINVAL);
	check_err("mremap to size 0", (long)mremap(p, PAGE, 0, MREMAP_MAYMOVE), EINVAL);
	check_err("mremap MREMAP_FIXED onto itself",
		  (long)mremap(p, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, p + PAGE), EINVAL);
	check_err("mremap old size 0 of a private mapping",
		  (long)mremap(p, 0, PAGE, MREMAP_MAYMOVE), EINVAL);
	munmap(p + PAGE, PAGE);
	check_err("mremap across a hole", (long)mremap(p, 3 * PAGE, 4 * PAGE, MREMAP_MAYMOVE), EFAULT);
	check_err("mremap of unmapped memory", (long)mremap(p + PAGE, PAGE, 2 * PAGE, MREMAP_MAYMOVE),
		  EFAULT);
	check_ok("mprotect a page of a mapping", mprotect(p + 2 * PAGE, PAGE, PROT_READ));
	check_err("mremap across two protections",
		  (long)mremap(p + 2 * PAGE, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE), EFAULT);
	check_ok("mprotect it back", mprotect(p + 2 * PAGE, PAGE, PROT_READ | PROT_WRITE));
	memset(p + 2 * PAGE, 'M', 2 * PAGE);
	p[2 * PAGE] = 'm';
	{
		char *q = mremap(p + 2 * PAGE, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE);

		check_true("  then mremap of both pages works", q != MAP_FAILED);
		check_true("  contents moved", q != MAP_FAILED && q[0] == 'm' && all(q + 1, 2 * PAGE - 1, 'M'));
		if (q != MAP_FAILED)
			munmap(q, 4 * PAGE);
	}
	munmap(p, PAGE);
}

/* Shared memory moves too (and shrinks), its pages with it. */
static void test_mremap_shared(void)
{
	char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *target = map(2 * PAGE), *q;

	check_true("mmap MAP_SHARED|MAP_ANONYMOUS", p != MAP_FAILED);
	if (p == MAP_FAILED)
		return;
	fill(p, 2 * PAGE, 8);
	q = mremap(p, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target);
	check_true("mremap MREMAP_FIXED of shared memory", q == target);
	check_true("  contents there", same(target, 2 * PAGE, 8));
	check_err("  the old place is gone", probe_read(p, 16), EFAULT);
	q = mremap(target, 2 * PAGE, PAGE, 0);
	check_true("  shrunk to a page", q == target && same(target, PAGE, 8));
	check_err("  the released page is gone", probe_read(target + PAGE, 16), EFAULT);
	munmap(target, PAGE);
}

/* realloc of large blocks: the C library grows them with mremap. */
static void test_realloc_large(void)
{
	size_t len = 256 << 10;
	char *b = malloc(len), *nb;
	int ok = b != NULL;

	if (b)
		fill(b, len, 6);
	for (; ok && len < (32 << 20); len *= 2) {
		nb = realloc(b, len * 2);
		ok = nb && same(nb, len, 6);
		if (!nb)
			break;
		b = nb;
		fill(b, len * 2, 6);
	}
	check_true("realloc 256 KiB up to 32 MiB, contents kept", ok);
	nb = b ? realloc(b, 100 << 10) : NULL;
	check_true("realloc back down to 100 KiB", nb && same(nb, 100 << 10, 6));
	free(nb ? nb : b);
}

/* A private file mapping moved keeps the file's bytes; writes stay private. */
static void test_mremap_file(const char *path)
{
	char *buf = map(3 * PAGE), *p, *q, *target;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	check_quiet("open a file", fd);
	if (fd < 0)
		return;
	fill(buf, 3 * PAGE, 7);
	check_long("write 3 pages to it", write(fd, buf, 3 * PAGE), 3 * PAGE);
	p = mmap(NULL, 3 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	check_true("mmap it MAP_PRIVATE, PROT_READ", p != MAP_FAILED && same(p, 3 * PAGE, 7));
	target = map(3 * PAGE);
	q = p == MAP_FAILED ? MAP_FAILED :
	    mremap(p, 3 * PAGE, 3 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target);
	check_true("mremap MREMAP_FIXED of the file mapping", q == target);
	if (q != target) {
		close(fd);
		return;
	}
	check_true("  the file's bytes at the new place", same(q, 3 * PAGE, 7));
	check_err("  still read-only: read() into it", probe_write(q, 16), EFAULT);
	check_err("  the old place is gone", probe_read(p, 16), EFAULT);
	check_ok("  mprotect it writable", mprotect(q, 3 * PAGE, PROT_READ | PROT_WRITE));
	memset(q, 'W', PAGE);
	check_long("  pread the file", pread(fd, buf, PAGE, 0), PAGE);
	check_true("  the file did not change", same(buf, PAGE, 7));
	munmap(q, 3 * PAGE);
	munmap(buf, 3 * PAGE);
	close(fd);
	unlink(path);
}

int main(int argc, char **argv)
{
	if (pipe2(pfd, O_NONBLOCK)) {
		check_ok("pipe2", -1);
		return 1;
	}
	test_sizes();
	test_hint_and_fixed();
	test_munmap();
	test_mprotect();
	test_reservation();
	test_madvise();
	test_mincore();
	test_brk();
	test_mremap_in_place();
	test_mremap_move();
	test_mremap_fixed();
	test_mremap_dontunmap();
	test_mremap_errors();
	test_mremap_shared();
	test_realloc_large();
	if (argc > 1)
		test_mremap_file(argv[1]);
	else
		check_true("a file name to map (argv[1])", 0);
	return check_done();
}
