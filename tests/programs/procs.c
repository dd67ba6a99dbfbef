// SPDX-License-Identifier: MIT
/*
 * Processes: fork, vfork, clone without CLONE_VM, execve (of an ELF file, a
 * `#!` script, and of files that cannot run), wait4/waitid statuses,
 * SIGCHLD, getppid, process groups and sessions. Run natively and in the
 * realm; the output must match. argv[1]: a scratch directory. With "child
 * ..." as arguments it is the program the checks exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include "check.h"

extern char **environ;

static volatile sig_atomic_t got_chld;
static char self[4096];

static void on_chld(int sig)
{
	(void)sig;
	got_chld++;
}

/* What the exec'd child does: print its arguments and an environment variable, exit 7. */
static int child_main(int argc, char **argv)
{
	const char *v = getenv("PROCS_VAR");
	int fl = fcntl(3, F_GETFD);

	printf("child argc %d:", argc);
	for (int i = 2; i < argc; i++)	/* paths as their last part: the scratch dir differs */
		printf(" [%s]", strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i]);
	printf(" PROCS_VAR=%s fd3 %s\n", v ? v : "(none)", fl < 0 ? "closed" : "open");
	fflush(stdout);
	return 7;
}

/*
 * The exec'd child with timerfds: tx was close-on-exec (its number now
 * names whatever takes it: /dev/zero here), ty was not and still fires.
 */
static int child_timerfds(char **argv)
{
	int tx = atoi(argv[2]), ty = atoi(argv[3]), zero = open("/dev/zero", O_RDONLY);
	uint64_t n = 1;

	alarm(5);	/* a read that blocks (tx still taken for a timerfd) ends the child */
	/* The lowest free number (from tx) is tx itself. */
	if (zero != tx && fcntl(zero, F_DUPFD, tx) != tx)
		return 1;
	if (read(tx, &n, sizeof(n)) != sizeof(n) || n != 0)
		return 2;
	if (read(ty, &n, sizeof(n)) != sizeof(n) || n < 1)
		return 3;
	return 0;
}

/* Wait for pid; print how it ended. */
static void check_status(const char *what, pid_t pid, const char *want)
{
	char got[64];
	int st;

	if (waitpid(pid, &st, 0) != pid)
		snprintf(got, sizeof(got), "waitpid: %s", errno_name(errno));
	else if (WIFEXITED(st))
		snprintf(got, sizeof(got), "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(got, sizeof(got), "signal %d", WTERMSIG(st));
	else
		snprintf(got, sizeof(got), "status %#x", st);
	check_str(what, got, want);
}

/* fork: the child has a copy (its writes stay its own), its own pid, and us as parent. */
static void check_fork(void)
{
	static int shared_word = 1;
	int *heap = malloc(sizeof(int)), pfd[2];
	pid_t parent = getpid(), pid;
	char buf[8] = "";

	*heap = 10;
	check_quiet("pipe", pipe(pfd));
	pid = fork();
	if (pid == 0) {
		shared_word = 2;
		*heap = 20;
		if (getppid() != parent || getpid() == parent)
			_exit(99);
		if (write(pfd[1], "hello", 6) != 6)
			_exit(98);
		_exit(shared_word + *heap);	/* 22 */
	}
	check_true("fork returns a pid", pid > 0 && pid != parent);
	check_long("pipe from the child", read(pfd[0], buf, sizeof(buf)), 6);
	check_str("the child wrote", buf, "hello");
	check_status("fork child", pid, "exit 22");
	check_long("the parent's data is its own", shared_word, 1);
	check_long("the parent's heap is its own", *heap, 10);
	check_err("no child left", waitpid(-1, NULL, WNOHANG), ECHILD);
	close(pfd[0]);
	close(pfd[1]);
	free(heap);
}

/* Deaths the parent sees: exit codes, signals, SIGCHLD. */
static void check_wait(void)
{
	struct sigaction sa = { .sa_handler = on_chld };
	siginfo_t si = { 0 };
	pid_t pid;

	sigaction(SIGCHLD, &sa, NULL);
	pid = fork();
	if (pid == 0)
		_exit(3);
	check_status("exit 3", pid, "exit 3");
	pid = fork();
	if (pid == 0) {
		raise(SIGTERM);
		_exit(0);
	}
	check_status("killed by SIGTERM", pid, "signal 15");
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	kill(pid, SIGKILL);
	check_status("SIGKILL from the parent", pid, "signal 9");
	pid = fork();
	if (pid == 0)
		_exit(5);
	check_ok("waitid", waitid(P_PID, (id_t)pid, &si, WEXITED));
	check_true("waitid: CLD_EXITED 5", si.si_code == CLD_EXITED && si.si_status == 5 &&
		   si.si_pid == pid);
	check_true("SIGCHLD came", got_chld > 0);
	/* Ignored: children are reaped without a wait, which then finds none. */
	signal(SIGCHLD, SIG_IGN);
	pid = fork();
	if (pid == 0)
		_exit(0);
	check_err("wait with SIGCHLD ignored", waitpid(pid, NULL, 0), ECHILD);
	signal(SIGCHLD, SIG_DFL);
	pid = fork();
	if (pid == 0)
		_exit(6);
	check_status("wait with SIGCHLD default again", pid, "exit 6");
}

/* Process groups and sessions, as a shell's job control makes them. */
static void check_groups(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (setpgid(0, 0) || getpgid(0) != getpid())
			_exit(1);
		if (setsid() != -1 || errno != EPERM)	/* a group leader cannot */
			_exit(2);
		_exit(0);
	}
	check_status("setpgid in the child", pid, "exit 0");
	pid = fork();
	if (pid == 0)
		_exit(setsid() == getpid() && getsid(0) == getpid() ? 0 : 1);
	check_status("setsid in the child", pid, "exit 0");
}

/* Write text into a new file at path with mode. */
static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	check_quiet("write a file", fd < 0 ? -1 : write(fd, text, strlen(text)));
	close(fd);
}

/* fork; the child execs path with argv and envp (exit 127 if it cannot). The child's pid. */
static pid_t fork_exec(const char *path, char **argv, char **envp)
{
	pid_t pid = fork();

	if (pid == 0) {
		execve(path, argv, envp);
		_exit(127);
	}
	return pid;
}

/* execve: arguments, environment, close-on-exec; failures leave the caller running. */
static void check_exec(const char *dir)
{
	char *argv[] = { "procs", "child", "a b", "", "c", NULL };
	char *envp[] = { "PROCS_VAR=set", NULL };
	char *sargv[] = { "script", "x", NULL }, *s2argv[] = { "script2", "y", NULL };
	char script[4200], text[4400];
	pid_t pid;
	int fd;

	check_err("execve ENOENT", execve("/nonexistent/program", argv, envp), ENOENT);
	snprintf(script, sizeof(script), "%s/noexec", dir);
	write_file(script, "#!/bin/sh\n", 0644);
	check_err("execve EACCES", execve(script, argv, envp), EACCES);
	snprintf(script, sizeof(script), "%s/garbage", dir);
	write_file(script, "garbage\n", 0755);
	check_err("execve ENOEXEC", execve(script, argv, envp), ENOEXEC);
	check_err("execve a directory", execve("/", argv, envp), EACCES);

	/* fd 3: close-on-exec, so the child sees it closed. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	dup3(fd, 3, O_CLOEXEC);
	check_status("fork + execve", fork_exec(self, argv, envp), "exit 7");
	fcntl(3, F_SETFD, 0);	/* inherited this time */
	pid = vfork();
	if (pid == 0) {
		execve(self, argv, envp);
		_exit(127);
	}
	check_status("vfork + execve", pid, "exit 7");
	close(3);

	/* A `#!` script: the interpreter gets its optional argument and the script's path. */
	snprintf(script, sizeof(script), "%s/script", dir);
	snprintf(text, sizeof(text), "#!%s child\n", self);
	write_file(script, text, 0755);
	check_status("execve of a #! script", fork_exec(script, sargv, envp), "exit 7");

	/* A script whose interpreter is a script: "script arg" comes first, then this one. */
	snprintf(text, sizeof(text), "#!%s  \n", script);
	snprintf(script, sizeof(script), "%s/script2", dir);
	write_file(script, text, 0755);
	check_status("execve of a #! script run by a script", fork_exec(script, s2argv, envp),
		     "exit 7");
}

/*
 * A timerfd across fork is one timer in both processes: the child's read
 * takes the expiration from the parent too, and the child's close leaves
 * the parent's fd working.
 */
static void check_fork_timerfd(void)
{
	struct itimerspec its = { .it_value = { 0, 1000000 } };
	int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct pollfd pfd = { .fd = t, .events = POLLIN };
	uint64_t n = 0;
	pid_t pid;

	check_quiet("timerfd_settime", timerfd_settime(t, 0, &its, NULL));
	pid = fork();
	if (pid == 0) {
		if (poll(&pfd, 1, 5000) != 1 || read(t, &n, sizeof(n)) != sizeof(n) || n != 1)
			_exit(1);
		_exit(close(t) ? 2 : 0);
	}
	check_status("a timerfd across fork: the child reads it", pid, "exit 0");
	check_err("the parent's expiration went with it", read(t, &n, sizeof(n)), EAGAIN);
	check_quiet("timerfd_settime again", timerfd_settime(t, 0, &its, NULL));
	check_long("the parent's timerfd fires after the child's close", poll(&pfd, 1, 5000), 1);
	check_long("and reads", read(t, &n, sizeof(n)), sizeof(n));
	check_quiet("close", close(t));
}

/*
 * Timerfds across fork, then execve: the child's fds name the parent's
 * timerfds (one open file), then close-on-exec ends one and the other
 * keeps firing.
 */
static void check_exec_timerfds(void)
{
	struct itimerspec its = { .it_value = { 0, 1000000 } };
	int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
	uint64_t n = 0;
	pid_t pid;

	check_ok("timerfd_settime before fork", timerfd_settime(tfd, 0, &its, NULL));
	pid = fork();
	if (pid == 0) {
		alarm(5);	/* a timerfd that never fires ends the child */
		_exit(read(tfd, &n, sizeof(n)) == sizeof(n) && n == 1 ? 0 : 1);
	}
	check_status("the child reads the parent's timerfd", pid, "exit 0");
	its.it_value.tv_nsec = 0;
	check_ok("the parent disarms it", timerfd_settime(tfd, 0, &its, NULL));
	close(tfd);
	pid = fork();

	if (pid == 0) {
		struct itimerspec its = { .it_value = { 0, 1000000 } };
		int tx = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
		int ty = timerfd_create(CLOCK_MONOTONIC, 0);
		char sx[16], sy[16], *argv[] = { "procs", "timerfds", sx, sy, NULL };

		snprintf(sx, sizeof(sx), "%d", tx);
		snprintf(sy, sizeof(sy), "%d", ty);
		if (tx < 0 || ty < 0 || timerfd_settime(ty, 0, &its, NULL))
			_exit(126);
		execve(self, argv, environ);
		_exit(127);
	}
	check_status("timerfds across execve", pid, "exit 0");
}

/*
 * vfork's child runs in its parent's memory until it execs or exits: its
 * stores are the parent's (glibc's posix_spawn reports a failed exec so).
 */
static void check_vfork_shares_memory(void)
{
	static volatile int word;
	char *argv[] = { "nothing", NULL };
	pid_t pid;
	int err;

	word = 1;
	pid = vfork();
	if (pid == 0) {
		word = 2;
		_exit(0);
	}
	check_status("vfork child", pid, "exit 0");
	check_long("the vfork child's store", word, 2);
	err = posix_spawn(&pid, "/nonexistent/program", NULL, NULL, argv, environ);
	check_errnum("posix_spawn of a missing file", err, ENOENT);
	if (!err)
		waitpid(pid, NULL, 0);
}

/* clone without CLONE_VM, and posix_spawn (clone(CLONE_VM | CLONE_VFORK) in both C libraries). */
static void check_clone_spawn(void)
{
	char *argv[] = { "procs", "child", "spawned", NULL };
	pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
	int err;

	if (pid == 0)
		_exit(11);
	check_status("clone(SIGCHLD)", pid, "exit 11");
	/* The child's output and ours would race: we print only after it ended. */
	err = posix_spawn(&pid, self, NULL, NULL, argv, environ);
	if (!err)
		check_status("posix_spawn child", pid, "exit 7");
	else
		check_errnum("posix_spawn", err, 0);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "child"))
		return child_main(argc, argv);
	if (argc >= 4 && !strcmp(argv[1], "timerfds"))
		return child_timerfds(argv);
	if (argc < 2) {
		fprintf(stderr, "usage: procs DIR\n");
		return 2;
	}
	if (readlink("/proc/self/exe", self, sizeof(self) - 1) < 0)
		return 2;
	setenv("PROCS_VAR", "inherited", 1);
	setvbuf(stdout, NULL, _IONBF, 0);
	check_fork();
	check_wait();
	check_groups();
	check_exec(argv[1]);
	check_fork_timerfd();
	check_exec_timerfds();
	check_vfork_shares_memory();
	check_clone_spawn();
	return check_done();
}
