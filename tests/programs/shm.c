// SPDX-License-Identifier: MIT
/*
 * Shared memory: MAP_SHARED of a file, of a /dev/shm object (shm_open), of
 * a memfd and of anonymous memory, SysV segments, across fork, with the
 * bytes checked through the file (read/write, so Linux's page cache) both
 * ways; partial munmap, msync, mprotect, SIGBUS past the end of the file,
 * mappings grown with mremap (in place and moved: more of the file at the
 * offsets that follow), and the errors Linux gives. Modes for tests with a Linux process:
 *   shm peer FILE       map FILE, write "rt:hello", wait for "linux:reply"
 *                       at offset 64 (what another process writes)
 *   shm sysv-peer       make a SysV segment, print "# id N", write
 *                       "rt:sysv", wait for "linux:reply" at offset 64
 *   shm sysv-answer ID  attach segment ID, expect "rt:sysv", write the reply
 *   shm truncate FILE   map FILE (made 2 pages long), truncate it to 1 page,
 *                       touch the second page (SIGBUS), extend the file
 *                       again and touch it after half a second (zeros)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "check.h"

#define PAGE	4096
#define REPLY_OFF	64

static sigjmp_buf fault_jmp;
static volatile int fault_sig, fault_code;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	fault_sig = sig;
	fault_code = si->si_code;
	siglongjmp(fault_jmp, 1);
}

/* The signal a read of p raises (0: none). */
static int touch(volatile char *p)
{
	fault_sig = 0;
	if (!sigsetjmp(fault_jmp, 1))
		(void)*p;
	return fault_sig;
}

/* Wait up to 10 s for want at p (another process writes it). */
static int wait_for(volatile const char *p, const char *want)
{
	for (int i = 0; i < 10000; i++) {
		if (!memcmp((const char *)p, want, strlen(want) + 1))
			return 1;
		usleep(1000);
	}
	return 0;
}

static int temp_file(char *path, size_t len, size_t size)
{
	int fd;

	snprintf(path, len, "%s/crtos-shm-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(path);
	check_quiet("mkstemp", fd);
	check_quiet("ftruncate", ftruncate(fd, (off_t)size));
	return fd;
}

static void file_mapping(void)
{
	char path[256], buf[16] = "";
	int fd = temp_file(path, sizeof(path), 3 * PAGE);
	char *p;

	check_quiet("pwrite", pwrite(fd, "hello", 6, 0));
	p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check_true("file: mmap MAP_SHARED", p != MAP_FAILED);
	check_str("file: the mapping sees write()", p, "hello");
	strcpy(p + PAGE, "world");
	check_quiet("pread", pread(fd, buf, 6, PAGE));
	check_str("file: read() sees the mapping", buf, "world");
	check_quiet("pwrite", pwrite(fd, "again", 6, 2 * PAGE));
	check_str("file: the mapping sees a later write()", p + 2 * PAGE, "again");
	check_ok("file: msync", msync(p, 3 * PAGE, MS_SYNC));
	check_ok("file: munmap of the middle page", munmap(p + PAGE, PAGE));
	check_str("file: first page still mapped", p, "hello");
	check_str("file: last page still mapped", p + 2 * PAGE, "again");
	check_err("file: msync of the hole", msync(p, 3 * PAGE, MS_SYNC), ENOMEM);
	check_ok("file: mprotect read-only", mprotect(p, PAGE, PROT_READ));
	check_str("file: still readable", p, "hello");
	munmap(p, 3 * PAGE);

	/* Two pages of a one-page file: the second is past the end. */
	check_quiet("ftruncate", ftruncate(fd, 100));
	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check_true("file: mmap beyond the end", p != MAP_FAILED);
	check_long("file: touching the page inside the file", touch(p), 0);
	check_long("file: touching the page past the end", touch(p + PAGE), SIGBUS);
	check_long("file: ... with si_code BUS_ADRERR", fault_code, BUS_ADRERR);
	munmap(p, 2 * PAGE);
	close(fd);

	fd = open(path, O_RDONLY);
	check_err("file: PROT_WRITE of a read-only fd",
		  (long)mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EACCES);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	check_true("file: read-only mapping", p != MAP_FAILED && !strcmp(p, "hello"));
	check_err("file: mprotect PROT_WRITE of it", mprotect(p, PAGE, PROT_READ | PROT_WRITE),
		  EACCES);
	munmap(p, PAGE);
	close(fd);
	unlink(path);
	check_err("file: bad fd", (long)mmap(NULL, PAGE, PROT_READ, MAP_SHARED, 999, 0), EBADF);
}

static void shm_open_mapping(void)
{
	char name[64], buf[16] = "";
	int fd, fd2;
	char *p;

	snprintf(name, sizeof(name), "/crtos-shm-test-%d", getpid());
	fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
	check_quiet("shm_open", fd);
	check_quiet("ftruncate", ftruncate(fd, PAGE));
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check_true("shm_open: mmap", p != MAP_FAILED);
	strcpy(p, "posix shm");
	fd2 = shm_open(name, O_RDONLY, 0);
	check_quiet("pread", pread(fd2, buf, 10, 0));
	check_str("shm_open: another open sees the bytes", buf, "posix shm");
	close(fd2);
	munmap(p, PAGE);
	close(fd);
	check_ok("shm_open: shm_unlink", shm_unlink(name));
}

static void memfd_mapping(void)
{
	int fd = (int)syscall(SYS_memfd_create, "crtos-test", 0);
	char buf[16] = "";
	char *p;

	check_quiet("memfd_create", fd);
	check_quiet("ftruncate", ftruncate(fd, PAGE));
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check_true("memfd: mmap", p != MAP_FAILED);
	strcpy(p, "memfd");
	check_quiet("pread", pread(fd, buf, 6, 0));
	check_str("memfd: read() sees the mapping", buf, "memfd");
	munmap(p, PAGE);
	close(fd);
}

/* What the mapping shows at p (the "page N" mark a page of the file starts with, or the signal). */
static const char *page_at(char *p)
{
	static char buf[32];

	if (touch(p))
		snprintf(buf, sizeof(buf), "%s", fault_sig == SIGBUS ? "SIGBUS" : "SIGSEGV");
	else
		snprintf(buf, sizeof(buf), "%.10s", p);
	return buf;
}

/*
 * A mapping of pages 1-2 of a 4-page file grown by mremap, with its fd
 * closed first: in place to 3 pages, then moved to 5 (something mapped
 * right after it): each page maps the file's page at the offset that
 * follows, the bytes go both ways, the last page is past the file's end
 * (SIGBUS), and the old place is gone. Shared anonymous memory grown
 * past its object's size: SIGBUS there too.
 */
static void grown(void)
{
	char path[256], buf[16] = "", what[64];
	int fd = temp_file(path, sizeof(path), 4 * PAGE), fd2;
	char *r, *p, *q, *anon;

	for (int i = 0; i < 4; i++) {
		snprintf(buf, sizeof(buf), "page %d", i);
		check_quiet("pwrite", pwrite(fd, buf, strlen(buf) + 1, (off_t)i * PAGE));
	}
	/* Room for growing in place: reserve 4 pages, map 2, free the rest. */
	r = mmap(NULL, 4 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p = mmap(r, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, PAGE);
	check_true("grow: mmap of pages 1-2", r != MAP_FAILED && p == r);
	munmap(r + 2 * PAGE, 2 * PAGE);
	close(fd);
	q = mremap(p, 2 * PAGE, 3 * PAGE, 0);
	check_true("grow: mremap in place (2 -> 3 pages)", q == p);
	if (q != p)
		return;
	for (int i = 0; i < 3; i++) {
		snprintf(what, sizeof(what), "grow: in place, page %d shows", i);
		snprintf(buf, sizeof(buf), "page %d", i + 1);
		check_str(what, page_at(q + i * PAGE), buf);
	}
	strcpy(q + 2 * PAGE + 100, "grown");
	fd2 = open(path, O_RDWR);
	check_quiet("open", fd2);
	check_quiet("pread", pread(fd2, buf, 6, 3 * PAGE + 100));
	check_str("grow: the file has the grown page's bytes", buf, "grown");
	/* Something right after it: growing must move. */
	r = mmap(q + 3 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	check_true("grow: a mapping right after it", r == q + 3 * PAGE);
	p = mremap(q, 3 * PAGE, 5 * PAGE, MREMAP_MAYMOVE);
	check_true("grow: mremap MAYMOVE (3 -> 5 pages) moves it", p != MAP_FAILED && p != q);
	if (p == MAP_FAILED)
		return;
	check_quiet("pwrite", pwrite(fd2, "linux", 6, 2 * PAGE + 200));
	check_str("grow: moved, the mapping sees a later write()", p + PAGE + 200, "linux");
	check_str("grow: moved, the grown page's bytes", p + 2 * PAGE + 100, "grown");
	for (int i = 0; i < 4; i++) {
		snprintf(what, sizeof(what), "grow: moved, page %d shows", i);
		snprintf(buf, sizeof(buf), i < 3 ? "page %d" : "SIGBUS", i + 1);
		check_str(what, page_at(p + i * PAGE), buf);
	}
	check_str("grow: the old place", page_at(q), "SIGSEGV");
	munmap(p, 5 * PAGE);
	munmap(r, PAGE);
	close(fd2);
	unlink(path);

	anon = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	strcpy(anon, "anon");
	p = mremap(anon, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
	check_true("grow: shared anonymous memory (1 -> 2 pages)", p != MAP_FAILED);
	if (p == MAP_FAILED)
		return;
	check_str("grow: its first page", page_at(p), "anon");
	check_str("grow: its second page, past its object's end", page_at(p + PAGE), "SIGBUS");
	munmap(p, 2 * PAGE);
}

/* The child writes where the parent reads, after fork. */
static void across_fork(void)
{
	char path[256], buf[16] = "";
	int fd = temp_file(path, sizeof(path), PAGE), status = -1;
	char *anon = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *file = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *priv = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	check_true("fork: shared anonymous mmap", anon != MAP_FAILED);
	check_true("fork: shared file mmap", file != MAP_FAILED);
	strcpy(priv, "parent");
	pid = fork();
	if (pid == 0) {
		strcpy(anon, "child anon");
		strcpy(file, "child file");
		strcpy(priv, "child");
		_exit(0);
	}
	waitpid(pid, &status, 0);
	check_long("fork: child status", status, 0);
	check_str("fork: shared anonymous memory stays shared", anon, "child anon");
	check_str("fork: a shared file mapping stays shared", file, "child file");
	check_str("fork: private memory is the parent's own", priv, "parent");
	check_quiet("pread", pread(fd, buf, 11, 0));
	check_str("fork: the file has the child's bytes", buf, "child file");
	munmap(anon, PAGE);
	munmap(file, PAGE);
	munmap(priv, PAGE);
	close(fd);
	unlink(path);
}

static void sysv(void)
{
	int id = shmget(IPC_PRIVATE, 2 * PAGE, IPC_CREAT | 0600), status = -1;
	struct shmid_ds ds;
	char *p, *q;
	pid_t pid;

	check_quiet("shmget", id);
	p = shmat(id, NULL, 0);
	check_true("sysv: shmat", p != (void *)-1);
	check_ok("sysv: shmctl IPC_STAT", shmctl(id, IPC_STAT, &ds));
	check_long("sysv: segment size", (long)ds.shm_segsz, 2 * PAGE);
	strcpy(p + PAGE, "sysv");
	q = shmat(id, NULL, SHM_RDONLY);
	check_true("sysv: a second, read-only attach", q != (void *)-1);
	check_str("sysv: it sees the first's bytes", q + PAGE, "sysv");
	pid = fork();
	if (pid == 0) {
		strcpy(p, "from the child");
		_exit(0);
	}
	waitpid(pid, &status, 0);
	check_str("sysv: fork shares the attach", q, "from the child");
	check_ok("sysv: shmdt", shmdt(p));
	check_ok("sysv: shmdt of the second", shmdt(q));
	check_err("sysv: shmdt of nothing", shmdt(p), EINVAL);
	check_ok("sysv: IPC_RMID", shmctl(id, IPC_RMID, NULL));
}

/* One after the other, more than a cell has slots: each munmap gives its slot back. */
static void many(void)
{
	int ok = 1;

	for (int i = 0; i < 100 && ok; i++) {
		char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		ok = p != MAP_FAILED && !p[0] && !munmap(p, PAGE);
	}
	check_true("100 shared mappings one after the other", ok);
}

static int peer(const char *path)
{
	int fd = open(path, O_RDWR);
	char *p;

	check_quiet("open", fd);
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check_true("peer: mmap", p != MAP_FAILED);
	strcpy(p, "rt:hello");
	check_true("peer: the other process's reply", wait_for(p + REPLY_OFF, "linux:reply"));
	return check_done();
}

static int sysv_peer(void)
{
	int id = shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0600);
	char *p;

	check_quiet("shmget", id);
	p = shmat(id, NULL, 0);
	check_true("sysv peer: shmat", p != (void *)-1);
	strcpy(p, "rt:sysv");
	printf("# id %d\n", id);
	fflush(stdout);
	check_true("sysv peer: the other process's reply", wait_for(p + REPLY_OFF, "linux:reply"));
	shmctl(id, IPC_RMID, NULL);
	return check_done();
}

static int sysv_answer(int id)
{
	char *p = shmat(id, NULL, 0);

	check_true("sysv answer: shmat", p != (void *)-1);
	check_true("sysv answer: the peer's bytes", wait_for(p, "rt:sysv"));
	strcpy(p + REPLY_OFF, "linux:reply");
	return check_done();
}

/* A page of our shared mapping that Linux truncates away (Linux: SIGBUS). */
static int truncated(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), sig;
	char *p;

	check_quiet("open", fd);
	check_quiet("ftruncate", ftruncate(fd, 2 * PAGE));
	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check_true("truncate: mmap of 2 pages", p != MAP_FAILED);
	strcpy(p + PAGE, "second");
	check_str("truncate: the second page", p + PAGE, "second");
	check_ok("truncate: ftruncate to 1 page", ftruncate(fd, PAGE));
	printf("truncate: touching the page past the new end\n");
	sig = touch(p + PAGE);
	check_str("truncate: the touch raised", sig == SIGBUS ? "SIGBUS" : sig ? "another signal" :
		  "nothing", "SIGBUS");
	check_long("truncate: ... with si_code BUS_ADRERR", fault_code, BUS_ADRERR);
	check_str("truncate: the first page", p, "");
	check_ok("truncate: ftruncate back to 2 pages", ftruncate(fd, 2 * PAGE));
	usleep(500000);	/* time for a realm to notice (crtos/shm.h: about 100 ms) */
	sig = touch(p + PAGE);
	check_str("truncate: extended again, the touch raised", sig ? "a signal" : "nothing",
		  "nothing");
	check_str("truncate: the page is a new one", sig ? "?" : p + PAGE, "");
	return check_done();
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "peer"))
		return peer(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "sysv-peer"))
		return sysv_peer();
	if (argc == 3 && !strcmp(argv[1], "sysv-answer"))
		return sysv_answer(atoi(argv[2]));
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	if (argc == 3 && !strcmp(argv[1], "truncate"))
		return truncated(argv[2]);
	file_mapping();
	shm_open_mapping();
	memfd_mapping();
	across_fork();
	grown();
	sysv();
	many();
	return check_done();
}
