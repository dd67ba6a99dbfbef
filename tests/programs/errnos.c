// SPDX-License-Identifier: MIT
/*
 * Error numbers on bad input, printed by name: paths (missing, wrong type,
 * too long, loops), bad file descriptors, bad user pointers (EFAULT), bad
 * arguments (lseek, fcntl, dup2, dup3, readlink, getcwd, mmap, munmap), an
 * unknown system call, and the real-time calls' bad input (futex, clocks,
 * sleeps, scheduling, signals, timers, timerfd, clone), made as raw system
 * calls so that both C libraries pass the same arguments. Files go in the
 * scratch directory argv[1].
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <linux/futex.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>
#include "check.h"

/* Not a valid user address; volatile so the compiler cannot reason about it. */
static volatile uintptr_t bad_addr = 16;

static void test_paths(void)
{
	char name[300], buf[64];

	check_err("open missing", open("missing", O_RDONLY), ENOENT);
	check_err("open in missing dir", open("nodir/f", O_RDWR | O_CREAT, 0644), ENOENT);
	check_err("open dir for writing", open("dir", O_WRONLY), EISDIR);
	check_err("open O_CREAT|O_EXCL existing", open("file", O_RDWR | O_CREAT | O_EXCL, 0644),
		  EEXIST);
	check_err("open O_DIRECTORY on a file", open("file", O_RDONLY | O_DIRECTORY), ENOTDIR);
	check_err("open through a file", open("file/x", O_RDONLY), ENOTDIR);
	check_err("open symlink loop", open("loop", O_RDONLY), ELOOP);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	check_err("open too-long name", open(name, O_RDWR | O_CREAT, 0644), ENAMETOOLONG);
	check_err("mkdir existing", mkdir("dir", 0755), EEXIST);
	check_err("rmdir non-empty", rmdir("dir"), ENOTEMPTY);
	check_err("rmdir a file", rmdir("file"), ENOTDIR);
	check_err("unlink a directory", unlink("dir"), EISDIR);
	check_err("link a directory", link("dir", "dir2"), EPERM);
	check_err("rename a dir into itself", rename("dir", "dir/sub"), EINVAL);
	check_err("chdir to a file", chdir("file"), ENOTDIR);
	check_err("readlink a non-symlink", readlink("file", buf, sizeof(buf)), EINVAL);
	check_err("getcwd 1-byte buffer", getcwd(buf, 1) ? 0 : -1, ERANGE);
}

static void test_fds(void)
{
	int closed = open("file", O_RDONLY), ro = open("file", O_RDONLY), p[2];
	char c;

	close(closed);
	check_err("read closed fd", read(closed, &c, 1), EBADF);
	check_err("write closed fd", write(closed, "x", 1), EBADF);
	check_err("close closed fd", close(closed), EBADF);
	check_err("read fd 1000", read(1000, &c, 1), EBADF);
	check_err("write fd 1000", write(1000, "x", 1), EBADF);
	check_err("close fd 1000", close(1000), EBADF);
	check_err("read fd -1", read(-1, &c, 1), EBADF);
	check_err("write fd -1", write(-1, "x", 1), EBADF);
	check_err("close fd -1", close(-1), EBADF);
	check_err("write read-only fd", write(ro, "x", 1), EBADF);
	check_err("lseek bad whence", lseek(ro, 0, 42), EINVAL);
	check_err("fcntl bad command", fcntl(ro, 9999, 0), EINVAL);
	check_err("dup2 onto -1", dup2(ro, -1), EBADF);
	check_err("dup3 onto itself", dup3(ro, ro, 0), EINVAL);
	check_err("ioctl TCGETS on a file", ioctl(ro, TCGETS, &c), ENOTTY);
	close(ro);

	check_quiet("pipe", pipe(p));
	check_err("lseek on a pipe", lseek(p[0], 0, SEEK_SET), ESPIPE);
	close(p[0]);
	close(p[1]);
}

static void test_pointers(void)
{
	void *bad = (void *)bad_addr;
	int fd = open("file", O_RDWR), p[2];
	struct stat st;

	check_err("read() into a bad pointer", read(fd, bad, 4), EFAULT);
	check_err("write() from a bad pointer", write(fd, bad, 4), EFAULT);
	check_err("read() into NULL", read(fd, (void *)(bad_addr - 16), 4), EFAULT);
	close(fd);
	check_quiet("pipe", pipe(p));
	check_quiet("pipe write", write(p[1], "data", 4));
	check_err("pipe read() into a bad pointer", read(p[0], bad, 4), EFAULT);
	check_err("pipe write() from a bad pointer", write(p[1], bad, 4), EFAULT);
	check_err("stat with a bad path pointer", stat(bad, &st), EFAULT);
	close(p[0]);
	close(p[1]);
}

static void test_misc(void)
{
	void *p = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	check_err("mmap length 0", p == MAP_FAILED ? -1 : 0, EINVAL);
	check_err("unknown syscall 9999", syscall(9999), ENOSYS);
	check_err("munmap misaligned", munmap((void *)0x10001, 4096), EINVAL);
}

static void test_futex(void)
{
	uint32_t word = 5, other = 0;
	struct timespec bad_ts = { 0, 1000000000 };

	check_err("futex on a bad pointer", syscall(SYS_futex, bad_addr, FUTEX_WAIT, 0, NULL), EFAULT);
	check_err("futex misaligned", syscall(SYS_futex, (char *)&word + 1, FUTEX_WAIT, 5, NULL),
		  EINVAL);
	check_err("futex unknown op", syscall(SYS_futex, &word, 99, 0, NULL), ENOSYS);
	check_err("FUTEX_WAIT on a changed value", syscall(SYS_futex, &word, FUTEX_WAIT, 6, NULL),
		  EAGAIN);
	check_err("FUTEX_WAIT with a bad timeout", syscall(SYS_futex, &word, FUTEX_WAIT, 5, &bad_ts),
		  EINVAL);
	check_err("FUTEX_WAIT_BITSET with bitset 0",
		  syscall(SYS_futex, &word, FUTEX_WAIT_BITSET, 5, NULL, NULL, 0), EINVAL);
	check_long("FUTEX_WAKE with nobody waiting", syscall(SYS_futex, &word, FUTEX_WAKE, 1), 0);
	check_err("FUTEX_UNLOCK_PI of a lock not ours", syscall(SYS_futex, &word, FUTEX_UNLOCK_PI),
		  EPERM);
	check_err("FUTEX_CMP_REQUEUE on a changed value",
		  syscall(SYS_futex, &word, FUTEX_CMP_REQUEUE, 1, 1, &other, 7), EAGAIN);
	word = 0;
	check_ok("FUTEX_TRYLOCK_PI of a free lock", syscall(SYS_futex, &word, FUTEX_TRYLOCK_PI));
	check_long("the word names the owner", word == (uint32_t)syscall(SYS_gettid), 1);
	check_err("FUTEX_LOCK_PI of our own lock", syscall(SYS_futex, &word, FUTEX_LOCK_PI, 0, NULL),
		  EDEADLK);
	check_ok("FUTEX_UNLOCK_PI", syscall(SYS_futex, &word, FUTEX_UNLOCK_PI));
	check_long("the word is free again", word, 0);
}

static void test_rt_calls(void)
{
	struct timespec ts, bad_ts = { 0, -1 };
	struct sched_param sp = { .sched_priority = 100 };
	char mask[1];
	stack_t ss = { .ss_sp = NULL, .ss_size = 100 };

	check_err("clock_gettime bad clock", syscall(SYS_clock_gettime, 99, &ts), EINVAL);
	check_err("clock_gettime bad pointer", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, bad_addr),
		  EFAULT);
	check_err("clock_getres bad clock", syscall(SYS_clock_getres, 99, &ts), EINVAL);
	check_err("nanosleep bad time", syscall(SYS_nanosleep, &bad_ts, NULL), EINVAL);
	check_err("clock_nanosleep bad clock", syscall(SYS_clock_nanosleep, 99, 0, &ts, NULL),
		  EINVAL);
	check_err("sched_setscheduler bad policy", syscall(SYS_sched_setscheduler, 0, 42, &sp), EINVAL);
	check_err("sched_setscheduler priority 100", syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &sp),
		  EINVAL);
	check_err("sched_setscheduler pid -1", syscall(SYS_sched_setscheduler, -1, SCHED_FIFO, &sp),
		  EINVAL);
	check_err("sched_getparam bad pointer", syscall(SYS_sched_getparam, 0, bad_addr), EFAULT);
	check_err("sched_get_priority_max bad policy", syscall(SYS_sched_get_priority_max, 42),
		  EINVAL);
	check_err("sched_getaffinity 1-byte mask", syscall(SYS_sched_getaffinity, 0, 1, mask), EINVAL);
	check_err("rt_sigaction SIGKILL", syscall(SYS_rt_sigaction, SIGKILL, &ss, NULL, 8), EINVAL);
	check_err("rt_sigaction signal 0", syscall(SYS_rt_sigaction, 0, NULL, NULL, 8), EINVAL);
	check_err("rt_sigaction signal 65", syscall(SYS_rt_sigaction, 65, NULL, NULL, 8), EINVAL);
	check_err("rt_sigaction bad sigset size", syscall(SYS_rt_sigaction, SIGUSR1, NULL, NULL, 4),
		  EINVAL);
	check_err("rt_sigaction bad pointer", syscall(SYS_rt_sigaction, SIGUSR1, bad_addr, NULL, 8),
		  EFAULT);
	check_err("rt_sigprocmask bad how", syscall(SYS_rt_sigprocmask, 42, &ts, NULL, 8), EINVAL);
	check_err("sigaltstack too small", syscall(SYS_sigaltstack, &ss, NULL), ENOMEM);
	ss.ss_flags = 42;
	check_err("sigaltstack bad flags", syscall(SYS_sigaltstack, &ss, NULL), EINVAL);
	check_err("kill signal 100", syscall(SYS_kill, getpid(), 100), EINVAL);
	check_err("tgkill a tid that does not exist", syscall(SYS_tgkill, getpid(), 999999, 0), ESRCH);
	check_err("timer_create bad clock", syscall(SYS_timer_create, 99, NULL, mask), EINVAL);
	check_err("timer_delete bad id", syscall(SYS_timer_delete, 4242), EINVAL);
	check_err("timer_getoverrun bad id", syscall(SYS_timer_getoverrun, 4242), EINVAL);
	check_err("timerfd_create bad clock", syscall(SYS_timerfd_create, 99, 0), EINVAL);
	check_err("timerfd_create bad flags", syscall(SYS_timerfd_create, CLOCK_MONOTONIC, 42),
		  EINVAL);
	check_err("clone with CLONE_THREAD but not CLONE_SIGHAND",
		  syscall(SYS_clone, CLONE_VM | CLONE_THREAD, NULL, NULL, NULL, 0), EINVAL);
}

static void test_timerfd(void)
{
	int fd = (int)syscall(SYS_timerfd_create, CLOCK_MONOTONIC, 0);
	uint32_t small;
	struct itimerspec its = { .it_value = { 0, -1 } };

	check_err("read a timerfd into 4 bytes", read(fd, &small, sizeof(small)), EINVAL);
	check_err("timerfd_settime bad time", syscall(SYS_timerfd_settime, fd, 0, &its, NULL),
		  EINVAL);
	check_err("timerfd_settime on a non-timerfd", syscall(SYS_timerfd_settime, 0, 0, &its, NULL),
		  EINVAL);
	check_ok("close a timerfd", close(fd));
	check_err("read a closed timerfd", read(fd, &small, sizeof(small)), EBADF);
}

int main(int argc, char **argv)
{
	int orig_cwd = open(".", O_RDONLY | O_DIRECTORY), fd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SCRATCH-DIR (created and removed)\n", argv[0]);
		return 2;
	}
	umask(022);
	if (orig_cwd < 0 || mkdir(argv[1], 0755) || chdir(argv[1]) || mkdir("dir", 0755) ||
	    mkdir("dir/x", 0755) || symlink("loop", "loop")) {
		perror("scratch dir");
		return 1;
	}
	fd = open("file", O_WRONLY | O_CREAT, 0644);
	check_quiet("write file", write(fd, "data", 4));
	close(fd);

	test_paths();
	test_fds();
	test_pointers();
	test_misc();
	test_futex();
	test_rt_calls();
	test_timerfd();

	unlink("file");
	unlink("loop");
	rmdir("dir/x");
	rmdir("dir");
	check_quiet("fchdir back", fchdir(orig_cwd));
	check_ok("clean up", rmdir(argv[1]));
	return check_done();
}
