// SPDX-License-Identifier: MIT
/*
 * crtos-shadow: the Linux half of an RT process.
 *
 * `crtos run` starts it, with the user's credentials, cwd, environment,
 * umask, rlimits and standard fds, and with address-space randomization off.
 * It is a static binary linked in the top 1 TiB of the address space (the
 * crtos kernel window), so its code, heap, stack and libraries stay out of
 * the program's way: the RT kernel never gives the program addresses there.
 *
 * It maps its channel (crtos/channel.h) from the guest-memory memfd, asks the
 * kernel to exec the program, then serves the program's remote system calls
 * verbatim, mirrors its memory at the same addresses, forwards the signals
 * Linux sends it, and finally exits the way the RT process ended.
 *
 * Usage (by crtos run only):
 *   crtos-shadow MEMFD DOORBELLFD KICKFD CHANNEL_GPA PRIO -- PATH ARGV0 ARGS...
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <crtos/channel.h>

#define SHADOW_STACK_DEFAULT	(8ull << 20)

extern char **environ;

struct shadow {
	int memfd, doorbell, kick;
	struct crtos_channel *chan;
	int prio;			/* current SCHED_FIFO priority, 0 for SCHED_OTHER */
	int prog_fd;
	uint32_t ignored;		/* signals ignored when we were started */
};

static struct shadow sh = { .prog_fd = -1 };

static void die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "crtos: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	_exit(status);
}

/* A raw system call: returns the kernel's value, -errno included, untouched. */
static long raw_syscall(long nr, const uint64_t a[6])
{
	long ret;
	register uint64_t r10 __asm__("r10") = a[3];
	register uint64_t r8 __asm__("r8") = a[4];
	register uint64_t r9 __asm__("r9") = a[5];

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/*
 * Every mapping of ours must lie in the kernel window, where the program
 * never gets memory: check it once, before anything is mirrored.
 */
static void check_own_mappings(void)
{
	char buf[8192];
	ssize_t n;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		unsigned long long start = strtoull(line, NULL, 16);

		if (start < CRTOS_KERNEL_BASE)
			die(125, "the shadow has a mapping at %#llx, where programs live (was it "
			    "started with address randomization on?)", start);
	}
}

/* Move fd to the top of the fd range, close-on-exec, out of the program's way. */
static int fd_hide(int fd)
{
	struct rlimit rl;
	int high;

	getrlimit(RLIMIT_NOFILE, &rl);
	high = fcntl(fd, F_DUPFD_CLOEXEC, rl.rlim_cur > 64 ? (int)rl.rlim_cur - 16 : 48);
	if (high < 0)
		die(126, "cannot move a private fd: %s", strerror(errno));
	close(fd);
	return high;
}

static void kick_kernel(void)
{
	eventfd_write(sh.kick, 1);
}

/* Signals for the program: queue them in the channel and wake the kernel. */
static void forward_signal(int sig)
{
	if (sh.chan && sig < 32) {
		__atomic_fetch_or(&sh.chan->signals, 1u << sig, __ATOMIC_SEQ_CST);
		kick_kernel();
	}
}

static void install_forwarding(void)
{
	static const int fatal_to_us[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGCHLD,
					   SIGKILL, SIGSTOP, SIGTRAP, SIGSYS };
	struct sigaction sa = { .sa_handler = forward_signal };	/* no SA_RESTART: calls see EINTR */
	sigset_t none;

	struct sigaction old;

	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < 32; sig++) {
		bool skip = false;

		for (unsigned int i = 0; i < sizeof(fatal_to_us) / sizeof(fatal_to_us[0]); i++)
			skip |= fatal_to_us[i] == sig;
		/* Ignored when we were started: the program starts with it ignored too. */
		if (!sigaction(sig, NULL, &old) && old.sa_handler == SIG_IGN) {
			sh.ignored |= 1u << sig;
			continue;
		}
		if (!skip)
			sigaction(sig, &sa, NULL);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void map_channel(uint64_t gpa)
{
	void *p = mmap(NULL, CRTOS_CHANNEL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, sh.memfd,
		       (off_t)gpa);

	if (p == MAP_FAILED)
		die(126, "cannot map the channel: %s", strerror(errno));
	sh.chan = p;
	if (sh.chan->magic != CRTOS_CHANNEL_MAGIC || sh.chan->abi_version != CRTOS_ABI_VERSION)
		die(126, "the channel does not speak crtos ABI %d: rebuild crtos", CRTOS_ABI_VERSION);
}

static void put_string(const char *s, size_t *used, const char *path)
{
	char *area = (char *)sh.chan + CRTOS_CHANNEL_STRINGS;
	size_t n = strlen(s) + 1;

	if (*used + n > CRTOS_EXEC_STRINGS)
		die(126, "%s: argument list too long", path);
	memcpy(area + *used, s, n);
	*used += n;
}

/* Copy path, the canonical path, argv and envp into the channel's string area. */
static void put_strings(struct crtos_exec_request *req, char **argv, int argc)
{
	char exe[4096];
	size_t used = 0;
	int envc = 0;

	if (!realpath(argv[-1], exe))	/* argv[-1] is the path */
		snprintf(exe, sizeof(exe), "%s", argv[-1]);
	put_string(argv[-1], &used, argv[-1]);
	put_string(exe, &used, argv[-1]);
	for (int i = 0; i < argc; i++)
		put_string(argv[i], &used, argv[-1]);
	for (; environ[envc]; envc++)
		put_string(environ[envc], &used, argv[-1]);
	req->argc = (uint32_t)argc;
	req->envc = (uint32_t)envc;
	req->strings_size = (uint32_t)used;
}

static void request_exec(char **argv, int argc, int prio)
{
	struct crtos_exec_request *req = &sh.chan->exec;
	const char *platform = (const char *)getauxval(AT_PLATFORM);
	struct rlimit stack;
	struct stat st;

	sh.prog_fd = open(argv[-1], O_RDONLY | O_CLOEXEC);
	if (sh.prog_fd < 0)
		die(errno == ENOENT ? 127 : 126, "%s: %s", argv[-1], strerror(errno));
	if (fstat(sh.prog_fd, &st) || !S_ISREG(st.st_mode))
		die(126, "%s: not a regular file", argv[-1]);
	put_strings(req, argv, argc);
	req->fd = sh.prog_fd;
	req->file_size = (uint64_t)st.st_size;
	req->uid = getuid();
	req->euid = geteuid();
	req->gid = getgid();
	req->egid = getegid();
	req->secure = 0;
	req->hwcap = getauxval(AT_HWCAP);
	req->hwcap2 = getauxval(AT_HWCAP2);
	req->clktck = getauxval(AT_CLKTCK);
	req->minsigstksz = getauxval(AT_MINSIGSTKSZ);
	getrlimit(RLIMIT_STACK, &stack);
	req->stack_limit = stack.rlim_cur == RLIM_INFINITY ? SHADOW_STACK_DEFAULT : stack.rlim_cur;
	req->prio = prio;
	if (getrandom(req->random, sizeof(req->random), 0) != sizeof(req->random))
		die(126, "getrandom failed");
	snprintf(req->platform, sizeof(req->platform), "%s", platform ? platform : "x86_64");
	req->private_fds[0] = sh.memfd;
	req->private_fds[1] = sh.doorbell;
	req->private_fds[2] = sh.kick;
	req->nr_private_fds = 3;
	req->ignored_signals = sh.ignored;
	sh.chan->pid = getpid();
	sh.chan->shadow_va = (uint64_t)(uintptr_t)sh.chan;
	__atomic_store_n(&sh.chan->state, CRTOS_CHAN_EXEC_REQUESTED, __ATOMIC_RELEASE);
	kick_kernel();
}

/* Run at the caller's priority while serving its call (1-99: SCHED_FIFO, else normal). */
static void adopt_priority(int prio)
{
	struct sched_param sp = { .sched_priority = prio > 0 ? prio : 0 };

	if (prio == sh.prio)
		return;
	/* The raw call: musl's sched_setscheduler() only says ENOSYS. */
	if (!syscall(SYS_sched_setscheduler, 0, prio > 0 ? SCHED_FIFO : SCHED_OTHER, &sp))
		sh.prio = prio;
}

static long shadow_op(const struct crtos_rcall *s)
{
	void *va = (void *)(uintptr_t)s->args[0];
	size_t len = s->args[1];

	switch (s->nr) {
	case CRTOS_SHADOW_MAP:
		if (mmap(va, len, (int)s->args[3], MAP_SHARED | MAP_FIXED_NOREPLACE, sh.memfd,
			 (off_t)s->args[2]) != va) {
			fprintf(stderr, "crtos: the shadow cannot map %p-%p: %s\n", va,
				(char *)va + len, strerror(errno));
			return errno == EEXIST ? -EEXIST : -ENOMEM;
		}
		return 0;
	case CRTOS_SHADOW_UNMAP:
		return munmap(va, len) ? -errno : 0;
	case CRTOS_SHADOW_PROTECT:
		return mprotect(va, len, (int)s->args[2]) ? -errno : 0;
	case CRTOS_SHADOW_EXEC_DONE:
		close(sh.prog_fd);
		sh.prog_fd = -1;
		return 0;
	default:
		return -ENOSYS;
	}
}

static void serve(struct crtos_rcall *s)
{
	adopt_priority(s->prio);
	if (s->nr >= CRTOS_SHADOW_OP_BASE)
		s->ret = shadow_op(s);
	else
		s->ret = raw_syscall((long)s->nr, s->args);
	__atomic_store_n(&s->state, CRTOS_RCALL_DONE, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->wake, __ATOMIC_SEQ_CST))
		kick_kernel();
}

/* End the way the RT process ended. */
static void finish(void)
{
	struct rlimit no_core = { 0, 0 };
	int value = sh.chan->exit_value;
	char msg[sizeof(sh.chan->exit_msg)];
	sigset_t set;

	switch (sh.chan->exit_kind) {
	case CRTOS_EXIT_CODE:
		_exit(value & 0xff);
	case CRTOS_EXIT_SIGNAL:
		/* Die of the same signal, so that our parent reports 128 + signal. */
		setrlimit(RLIMIT_CORE, &no_core);
		signal(value, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, value);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(value);
		_exit(128 + value);
	default:
		memcpy(msg, sh.chan->exit_msg, sizeof(msg));
		msg[sizeof(msg) - 1] = '\0';
		die(-value == ENOENT ? 127 : 126, "cannot execute %s: %s",
		    (char *)sh.chan + CRTOS_CHANNEL_STRINGS, msg);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Serve every pending request once. Returns whether there was any. */
static bool serve_pending(void)
{
	bool any = false;

	for (int i = 0; i < CRTOS_CHANNEL_SLOTS; i++) {
		struct crtos_rcall *s = &sh.chan->slots[i];

		if (__atomic_load_n(&s->state, __ATOMIC_SEQ_CST) == CRTOS_RCALL_REQUEST) {
			serve(s);
			any = true;
		}
	}
	if (__atomic_load_n(&sh.chan->state, __ATOMIC_ACQUIRE) == CRTOS_CHAN_EXITED)
		finish();
	return any;
}

/*
 * After a call, a program often makes the next one soon: poll the slots for
 * a bounded window (the kernel skips the doorbell meanwhile), then sleep on
 * the doorbell. Clearing shadow_polling and re-checking closes the race
 * with a request posted just then.
 */
static void serve_forever(void)
{
	struct pollfd pfd = { .fd = sh.doorbell, .events = POLLIN };
	uint64_t spin_ns = getenv("CRTOS_SHADOW_SPIN_US") ?
			   strtoull(getenv("CRTOS_SHADOW_SPIN_US"), NULL, 10) * 1000 : 50000;
	eventfd_t v;

	for (;;) {
		uint64_t until = now_ns() + spin_ns;

		__atomic_store_n(&sh.chan->shadow_polling, 1, __ATOMIC_SEQ_CST);
		while (now_ns() < until)
			if (serve_pending())
				until = now_ns() + spin_ns;
			else
				__builtin_ia32_pause();
		__atomic_store_n(&sh.chan->shadow_polling, 0, __ATOMIC_SEQ_CST);
		if (serve_pending())
			continue;
		if (poll(&pfd, 1, 1000) > 0)
			eventfd_read(sh.doorbell, &v);
		if (getppid() == 1)
			die(125, "crtos run is gone; the program ends");
	}
}

int main(int argc, char **argv)
{
	uint64_t gpa;

	if (argc < 9 || strcmp(argv[6], "--"))
		die(125, "crtos-shadow is started by crtos run");
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	check_own_mappings();
	sh.memfd = fd_hide(atoi(argv[1]));
	sh.doorbell = fd_hide(atoi(argv[2]));
	sh.kick = fd_hide(atoi(argv[3]));
	gpa = strtoull(argv[4], NULL, 0);
	map_channel(gpa);
	install_forwarding();
	request_exec(argv + 8, argc - 8, atoi(argv[5]));
	serve_forever();
}
