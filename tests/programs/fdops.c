// SPDX-License-Identifier: MIT
/*
 * File descriptors within one process: lowest-free numbering and reuse,
 * dup/dup2/dup3, fcntl F_DUPFD(_CLOEXEC), F_GETFD/F_SETFD, F_GETFL/F_SETFL,
 * and pipe/pipe2 (EOF, EAGAIN, EPIPE). fd numbers are printed relative to
 * the first one this program opens, so inherited descriptors do not matter.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "check.h"

static int base;	/* the first fd we got: the lowest free one at start */

static const char *fd_name(int fd, char *buf, size_t size)
{
	if (fd < 0)
		snprintf(buf, size, "%s", errno_name(errno));
	else
		snprintf(buf, size, "first+%d", fd - base);
	return buf;
}

/* Print fd relative to base; a failure when it is not want. */
static void check_fd(const char *what, int fd, int want)
{
	char got[32], exp[32];

	check_str(what, fd_name(fd, got, sizeof(got)), fd_name(want, exp, sizeof(exp)));
}

/* Write text into wfd and read it back from rfd. */
static void check_through(const char *what, int wfd, int rfd, const char *text)
{
	char buf[64];
	ssize_t n;

	check_quiet("write", write(wfd, text, strlen(text)));
	n = read(rfd, buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = '\0';
	check_str(what, buf, text);
}

static const char *flags_name(int fl)
{
	static char buf[64];
	int acc = fl & O_ACCMODE;

	snprintf(buf, sizeof(buf), "%s%s%s",
		 acc == O_RDONLY ? "O_RDONLY" : acc == O_WRONLY ? "O_WRONLY" : "O_RDWR",
		 fl & O_APPEND ? "|O_APPEND" : "", fl & O_NONBLOCK ? "|O_NONBLOCK" : "");
	return buf;
}

static void test_numbers(void)
{
	int a, b, c;

	base = open("/dev/null", O_RDONLY);
	check_true("first fd above stdio", base >= 3);
	a = open("/dev/null", O_RDONLY);
	b = open("/dev/null", O_RDONLY);
	check_fd("second open", a, base + 1);
	check_fd("third open", b, base + 2);
	close(a);
	c = open("/dev/null", O_RDONLY);
	check_fd("open after close(first+1)", c, base + 1);
	close(c);
	check_fd("dup(first) after close(first+1)", dup(base), base + 1);
	close(base + 1);
	close(b);
}

static void test_dup(void)
{
	int p[2], x, y;

	check_quiet("pipe", pipe(p));
	check_fd("pipe read end", p[0], base + 1);
	check_fd("pipe write end", p[1], base + 2);
	x = open("/dev/null", O_RDWR);
	check_fd("next open", x, base + 3);
	y = dup(p[1]);
	check_fd("dup", y, base + 4);
	check_through("write via dup", y, p[0], "dup");
	check_fd("dup2 onto an open fd", dup2(p[1], x), x);
	check_through("write via dup2", x, p[0], "dup2");
	check_fd("dup2 onto itself", dup2(x, x), x);
	check_fd("dup3 O_CLOEXEC", dup3(p[1], y, O_CLOEXEC), y);
	check_long("  F_GETFD", fcntl(y, F_GETFD), FD_CLOEXEC);
	check_through("write via dup3", y, p[0], "dup3");
	check_long("dup2 from a cloexec fd, F_GETFD", fcntl(dup2(y, x), F_GETFD), 0);
	check_err("dup3 oldfd == newfd", dup3(y, y, 0), EINVAL);

	check_true("F_DUPFD 100 >= 100", (x = fcntl(p[1], F_DUPFD, 100)) >= 100);
	check_long("  F_GETFD", fcntl(x, F_GETFD), 0);
	check_through("write via F_DUPFD", x, p[0], "dupfd");
	close(x);
	check_true("F_DUPFD_CLOEXEC 200 >= 200", (x = fcntl(p[1], F_DUPFD_CLOEXEC, 200)) >= 200);
	check_long("  F_GETFD", fcntl(x, F_GETFD), FD_CLOEXEC);
	check_ok("F_SETFD 0", fcntl(x, F_SETFD, 0));
	check_long("  F_GETFD", fcntl(x, F_GETFD), 0);
	check_ok("F_SETFD FD_CLOEXEC", fcntl(x, F_SETFD, FD_CLOEXEC));
	check_long("  F_GETFD", fcntl(x, F_GETFD), FD_CLOEXEC);
	close(x);
	close(y);
	close(p[0]);
	close(p[1]);
	close(base + 3);
}

static void test_flags(void)
{
	int fd = open("/dev/null", O_RDWR), p[2];

	check_str("F_GETFL /dev/null", flags_name(fcntl(fd, F_GETFL)), "O_RDWR");
	check_ok("F_SETFL O_APPEND", fcntl(fd, F_SETFL, O_APPEND));
	check_str("F_GETFL", flags_name(fcntl(fd, F_GETFL)), "O_RDWR|O_APPEND");
	close(fd);

	check_quiet("pipe", pipe(p));
	check_str("F_GETFL pipe read end", flags_name(fcntl(p[0], F_GETFL)), "O_RDONLY");
	check_str("F_GETFL pipe write end", flags_name(fcntl(p[1], F_GETFL)), "O_WRONLY");
	check_long("pipe F_GETFD", fcntl(p[0], F_GETFD), 0);
	check_ok("F_SETFL O_NONBLOCK", fcntl(p[0], F_SETFL, O_NONBLOCK));
	check_str("F_GETFL", flags_name(fcntl(p[0], F_GETFL)), "O_RDONLY|O_NONBLOCK");
	check_err("read empty O_NONBLOCK pipe", read(p[0], &fd, 1), EAGAIN);
	check_ok("F_SETFL 0", fcntl(p[0], F_SETFL, 0));
	check_str("F_GETFL", flags_name(fcntl(p[0], F_GETFL)), "O_RDONLY");
	close(p[0]);
	close(p[1]);
}

static void test_pipes(void)
{
	char buf[16];
	int p[2];

	check_ok("pipe", pipe(p));
	check_through("pipe read back", p[1], p[0], "hello");
	close(p[1]);
	check_long("read after writer closed (EOF)", read(p[0], buf, sizeof(buf)), 0);
	close(p[0]);

	check_ok("pipe2 O_NONBLOCK|O_CLOEXEC", pipe2(p, O_NONBLOCK | O_CLOEXEC));
	check_long("  read end F_GETFD", fcntl(p[0], F_GETFD), FD_CLOEXEC);
	check_long("  write end F_GETFD", fcntl(p[1], F_GETFD), FD_CLOEXEC);
	check_str("  read end F_GETFL", flags_name(fcntl(p[0], F_GETFL)), "O_RDONLY|O_NONBLOCK");
	check_err("read empty pipe2 pipe", read(p[0], buf, sizeof(buf)), EAGAIN);
	check_through("pipe2 read back", p[1], p[0], "world");
	close(p[0]);
	check_err("write with read end closed", write(p[1], "x", 1), EPIPE);
	close(p[1]);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_numbers();
	test_dup();
	test_flags();
	test_pipes();
	close(base);
	check_fd("open after closing everything", open("/dev/null", O_RDONLY), base);
	return check_done();
}
