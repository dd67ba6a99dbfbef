// SPDX-License-Identifier: MIT
/*
 * Error numbers on bad input, printed by name: paths (missing, wrong type,
 * too long, loops), bad file descriptors, bad user pointers (EFAULT), bad
 * arguments (lseek, fcntl, dup2, dup3, readlink, getcwd, mmap, munmap) and
 * an unknown system call. Files go in the scratch directory argv[1].
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
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

	unlink("file");
	unlink("loop");
	rmdir("dir/x");
	rmdir("dir");
	check_quiet("fchdir back", fchdir(orig_cwd));
	check_ok("clean up", rmdir(argv[1]));
	return check_done();
}
