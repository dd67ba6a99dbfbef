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
 * Threads. Each RT thread has a twin here, which makes its remote calls on
 * its own Linux thread (so the tid, the thread's Linux-side state and
 * signals aimed at it are right): the main thread is the RT main thread's
 * twin (slot 0), and CRTOS_SHADOW_CLONE starts another. A twin spins on its
 * slot for a while after each call, then sleeps on a futex on the slot's
 * state; the dispatcher thread sleeps on the doorbell and wakes the twins
 * whose slots have requests. Twins block the signals Linux may send the
 * program while they serve calls (so a call is never cut short by a signal
 * the program ignores); the dispatcher and idle twins take them, and
 * forward them through the channel's signal ring. When the kernel wants a
 * call cut short (a signal with a handler came for the caller), the
 * dispatcher sends the twin SHADOW_SIG_INTERRUPT: a call in progress fails
 * with EINTR, a call not yet started does not start.
 *
 * Processes. fork and execve are the kernel's and ours together: exec.c
 * opens what execve runs, fork.c forks this process for an RT child.
 * crtos run holds the cell and makes the RT processes; SUPFD is our socket
 * to it (shadow/supervise.h): its hang-up means crtos run is gone.
 *
 * Usage (by crtos run only):
 *   crtos-shadow MEMFD DOORBELLFD KICKFD SUPFD CHANNEL_GPA PRIO FLAGS -- PATH ARGV0 ARGS...
 * FLAGS: CRTOS_EXEC_* bits.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/auxv.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <crtos/channel.h>
#include <linux_syscalls.h>
#include "shadow.h"
#include "shadow/signals.h"
#include "stats.h"

#define SHADOW_SIG_INTERRUPT	SIGRTMAX	/* dispatcher to twin: cut your call short */
#define TWIN_STACK_SIZE		(128 * 1024)

extern char **environ;

struct shadow sh = { .prog_fd = -1, .sup = -1 };

/* Per thread: the slot a twin serves (-1 elsewhere), its priority, whether a signal is its own. */
static __thread int my_slot = -1;
static __thread int my_prio;
static __thread volatile int my_signal_window;
/*
 * A twin's terminal stop signals: those it leaves unblocked now, the
 * sh.forwarded its mask was made from (forwarded_gen), and one it took
 * (tty_call()).
 */
static __thread uint64_t my_tty_open;
static __thread unsigned int my_mask_gen;
static __thread volatile sig_atomic_t my_tty_signal;
static unsigned int forwarded_gen;	/* bumped when sh.forwarded changes (signal_ignore()) */

#define TTY_STOP_BITS	((1ull << (SIGTTIN - 1)) | (1ull << (SIGTTOU - 1)))

/* The interruptible system call (shadow_syscall.S's contract, written in asm below). */
long shadow_syscall_cp(const volatile uint32_t *cancel, long nr, const uint64_t *args);
extern const char shadow_syscall_cp_begin[], shadow_syscall_cp_end[], shadow_syscall_cp_cancel[];

/*
 * The flag is read inside [begin, end): a signal that arrives there before
 * the syscall instruction ran moves the thread to the cancel label, so a
 * call is either cut short by the kernel (EINTR) or never starts.
 */
__asm__(".text\n"
	".globl shadow_syscall_cp\n"
	".type shadow_syscall_cp, @function\n"
	"shadow_syscall_cp:\n"
	"	movq %rdi, %r11\n"
	"	movq %rsi, %rax\n"
	"	movq 0(%rdx), %rdi\n"
	"	movq 8(%rdx), %rsi\n"
	"	movq 24(%rdx), %r10\n"
	"	movq 32(%rdx), %r8\n"
	"	movq 40(%rdx), %r9\n"
	"	movq 16(%rdx), %rdx\n"
	".globl shadow_syscall_cp_begin\n"
	"shadow_syscall_cp_begin:\n"
	"	cmpl $0, (%r11)\n"
	"	jne shadow_syscall_cp_cancel\n"
	"	syscall\n"
	".globl shadow_syscall_cp_end\n"
	"shadow_syscall_cp_end:\n"
	"	ret\n"
	".globl shadow_syscall_cp_cancel\n"
	"shadow_syscall_cp_cancel:\n"
	"	movq $-4, %rax\n"	/* -EINTR */
	"	ret\n"
	".size shadow_syscall_cp, . - shadow_syscall_cp\n");

void die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "crtos: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	_exit(status);
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

		if (start < CRTOS_USER_TOP)
			die(125, "the shadow has a mapping at %#llx, where programs live (was it "
			    "started with address randomization on?)", start);
	}
}

int fd_hide(int fd)
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

/* Queue a signal for the program in the channel's ring (or as a bit when it is full). */
static void ring_push(int sig, const siginfo_t *si)
{
	struct crtos_siginfo e = {
		.signo = sig, .code = si->si_code, .pid = si->si_pid, .uid = si->si_uid,
		.value = (uint64_t)(uintptr_t)si->si_value.sival_ptr,
		/* Aimed at this twin's thread (tgkill), or raised by its own call (SIGPIPE). */
		.tid = my_slot >= 0 && (si->si_code == SI_TKILL || my_signal_window) ?
		       (int32_t)syscall(SYS_gettid) : 0,
	};

	sigring_push(sh.chan, &e);
}

/* SIGCONTs forwarded so far (stop_self waits for the one that continued it). */
static unsigned int sigconts_forwarded;

/* Signals for the program: into the channel, and wake the kernel. */
static void forward_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (my_slot >= 0 && (sig == SIGTTIN || sig == SIGTTOU))
		my_tty_signal = sig;
	if (sh.chan && sig >= 1 && sig <= 64) {
		ring_push(sig, si);
		kick_kernel();
	}
	if (sig == SIGCONT)
		__atomic_fetch_add(&sigconts_forwarded, 1, __ATOMIC_RELEASE);
	/* The program's shadow continued: so does crtos run, if it stopped with us (cmd_run.c). */
	if (sig == SIGCONT && sh.main)
		kill(getppid(), SIGCONT);
}

/* A twin's call is to be cut short (or this is a signal from outside that we forward). */
static void interrupt_signal(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];

	if (si->si_code != SI_TKILL || si->si_pid != getpid()) {
		forward_signal(sig, si, ucv);
		return;
	}
	if (my_slot >= 0 && __atomic_load_n(&shadow_slot(my_slot)->interrupt, __ATOMIC_SEQ_CST) &&
	    ip >= (uintptr_t)shadow_syscall_cp_begin && ip < (uintptr_t)shadow_syscall_cp_end)
		uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)shadow_syscall_cp_cancel;
	/* A call in progress returns EINTR: this handler has no SA_RESTART. */
}

/*
 * CRTOS_SHADOW_SIGCHLD: Linux reaps our children (the shadows of the
 * program's) without a wait when on, as the program's SIGCHLD action asks
 * (SIG_IGN or SA_NOCLDWAIT); we forward SIGCHLD either way.
 */
static bool sigchld_nocldwait;

static long sigchld_autoreap(int on)
{
	struct sigaction sa = { .sa_sigaction = forward_signal,
				.sa_flags = SA_SIGINFO | SA_RESTART | (on ? SA_NOCLDWAIT : 0) };

	sa.sa_mask = sh.forwarded;
	if (sigaction(SIGCHLD, &sa, NULL))
		return -errno;
	sigchld_nocldwait = on;
	return 0;
}

/*
 * CRTOS_SHADOW_STOP: stop this process with sig, as its default action
 * would; Linux tells our parent (WSTOPSIG) and continues us on SIGCONT. 0:
 * Linux stopped us already, and we could answer only once it continued us.
 * Returns when we run again (at once where Linux discards the stop: an
 * orphaned process group).
 */
/*
 * Once Linux has continued us, the SIGCONT that did it is forwarded by
 * whichever thread runs its handler, maybe after this one returns. The
 * program must find it queued when its stop ends (a SIGCONT handler runs
 * before the code after raise(SIGSTOP), as natively), so wait for it; 1 s
 * at most, in case Linux continued us some other way.
 */
static void wait_for_sigcont_forwarded(unsigned int before)
{
	struct timespec pause = { .tv_nsec = 100000 };

	for (int i = 0; i < 10000; i++) {
		if (__atomic_load_n(&sigconts_forwarded, __ATOMIC_ACQUIRE) != before)
			return;
		nanosleep(&pause, NULL);
	}
}

static long stop_self(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old;
	unsigned int conts;
	sigset_t set;

	if (!sig)
		return 0;
	if (sig != SIGSTOP && sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU)
		return -EINVAL;
	if (sig != SIGSTOP)
		sigaction(sig, &dfl, &old);
	sigemptyset(&set);
	sigaddset(&set, sig);
	conts = __atomic_load_n(&sigconts_forwarded, __ATOMIC_ACQUIRE);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);	/* stops on the way out */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (sig != SIGSTOP)
		sigaction(sig, &old, NULL);
	wait_for_sigcont_forwarded(conts);
	return 0;
}

/* Signals we never forward: they end or stop the shadow itself, or are musl's own. */
static bool never_forwarded(int sig)
{
	static const int fatal_to_us[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
					   SIGKILL, SIGSTOP, SIGTRAP, SIGSYS };

	for (unsigned int i = 0; i < sizeof(fatal_to_us) / sizeof(fatal_to_us[0]); i++)
		if (fatal_to_us[i] == sig)
			return true;
	return sig >= 32 && sig < 35;	/* musl's own (timer, cancel, synccall) */
}

/*
 * Our handler for every signal of sh.forwarded, each masking them all while
 * it runs. SIGTTIN and SIGTTOU go without SA_RESTART: a twin's call to the
 * terminal that raised one must come back (EINTR) for the realm to act on
 * it (tty_call()), where a restart would only raise it again.
 */
static void install_forwarders(void)
{
	struct sigaction sa = { .sa_sigaction = forward_signal };

	sa.sa_mask = sh.forwarded;	/* no nesting: the ring is filled one at a time per thread */
	for (int sig = 1; sig < SIGRTMAX; sig++) {
		if (sig == SIGCHLD || !sigismember(&sh.forwarded, sig))
			continue;
		sa.sa_flags = SA_SIGINFO | (sig == SIGTTIN || sig == SIGTTOU ? 0 : SA_RESTART);
		sigaction(sig, &sa, NULL);
	}
	sigchld_autoreap(sigchld_nocldwait);
}

static void install_forwarding(void)
{
	struct sigaction intr = { .sa_sigaction = interrupt_signal, .sa_flags = SA_SIGINFO };
	struct sigaction old;

	sigemptyset(&sh.forwarded);
	for (int sig = 1; sig < SIGRTMAX; sig++) {
		/* Ignored when we were started: the program starts with it ignored too. */
		if (!sigaction(sig, NULL, &old) && old.sa_handler == SIG_IGN) {
			if (sig < 32)
				sh.ignored |= 1u << sig;
			/* Ours either way: see sigchld_autoreap(), and SIGCONT ends a stop. */
			if (sig != SIGCHLD && sig != SIGCONT)
				continue;
		}
		if (!never_forwarded(sig))
			sigaddset(&sh.forwarded, sig);
	}
	sigchld_nocldwait = sh.ignored & (1u << SIGCHLD);
	install_forwarders();
	sigemptyset(&intr.sa_mask);
	sigaction(SHADOW_SIG_INTERRUPT, &intr, NULL);
	/* Until threads set their own: everything forwarded stays blocked here. */
	pthread_sigmask(SIG_SETMASK, &sh.forwarded, NULL);
}

/*
 * CRTOS_SHADOW_SIGNAL_IGNORE: ignore sig, as the program now does (SIG_IGN),
 * or forward it again (a handler, or the default). A signal we were started
 * with ignored must reach a program that catches it later: a shell starts
 * its background jobs with SIGINT ignored, and cyclictest then sets its own
 * SIGINT handler. SIGCHLD and SIGCONT stay ours (sigchld_autoreap()).
 */
static long signal_ignore(int sig, int ignore)
{
	if (sig < 1 || sig >= 32 || never_forwarded(sig) || sig == SIGCHLD || sig == SIGCONT)
		return -EINVAL;
	__atomic_fetch_add(&forwarded_gen, 1, __ATOMIC_RELEASE);
	if (ignore) {
		sh.ignored |= 1u << sig;
		sigdelset(&sh.forwarded, sig);
		signal(sig, SIG_IGN);
	} else {
		sh.ignored &= ~(1u << sig);
		sigaddset(&sh.forwarded, sig);
	}
	install_forwarders();
	return 0;
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

/* The first program: open it (following `#!`), fill in the exec request, ask the kernel. */
static void request_exec(char **argv, int argc, int prio)
{
	struct crtos_exec_request *req = &sh.chan->exec;
	const char *path = argv[-1];	/* argv[-1] is the path */
	struct rlimit rtprio;
	int envc = 0, err;

	while (environ[envc])
		envc++;
	err = exec_request_fill(AT_FDCWD, path, 0, argv, argc, environ, envc);
	if (err == -E2BIG)
		die(126, "%s: argument list too long", path);
	if (err)
		die(err == -ENOENT ? 127 : 126, "%s: %s", path, strerror(-err));
	req->prio = prio;
	req->private_fds[0] = sh.memfd;
	req->private_fds[1] = sh.doorbell;
	req->private_fds[2] = sh.kick;
	req->private_fds[3] = sh.sup;
	req->nr_private_fds = 4;
	if (sh.report >= 0)
		req->private_fds[req->nr_private_fds++] = sh.report;
	if (sh.stats_file >= 0)
		req->private_fds[req->nr_private_fds++] = sh.stats_file;
	req->ignored_signals = sh.ignored;
	req->flags = sh.flags;
	getrlimit(RLIMIT_RTPRIO, &rtprio);
	req->rtprio_limit = rtprio.rlim_cur;
	sh.chan->pid = getpid();
	sh.chan->shadow_va = (uint64_t)(uintptr_t)sh.chan;
	__atomic_store_n(&sh.chan->state, CRTOS_CHAN_EXEC_REQUESTED, __ATOMIC_RELEASE);
	kick_kernel();
}

/* Run at the caller's priority while serving its call (1-99: SCHED_FIFO, else normal). */
static void adopt_priority(int prio)
{
	struct sched_param sp = { .sched_priority = prio > 0 ? prio : 0 };

	if (prio == my_prio)
		return;
	/* The raw call, on this thread: musl's sched_setscheduler() only says ENOSYS. */
	if (!syscall(SYS_sched_setscheduler, 0, prio > 0 ? SCHED_FIFO : SCHED_OTHER, &sp))
		my_prio = prio;
}

struct twin_start {
	int slot;
	uint32_t ready;			/* futex: 1 once tid is set */
	pid_t tid;
};

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static void *twin_main(void *arg)
{
	struct twin_start *st = arg;
	int slot = st->slot;
	char here;

	if ((uint64_t)(uintptr_t)&here < CRTOS_USER_TOP)
		die(125, "a twin's stack is at %p, where programs live", (void *)&here);
	sh.twin_tid[slot] = (pid_t)syscall(SYS_gettid);
	st->tid = sh.twin_tid[slot];
	__atomic_store_n(&st->ready, 1, __ATOMIC_RELEASE);
	futex(&st->ready, FUTEX_WAKE_PRIVATE, 1, NULL);
	twin_loop(slot);
	return NULL;
}

static pthread_mutex_t slot_pages_lock = PTHREAD_MUTEX_INITIALIZER;

struct crtos_rcall *shadow_slot(int slot)
{
	struct crtos_rcall *page;

	if (slot < 0 || slot >= CRTOS_MAX_THREADS)
		return NULL;
	page = slot < CRTOS_CHANNEL_SLOTS ? sh.chan->slots :
	       __atomic_load_n(&sh.slot_pages[slot / CRTOS_SLOTS_PER_PAGE], __ATOMIC_ACQUIRE);
	return page ? &page[slot % CRTOS_SLOTS_PER_PAGE] : NULL;
}

/* Map slot's page, at gpa in guest memory, unless it is here already. 0 or -errno. */
static int slot_page_map(int slot, uint64_t gpa)
{
	unsigned int n = (unsigned int)slot / CRTOS_SLOTS_PER_PAGE;
	void *page;
	int err = 0;

	if (shadow_slot(slot))
		return 0;
	if (!gpa || gpa % 4096)
		return -EINVAL;
	pthread_mutex_lock(&slot_pages_lock);
	if (!sh.slot_pages[n]) {
		page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, sh.memfd, (off_t)gpa);
		if (page == MAP_FAILED)
			err = -errno == -ENOMEM ? -EAGAIN : -errno;
		else
			__atomic_store_n(&sh.slot_pages[n], page, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&slot_pages_lock);
	return err;
}

void slot_pages_drop(void)
{
	for (int i = 1; i < CRTOS_SLOT_PAGES; i++) {
		if (sh.slot_pages[i])
			munmap(sh.slot_pages[i], 4096);
		sh.slot_pages[i] = NULL;
	}
}

/* CRTOS_SHADOW_CLONE: a new twin for slot, in the slot page at page_gpa; its tid, or -errno. */
static long twin_start(int slot, uint64_t page_gpa)
{
	struct twin_start st = { .slot = slot };
	pthread_attr_t attr;
	pthread_t t;
	int err;

	if (slot < 0 || slot >= CRTOS_MAX_THREADS)
		return -EINVAL;
	err = slot_page_map(slot, page_gpa);
	if (err)
		return err;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, TWIN_STACK_SIZE);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&t, &attr, twin_main, &st);
	pthread_attr_destroy(&attr);
	if (err)
		return -err;
	while (!__atomic_load_n(&st.ready, __ATOMIC_ACQUIRE))
		futex(&st.ready, FUTEX_WAIT_PRIVATE, 0, NULL);
	return st.tid;
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
		return exec_done((int)s->args[0]);
	case CRTOS_SHADOW_EXEC_PREPARE:
		return exec_prepare((int)s->args[0], (int)s->args[1]);
	case CRTOS_SHADOW_FORK_PREPARE:
		return fork_prepare();
	case CRTOS_SHADOW_FORK:
		return fork_shadow((unsigned int)s->args[0], (int)s->args[1]);
	case CRTOS_SHADOW_SIGCHLD:
		return sigchld_autoreap((int)s->args[0]);
	case CRTOS_SHADOW_SIGNAL_IGNORE:
		return signal_ignore((int)s->args[0], (int)s->args[1]);
	case CRTOS_SHADOW_STOP:
		return stop_self((int)s->args[0]);
	case CRTOS_SHADOW_CLONE:
		return twin_start((int)s->args[0], s->args[1]);
	case CRTOS_SHADOW_SHM_MAP:
		return shm_map(s->args[0], len, (int)s->args[2], (int64_t)s->args[3], s->args[4],
			       (int)s->args[5]);
	case CRTOS_SHADOW_SHM_GROW:
		return shm_grow(s->args[0], len, s->args[2], s->args[3], (uint32_t)s->args[4]);
	case CRTOS_SHADOW_THREAD_EXIT:
		return 0;	/* serve() ends the twin once the answer is out */
	default:
		return -ENOSYS;
	}
}

static long wait_retry(const struct crtos_rcall *s, long ret);

/* A twin serving calls blocks every signal we forward (tty_mask_set() opens two). */
static void twin_block_forwarded(void)
{
	my_mask_gen = __atomic_load_n(&forwarded_gen, __ATOMIC_ACQUIRE);
	pthread_sigmask(SIG_SETMASK, &sh.forwarded, NULL);
	my_tty_open = 0;
}

/* Signals Linux raised for this thread's own call (SIGPIPE, SIGXFSZ): forward them now. */
static void take_own_signals(void)
{
	sigset_t none;

	sigemptyset(&none);
	my_signal_window = 1;
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	twin_block_forwarded();
	my_signal_window = 0;
}

/*
 * Calls through which Linux's tty may stop the caller's process group: a
 * read of the terminal from the background (SIGTTIN), a write with TOSTOP
 * set or a change of the terminal's settings (SIGTTOU). Linux sends the
 * signal only if the caller neither blocks nor ignores it, else the read
 * fails with EIO and the rest goes through.
 */
static bool tty_call(long nr)
{
	switch (nr) {
	case SYS_read: case SYS_readv: case SYS_preadv2:
	case SYS_write: case SYS_writev: case SYS_pwritev2:
	case SYS_ioctl:
		return true;
	default:
		return false;
	}
}

/*
 * Unblock exactly the terminal stop signals of open (TTY_STOP_BITS bits) in
 * this twin; the others of sh.forwarded stay blocked. One system call, and
 * only when that changes. The shadow ignores SIGTTIN or SIGTTOU when the
 * program does (signal_ignore()), so Linux sees both as the program has them.
 */
static void tty_mask_set(uint64_t open)
{
	unsigned int gen = __atomic_load_n(&forwarded_gen, __ATOMIC_ACQUIRE);
	sigset_t set = sh.forwarded;

	if (open == my_tty_open && gen == my_mask_gen)
		return;
	my_mask_gen = gen;
	if (open & (1ull << (SIGTTIN - 1)))
		sigdelset(&set, SIGTTIN);
	if (open & (1ull << (SIGTTOU - 1)))
		sigdelset(&set, SIGTTOU);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	my_tty_open = open;
}

/*
 * A Linux call for the program. One that may reach a terminal runs with
 * SIGTTIN and SIGTTOU blocked as the caller has them (its slot's sigmask);
 * cut short by one of those, which our handler forwarded, it answers
 * CRTOS_RCALL_RESTART: the realm stops (or runs a handler) and decides.
 */
static long twin_call(struct crtos_rcall *s)
{
	long ret;

	tty_mask_set(tty_call(s->nr) ? TTY_STOP_BITS & ~s->sigmask : 0);
	my_tty_signal = 0;
	ret = wait_retry(s, shadow_syscall_cp(&s->interrupt, (long)s->nr, s->args));
	if (ret == -EINTR && my_tty_signal)
		ret = CRTOS_RCALL_RESTART;
	return ret;
}

/*
 * A wait cut short (EINTR) returns a child that is ready if there is one:
 * the signal is often the SIGCHLD of the very child it waited for, and
 * Linux looks for a ready child before it looks at signals.
 */
static long wait_retry(const struct crtos_rcall *s, long ret)
{
	const uint64_t *a = s->args;
	long r;

	if (ret != -EINTR)
		return ret;
	if (s->nr == SYS_wait4) {
		r = syscall(SYS_wait4, a[0], a[1], a[2] | WNOHANG, a[3]);
		return r > 0 ? r : ret;
	}
	if (s->nr == SYS_waitid && a[2]) {
		/* WNOHANG with none ready: 0 and si_pid 0 (Linux wrote infop, so it can be read). */
		r = syscall(SYS_waitid, a[0], a[1], a[2], a[3] | WNOHANG, a[4]);
		return r == 0 && ((const siginfo_t *)(uintptr_t)a[2])->si_pid ? 0 : ret;
	}
	return ret;
}

/* Whether this thread or process is one of ours (a twin's tid, or our pid). */
static bool is_our_tid(long tid)
{
	if (tid == getpid())
		return true;
	for (int i = 0; i < CRTOS_MAX_THREADS; i++)
		if (sh.twin_tid[i] && sh.twin_tid[i] == tid)
			return true;
	return false;
}

/*
 * A call that sends SIGSTOP to this very process (raise(SIGSTOP), kill of
 * our pid or group): Linux stops us inside it, and only a SIGCONT goes on.
 */
static bool call_stops_us(const struct crtos_rcall *s)
{
	const uint64_t *a = s->args;

	switch (s->nr) {
	case SYS_kill:
		return a[1] == SIGSTOP && ((long)a[0] == getpid() || a[0] == 0 ||
					   (long)a[0] == -getpgrp());
	case SYS_tgkill:
		return a[2] == SIGSTOP && (long)a[0] == getpid();
	case SYS_tkill:
		return a[1] == SIGSTOP && is_our_tid((long)a[0]);
	default:
		return false;
	}
}

static void serve(struct crtos_rcall *s)
{
	unsigned int conts = __atomic_load_n(&sigconts_forwarded, __ATOMIC_ACQUIRE);
	long ret;

	__atomic_fetch_add(&sh.calls[my_slot], 1, __ATOMIC_SEQ_CST);	/* before its window */
	adopt_priority(s->prio);
	if (s->nr >= CRTOS_SHADOW_OP_BASE) {
		tty_mask_set(0);	/* an operation is never cut short by them */
		ret = shadow_op(s);
	} else {
		ret = twin_call(s);
	}
	/* As after a stop of our own making (stop_self): the SIGCONT first, then the answer. */
	if (!ret && call_stops_us(s))
		wait_for_sigcont_forwarded(conts);
	if (ret == -EPIPE || ret == -EFBIG)
		take_own_signals();
	s->ret = ret;
	__atomic_store_n(&s->state, CRTOS_RCALL_DONE, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->wake, __ATOMIC_SEQ_CST))
		kick_kernel();
	if (s->nr == CRTOS_SHADOW_THREAD_EXIT) {
		sh.twin_tid[my_slot] = 0;
		pthread_exit(NULL);
	}
}

/*
 * crtos run --stats, on the stderr we were started with (the program it
 * started only), and --stats=FILE (every process of the run).
 */
static void report_stats(const char *why)
{
	FILE *out = sh.flags & CRTOS_EXEC_STATS && sh.report >= 0 ? fdopen(sh.report, "w") : NULL;

	if (out)
		stats_print(out, sh.chan, why);
	if (sh.stats_file >= 0 && stats_write_tsv(sh.stats_file, sh.chan, getpid(), sh.program))
		fprintf(stderr, "crtos: cannot write the statistics: %s\n", strerror(errno));
}

/* End the way the RT process ended. */
static void finish(void)
{
	int value = sh.chan->exit_value;
	char msg[sizeof(sh.chan->exit_msg)];

	if (sh.chan->exit_kind != CRTOS_EXIT_EXEC_FAILED)
		report_stats(NULL);
	switch (sh.chan->exit_kind) {
	case CRTOS_EXIT_CODE:
		_exit(value & 0xff);
	case CRTOS_EXIT_SIGNAL:
		die_by_signal(value);
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

static bool slot_requested(struct crtos_rcall *s)
{
	return __atomic_load_n(&s->state, __ATOMIC_SEQ_CST) == CRTOS_RCALL_REQUEST;
}

/*
 * A twin: serve slot's calls. After a call, a program often makes the next
 * one soon: spin on the slot for a bounded window (the kernel skips the
 * doorbell meanwhile), then sleep on the slot's state (the dispatcher wakes
 * us). Clearing polling and re-checking closes the race with a request
 * posted just then. Asleep, the twin takes the program's signals too.
 */
_Noreturn void twin_loop(int slot)
{
	struct crtos_rcall *s = shadow_slot(slot);
	struct timespec second = { 1, 0 };
	sigset_t idle;

	my_slot = slot;
	sigemptyset(&idle);
	twin_block_forwarded();
	for (;;) {
		uint64_t until = now_ns() + sh.spin_ns;
		uint32_t state;

		__atomic_store_n(&s->polling, 1, __ATOMIC_SEQ_CST);
		while (now_ns() < until) {
			if (slot_requested(s)) {
				serve(s);
				until = now_ns() + sh.spin_ns;
			} else {
				__builtin_ia32_pause();
			}
		}
		__atomic_store_n(&s->polling, 0, __ATOMIC_SEQ_CST);
		state = __atomic_load_n(&s->state, __ATOMIC_SEQ_CST);
		if (state == CRTOS_RCALL_REQUEST) {
			serve(s);
			continue;
		}
		pthread_sigmask(SIG_SETMASK, &idle, NULL);
		futex(&s->state, FUTEX_WAIT_PRIVATE, state, &second);
		twin_block_forwarded();
	}
}

/*
 * The dispatcher's look at one slot with a request: wake its twin, and cut
 * its call short if the kernel asks (once per call taken up: back-to-back
 * calls of one slot may both be cut; one not taken up yet fails at the
 * entry of its window anyway).
 */
static void dispatch_slot(int i, uint32_t *cut_at)
{
	struct crtos_rcall *s = shadow_slot(i);
	uint32_t calls;

	if (!s || !slot_requested(s))
		return;
	if (s->prio > my_prio)
		adopt_priority(s->prio);	/* never slower than the callers it serves */
	calls = __atomic_load_n(&sh.calls[i], __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->interrupt, __ATOMIC_SEQ_CST) && cut_at[i] != calls && sh.twin_tid[i]) {
		syscall(SYS_tgkill, getpid(), sh.twin_tid[i], SHADOW_SIG_INTERRUPT);
		cut_at[i] = calls;
	}
	futex(&s->state, FUTEX_WAKE_PRIVATE, 1, NULL);
}

/*
 * The slots the kernel rang for (their rung bits, taken), or every slot
 * when all is set: at start, and after a second without a doorbell, in
 * case a wake-up was lost.
 */
static void dispatch_slots(uint32_t *cut_at, bool all)
{
	for (int w = 0; w < CRTOS_MAX_THREADS / 64; w++) {
		uint64_t bits = __atomic_exchange_n(&sh.chan->rung[w], 0, __ATOMIC_SEQ_CST);

		if (all)
			bits = ~0ull;
		while (bits) {
			int i = w * 64 + __builtin_ctzll(bits);

			bits &= bits - 1;
			if (i < CRTOS_CHANNEL_SLOTS || sh.slot_pages[i / CRTOS_SLOTS_PER_PAGE])
				dispatch_slot(i, cut_at);
		}
	}
}

/*
 * The dispatcher: sleeps on the doorbell, wakes the twins whose slots have
 * requests, cuts calls short when the kernel asks, takes the program's
 * signals, and ends the shadow when the program ends.
 */
static void *dispatcher(void *arg)
{
	struct pollfd pfd[2] = { { .fd = sh.doorbell, .events = POLLIN }, { .fd = sh.sup } };
	static uint32_t cut_at[CRTOS_MAX_THREADS];	/* sh.calls when we last cut a call short */
	bool all = true;
	sigset_t mine;
	eventfd_t v;
	int prio = (int)(intptr_t)arg;

	memset(cut_at, 0, sizeof(cut_at));	/* a forked shadow's new dispatcher starts afresh */
	sigemptyset(&mine);
	sigaddset(&mine, SHADOW_SIG_INTERRUPT);
	pthread_sigmask(SIG_SETMASK, &mine, NULL);	/* forwarded signals: unblocked here */
	adopt_priority(prio);
	for (;;) {
		int n;

		if (__atomic_load_n(&sh.chan->state, __ATOMIC_ACQUIRE) == CRTOS_CHAN_EXITED)
			finish();
		dispatch_slots(cut_at, all);
		n = poll(pfd, 2, 1000);
		all = n == 0;
		if (n > 0 && (pfd[0].revents & POLLIN))
			eventfd_read(sh.doorbell, &v);
		if ((pfd[1].revents & (POLLHUP | POLLERR)) || (sh.sup < 0 && getppid() == 1)) {
			report_stats("crtos run is gone");
			die(125, "crtos run is gone; the program ends");
		}
	}
	return NULL;
}

/* The dispatcher thread, at priority prio. */
void dispatcher_start(int prio)
{
	pthread_t disp;

	if (pthread_create(&disp, NULL, dispatcher, (void *)(intptr_t)prio))
		die(126, "cannot start the shadow's dispatcher thread");
}

int main(int argc, char **argv)
{
	uint64_t gpa;
	int prio;

	if (argc < 12 || strcmp(argv[9], "--"))
		die(125, "crtos-shadow is started by crtos run");
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	check_own_mappings();
	sh.memfd = fd_hide(atoi(argv[1]));
	sh.doorbell = fd_hide(atoi(argv[2]));
	sh.kick = fd_hide(atoi(argv[3]));
	sh.sup = fd_hide(atoi(argv[4]));
	gpa = strtoull(argv[5], NULL, 0);
	prio = atoi(argv[6]);
	sh.flags = (uint32_t)strtoul(argv[7], NULL, 0);
	sh.report = sh.flags & CRTOS_EXEC_STATS && fcntl(2, F_GETFD) >= 0 ? fd_hide(dup(2)) : -1;
	sh.stats_file = atoi(argv[8]) >= 0 ? fd_hide(atoi(argv[8])) : -1;
	sh.spin_ns = getenv("CRTOS_SHADOW_SPIN_US") ?
		     strtoull(getenv("CRTOS_SHADOW_SPIN_US"), NULL, 10) * 1000 : 50000;
	map_channel(gpa);
	install_forwarding();
	sh.twin_tid[0] = getpid();	/* the main thread is the RT main thread's twin */
	sh.main = true;
	dispatcher_start(prio);
	/*
	 * From here the dispatcher sees crtos run's end (its socket hangs up), as
	 * in a forked shadow, and reports --stats first: no SIGKILL for that.
	 */
	prctl(PR_SET_PDEATHSIG, 0);
	request_exec(argv + 11, argc - 11, prio);
	twin_loop(0);
}
