// SPDX-License-Identifier: MIT
/*
 * crtos run: run an unmodified Linux program in the real-time realm.
 *
 * It boots a cell, asks the kernel for a process, and starts the program's
 * shadow (crtos-shadow) as its own child, so the shadow has the user's
 * credentials, cwd, environment, umask, rlimits and standard fds, and the
 * program's pid is the shadow's. It relays SIGINT, SIGTERM, SIGHUP and
 * SIGQUIT sent to it (signals from the terminal reach the shadow directly,
 * which is in the same process group), and exits with the program's status
 * (126 when it could not be executed, 127 when it was not found), or dies
 * of the signal that ended the program, so that the shell says what it
 * would natively ("Segmentation fault").
 *
 * It also makes the RT processes the program forks (run_procs.c): the
 * shadows ask over a socket each, and it reaps each when its shadow is
 * gone. It is their subreaper, so an orphaned shadow stays in its care.
 *
 * Job control (docs/architecture.md, "Stopping and continuing"): it does
 * not stop on the terminal's stop signals itself (the shadow got its own);
 * when the shadow stops, it stops with the same signal so that the shell
 * sees the job stopped, and continues the shadow when it is continued. It
 * tells the realm when Linux stopped a shadow of its own with SIGSTOP,
 * which no shadow can catch.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include "cellsock.h"
#include "cli.h"
#include "run_procs.h"
#include "shadow/signals.h"
#include "shadow/stats.h"
#include "vmm/vmm.h"
#include <crtos/channel.h>

#define RUN_SHUTDOWN_MS	5000

static const int run_relayed[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				   SIGTSTP, SIGTTIN, SIGTTOU, SIGCONT };


struct run_opts {
	struct cell_config cfg;
	int prio;			/* the program's initial priority: 0, or SCHED_FIFO 1-99 */
	const char *log_path;
	bool verbose;
	bool new_cell;			/* never reuse a serving cell */
	bool stats;			/* print per-thread statistics at the end */
	const char *stats_path;		/* --stats=FILE: every process's counts, as TSV */
	int stats_fd;			/* stats_path, open O_APPEND, or -1 */
	int killed_by;			/* out: the signal that ended the program, or 0 */
	long boot_timeout_ms;
	char path[PATH_MAX];		/* the program, found */
	char **argv;			/* its arguments, argv[0] included */
};

void cmd_run_help(void)
{
	printf(
"Usage: crtos run [options] -- PROGRAM [ARGS...]\n"
"\n"
"Run an unmodified Linux x86-64 program (static or dynamically linked) in the\n"
"real-time realm. Its real-time system calls are served by the crtos kernel;\n"
"the others run in a shadow process in Linux, which has your credentials,\n"
"working directory, environment and terminal, and whose pid is the program's.\n"
"PROGRAM is looked up in $PATH when it has no '/'.\n"
"\n"
"If a cell is running on the CPU (crtos cell --hold), the program runs in it;\n"
"otherwise crtos boots a cell for this program and shuts it down after.\n"
"\n"
"Options:\n"
"  --prio P             start the program at SCHED_FIFO priority P (1-99);\n"
"                       default 0, the realm's SCHED_OTHER band\n"
"  --cpu N              CPU for the cell (default: the last one crtos may use)\n"
"  --mem SIZE           the cell's memory (default 256M)\n"
"  --idle MODE          auto, poll or halt (see crtos cell --help)\n"
"  --log FILE           write the kernel log to FILE\n"
"  --verbose            show the kernel log and crtos's notes on stderr\n"
"  --kernel PATH        kernel image; --kvm PATH: KVM device\n"
"  --fix-rt-throttling  turn Linux's RT throttling off while the cell runs\n"
"  --shield             keep Linux's tasks and interrupts off the cell's CPU\n"
"                       while it runs (see crtos cell --help; a held cell is\n"
"                       shielded or not as it was started)\n"
"  --no-rt              no SCHED_FIFO vCPU, no memory locking (debugging only)\n"
"  --new-cell           boot a cell for this program even if one is running\n"
"  --stats              when the program ends, print each thread's system calls:\n"
"                       how many the realm served (local) and how many its\n"
"                       twin made in Linux (remote), by thread and by call,\n"
"                       then the calls it answered without serving them: with\n"
"                       ENOSYS (calls it does not serve) and with a fallback\n"
"                       (as a Linux without the feature would), with reasons;\n"
"                       also those so far when it or crtos run is killed\n"
"  --stats=FILE         write the counts by call of every process of the run\n"
"                       (forked ones too) to FILE instead, tab-separated:\n"
"                       pid, program, kind (local, remote, enosys, fallback),\n"
"                       call, count, reason; one header line first\n"
"  -h, --help\n"
"\n"
"Exit status: the program's; if signal N ended it, crtos run ends by signal N\n"
"too (a shell reports 128 + N); 126 if it could not be executed (not an ELF\n"
"the realm can run, say; the message says why); 127 if it was not found; 64\n"
"bad usage; 69 this host cannot run a cell; 70-72 the cell failed (see crtos\n"
"cell --help).\n");
}

enum { R_PRIO = 256, R_CPU, R_MEM, R_IDLE, R_LOG, R_VERBOSE, R_KERNEL, R_KVM, R_FIX_RT, R_NO_RT,
       R_NEW_CELL, R_STATS, R_SHIELD };

static const struct option run_options[] = {
	{ "prio", required_argument, NULL, R_PRIO },
	{ "cpu", required_argument, NULL, R_CPU },
	{ "mem", required_argument, NULL, R_MEM },
	{ "idle", required_argument, NULL, R_IDLE },
	{ "log", required_argument, NULL, R_LOG },
	{ "verbose", no_argument, NULL, R_VERBOSE },
	{ "kernel", required_argument, NULL, R_KERNEL },
	{ "kvm", required_argument, NULL, R_KVM },
	{ "fix-rt-throttling", no_argument, NULL, R_FIX_RT },
	{ "no-rt", no_argument, NULL, R_NO_RT },
	{ "shield", no_argument, NULL, R_SHIELD },
	{ "new-cell", no_argument, NULL, R_NEW_CELL },
	{ "stats", optional_argument, NULL, R_STATS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int run_usage(const char *what, const char *arg)
{
	fprintf(stderr, "crtos run: %s%s%s\nTry 'crtos run --help'.\n", what, arg ? " " : "",
		arg ? arg : "");
	return EXIT_USAGE;
}

static int run_parse_one(struct run_opts *o, int opt, const char *arg)
{
	long v;
	int64_t size;

	switch (opt) {
	case R_PRIO:
		if (!cli_parse_int(arg, 0, 99, &v))
			return run_usage("--prio needs a priority 0-99, not", arg);
		o->prio = (int)v;
		return 0;
	case R_CPU:
		if (!cli_parse_int(arg, 0, 4095, &v))
			return run_usage("--cpu needs a CPU number, not", arg);
		o->cfg.cpu = (int)v;
		return 0;
	case R_MEM:
		size = cli_parse_size(arg);
		if (size < 16 << 20 || size % (2 << 20))
			return run_usage("--mem needs a multiple of 2 MiB, at least 16M, not", arg);
		o->cfg.mem_size = (uint64_t)size;
		return 0;
	case R_IDLE:
		if (!strcmp(arg, "poll"))
			o->cfg.idle = VMM_IDLE_POLL;
		else if (!strcmp(arg, "halt"))
			o->cfg.idle = VMM_IDLE_HALT;
		else if (strcmp(arg, "auto"))
			return run_usage("--idle is auto, poll or halt, not", arg);
		return 0;
	case R_LOG:
		o->log_path = arg;
		return 0;
	case R_VERBOSE:
		o->verbose = true;
		return 0;
	case R_KERNEL:
		o->cfg.kernel_path = arg;
		return 0;
	case R_KVM:
		o->cfg.kvm_path = arg;
		return 0;
	case R_FIX_RT:
		o->cfg.fix_rt_throttling = true;
		return 0;
	case R_NO_RT:
		o->cfg.no_rt = true;
		return 0;
	case R_SHIELD:
		o->cfg.shield = true;
		return 0;
	case R_NEW_CELL:
		o->new_cell = true;
		return 0;
	case R_STATS:
		if (arg && !*arg)
			return run_usage("--stats=FILE needs a file name", NULL);
		if (arg)
			o->stats_path = arg;
		else
			o->stats = true;
		return 0;
	case 'h':
		cmd_run_help();
		return -1;
	default:
		return run_usage("unknown option", NULL);
	}
}

/* Find name as a shell would: as given if it has a '/', else along $PATH. */
static int run_find_program(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096], *dir, *save;
	struct stat st;
	int err = ENOENT;

	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return 0;
	}
	snprintf(dirs, sizeof(dirs), "%s", path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", *dir ? dir : ".", name);
		if (stat(out, &st) || S_ISDIR(st.st_mode))
			continue;
		if (!access(out, X_OK))
			return 0;
		err = EACCES;
	}
	return err;
}

/* Check the program the way execve would before anything starts. Returns 0 or an exit status. */
static int run_check_program(struct run_opts *o, const char *name)
{
	struct stat st;
	int err = run_find_program(name, o->path, sizeof(o->path));

	if (err == ENOENT || (!err && stat(o->path, &st) && errno == ENOENT)) {
		fprintf(stderr, "crtos: %s: %s\n", name,
			strchr(name, '/') ? "No such file or directory" : "command not found");
		return 127;
	}
	if (!err && S_ISDIR(st.st_mode))
		err = EISDIR;
	else if (!err && access(o->path, X_OK))
		err = errno;
	if (err) {
		fprintf(stderr, "crtos: %s: %s\n", name, strerror(err));
		return 126;
	}
	return 0;
}

static int run_parse(struct run_opts *o, int argc, char **argv)
{
	int opt, ret;

	memset(o, 0, sizeof(*o));
	o->cfg.cpu = -1;
	o->stats_fd = -1;
	o->boot_timeout_ms = 10000;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+h", run_options, NULL)) != -1) {
		ret = run_parse_one(o, opt, optarg);
		if (ret)
			return ret;
	}
	if (optind >= argc)
		return run_usage("no program to run", NULL);
	o->argv = argv + optind;
	o->cfg.start_ns = cli_start_ns;
	o->cfg.quiet = !o->verbose;
	return run_check_program(o, o->argv[0]);
}

/* What the shadow needs from the cell, however we reached it. */
struct run_cell {
	int memfd, doorbell, kick;
	int sup;			/* the shadow's end of its socket to us (run_procs.h) */
	uint64_t channel_gpa;
	struct cell *local;		/* a cell of our own, or NULL */
	int sock;			/* a serving cell's socket, or -1 */
	unsigned int index;		/* the program's process in the cell */
};

/* The child: become the shadow. Never returns. */
static void run_exec_shadow(struct run_opts *o, const struct run_cell *rc, const char *shadow)
{
	char memfd[16], bell[16], kick[16], sup[16], gpa[32], prio[8], flags[16], stats[16];
	int n = 0;
	char **args;
	sigset_t none;

	for (int i = 0; o->argv[i]; i++)
		n++;
	args = calloc((size_t)n + 12, sizeof(char *));
	snprintf(memfd, sizeof(memfd), "%d", rc->memfd);
	snprintf(bell, sizeof(bell), "%d", rc->doorbell);
	snprintf(kick, sizeof(kick), "%d", rc->kick);
	snprintf(sup, sizeof(sup), "%d", rc->sup);
	snprintf(gpa, sizeof(gpa), "%#llx", (unsigned long long)rc->channel_gpa);
	snprintf(prio, sizeof(prio), "%d", o->prio);
	snprintf(flags, sizeof(flags), "%#x", o->stats ? CRTOS_EXEC_STATS : 0);
	snprintf(stats, sizeof(stats), "%d", o->stats_fd);
	args[0] = "crtos-shadow";
	args[1] = memfd;
	args[2] = bell;
	args[3] = kick;
	args[4] = sup;
	args[5] = gpa;
	args[6] = prio;
	args[7] = flags;
	args[8] = stats;
	args[9] = "--";
	args[10] = o->path;
	for (int i = 0; i <= n; i++)
		args[11 + i] = o->argv[i];
	/* The fds cross exec; the shadow hides them at the top of its fd range. */
	fcntl(rc->memfd, F_SETFD, 0);
	fcntl(rc->doorbell, F_SETFD, 0);
	fcntl(rc->kick, F_SETFD, 0);
	fcntl(rc->sup, F_SETFD, 0);
	if (o->stats_fd >= 0)
		fcntl(o->stats_fd, F_SETFD, 0);
	fcntl(rc->doorbell, F_SETFL, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);	/* dispositions stay: SIG_IGN crosses exec */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	personality(ADDR_NO_RANDOMIZE);
	execv(shadow, args);
	fprintf(stderr, "crtos: cannot start %s: %s\n", shadow, strerror(errno));
	_exit(126);
}

/* Whether the cell is gone (its socket hung up, or our own cell stopped). */
static bool run_cell_gone(const struct run_cell *rc)
{
	struct pollfd pfd = { .fd = rc->sock, .events = POLLIN };

	if (rc->local)
		return cell_wait(rc->local, 0) == 0;
	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR | POLLIN));
}

/* Whether Linux has process pid stopped (its /proc state says T). */
static bool run_pid_stopped(pid_t pid)
{
	char path[64], buf[512], *state;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	state = strrchr(buf, ')');
	return state && state[1] == ' ' && state[2] == 'T';
}

/*
 * Linux stopped the shadow of our child pid with SIGSTOP, which it cannot
 * catch: put a SIGSTOP into that process's signal ring, which means just
 * that to the realm (linuxabi/signal.c), and wake the kernel.
 */
static void run_tell_stopped(const struct run_cell *rc, const struct run_procs *rp, pid_t shadow,
			     pid_t pid)
{
	const struct crtos_siginfo e = { .signo = SIGSTOP, .code = SI_KERNEL };
	uint64_t gpa = rc->channel_gpa;
	struct crtos_channel *c;

	if (pid != shadow && run_procs_channel(rp, pid, &gpa))
		return;
	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED, rc->memfd, (off_t)gpa);
	if (c == MAP_FAILED)
		return;
	sigring_push(c, &e);
	munmap(c, sizeof(*c));
	eventfd_write(rc->kick, 1);
}

/*
 * While we are stopped, a process of ours that continues us whenever the
 * shadow is not stopped: it ended (kill -9 of a stopped program: nothing
 * else would wake us), or it was continued between our look at it and our
 * stop (a SIGCONT to the whole job then finds us still running). It checks
 * every 50 ms until we kill it. In a process group of its own, so that the
 * job's stop signals miss it. Its pid, or -1.
 */
static pid_t run_stop_watcher(pid_t shadow)
{
	pid_t us = getpid(), pid = fork();
	struct pollfd pfd = { .events = POLLIN };

	if (pid)
		return pid;
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	pfd.fd = (int)syscall(SYS_pidfd_open, shadow, 0);
	for (;;) {
		int ended = pfd.fd < 0 || poll(&pfd, 1, 50) > 0;

		if (ended || !run_pid_stopped(shadow))
			kill(us, SIGCONT);
	}
}

/*
 * Take (and drop) what of the blocked signals in set is pending for us. The
 * terminal sends its stop signal (SIGTTIN for a background read, SIGTSTP
 * for Ctrl-Z) to the whole job, us too; we leave it to the shadow, but
 * until our signalfd reads it, it stays pending. Unblocked for the stop
 * below, it would stop us there, and the raise() would stop us again once
 * the shell continued us: the job stopped again at once after fg (seen in
 * the test VM, where the shadow's stop can reach us before that signal).
 */
static void run_take_pending(const sigset_t *set)
{
	const struct timespec now = { 0 };

	while (sigtimedwait(set, NULL, &now) > 0)
		;
}

/*
 * The program's shadow stopped with sig: stop with it, so that the shell's
 * job table says so. Once continued (fg, bg, kill -CONT of our pid),
 * continue the shadow if it is still stopped. With a cell of our own, the
 * cell's threads (ours) stop too.
 */
static void run_stop_like(pid_t shadow, int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old;
	sigset_t set, mask;
	pid_t watcher;

	/* Continued already (kill -CONT of the job reached both of us first): stay. */
	if (!run_pid_stopped(shadow))
		return;
	watcher = run_stop_watcher(shadow);

	if (sig != SIGSTOP)
		sigaction(sig, &dfl, &old);
	sigemptyset(&set);
	sigaddset(&set, sig);
	run_take_pending(&set);
	pthread_sigmask(SIG_UNBLOCK, &set, &mask);
	raise(sig);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	if (watcher > 0) {
		kill(watcher, SIGKILL);
		waitpid(watcher, NULL, 0);
	}
	if (sig != SIGSTOP)
		sigaction(sig, &old, NULL);
	if (run_pid_stopped(shadow))
		kill(shadow, SIGCONT);
}

/*
 * Reap our children: the shadow (its status into *status, true), and
 * orphaned forked shadows; act on their stops.
 */
static bool run_reap_children(const struct run_cell *rc, const struct run_procs *rp, pid_t shadow,
			      int *status)
{
	bool done = false;
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG | WUNTRACED | WCONTINUED)) > 0) {
		if (WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP)
			run_tell_stopped(rc, rp, shadow, pid);
		if (WIFSTOPPED(st) && pid == shadow)
			run_stop_like(shadow, WSTOPSIG(st));
		if (pid == shadow && (WIFEXITED(st) || WIFSIGNALED(st))) {
			*status = st;
			done = true;
		}
	}
	return done;
}

/* A signal sent to us: relay it, unless the terminal sent it (the shadow has its own). */
static void run_relay(pid_t shadow, const struct signalfd_siginfo *si)
{
	if (si->ssi_signo == SIGCONT) {
		if (run_pid_stopped(shadow))	/* kill -CONT of our pid, the shadow stopped */
			kill(shadow, SIGCONT);
		return;
	}
	if (si->ssi_code != SI_KERNEL)
		kill(shadow, (int)si->ssi_signo);
}

/*
 * Wait for the shadow, relaying the signals sent to us (the terminal's reach
 * the shadow itself: same process group) and serving the shadows' requests
 * for forked processes. Returns its wait status, or -1 if the cell died
 * first.
 */
static int run_wait(const struct run_cell *rc, pid_t shadow, const sigset_t *set,
		    struct run_procs *rp)
{
	int pidfd = (int)syscall(SYS_pidfd_open, shadow, 0), sfd = signalfd(-1, set, SFD_CLOEXEC);
	struct pollfd pfd[2 + 1 + RUN_MAX_PROCS];
	struct signalfd_siginfo si;
	int status, n;

	for (;;) {
		pfd[0] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		n = run_procs_pollfds(rp, pfd + 2);
		poll(pfd, 2 + (nfds_t)n, 50);
		run_procs_serve(rp, pfd + 2, n);
		if ((pfd[1].revents & POLLIN) && read(sfd, &si, sizeof(si)) == sizeof(si) &&
		    si.ssi_signo != SIGCHLD)
			run_relay(shadow, &si);
		if (run_reap_children(rc, rp, shadow, &status))
			break;
		if (run_cell_gone(rc)) {
			kill(shadow, SIGKILL);
			waitpid(shadow, &status, 0);
			status = -1;
			break;
		}
	}
	close(pidfd);
	close(sfd);
	return status;
}

/*
 * --stats when the shadow was killed (SIGKILL: it could not report): the
 * program has not ended, and its statistics so far are still in the
 * channel until the process is reaped.
 */
static void run_stats_of_killed(const struct run_opts *o, const struct run_cell *rc, pid_t pid,
				int status)
{
	struct crtos_channel *chan;
	char why[64];

	chan = mmap(NULL, CRTOS_CHANNEL_SIZE, PROT_READ, MAP_SHARED, rc->memfd, (off_t)rc->channel_gpa);
	if (chan == MAP_FAILED)
		return;
	if (__atomic_load_n(&chan->state, __ATOMIC_ACQUIRE) != CRTOS_CHAN_EXITED) {
		snprintf(why, sizeof(why), "its shadow was killed by SIG%s", sigabbrev_np(WTERMSIG(status)));
		if (o->stats)
			stats_print(stderr, chan, why);
		if (o->stats_fd >= 0)
			stats_write_tsv(o->stats_fd, chan, pid, o->path);
	}
	munmap(chan, CRTOS_CHANNEL_SIZE);
}

/*
 * The relayed signals already pending: they came before the shadow existed
 * (a Ctrl-Z or Ctrl-C typed while the cell booted reached only us, and
 * run_relay() leaves the terminal's to the shadow's own copy). Taken now,
 * given to the shadow once it is forked (run_give_early_signals).
 */
static void run_take_early_signals(const sigset_t *set, sigset_t *early)
{
	const struct timespec now = { 0, 0 };
	int sig;

	sigemptyset(early);
	while ((sig = sigtimedwait(set, NULL, &now)) > 0)
		if (sig != SIGCHLD && sig != SIGCONT)	/* nothing is stopped yet */
			sigaddset(early, sig);
}

static void run_give_early_signals(pid_t shadow, const sigset_t *early)
{
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(early, sig) == 1)
			kill(shadow, sig);
}

/* Start the shadow and wait for it. Returns the program's exit status. */
static int run_shadow(struct run_opts *o, const struct run_cell *rc, const sigset_t *set)
{
	sigset_t early;
	struct cellsock_msg msg = { .op = CELLSOCK_SHADOW };
	char shadow[PATH_MAX];
	struct run_procs rp;
	struct run_cell shadow_rc = *rc;
	pid_t pid;
	int status;

	if (vmm_find_tool("crtos-shadow", "CRTOS_SHADOW", shadow, sizeof(shadow))) {
		fprintf(stderr, "crtos: cannot find crtos-shadow next to crtos\n");
		return EXIT_HOST;
	}
	run_procs_init(&rp, rc->local, o->cfg.cpu);
	rp.main_cell_sock = rc->sock;
	rp.main_index = rc->index;
	if (run_procs_socketpair(&rp.main_sock, &shadow_rc.sup)) {
		fprintf(stderr, "crtos: cannot make a socket for the shadow: %s\n", strerror(errno));
		return EXIT_HOST;
	}
	run_take_early_signals(set, &early);
	pid = fork();
	if (pid == 0)
		run_exec_shadow(o, &shadow_rc, shadow);
	close(shadow_rc.sup);
	if (pid < 0) {
		fprintf(stderr, "crtos: fork failed: %s\n", strerror(errno));
		close(rp.main_sock);
		return EXIT_HOST;
	}
	if (rc->sock >= 0) {
		msg.pid = pid;
		cellsock_send(rc->sock, &msg, NULL, 0);
	}
	run_give_early_signals(pid, &early);
	status = run_wait(rc, pid, set, &rp);
	if ((o->stats || o->stats_fd >= 0) && status != -1 && WIFSIGNALED(status))
		run_stats_of_killed(o, rc, pid, status);
	run_procs_end(&rp);
	if (status == -1) {
		fprintf(stderr, "crtos: the cell stopped while the program ran\n");
		return rc->local ? cell_exit_code(rc->local) : 70;
	}
	if (WIFSIGNALED(status)) {
		o->killed_by = WTERMSIG(status);
		return 128 + WTERMSIG(status);
	}
	return WEXITSTATUS(status);
}

/* Run the program in the cell that serves the socket sock. */
static int run_in_serving_cell(struct run_opts *o, int sock, const sigset_t *set)
{
	struct cellsock_msg msg = { .op = CELLSOCK_SPAWN };
	struct run_cell rc = { .sock = sock };
	int fds[3], nfds = 3, status;

	if (cellsock_send(sock, &msg, NULL, 0) || cellsock_recv(sock, &msg, fds, &nfds) ||
	    msg.op != CELLSOCK_SPAWNED || nfds != 3) {
		fprintf(stderr, "crtos: the cell on CPU %d refused the program%s%s\n", o->cfg.cpu,
			msg.op == CELLSOCK_ERROR ? ": " : "", msg.op == CELLSOCK_ERROR ? msg.error : "");
		return EXIT_HOST;
	}
	rc.memfd = fds[0];
	rc.doorbell = fds[1];
	rc.kick = fds[2];
	rc.channel_gpa = msg.channel_gpa;
	rc.index = msg.index;
	/* The shadow (our child) stays off the cell's CPU, as our own threads do. */
	vmm_host_keep_thread_off_cpu(o->cfg.cpu);
	status = run_shadow(o, &rc, set);
	msg = (struct cellsock_msg){ .op = CELLSOCK_REAP };
	cellsock_send(sock, &msg, NULL, 0);
	cellsock_recv(sock, &msg, NULL, NULL);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	return status;
}

/* Run the program in a cell of our own, booted for it. */
static int run_in_own_cell(struct run_opts *o, const sigset_t *set)
{
	struct run_cell rc = { .sock = -1 };
	struct vmm_err err = { "" };
	struct cell_proc p;
	struct cell *c;
	int status;

	if (cell_create(&c, &o->cfg, &err)) {
		fprintf(stderr, "crtos: %s\n", err.msg);
		return EXIT_HOST;
	}
	vmm_host_keep_thread_off_cpu(cell_cpu(c));
	if (cell_start(c, &err) || cell_wait_running(c, (int)o->boot_timeout_ms)) {
		if (err.msg[0])
			fprintf(stderr, "crtos: %s\n", err.msg);
		cell_stop(c);
		cell_wait(c, -1);
		status = cell_exit_code(c);
		cell_destroy(c);
		return status;
	}
	if (cell_spawn(c, &p, &err)) {
		fprintf(stderr, "crtos: %s\n", err.msg);
		status = EXIT_HOST;
	} else {
		rc = (struct run_cell){ .memfd = cell_memfd(c), .doorbell = p.doorbell_fd,
					.kick = cell_kick_fd(c), .channel_gpa = p.channel_gpa,
					.local = c, .sock = -1, .index = p.index };
		status = run_shadow(o, &rc, set);
		cell_reap(c, &p);
	}
	cell_request_shutdown(c, 0);
	if (cell_wait(c, RUN_SHUTDOWN_MS)) {
		cell_stop(c);
		cell_wait(c, -1);
	}
	cell_destroy(c);
	return status;
}

/*
 * Under a shield this process may not use the cell's CPU, so the default CPU
 * is another: a cell that serves on a shielded CPU is the one meant.
 */
static int run_connect_shielded(int *cpu)
{
	struct vmm_cpuset online;
	int sock;

	vmm_host_online_cpus(&online);
	for (int i = 1023; i >= 0; i--) {
		if (!vmm_cpuset_has(&online, i) ||
		    vmm_shield_status(i, NULL, NULL, 0) != VMM_SHIELD_UP)
			continue;
		sock = cellsock_connect(i);
		if (sock >= 0) {
			*cpu = i;
			return sock;
		}
	}
	return -1;
}

/* --stats=FILE: a new file with its header line, which each process's shadow appends to. */
static int run_open_stats(struct run_opts *o)
{
	o->stats_fd = open(o->stats_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (o->stats_fd < 0 ||
	    write(o->stats_fd, STATS_TSV_HEADER, strlen(STATS_TSV_HEADER)) < 0) {
		fprintf(stderr, "crtos: cannot write the statistics file %s: %s\n", o->stats_path,
			strerror(errno));
		if (o->stats_fd >= 0)
			close(o->stats_fd);
		o->stats_fd = -1;
		return -1;
	}
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	sigset_t set;
	FILE *log = NULL;
	int status, sock;

	status = run_parse(&o, argc, argv);
	if (status)
		return status < 0 ? 0 : status;
	if (o.log_path && !(log = fopen(o.log_path, "w"))) {
		fprintf(stderr, "crtos: cannot write the log file %s: %s\n", o.log_path,
			strerror(errno));
		return EXIT_USAGE;
	}
	o.cfg.log_out = log ? log : o.verbose ? stderr : NULL;
	if (o.stats_path && run_open_stats(&o)) {
		if (log)
			fclose(log);
		return EXIT_USAGE;
	}
	/* Relay these, unless they were ignored when we started: then the program ignores them too. */
	sigemptyset(&set);
	for (unsigned int i = 0; i < sizeof(run_relayed) / sizeof(run_relayed[0]); i++) {
		struct sigaction old;

		if (!sigaction(run_relayed[i], NULL, &old) && old.sa_handler != SIG_IGN)
			sigaddset(&set, run_relayed[i]);
	}
	sigaddset(&set, SIGCHLD);	/* wakes run_wait() for a child's stop */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* Forked shadows whose parent shadow ended become ours (run_reap_children). */
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	if (!o.new_cell) {
		int cpu = o.cfg.cpu >= 0 ? o.cfg.cpu : vmm_host_pick_cpu(-1, NULL);

		sock = cellsock_connect(cpu);
		if (sock < 0 && o.cfg.cpu < 0)
			sock = run_connect_shielded(&cpu);
		if (sock >= 0)
			o.cfg.cpu = cpu;
	} else {
		sock = -1;
	}
	if (sock >= 0) {
		if (o.cfg.shield && vmm_shield_status(o.cfg.cpu, NULL, NULL, 0) != VMM_SHIELD_UP)
			fprintf(stderr, "crtos: note: --shield: the cell held on CPU %d runs unshielded "
				"(start it with crtos cell --hold --shield)\n", o.cfg.cpu);
		status = run_in_serving_cell(&o, sock, &set);
		close(sock);
	} else {
		status = run_in_own_cell(&o, &set);
	}
	if (log)
		fclose(log);
	if (o.stats_fd >= 0)
		close(o.stats_fd);
	/* Everything is shut down: end the way the program did, for the shell's message. */
	if (o.killed_by)
		die_by_signal(o.killed_by);
	return status;
}
