// SPDX-License-Identifier: MIT
/*
 * Signals without timers (timers.c has those): blocked signals taken with
 * sigwaitinfo and sigtimedwait (sent with tgkill through pthread_kill, and
 * with sigqueue, whose value must arrive; real-time signals queue, standard
 * ones do not), sigpending, a SA_SIGINFO handler's siginfo, the signal mask
 * inside and after a handler (sa_mask, SA_NODEFER, SA_RESETHAND), a
 * handler on an alternate stack (sigaltstack, SA_ONSTACK), and a read from
 * an empty pipe that a handled signal interrupts (EINTR) or, with
 * SA_RESTART, does not.
 *
 * Every signal here is sent by the program to itself; a signal sent to the
 * calling thread is handled before the sending call returns, so the checks
 * follow right after it without waiting.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>
#include "check.h"

#define ALTSTACK_SIZE	65536

static volatile int info_code, info_value, info_pid_ok;
static volatile int masked_self, masked_extra, calls;
static volatile uintptr_t handler_sp;
static volatile int handler_onstack;
static char altstack[ALTSTACK_SIZE] __attribute__((aligned(16)));

static sigset_t set_of(int sig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	return set;
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	info_code = si->si_code;
	info_value = si->si_value.sival_int;
	info_pid_ok = si->si_pid == getpid();
}

/* Note which signals are blocked while we run. */
static void on_mask(int sig)
{
	sigset_t now;

	pthread_sigmask(SIG_BLOCK, NULL, &now);
	masked_self = sigismember(&now, sig);
	masked_extra = sigismember(&now, SIGUSR2);
	calls++;
}

static void on_altstack(int sig)
{
	stack_t ss;

	(void)sig;
	handler_sp = (uintptr_t)&ss;
	handler_onstack = sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK);
}

static void test_sigwait(void)
{
	int rt = SIGRTMIN + 1;
	sigset_t set = set_of(SIGUSR2), pending;
	struct timespec zero = { 0, 0 }, short_wait = { 0, 10000000 };
	siginfo_t si;
	int sig;

	sigaddset(&set, rt);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_kill(pthread_self(), SIGUSR2);
	pthread_kill(pthread_self(), SIGUSR2);
	sigpending(&pending);
	check_true("sigpending: the blocked SIGUSR2", sigismember(&pending, SIGUSR2) &&
		   !sigismember(&pending, rt));
	sig = sigwaitinfo(&set, &si);
	/* glibc reports SI_TKILL, which its own calls use, as SI_USER. */
	check_explain("sigwaitinfo: SIGUSR2 from pthread_kill", sig == SIGUSR2 &&
		      si.si_signo == SIGUSR2 && (si.si_code == SI_TKILL || si.si_code == SI_USER),
		      "signal %d, si_code %d", sig, si.si_code);
	check_err("sigtimedwait: standard signals do not queue",
		  sigtimedwait(&set, &si, &zero), EAGAIN);
	sigqueue(getpid(), rt, (union sigval){ .sival_int = 1 });
	sigqueue(getpid(), rt, (union sigval){ .sival_int = 2 });
	sigpending(&pending);
	check_true("sigpending: the queued real-time signal", sigismember(&pending, rt));
	check_true("sigtimedwait: the first sigqueue value", sigtimedwait(&set, &si, &zero) == rt &&
		   si.si_code == SI_QUEUE && si.si_value.sival_int == 1 && si.si_pid == getpid());
	check_true("sigtimedwait: real-time signals queue", sigtimedwait(&set, &si, &zero) == rt &&
		   si.si_value.sival_int == 2);
	check_err("sigtimedwait: nothing pending", sigtimedwait(&set, &si, &short_wait), EAGAIN);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void test_siginfo(void)
{
	struct sigaction sa = { .sa_sigaction = on_info, .sa_flags = SA_SIGINFO };

	check_ok("sigaction SA_SIGINFO", sigaction(SIGRTMIN + 2, &sa, NULL));
	sigqueue(getpid(), SIGRTMIN + 2, (union sigval){ .sival_int = 1234 });
	check_true("SA_SIGINFO handler: si_code, si_value, si_pid", info_code == SI_QUEUE &&
		   info_value == 1234 && info_pid_ok);
}

/* Raise SIGUSR1 with on_mask installed with flags, and sa_mask SIGUSR2. */
static void raise_masked(int flags)
{
	struct sigaction sa = { .sa_handler = on_mask, .sa_flags = flags };

	sa.sa_mask = set_of(SIGUSR2);
	sigaction(SIGUSR1, &sa, NULL);
	masked_self = masked_extra = -1;
	pthread_kill(pthread_self(), SIGUSR1);
}

static void test_mask(void)
{
	struct sigaction old;
	sigset_t now;

	raise_masked(0);
	check_true("in the handler: its signal and sa_mask blocked",
		   masked_self == 1 && masked_extra == 1);
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	check_true("after the handler: the mask is back",
		   !sigismember(&now, SIGUSR1) && !sigismember(&now, SIGUSR2));
	raise_masked(SA_NODEFER);
	check_true("SA_NODEFER: its signal not blocked, sa_mask still",
		   masked_self == 0 && masked_extra == 1);
	calls = 0;
	raise_masked(SA_RESETHAND);
	sigaction(SIGUSR1, NULL, &old);
	check_true("SA_RESETHAND: handled once, then SIG_DFL",
		   calls == 1 && old.sa_handler == SIG_DFL);
	check_ok("kill(getpid(), 0)", kill(getpid(), 0));
}

static void test_altstack(void)
{
	struct sigaction sa = { .sa_handler = on_altstack, .sa_flags = SA_ONSTACK };
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	uintptr_t base = (uintptr_t)altstack;

	check_ok("sigaltstack", sigaltstack(&ss, NULL));
	sigaction(SIGRTMIN + 3, &sa, NULL);
	pthread_kill(pthread_self(), SIGRTMIN + 3);
	check_true("SA_ONSTACK handler runs on the alternate stack",
		   handler_sp > base && handler_sp < base + sizeof(altstack));
	check_true("sigaltstack in the handler: SS_ONSTACK", handler_onstack);
	sigaltstack(NULL, &ss);
	check_true("sigaltstack outside the handler: not on it", !(ss.ss_flags & SS_ONSTACK));
	ss.ss_flags = SS_DISABLE;
	check_ok("sigaltstack SS_DISABLE", sigaltstack(&ss, NULL));
	handler_sp = 0;
	pthread_kill(pthread_self(), SIGRTMIN + 3);
	check_true("SA_ONSTACK without an alternate stack: the normal stack",
		   handler_sp && (handler_sp < base || handler_sp >= base + sizeof(altstack)));
}

static volatile int alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void *write_later(void *arg)
{
	struct timespec t = { 0, 100000000 };	/* after the 20 ms alarm */

	nanosleep(&t, NULL);
	write(*(int *)arg, "x", 1);
	return NULL;
}

/* A blocking read, and a signal that arrives while it waits: flags says whether it restarts. */
static void test_interrupted_read(const char *what, int flags, long want_ret, int want_errno)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = flags };
	struct itimerval it = { { 0, 0 }, { 0, 20000 } };
	char buf[8], name[96];
	pthread_t writer;
	int fds[2];
	long ret;

	check_quiet("pipe", pipe(fds));
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarms = 0;
	pthread_create(&writer, NULL, write_later, &fds[1]);
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 0;
	ret = read(fds[0], buf, sizeof(buf));
	snprintf(name, sizeof(name), "%s: read returns", what);
	check_long(name, ret == -1 ? -errno : ret, want_ret == -1 ? -want_errno : want_ret);
	snprintf(name, sizeof(name), "%s: the handler ran", what);
	check_long(name, alarms, 1);
	pthread_join(writer, NULL);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	test_sigwait();
	test_siginfo();
	test_mask();
	test_altstack();
	test_interrupted_read("read, handler without SA_RESTART", 0, -1, EINTR);
	test_interrupted_read("read, handler with SA_RESTART", SA_RESTART, 1, 0);
	return check_done();
}
