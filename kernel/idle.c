// SPDX-License-Identifier: MIT
/*
 * The idle loop. The RT CPU is ours alone, so idling means polling: the
 * VMM's requests (shutdown, newly populated RAM) and the heartbeat, all in
 * shared memory, at native speed. In CRTOS_IDLE_HALT mode (chosen when
 * Linux would throttle a spinning SCHED_FIFO vCPU, or give its own tasks
 * the CPU over it) the loop spins for idle_spin_us after the last
 * activity, then halts: until the next heartbeat, a kick from Linux, or
 * wake_margin_us before the next timer, so that a halted CPU is awake and
 * polling again when a deadline comes (leaving a halt takes ~150 us here).
 *
 * A halt is a promise: comm->halted_until_tsc says by when the CPU will be
 * awake. If the wake-up interrupt is lost (seen in the nested test VM), the
 * VMM's watchdog finds the promise broken, reports it and kicks the CPU
 * (tools/vmm/watchdog.c); fault=lost-wakeup simulates that loss.
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
#include <kernel/trace.h>

struct idle_state {
	struct crtos_comm *comm;
	struct timer wake_timer;	/* ends a halt; never armed while polling */
	bool halt;			/* CRTOS_IDLE_HALT */
	uint64_t spin;			/* cycles to spin before halting */
	uint64_t margin;		/* cycles to be awake before a timer's deadline */
	uint64_t beat_period;		/* cycles between heartbeats */
	uint64_t next_beat;		/* TSC of the next heartbeat */
	uint64_t busy_until;		/* TSC until which to keep spinning */
};

static bool idle_lose_wakeups;		/* fault=lost-wakeup: halts lose the timer's interrupt */

void idle_inject_lost_wakeups(void)
{
	idle_lose_wakeups = true;
}

/*
 * A kick from Linux: wakes a halted idle loop, and takes what completed
 * (remote calls, signals) so that a thread waiting for it can preempt
 * whatever runs.
 */
static void idle_kicked(unsigned int vector __unused, void *arg __unused)
{
	trace(TRACE_KICK, 0, 0);
	personality_interrupt();
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
	personality_start_polling();
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

/* When a halted CPU must be awake again: the heartbeat, or margin before the next timer. */
static uint64_t idle_wake_at(const struct idle_state *st)
{
	uint64_t next = timer_next_deadline();

	if (next && next < st->next_beat + st->margin)
		return next > st->margin ? next - st->margin : 0;
	return st->next_beat;
}

/*
 * Halt until idle_wake_at() or a kick; returns with interrupts handled.
 * Does nothing if that is too close (the loop goes on polling). Only the
 * wake timer interrupts a halt: it is the earliest by construction.
 */
static void idle_halt(struct idle_state *st)
{
	unsigned long flags = arch_irq_save();
	uint64_t wake = idle_wake_at(st);

	if (wake > arch_read_tsc()) {
		timer_arm(&st->wake_timer, wake);
		timer_set_floor(TIMER_FLOOR_NONE);
		personality_stop_polling();
		if (!READ_ONCE(st->comm->shutdown) && !personality_poll() && !sched_need_resched()) {
			WRITE_ONCE(st->comm->halted_until_tsc, wake);
			if (idle_lose_wakeups)
				arch_timer_lose_interrupt();
			arch_idle_wait();
			WRITE_ONCE(st->comm->halted_until_tsc, 0);
		}
		timer_cancel(&st->wake_timer);
		timer_set_floor(TIMER_FLOOR_POLLING);
	}
	arch_irq_restore(flags);
}

static void idle_wake_timer_fired(struct timer *tm __unused)
{
	/* Its point was to end the halt: the loop polls what is due. */
}

_Noreturn void idle_loop(void)
{
	const struct crtos_boot_params *bp = kernel_boot_params();
	struct idle_state st = { .comm = kernel_comm() };
	uint64_t now = arch_read_tsc();

	st.halt = bp->idle_mode == CRTOS_IDLE_HALT;
	st.spin = clock_ns_to_cycles(bp->idle_spin_us * NSEC_PER_USEC);
	st.beat_period = clock_ns_to_cycles(cmdline_u64("heartbeat_ms", 100) * NSEC_PER_MSEC);
	st.margin = clock_ns_to_cycles(cmdline_u64("wake_margin_us", 300) * NSEC_PER_USEC);
	st.next_beat = now;
	st.busy_until = now + st.spin;
	timer_setup(&st.wake_timer, idle_wake_timer_fired);
	timer_set_floor(TIMER_FLOOR_POLLING);
	irq_register(CRTOS_VEC_KICK, idle_kicked, NULL);
	sched_set_idle_exit_hook(personality_stop_polling);

	pr_info("idle: %s, heartbeat every %lu ms\n",
		st.halt ? "spin then halt, awake again before each timer" : "polling",
		(unsigned long)cmdline_u64("heartbeat_ms", 100));
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
