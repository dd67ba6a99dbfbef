// SPDX-License-Identifier: MIT
/*
 * Terminal job control: a background process group that reads its
 * controlling terminal is stopped by SIGTTIN, one that writes to it with
 * TOSTOP set (or changes its settings) by SIGTTOU, unless the signal is
 * ignored or blocked: then the read fails with EIO and the write goes
 * through. A SIGTTIN handler without SA_RESTART runs once and the read
 * fails with EINTR. Once the shell (here: the session leader) puts the
 * stopped job in the foreground and continues it, its call goes through.
 *
 * The program makes its own terminal (a pty) and session, so it needs
 * neither a terminal nor a shell: a child becomes the session leader with
 * the pty as its controlling terminal, ignores SIGTTOU as shells do, and
 * runs each case in a grandchild of a process group of its own (not
 * orphaned: the leader is in another group of the session). Run natively
 * and in the realm; the output must match.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include "check.h"

#define CASE_TIMEOUT_S	20	/* a case that hangs fails (SIGALRM) instead of blocking the test */

enum disposition { DFL, IGNORED, BLOCKED, HANDLED };
enum op { OP_READ, OP_WRITE, OP_TCSETATTR };

static int master, tty;		/* the pty's two ends; tty is the session's controlling terminal */
static volatile sig_atomic_t handled;

static void on_signal(int sig)
{
	(void)sig;
	handled++;
}

/* In the case's child: give sig the disposition d. */
static void child_set(int sig, enum disposition d)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t set;

	if (d == IGNORED)
		sa.sa_handler = SIG_IGN;
	if (d == HANDLED)
		sa.sa_handler = on_signal;	/* no SA_RESTART */
	sigaction(sig, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(d == BLOCKED ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

/* In the case's child: the call, its result written to out as text. */
static _Noreturn void child_run(enum op op, int out)
{
	char buf[64], res[128];
	struct termios t;
	ssize_t n = -1;
	int len;

	if (op == OP_READ)
		n = read(tty, buf, sizeof(buf) - 1);
	else if (op == OP_WRITE)
		n = write(tty, "hello\n", 6);
	else if (!tcgetattr(tty, &t))
		n = tcsetattr(tty, TCSANOW, &t);
	if (n < 0)
		len = snprintf(res, sizeof(res), "%s", errno_name(errno));
	else if (op == OP_READ)
		len = snprintf(res, sizeof(res), "%zd bytes \"%.*s\"", n, (int)(n > 0 ? n - 1 : 0), buf);
	else
		len = snprintf(res, sizeof(res), "%zd", n);
	if (handled)
		len += snprintf(res + len, sizeof(res) - (size_t)len, ", the handler ran %d time(s)",
				(int)handled);
	if (write(out, res, (size_t)len) != len)
		_exit(2);
	_exit(0);
}

/* What the terminal's other end got from the case's child (up to 1 s), or "nothing". */
static void master_take(char *got, size_t size)
{
	struct pollfd pfd = { .fd = master, .events = POLLIN };
	ssize_t n = 0;

	if (poll(&pfd, 1, 1000) == 1)
		n = read(master, got, size - 1);
	got[n > 0 ? n : 0] = '\0';
	if (n <= 0)
		snprintf(got, size, "nothing");
	else if (got[n - 1] == '\n')
		got[n - 1] = '\0';
}

static const char *sig_name(int sig)
{
	static char buf[32];

	switch (sig) {
	case 0: return "nothing";
	case SIGTTIN: return "SIGTTIN";
	case SIGTTOU: return "SIGTTOU";
	case SIGALRM: return "SIGALRM";
	case SIGKILL: return "SIGKILL";
	default:
		snprintf(buf, sizeof(buf), "signal %d", sig);
		return buf;
	}
}

/*
 * One case: a child in a background group of its own does op with sig at
 * disposition d; Linux stops it with want_stop (0: it does not stop) and
 * the call's result is want. If it stops, bring it to the foreground (with
 * a line of input for a read), continue it, and take the terminal back.
 */
static void run_case(const char *what, enum op op, int sig, enum disposition d, int want_stop,
		     const char *want)
{
	char line[160], res[128] = "";
	int out[2], st = 0;
	ssize_t n;
	pid_t pid;

	fflush(stdout);
	if (pipe(out))
		return check_quiet("pipe", -1);
	pid = fork();
	if (pid == 0) {
		close(out[0]);
		setpgid(0, 0);
		alarm(CASE_TIMEOUT_S);
		child_set(sig, d);
		child_run(op, out[1]);
	}
	close(out[1]);
	setpgid(pid, pid);
	if (waitpid(pid, &st, WUNTRACED) != pid)
		return check_quiet("waitpid", -1);
	snprintf(line, sizeof(line), "%s: stopped by", what);
	check_str(line, sig_name(WIFSTOPPED(st) ? WSTOPSIG(st) : 0), sig_name(want_stop));
	if (WIFSTOPPED(st)) {
		check_quiet("tcsetpgrp (the job to the foreground)", tcsetpgrp(tty, pid));
		if (op == OP_READ && write(master, "input\n", 6) != 6)
			check_quiet("write to the pty", -1);
		kill(pid, SIGCONT);
		waitpid(pid, &st, 0);
		check_quiet("tcsetpgrp (back)", tcsetpgrp(tty, getpid()));
	}
	n = read(out[0], res, sizeof(res) - 1);
	res[n > 0 ? n : 0] = '\0';
	close(out[0]);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		snprintf(res, sizeof(res), "the child %s %s", WIFEXITED(st) ? "exited with" : "died of",
			 WIFEXITED(st) ? "an error" : sig_name(WTERMSIG(st)));
	snprintf(line, sizeof(line), "%s: the call returned", what);
	check_str(line, res, want);
	if (op == OP_WRITE) {
		char got[64];

		master_take(got, sizeof(got));
		snprintf(line, sizeof(line), "%s: the terminal got", what);
		check_str(line, got, "hello");
	}
}

static void set_tostop(int on)
{
	struct termios t;

	check_quiet("tcgetattr", tcgetattr(tty, &t));
	t.c_lflag = on ? t.c_lflag | TOSTOP : t.c_lflag & ~(tcflag_t)TOSTOP;
	check_quiet("tcsetattr", tcsetattr(tty, TCSANOW, &t));
}

/* The session leader, with the pty as its controlling terminal. */
static int session(void)
{
	struct termios t;

	signal(SIGTTOU, SIG_IGN);	/* as a shell: tcsetpgrp from the background */
	check_quiet("setsid", setsid());
	tty = open(ptsname(master), O_RDWR);
	check_quiet("open the pty", tty);
	if (tty < 0)
		return check_done();
	check_quiet("TIOCSCTTY", ioctl(tty, TIOCSCTTY, 0));
	check_true("the session leads the terminal's foreground group", tcgetpgrp(tty) == getpid());
	/* No echo, no output processing: the master sees exactly what was written. */
	check_quiet("tcgetattr", tcgetattr(tty, &t));
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	t.c_oflag &= ~(tcflag_t)OPOST;
	check_quiet("tcsetattr", tcsetattr(tty, TCSANOW, &t));

	run_case("background read, SIGTTIN default", OP_READ, SIGTTIN, DFL, SIGTTIN,
		 "6 bytes \"input\"");
	run_case("background read, SIGTTIN ignored", OP_READ, SIGTTIN, IGNORED, 0, "EIO");
	run_case("background read, SIGTTIN blocked", OP_READ, SIGTTIN, BLOCKED, 0, "EIO");
	run_case("background read, SIGTTIN handler", OP_READ, SIGTTIN, HANDLED, 0,
		 "EINTR, the handler ran 1 time(s)");
	run_case("background write, no TOSTOP", OP_WRITE, SIGTTOU, DFL, 0, "6");
	set_tostop(1);
	run_case("background write, TOSTOP, SIGTTOU default", OP_WRITE, SIGTTOU, DFL, SIGTTOU, "6");
	run_case("background write, TOSTOP, SIGTTOU ignored", OP_WRITE, SIGTTOU, IGNORED, 0, "6");
	run_case("background write, TOSTOP, SIGTTOU blocked", OP_WRITE, SIGTTOU, BLOCKED, 0, "6");
	set_tostop(0);
	run_case("background tcsetattr, SIGTTOU default", OP_TCSETATTR, SIGTTOU, DFL, SIGTTOU, "0");
	run_case("background tcsetattr, SIGTTOU ignored", OP_TCSETATTR, SIGTTOU, IGNORED, 0, "0");
	return check_done();
}

int main(void)
{
	int st = 0;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* a case that hangs shows where */
	master = posix_openpt(O_RDWR | O_NOCTTY);
	check_quiet("posix_openpt", master);
	if (master < 0 || grantpt(master) || unlockpt(master))
		return check_done();
	fflush(stdout);
	alarm(CASE_TIMEOUT_S * 4);
	pid = fork();
	if (pid == 0)
		exit(session());
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st))
		printf("the session leader died: %s\n", strsignal(WTERMSIG(st)));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
