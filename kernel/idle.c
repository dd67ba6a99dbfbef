// SPDX-License-Identifier: MIT
/*
 * The idle loop. The RT CPU is ours alone, so idling means polling: the
 * VMM's requests (shutdown, newly populated RAM) and the heartbeat, all in
 * shared memory, at native speed. In CRTOS_IDLE_HALT mode (chosen when
 * Linux would throttle a spinning SCHED_FIFO vCPU) the loop spins for
 * idle_spin_us after the last activity, then halts until the next
 * heartbeat or a kick from Linux.
 */
#include <kernel/arch.h>
#include <kernel/clock.h>
#include <kernel/cmdline.h>
#include <kernel/irq.h>
#include <kernel/kernel.h>
#include <kernel/mm.h>
#include <kernel/printk.h>
#include <kernel/personality.h>
#include <kernel/thread.h>
#include <kernel/timer.h>

struct idle_state {
	struct crtos_comm *comm;
	bool halt;			/* CRTOS_IDLE_HALT */
	uint64_t spin;			/* cycles to spin before halting */
	uint64_t beat_period;		/* cycles between heartbeats */
	uint64_t next_beat;		/* TSC of the next heartbeat */
	uint64_t busy_until;		/* TSC until which to keep spinning */
};

/* The wake-up is the point of these interrupts; nothing else to do. */
static void idle_wakeup(unsigned int vector __unused, void *arg __unused)
{
}

/* One pass over everything the idle loop watches. Returns true if it did something. */
static bool idle_poll(struct idle_state *st, uint64_t now)
{
	uint32_t shutdown = READ_ONCE(st->comm->shutdown);
	bool busy = false;

	if (shutdown)
		kernel_exit((int)shutdown - 1);
	if (mm_poll_late_ram())
		busy = true;
	if (personality_poll())
		busy = true;
	if (timer_poll())
		busy = true;
	thread_reap();
	if (sched_need_resched()) {
		sched_preempt();
		busy = true;
	}
	if (now >= st->next_beat) {
		WRITE_ONCE(st->comm->heartbeat_tsc, now);
		WRITE_ONCE(st->comm->heartbeat, st->comm->heartbeat + 1);
		st->next_beat = now + st->beat_period;
	}
	return busy;
}

/* Halt until the next heartbeat or a kick; returns with interrupts handled. */
static void idle_halt(struct idle_state *st)
{
	unsigned long flags = arch_irq_save();
	uint64_t sleeper = timer_next_deadline();

	arch_timer_set_deadline(sleeper && sleeper < st->next_beat ? sleeper : st->next_beat);
	personality_before_halt();
	if (!READ_ONCE(st->comm->shutdown) && !personality_poll() && !sched_need_resched())
		arch_idle_wait();
	arch_irq_restore(flags);
}

_Noreturn void idle_loop(void)
{
	const struct crtos_boot_params *bp = kernel_boot_params();
	struct idle_state st = { .comm = kernel_comm() };
	uint64_t now = arch_read_tsc();

	st.halt = bp->idle_mode == CRTOS_IDLE_HALT;
	st.spin = clock_ns_to_cycles(bp->idle_spin_us * NSEC_PER_USEC);
	st.beat_period = clock_ns_to_cycles(cmdline_u64("heartbeat_ms", 100) * NSEC_PER_MSEC);
	st.next_beat = now;
	st.busy_until = now + st.spin;
	irq_register(CRTOS_VEC_KICK, idle_wakeup, NULL);

	pr_info("idle: %s, heartbeat every %lu ms\n",
		st.halt ? "spin then halt" : "polling", (unsigned long)cmdline_u64("heartbeat_ms", 100));
	for (;;) {
		now = arch_read_tsc();
		if (idle_poll(&st, now))
			st.busy_until = now + st.spin;
		if (st.halt && now >= st.busy_until) {
			idle_halt(&st);
			st.busy_until = arch_read_tsc() + st.spin;
		} else {
			arch_cpu_relax();
		}
	}
}
