// SPDX-License-Identifier: MIT
/*
 * Files and directories in the scratch directory argv[1] (created here and
 * removed at the end): open flags, read/write/pread/pwrite, lseek and holes,
 * ftruncate, rename, links and symlinks, the stat family, access, the raw
 * getdents64 system call and opendir/readdir, and the working directory.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

#define MAX_NAMES 16

static int dfd;			/* the scratch directory, also the cwd */
static char base[4096];		/* its absolute name, never printed */

/* Read the whole of fd from offset 0 into buf as a string. */
static const char *read_all(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);

	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void print_stat(const char *what, int ret, const struct stat *st)
{
	const char *type = S_ISREG(st->st_mode) ? "regular" :
			   S_ISDIR(st->st_mode) ? "directory" :
			   S_ISLNK(st->st_mode) ? "symlink" : "other";

	if (ret) {
		check_ok(what, ret);
		return;
	}
	printf("%s: %s %04o", what, type, st->st_mode & 07777);
	if (!S_ISDIR(st->st_mode))	/* directory sizes depend on the fs */
		printf(" size %lld nlink %ld", (long long)st->st_size, (long)st->st_nlink);
	printf("\n");
}

static void test_open_flags(void)
{
	char buf[64];
	int fd;

	fd = openat(dfd, "a", O_RDWR | O_CREAT | O_EXCL, 0666);
	check_ok("openat O_CREAT|O_EXCL new", fd);
	check_long("write", write(fd, "hello world", 11), 11);
	check_err("openat O_CREAT|O_EXCL existing",
		  openat(dfd, "a", O_RDWR | O_CREAT | O_EXCL, 0666), EEXIST);
	check_str("read back", read_all(fd, buf, sizeof(buf)), "hello world");
	close(fd);

	fd = open("a", O_RDWR | O_APPEND);
	lseek(fd, 0, SEEK_SET);
	check_long("write with O_APPEND", write(fd, "+1", 2), 2);
	check_str("O_APPEND writes at the end", read_all(fd, buf, sizeof(buf)), "hello world+1");
	close(fd);

	fd = open("a", O_RDWR | O_TRUNC);
	check_long("O_TRUNC size", lseek(fd, 0, SEEK_END), 0);
	check_long("write", write(fd, "0123456789", 10), 10);
	close(fd);
}

static void test_seek(void)
{
	char buf[8192], zeros[8182] = { 0 };
	struct stat st;
	int fd = open("a", O_RDWR);

	check_long("lseek SEEK_END", lseek(fd, 0, SEEK_END), 10);
	check_long("lseek SEEK_SET", lseek(fd, 2, SEEK_SET), 2);
	check_long("read 3 at 2", read(fd, buf, 3), 3);
	buf[3] = '\0';
	check_str("  data", buf, "234");
	check_long("lseek SEEK_CUR", lseek(fd, 0, SEEK_CUR), 5);
	check_long("lseek SEEK_END -4", lseek(fd, -4, SEEK_END), 6);

	check_long("pwrite", pwrite(fd, "AB", 2, 4), 2);
	check_long("pread", pread(fd, buf, 4, 3), 4);
	buf[4] = '\0';
	check_str("pread data", buf, "3AB6");
	check_long("offset after pread/pwrite", lseek(fd, 0, SEEK_CUR), 6);

	check_long("lseek beyond EOF", lseek(fd, 8192, SEEK_SET), 8192);
	check_long("write at 8192", write(fd, "Z", 1), 1);
	fstat(fd, &st);
	check_long("size with hole", st.st_size, 8193);
	check_long("pread hole", pread(fd, buf, sizeof(zeros), 10), sizeof(zeros));
	check_true("hole reads zeros", !memcmp(buf, zeros, sizeof(zeros)));

	check_ok("ftruncate 5", ftruncate(fd, 5));
	check_str("  contents", read_all(fd, buf, sizeof(buf)), "0123A");
	check_ok("ftruncate 4096", ftruncate(fd, 4096));
	fstat(fd, &st);
	check_long("  size", st.st_size, 4096);
	buf[0] = 'x';
	check_long("  pread at 4095", pread(fd, buf, 1, 4095), 1);
	check_true("  extension reads zeros", buf[0] == 0);
	close(fd);
}

static void test_names(void)
{
	struct stat st;
	char buf[64];
	ssize_t n;
	int fd;

	check_ok("rename a b", rename("a", "b"));
	check_err("access old name", access("a", F_OK), ENOENT);
	check_ok("renameat b c", renameat(dfd, "b", dfd, "c"));
	check_ok("link c c2", link("c", "c2"));
	print_stat("stat c", stat("c", &st), &st);
	check_ok("unlink c2", unlink("c2"));
	print_stat("stat c", stat("c", &st), &st);

	check_ok("symlink", symlink("c", "sl"));
	n = readlink("sl", buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = '\0';
	check_str("readlink", buf, "c");
	n = readlinkat(dfd, "sl", buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = '\0';
	check_str("readlinkat", buf, "c");
	print_stat("lstat sl", lstat("sl", &st), &st);
	print_stat("stat sl", stat("sl", &st), &st);
	print_stat("fstatat sl nofollow", fstatat(dfd, "sl", &st, AT_SYMLINK_NOFOLLOW), &st);
	fd = open("sl", O_RDONLY);
	print_stat("fstat via sl", fstat(fd, &st), &st);
	close(fd);

	check_ok("mkdir dir 0750", mkdir("dir", 0750));
	print_stat("stat dir", stat("dir", &st), &st);
	check_ok("mkdirat dir2 0777", mkdirat(dfd, "dir2", 0777));
	print_stat("stat dir2", stat("dir2", &st), &st);
	check_ok("rmdir dir2", rmdir("dir2"));
	check_ok("unlinkat dir AT_REMOVEDIR", unlinkat(dfd, "dir", AT_REMOVEDIR));

	check_ok("access F_OK", access("c", F_OK));
	check_ok("access R_OK|W_OK", access("c", R_OK | W_OK));
	check_err("access X_OK on 0644", access("c", X_OK), EACCES);
	check_ok("faccessat R_OK", faccessat(dfd, "c", R_OK, 0));
	check_err("faccessat missing", faccessat(dfd, "missing", F_OK, 0), ENOENT);
}

static const char *type_name(unsigned char type)
{
	switch (type) {
	case DT_REG:
		return "reg";
	case DT_DIR:
		return "dir";
	case DT_LNK:
		return "lnk";
	default:
		return "other";
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Print "what: name(type) ..." sorted; frees the names. */
static void print_names(const char *what, char **names, int n)
{
	int i;

	qsort(names, n, sizeof(names[0]), cmp_str);
	printf("%s:", what);
	for (i = 0; i < n; i++) {
		printf(" %s", names[i]);
		free(names[i]);
	}
	printf("\n");
}

struct linux_dirent64_raw {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* A small buffer, so that listing takes several calls. */
static void list_getdents64(const char *path)
{
	union { char b[128]; unsigned long long align; } buf;
	struct linux_dirent64_raw *d;
	char *names[MAX_NAMES];
	int fd = open(path, O_RDONLY | O_DIRECTORY), n = 0;
	long len, pos;

	while ((len = syscall(SYS_getdents64, fd, buf.b, sizeof(buf.b))) > 0) {
		for (pos = 0; pos < len; pos += d->d_reclen) {
			d = (struct linux_dirent64_raw *)(buf.b + pos);
			if (n < MAX_NAMES && asprintf(&names[n], "%s(%s)", d->d_name,
						      type_name(d->d_type)) > 0)
				n++;
		}
	}
	check_long("getdents64 end", len, 0);
	print_names("getdents64", names, n);
	close(fd);
}

static void list_readdir(const char *path)
{
	char *names[MAX_NAMES];
	DIR *dir = opendir(path);
	struct dirent *d;
	int n = 0;

	if (!dir) {
		check_ok("opendir", -1);
		return;
	}
	while ((d = readdir(dir)))
		if (n < MAX_NAMES && asprintf(&names[n], "%s(%s)", d->d_name,
					      type_name(d->d_type)) > 0)
			n++;
	closedir(dir);
	print_names("readdir", names, n);
}

static void test_dirs(void)
{
	mkdir("list", 0755);
	close(open("list/f1", O_WRONLY | O_CREAT, 0644));
	close(open("list/f2", O_WRONLY | O_CREAT, 0644));
	mkdir("list/sub", 0755);
	check_quiet("symlink list/ln", symlink("f1", "list/ln"));
	list_getdents64("list");
	list_readdir("list");
}

static void print_cwd(const char *what, const char *want)
{
	char cwd[4096];
	size_t len = strlen(base);

	if (!getcwd(cwd, sizeof(cwd)))
		check_ok(what, -1);
	else if (strncmp(cwd, base, len))
		check_str(what, "outside the scratch dir", want);
	else
		check_str(what, cwd[len] ? cwd + len : "/", want);
}

static void test_cwd(void)
{
	check_ok("chdir list/sub", chdir("list/sub"));
	print_cwd("cwd", "/list/sub");
	check_ok("chdir ..", chdir(".."));
	print_cwd("cwd", "/list");
	check_ok("fchdir scratch", fchdir(dfd));
	print_cwd("cwd", "/");
}

static void clean_up(int orig_cwd, const char *scratch)
{
	check_ok("unlink c", unlink("c"));
	check_ok("unlinkat sl", unlinkat(dfd, "sl", 0));
	unlink("list/f1");
	unlink("list/f2");
	unlink("list/ln");
	rmdir("list/sub");
	check_ok("rmdir list", rmdir("list"));
	close(dfd);
	check_quiet("fchdir back", fchdir(orig_cwd));
	close(orig_cwd);
	check_ok("rmdir scratch", rmdir(scratch));
}

int main(int argc, char **argv)
{
	int orig_cwd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SCRATCH-DIR (created and removed)\n", argv[0]);
		return 2;
	}
	umask(022);
	orig_cwd = open(".", O_RDONLY | O_DIRECTORY);
	check_ok("mkdir scratch", mkdir(argv[1], 0755));
	check_ok("chdir scratch", chdir(argv[1]));
	dfd = open(".", O_RDONLY | O_DIRECTORY);
	if (orig_cwd < 0 || dfd < 0 || !getcwd(base, sizeof(base))) {
		perror("scratch dir");
		return 1;
	}

	test_open_flags();
	test_seek();
	test_names();
	test_dirs();
	test_cwd();
	clean_up(orig_cwd, argv[1]);
	return check_done();
}
