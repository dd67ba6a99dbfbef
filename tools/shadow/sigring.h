/* SPDX-License-Identifier: MIT */
/*
 * Putting a signal into an RT process's signal ring (crtos/channel.h):
 * the shadow forwards what Linux sends it, and crtos run tells a process
 * that Linux stopped its shadow (SIGSTOP). Lock-free, any number of
 * writers, async-signal-safe. Linux-side only.
 */
#ifndef SHADOW_SIGRING_H
#define SHADOW_SIGRING_H

#include <stdint.h>
#include <crtos/channel.h>

/* Queue e's signal (seq ignored) in c's ring, or as a bit when the ring is full. */
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

#endif
