// SPDX-License-Identifier: MIT
/*
 * Job control: a child stopped by SIGSTOP and by SIGTSTP (its default
 * action), continued by SIGCONT, as its parent sees it (waitpid with
 * WUNTRACED and WCONTINUED, waitid with WSTOPPED and WCONTINUED, SIGCHLD's
 * CLD_STOPPED and CLD_CONTINUED, SA_NOCLDSTOP); a SIGTSTP handler instead of
 * a stop; a SIGCONT handler; a process that stops itself; a sleep that a
 * stop does not cut short; SIGKILL of a stopped child. The children measure
 * the longest time between two turns of their threads' loops: a stopped
 * process's threads must not run at all. Each child has a process group
 * of its own, which is not orphaned (its parent is in another group of the
 * session), so that Linux does not discard SIGTSTP and SIGTTIN as it does
 * for orphaned groups. Run natively and in the realm; the output must match.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "check.h"

#define STOP_MS		600	/* how long a child stays stopped */
#define GAP_MIN_MS	400	/* the least gap that shows a thread did not run meanwhile */
#define LOOP_THREADS	2

static volatile sig_atomic_t chld_stopped, chld_continued, conts, tstps;
static int ready[2];		/* child to parent: "my loops run" */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_code == CLD_STOPPED)
		chld_stopped = si->si_status;
	else if (si->si_code == CLD_CONTINUED)
		chld_continued = si->si_status;
}

static void on_cont(int sig)
{
	(void)sig;
	conts++;
}

static void on_tstp(int sig)
{
	(void)sig;
	tstps++;
}

static void set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa = { .sa_handler = fn, .sa_flags = SA_RESTART };

	sigaction(sig, &sa, NULL);
}

static void set_chld_handler(int flags)
{
	struct sigaction sa = { .sa_sigaction = on_chld, .sa_flags = SA_SIGINFO | SA_RESTART | flags };

	sigaction(SIGCHLD, &sa, NULL);
}

/* A loop that turns every millisecond until the time is up; the longest gap, in ms. */
static void *loop_gap(void *arg)
{
	uint64_t end = now_ms() + (uint64_t)(uintptr_t)arg, last = now_ms(), gap = 0;

	if (write(ready[1], "r", 1) != 1)	/* this loop runs */
		_exit(99);
	while (last < end) {
		uint64_t t;

		sleep_ms(1);
		t = now_ms();
		if (t - last > gap)
			gap = t - last;
		last = t;
	}
	return (void *)(uintptr_t)gap;
}

/*
 * The child: LOOP_THREADS threads loop for ms; exit status: 1 if every
 * thread saw a gap of GAP_MIN_MS or more, 0 if not, plus 10 per SIGCONT
 * handled and 100 per SIGTSTP handled.
 */
static _Noreturn void child_loops(long ms)
{
	pthread_t t[LOOP_THREADS];
	int all_stopped = 1;

	for (int i = 0; i < LOOP_THREADS; i++)
		pthread_create(&t[i], NULL, loop_gap, (void *)(uintptr_t)ms);
	for (int i = 0; i < LOOP_THREADS; i++) {
		void *gap;

		pthread_join(t[i], &gap);
		all_stopped &= (uintptr_t)gap >= GAP_MIN_MS;
	}
	_exit(all_stopped + 10 * conts + 100 * tstps);
}

/* A child running child_loops(ms) (with handlers as set before), once its loops run. */
static pid_t start_child(long ms)
{
	char c[LOOP_THREADS];
	pid_t pid;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		child_loops(ms);
	}
	setpgid(pid, pid);
	close(ready[1]);
	for (int i = 0; i < LOOP_THREADS; i++)
		if (read(ready[0], c, 1) != 1)
			printf("the child did not start\n");
	close(ready[0]);
	return pid;
}

static void check_exit(const char *what, pid_t pid, int want)
{
	int st = 0;

	check_long(what, waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -st, want);
}

/* Stop with sig, as waitpid (WUNTRACED, WCONTINUED) and SIGCHLD tell; then continue. */
static void stop_and_continue_waitpid(int sig, const char *name)
{
	char what[128];
	int st = 0;
	pid_t pid;

	chld_stopped = chld_continued = 0;
	pid = start_child(STOP_MS + 300);
	kill(pid, sig);
	snprintf(what, sizeof(what), "%s: waitpid WUNTRACED says stopped by %s", name, name);
	check_true(what, waitpid(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == sig);
	snprintf(what, sizeof(what), "%s: SIGCHLD CLD_STOPPED, status %s", name, name);
	for (int i = 0; i < 100 && !chld_stopped; i++)
		sleep_ms(5);
	check_true(what, chld_stopped == sig);
	sleep_ms(STOP_MS);
	kill(pid, SIGCONT);
	snprintf(what, sizeof(what), "%s: waitpid WCONTINUED says continued", name);
	check_true(what, waitpid(pid, &st, WCONTINUED) == pid && WIFCONTINUED(st));
	for (int i = 0; i < 100 && !chld_continued; i++)
		sleep_ms(5);
	snprintf(what, sizeof(what), "%s: SIGCHLD CLD_CONTINUED", name);
	check_true(what, chld_continued == SIGCONT);
	snprintf(what, sizeof(what), "%s: no thread ran while stopped; SIGCONT handled once", name);
	check_exit(what, pid, 11);
}

/* The same seen through waitid (WSTOPPED, WCONTINUED), without SIGCHLD for either (SA_NOCLDSTOP). */
static void stop_and_continue_waitid(void)
{
	siginfo_t si;
	pid_t pid;

	chld_stopped = chld_continued = 0;
	set_chld_handler(SA_NOCLDSTOP);
	pid = start_child(STOP_MS + 300);
	kill(pid, SIGTSTP);
	memset(&si, 0, sizeof(si));
	check_true("waitid WSTOPPED: CLD_STOPPED by SIGTSTP",
		   !waitid(P_PID, (id_t)pid, &si, WSTOPPED) && si.si_code == CLD_STOPPED &&
		   si.si_status == SIGTSTP && si.si_pid == pid);
	sleep_ms(STOP_MS);
	kill(pid, SIGCONT);
	memset(&si, 0, sizeof(si));
	check_true("waitid WCONTINUED: CLD_CONTINUED",
		   !waitid(P_PID, (id_t)pid, &si, WCONTINUED) && si.si_code == CLD_CONTINUED &&
		   si.si_status == SIGCONT);
	sleep_ms(50);
	check_true("SA_NOCLDSTOP: no SIGCHLD for the stop nor the continuation",
		   !chld_stopped && !chld_continued);
	check_exit("waitid: no thread ran while stopped; SIGCONT handled once", pid, 11);
	set_chld_handler(0);
}

/* A SIGTSTP handler runs instead of the stop. */
static void tstp_handler_instead(void)
{
	int st = 0;
	pid_t pid;

	set_handler(SIGTSTP, on_tstp);
	pid = start_child(300);
	set_handler(SIGTSTP, SIG_DFL);
	kill(pid, SIGTSTP);
	sleep_ms(100);
	check_long("SIGTSTP with a handler: waitpid WUNTRACED|WNOHANG", waitpid(pid, &st, WUNTRACED | WNOHANG),
		   0);
	check_exit("SIGTSTP with a handler: handled, the threads never stopped", pid, 100);
}

/* A process that stops itself (raise) with sig; its parent continues it. */
static void stops_itself(int sig, const char *what)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		setpgid(0, 0);
		raise(sig);
		_exit(conts == 1 ? 0 : 1);
	}
	check_true(what, waitpid(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == sig);
	kill(pid, SIGCONT);
	check_exit("... and goes on once continued", pid, 0);
}

/* A sleep across a stop ends when it would have, without EINTR. */
static void sleep_across_a_stop(void)
{
	int st = 0;
	pid_t pid;

	if (pipe(ready))
		return;
	pid = fork();
	if (pid == 0) {
		struct timespec ts = { 0, 400 * 1000000 };
		uint64_t start = now_ms();
		int ret;

		close(ready[0]);
		signal(SIGCONT, SIG_DFL);	/* a handler would cut the sleep short (EINTR) */
		if (write(ready[1], "r", 1) != 1)
			_exit(99);
		ret = nanosleep(&ts, NULL);
		_exit(ret ? 2 : now_ms() - start < 390 ? 3 : 0);
	}
	close(ready[1]);
	if (read(ready[0], &st, 1) != 1)
		printf("the child did not start\n");
	close(ready[0]);
	sleep_ms(50);
	kill(pid, SIGSTOP);
	waitpid(pid, &st, WUNTRACED);
	sleep_ms(100);
	kill(pid, SIGCONT);
	check_exit("nanosleep across a stop: returns 0 at its time", pid, 0);
}

static void kill_a_stopped_child(void)
{
	int st = 0;
	pid_t pid = start_child(5000);

	kill(pid, SIGSTOP);
	waitpid(pid, &st, WUNTRACED);
	kill(pid, SIGKILL);
	check_true("SIGKILL ends a stopped child",
		   waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	set_chld_handler(0);
	set_handler(SIGCONT, on_cont);
	stop_and_continue_waitpid(SIGSTOP, "SIGSTOP");
	stop_and_continue_waitpid(SIGTSTP, "SIGTSTP");
	stop_and_continue_waitpid(SIGTTIN, "SIGTTIN");
	stop_and_continue_waitid();
	tstp_handler_instead();
	stops_itself(SIGSTOP, "raise(SIGSTOP): the parent sees it stopped");
	stops_itself(SIGTSTP, "raise(SIGTSTP): the parent sees it stopped");
	sleep_across_a_stop();
	kill_a_stopped_child();
	return check_done();
}
