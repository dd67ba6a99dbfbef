// SPDX-License-Identifier: MIT
/*
 * RT-FIFOs from a program's side: ordinary open/read/write/poll of
 * /dev/rtf/NAME (in the realm; natively the path does not exist). Modes:
 *
 *   rtfifo samples N [nonblock]   write "1\n" .. "N\n" to /dev/rtf/samples,
 *                                 one every millisecond; print how many
 *                                 writes found it full ("# full K")
 *   rtfifo echo IN OUT            copy /dev/rtf/IN to /dev/rtf/OUT until end of file
 *   rtfifo pollmix NAME           poll /dev/rtf/NAME and stdin (a Linux fd) together
 *                                 until each has given one line; say which woke
 *   rtfifo full NAME              fill /dev/rtf/NAME without blocking: EAGAIN,
 *                                 not writable in poll, FIONREAD, EBADF for read
 *   rtfifo local                  one process writes and reads its own FIFO
 *   rtfifo fork                   FIFO ends across fork and execve: inherited,
 *                                 O_CLOEXEC ones closed at the exec, end of file
 *                                 only once the children's copies are gone too
 *   rtfifo pong                   at SCHED_FIFO 80, answer each byte of /dev/rtf/ping
 *                                 with one byte on /dev/rtf/pong (bench/fifo/run)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include "check.h"

static int open_fifo(const char *name, int flags)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/rtf/%s", name);
	fd = open(path, flags);
	if (fd < 0) {
		printf("open %s: %s\n", path, errno_name(errno));
		exit(1);
	}
	return fd;
}

static void next_period(struct timespec *t, long ns)
{
	t->tv_nsec += ns;
	while (t->tv_nsec >= 1000000000) {
		t->tv_nsec -= 1000000000;
		t->tv_sec++;
	}
}

static int do_samples(long n, int nonblock)
{
	int fd = open_fifo("samples", O_WRONLY | (nonblock ? O_NONBLOCK : 0));
	long full = 0, lost = 0;
	struct timespec t;
	char line[32];

	clock_gettime(CLOCK_MONOTONIC, &t);
	for (long i = 1; i <= n; i++) {
		int len = snprintf(line, sizeof(line), "%ld\n", i);
		ssize_t w;

		next_period(&t, 1000000);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
		while ((w = write(fd, line, (size_t)len)) < 0 && errno == EAGAIN) {
			full++;
			if (nonblock) {
				lost++;
				break;
			}
		}
		if (w >= 0 && w != len) {
			printf("short write: %zd of %d\n", w, len);
			return 1;
		}
		if (w < 0 && errno != EAGAIN) {
			printf("write: %s\n", errno_name(errno));
			return 1;
		}
	}
	close(fd);
	printf("# full %ld, lost %ld\n", full, lost);
	return 0;
}

static int do_echo(const char *in, const char *out)
{
	int rfd = open_fifo(in, O_RDONLY), wfd = open_fifo(out, O_WRONLY);
	char buf[4096];
	ssize_t n;
	long total = 0;

	while ((n = read(rfd, buf, sizeof(buf))) > 0) {
		if (write(wfd, buf, (size_t)n) != n) {
			printf("write: %s\n", errno_name(errno));
			return 1;
		}
		total += n;
	}
	if (n < 0) {
		printf("read: %s\n", errno_name(errno));
		return 1;
	}
	close(rfd);
	close(wfd);
	printf("# echoed %ld bytes\n", total);
	return 0;
}

/* Read one line (up to a newline) from fd, which poll said is readable. */
static void take_line(int fd, char *line, size_t len)
{
	size_t got = 0;
	ssize_t n = 0;

	while (got + 1 < len && (n = read(fd, line + got, 1)) == 1 && line[got] != '\n')
		got++;
	line[got] = '\0';
	if (n != 1)
		printf("read after %zu bytes: %s\n", got, n ? errno_name(errno) : "end of file");
}

static int do_pollmix(const char *name)
{
	struct pollfd fds[2] = { { .fd = open_fifo(name, O_RDONLY | O_NONBLOCK), .events = POLLIN },
				 { .fd = 0, .events = POLLIN } };
	bool seen[2] = { false, false };
	char line[64];

	printf("polling\n");
	fflush(stdout);
	while (!seen[0] || !seen[1]) {
		int n = poll(fds, 2, 20000);

		if (n <= 0) {
			printf("poll: %s\n", n ? errno_name(errno) : "timed out");
			return 1;
		}
		for (int i = 0; i < 2; i++) {
			if (!(fds[i].revents & POLLIN) || seen[i])
				continue;
			take_line(fds[i].fd, line, sizeof(line));
			printf("%s woke poll: %s\n", i ? "stdin" : "fifo", line);
			fflush(stdout);
			seen[i] = true;
			fds[i].events = 0;
		}
	}
	return 0;
}

static int do_full(const char *name)
{
	int fd = open_fifo(name, O_WRONLY | O_NONBLOCK);
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	char buf[1000];
	long total = 0;
	ssize_t n;
	int waiting = -1;

	memset(buf, 'x', sizeof(buf));
	while ((n = write(fd, buf, sizeof(buf))) > 0)
		total += n;
	check_err("write to a full FIFO", n, EAGAIN);
	printf("# %ld bytes fit\n", total);
	check_true("it held at least 4000 bytes", total >= 4000);
	check_long("poll for room", poll(&pfd, 1, 50), 0);
	check_err("read of a write-only fd", read(fd, buf, 1), EBADF);
	check_ok("FIONREAD", ioctl(fd, FIONREAD, &waiting));
	check_long("FIONREAD says", waiting, total);
	check_ok("close", close(fd));
	return check_done();
}

static int do_local(void)
{
	int w = open_fifo("local", O_WRONLY), r = open_fifo("local", O_RDONLY | O_NONBLOCK);
	char buf[16] = { 0 };
	int r2 = dup(r);

	check_err("read of an empty FIFO (O_NONBLOCK)", read(r, buf, sizeof(buf)), EAGAIN);
	check_long("write", write(w, "hello", 5), 5);
	check_long("read through a dup", read(r2, buf, sizeof(buf)), 5);
	check_str("the bytes", buf, "hello");
	check_ok("close the writer", close(w));
	check_long("end of file once every writer closed", read(r, buf, sizeof(buf)), 0);
	check_err("open /dev/rtf/ with a bad name", open("/dev/rtf/a b", O_RDONLY), ENOENT);
	check_err("open /dev/rtx", open("/dev/rtx", O_RDONLY), ENOENT);
	check_ok("close", close(r));
	check_ok("close the dup", close(r2));
	return check_done();
}

/* Wait for pid; whether it exited 0. */
static int child_ok(pid_t pid)
{
	int st;

	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The exec'd child of do_fork: w is still a writer, cx was O_CLOEXEC. */
static int do_fork_exec(int w, int cx)
{
	if (fcntl(cx, F_GETFD) != -1 || errno != EBADF)
		return 1;
	if (write(cx, "x", 1) != -1 || errno != EBADF)
		return 2;
	return write(w, "exec", 4) == 4 ? 0 : 3;
}

static int do_fork(void)
{
	char self[4096] = { 0 };
	int w = open_fifo("forked", O_WRONLY), r = open_fifo("forked", O_RDONLY | O_NONBLOCK);
	int cx = open_fifo("forked", O_WRONLY | O_CLOEXEC);
	char buf[16] = { 0 }, sw[16], scx[16], *argv[] = { "rtfifo", "forkexec", sw, scx, NULL };
	pid_t pid = fork();

	if (pid == 0)
		_exit(write(w, "child", 5) == 5 && !close(w) ? 0 : 1);
	check_true("the forked child wrote through the inherited fd", child_ok(pid));
	check_long("the parent reads it", read(r, buf, sizeof(buf)), 5);
	check_str("the bytes", buf, "child");
	check_err("the child's close left the parent a writer", read(r, buf, sizeof(buf)), EAGAIN);
	check_quiet("readlink /proc/self/exe", readlink("/proc/self/exe", self, sizeof(self) - 1));
	snprintf(sw, sizeof(sw), "%d", w);
	snprintf(scx, sizeof(scx), "%d", cx);
	pid = fork();
	if (pid == 0) {
		execv(self, argv);
		_exit(127);
	}
	check_true("after execve: the O_CLOEXEC fd is gone, the other writes", child_ok(pid));
	memset(buf, 0, sizeof(buf));
	check_long("the parent reads what the exec'd child wrote", read(r, buf, sizeof(buf)), 4);
	check_str("the bytes", buf, "exec");
	check_ok("close the writer", close(w));
	check_ok("close the other writer", close(cx));
	check_long("end of file: the children's copies went with them", read(r, buf, sizeof(buf)), 0);
	check_ok("close", close(r));
	return check_done();
}

static int do_pong(void)
{
	struct sched_param sp = { .sched_priority = 80 };
	int in = open_fifo("ping", O_RDONLY), out = open_fifo("pong", O_WRONLY);
	char c;

	if (sched_setscheduler(0, SCHED_FIFO, &sp))
		printf("sched_setscheduler: %s\n", errno_name(errno));
	while (read(in, &c, 1) == 1)
		if (write(out, &c, 1) != 1)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "samples"))
		return do_samples(atol(argv[2]), argc > 3 && !strcmp(argv[3], "nonblock"));
	if (argc == 4 && !strcmp(argv[1], "echo"))
		return do_echo(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "pollmix"))
		return do_pollmix(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "full"))
		return do_full(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "local"))
		return do_local();
	if (argc == 2 && !strcmp(argv[1], "pong"))
		return do_pong();
	if (argc == 2 && !strcmp(argv[1], "fork"))
		return do_fork();
	if (argc == 4 && !strcmp(argv[1], "forkexec"))
		return do_fork_exec(atoi(argv[2]), atoi(argv[3]));
	fprintf(stderr, "usage: rtfifo samples N [nonblock] | echo IN OUT | pollmix NAME | "
		"full NAME | local | fork | pong\n");
	return 64;
}
