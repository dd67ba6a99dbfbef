/* SPDX-License-Identifier: MIT */
/*
 * Signal helpers that the shadow and crtos run share (Linux-side only):
 * putting a signal into an RT process's signal ring (crtos/channel.h; the
 * shadow forwards what Linux sends it, crtos run tells a process that
 * Linux stopped its shadow), and dying of a signal, as the program did.
 */
#ifndef SHADOW_SIGNALS_H
#define SHADOW_SIGNALS_H

#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <crtos/channel.h>

/* Queue e's signal (seq ignored) in c's ring, or as a bit when the ring is full. Lock-free. */
static inline void sigring_push(struct crtos_channel *c, const struct crtos_siginfo *e)
{
	uint32_t head = __atomic_load_n(&c->sig_head, __ATOMIC_ACQUIRE);

	for (;;) {
		struct crtos_siginfo *slot = &c->sigring[head % CRTOS_SIGRING];

		if (__atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE) != head) {
			__atomic_fetch_or(&c->signals, 1ull << (e->signo - 1), __ATOMIC_SEQ_CST);
			return;
		}
		if (!__atomic_compare_exchange_n(&c->sig_head, &head, head + 1, false,
						 __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE))
			continue;
		slot->signo = e->signo;
		slot->code = e->code;
		slot->pid = e->pid;
		slot->uid = e->uid;
		slot->value = e->value;
		slot->tid = e->tid;
		__atomic_store_n(&slot->seq, head + 1, __ATOMIC_RELEASE);
		return;
	}
}

/*
 * End this process by sig, without a core dump, so that its parent's wait
 * status and a shell's message ("Segmentation fault") are the program's.
 * Returns only if sig did not end it.
 */
static inline void die_by_signal(int sig)
{
	struct rlimit no_core = { 0, 0 };
	sigset_t set;

	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
}

#endif
