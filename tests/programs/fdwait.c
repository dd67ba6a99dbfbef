// SPDX-License-Identifier: MIT
/*
 * Waiting on sets that mix a timerfd and a pipe, as event loops do (Emacs
 * keeps its timers in a timerfd inside pselect6): poll, select, pselect6
 * (with its signal mask) and epoll (level- and edge-triggered). Each one sees the timer fire, the pipe
 * become readable (written by a thread meanwhile), both at once, a
 * timeout, and a bad fd. Times are only checked loosely (not early, not
 * seconds late); nothing printed depends on them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

#define MS 1000000LL

enum { TIMER = 1, PIPE = 2 };	/* which fds a wait said are ready (a bit each) */

static int tfd, pfd[2], epfd;
static volatile sig_atomic_t usr1;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void timer_in(long long ns)
{
	struct itimerspec its = { .it_value = { ns / 1000000000, ns % 1000000000 } };

	timerfd_settime(tfd, 0, &its, NULL);
}

/* Disarm the timer and empty both fds. */
static void reset(void)
{
	uint64_t n;
	char buf[16];

	timer_in(0);
	while (read(tfd, &n, sizeof(n)) > 0)
		;
	while (read(pfd[0], buf, sizeof(buf)) > 0)
		;
}

static void *write_later(void *arg)
{
	struct timespec ts = { 0, (long)(intptr_t)arg };

	nanosleep(&ts, NULL);
	if (write(pfd[1], "x", 1) != 1)
		perror("write");
	return NULL;
}

static void *kill_later(void *arg)
{
	struct timespec ts = { 0, 30 * MS };
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	nanosleep(&ts, NULL);
	kill(getpid(), SIGUSR1);
	return arg;
}

/* A wait on the timerfd and the pipe's read end: ready bits (TIMER, PIPE), or -1 with errno. */
typedef int (*wait_fn)(int timeout_ms);

static int wait_poll(int timeout_ms)
{
	struct pollfd fds[2] = { { .fd = tfd, .events = POLLIN }, { .fd = pfd[0], .events = POLLIN } };
	int n = poll(fds, 2, timeout_ms), bits;

	if (n < 0)
		return -1;
	bits = (fds[0].revents & POLLIN ? TIMER : 0) | (fds[1].revents & POLLIN ? PIPE : 0);
	return n == __builtin_popcount(bits) ? bits : 100 + n;
}

/* The sets of a select: read set with both fds; the answer in ready bits. */
static int select_bits(int n, fd_set *rd)
{
	int bits;

	if (n < 0)
		return -1;
	bits = (FD_ISSET(tfd, rd) ? TIMER : 0) | (FD_ISSET(pfd[0], rd) ? PIPE : 0);
	return n == __builtin_popcount(bits) ? bits : 100 + n;
}

static int wait_select(int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, timeout_ms % 1000 * 1000 };
	fd_set rd;

	FD_ZERO(&rd);
	FD_SET(tfd, &rd);
	FD_SET(pfd[0], &rd);
	return select_bits(select((tfd > pfd[0] ? tfd : pfd[0]) + 1, &rd, NULL, NULL, &tv), &rd);
}

static const sigset_t *pselect_mask;

static int wait_pselect(int timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, timeout_ms % 1000 * MS };
	fd_set rd;

	FD_ZERO(&rd);
	FD_SET(tfd, &rd);
	FD_SET(pfd[0], &rd);
	return select_bits(pselect((tfd > pfd[0] ? tfd : pfd[0]) + 1, &rd, NULL, NULL, &ts,
				   pselect_mask), &rd);
}

static int wait_epoll(int timeout_ms)
{
	struct epoll_event ev[4];
	int n = epoll_wait(epfd, ev, 4, timeout_ms), bits = 0;

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++)
		bits |= ev[i].data.u32;
	return n == __builtin_popcount(bits) ? bits : 100 + n;
}

static void check_bits(const char *what, int got, int want)
{
	char buf[64];

	if (got < 0)
		snprintf(buf, sizeof(buf), "%s", errno_name(errno));
	else if (got >= 100)
		snprintf(buf, sizeof(buf), "count %d disagrees with the fds", got - 100);
	else
		snprintf(buf, sizeof(buf), "%s%s%s", got & TIMER ? "timerfd" : "",
			 got == (TIMER | PIPE) ? " and " : "", got & PIPE ? "pipe" : got ? "" : "none");
	check_str(what, buf, want == (TIMER | PIPE) ? "timerfd and pipe" : want == TIMER ? "timerfd" :
		  want == PIPE ? "pipe" : "none");
}

static void run_cases(const char *name, wait_fn wait)
{
	char what[96];
	pthread_t t;
	long long start;
	int got;

	reset();
	timer_in(30 * MS);
	start = now_ns();
	got = wait(5000);
	snprintf(what, sizeof(what), "%s: the timer fires", name);
	check_bits(what, got, TIMER);
	check_true("  not early", now_ns() - start >= 25 * MS);

	reset();
	timer_in(10000 * MS);
	pthread_create(&t, NULL, write_later, (void *)(intptr_t)(30 * MS));
	got = wait(5000);
	pthread_join(t, NULL);
	snprintf(what, sizeof(what), "%s: a thread writes the pipe", name);
	check_bits(what, got, PIPE);

	reset();
	timer_in(1);
	check_long("  pipe written", write(pfd[1], "y", 1), 1);
	usleep(10000);
	snprintf(what, sizeof(what), "%s: both ready", name);
	check_bits(what, wait(5000), TIMER | PIPE);

	reset();
	start = now_ns();
	snprintf(what, sizeof(what), "%s: times out", name);
	check_bits(what, wait(30), 0);
	check_true("  not early, not seconds late", now_ns() - start >= 25 * MS &&
		   now_ns() - start < 3000 * MS);

	reset();
	timer_in(1);
	usleep(5000);
	snprintf(what, sizeof(what), "%s: zero timeout, the timer expired", name);
	check_bits(what, wait(0), TIMER);
	reset();
}

/* The system call itself (musl's select() passes a copy of the timeout, glibc's the caller's). */
static long sys_select(int n, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	return syscall(SYS_select, n, rd, wr, ex, tv);
}

/* select's own answers: the time left written back, a bad fd, RT fd beyond nfds. */
static void test_select_details(void)
{
	struct timeval tv = { 0, 30000 };
	fd_set rd, wr;
	int maxfd = (tfd > pfd[0] ? tfd : pfd[0]) + 1;

	reset();
	FD_ZERO(&rd);
	FD_SET(tfd, &rd);
	FD_SET(pfd[0], &rd);
	check_long("select times out", sys_select(maxfd, &rd, NULL, NULL, &tv), 0);
	check_true("  the sets come back empty", !FD_ISSET(tfd, &rd) && !FD_ISSET(pfd[0], &rd));
	check_true("  the time left is written back: 0", tv.tv_sec == 0 && tv.tv_usec == 0);

	timer_in(20 * MS);
	tv = (struct timeval){ 5, 0 };
	FD_ZERO(&rd);
	FD_SET(tfd, &rd);
	FD_SET(pfd[0], &rd);
	check_long("select: the timer fires", sys_select(maxfd, &rd, NULL, NULL, &tv), 1);
	check_true("  the time left is less than given, more than 4 s",
		   tv.tv_sec == 4 && tv.tv_usec > 0);

	reset();
	FD_ZERO(&rd);
	FD_SET(tfd, &rd);
	FD_SET(pfd[0], &rd);
	FD_SET(200, &rd);
	tv = (struct timeval){ 0, 10000 };
	check_err("select with a closed fd among them", select(201, &rd, NULL, NULL, &tv), EBADF);
	check_true("  the sets are left as given", FD_ISSET(tfd, &rd) && FD_ISSET(pfd[0], &rd) &&
		   FD_ISSET(200, &rd));

	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_SET(tfd, &rd);
	FD_SET(tfd, &wr);
	FD_SET(pfd[1], &wr);
	tv = (struct timeval){ 1, 0 };
	check_long("select: a timerfd is never writable, a pipe is", select(maxfd + 1, &rd, &wr, NULL, &tv),
		   1);
	check_true("  only the pipe's write end", !FD_ISSET(tfd, &rd) && !FD_ISSET(tfd, &wr) &&
		   FD_ISSET(pfd[1], &wr));

	timer_in(1);
	usleep(5000);
	FD_ZERO(&rd);
	FD_SET(tfd, &rd);
	check_long("select of the timerfd alone, expired", select(tfd + 1, &rd, NULL, NULL, NULL), 1);
	FD_ZERO(&rd);
	FD_SET(pfd[0], &rd);
	FD_SET(tfd, &rd);
	tv = (struct timeval){ 0, 20000 };
	check_long("select with nfds short of the timerfd: only the pipe looked at",
		   select(tfd, &rd, NULL, NULL, &tv), 0);
	reset();
}

/* epoll_ctl's answers for an RT fd, EPOLLONESHOT, and epoll_pwait's mask. */
static void test_epoll_details(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TIMER }, out[2];
	sigset_t none;

	check_err("epoll_ctl ADD the timerfd again", epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev), EEXIST);
	check_err("epoll_ctl MOD of an fd not in the set", epoll_ctl(epfd, EPOLL_CTL_MOD, pfd[1], &ev),
		  ENOENT);
	check_err("epoll_ctl ADD to a non-epoll fd", epoll_ctl(pfd[0], EPOLL_CTL_ADD, tfd, &ev), EINVAL);
	ev.events = EPOLLIN | EPOLLONESHOT;
	check_ok("epoll_ctl MOD the timerfd EPOLLONESHOT", epoll_ctl(epfd, EPOLL_CTL_MOD, tfd, &ev));
	reset();
	timer_in(1);
	usleep(5000);
	check_bits("epoll_wait: the one-shot timerfd fires", wait_epoll(1000), TIMER);
	check_bits("epoll_wait: not again until MOD", wait_epoll(30), 0);
	ev.events = EPOLLIN;
	check_ok("epoll_ctl MOD it back", epoll_ctl(epfd, EPOLL_CTL_MOD, tfd, &ev));
	sigemptyset(&none);
	check_long("epoll_pwait: it fires again", epoll_pwait(epfd, out, 2, 1000, &none), 1);
	check_ok("epoll_ctl DEL the timerfd", epoll_ctl(epfd, EPOLL_CTL_DEL, tfd, NULL));
	check_bits("epoll_wait: only the pipe is in the set now", wait_epoll(30), 0);
	check_err("epoll_ctl DEL it again", epoll_ctl(epfd, EPOLL_CTL_DEL, tfd, NULL), ENOENT);
	ev.events = EPOLLIN;
	check_ok("epoll_ctl ADD it back", epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev));
	reset();
}

/*
 * EPOLLET on the timerfd: reported once, not again while it stays unread (a
 * Linux timerfd wakes its waiters once, and a periodic one re-arms only when
 * read), again at the next expiry after a read or a MOD.
 */
static void test_epoll_edge(void)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = TIMER };
	struct itimerspec every_30ms = { .it_interval = { 0, 30 * MS }, .it_value = { 0, 30 * MS } };
	uint64_t ticks;

	check_ok("epoll_ctl MOD the timerfd EPOLLET", epoll_ctl(epfd, EPOLL_CTL_MOD, tfd, &ev));
	reset();
	timer_in(1);
	usleep(5000);
	check_bits("epoll_wait, EPOLLET: the expired timerfd, once", wait_epoll(1000), TIMER);
	check_bits("epoll_wait, EPOLLET: not again while unread", wait_epoll(50), 0);
	check_ok("epoll_ctl MOD it EPOLLET again", epoll_ctl(epfd, EPOLL_CTL_MOD, tfd, &ev));
	check_bits("epoll_wait, EPOLLET: once more after MOD", wait_epoll(1000), TIMER);
	reset();
	timerfd_settime(tfd, 0, &every_30ms, NULL);
	check_bits("epoll_wait, EPOLLET: a periodic timer's expiry", wait_epoll(1000), TIMER);
	check_bits("epoll_wait, EPOLLET: no more while unread", wait_epoll(100), 0);
	check_true("read of the periodic timerfd", read(tfd, &ticks, sizeof(ticks)) == sizeof(ticks));
	check_bits("epoll_wait, EPOLLET: its next expiry after the read", wait_epoll(1000), TIMER);
	reset();
	ev.events = EPOLLIN;
	check_ok("epoll_ctl MOD it back to level-triggered", epoll_ctl(epfd, EPOLL_CTL_MOD, tfd, &ev));
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1++;
}

/* pselect6's mask: in force during the wait only, a signal it lets through ends the wait. */
static void test_pselect_mask(void)
{
	sigset_t blocked, open_mask, now;
	pthread_t t;

	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR1);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
	sigemptyset(&open_mask);
	signal(SIGUSR1, on_usr1);

	reset();
	timer_in(10000 * MS);
	raise(SIGUSR1);
	pselect_mask = &open_mask;
	check_err("pselect: a pending signal its mask lets through", wait_pselect(5000) < 0 ? -1 : 0,
		  EINTR);
	check_true("  the handler ran once", usr1 == 1);
	sigprocmask(SIG_BLOCK, NULL, &now);
	check_true("  the old mask is back", sigismember(&now, SIGUSR1));

	pthread_create(&t, NULL, kill_later, NULL);
	check_err("pselect: a signal comes during the wait", wait_pselect(5000) < 0 ? -1 : 0, EINTR);
	pthread_join(t, NULL);
	check_true("  the handler ran", usr1 == 2);
	sigprocmask(SIG_BLOCK, NULL, &now);
	check_true("  the old mask is back", sigismember(&now, SIGUSR1));

	raise(SIGUSR1);
	pselect_mask = &blocked;
	timer_in(20 * MS);
	check_bits("pselect: a mask that blocks it, the timer fires", wait_pselect(5000), TIMER);
	check_true("  the signal stays pending", usr1 == 2);
	sigprocmask(SIG_UNBLOCK, &blocked, NULL);
	check_true("  and runs once unblocked", usr1 == 3);
	pselect_mask = NULL;
	reset();
}

int main(void)
{
	struct epoll_event ev = { .events = EPOLLIN };

	check_quiet("pipe2", pipe2(pfd, O_NONBLOCK | O_CLOEXEC));
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);	/* above the pipe's fds */
	check_quiet("timerfd_create", tfd);
	run_cases("poll", wait_poll);
	run_cases("select", wait_select);
	run_cases("pselect", wait_pselect);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	check_quiet("epoll_create1", epfd);
	ev.data.u32 = TIMER;
	check_ok("epoll_ctl ADD the timerfd", epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev));
	ev.data.u32 = PIPE;
	check_ok("epoll_ctl ADD the pipe", epoll_ctl(epfd, EPOLL_CTL_ADD, pfd[0], &ev));
	run_cases("epoll_wait", wait_epoll);
	test_epoll_details();
	test_epoll_edge();
	test_select_details();
	test_pselect_mask();
	return check_done();
}
