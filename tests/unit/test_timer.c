// SPDX-License-Identifier: MIT
/*
 * kernel/timer.c on the host: the ordered timer list (deadline order, FIFO
 * among equal deadlines), re-arming and cancelling, callbacks that arm and
 * cancel, and the hardware timer, which must hold the earliest deadline
 * above the floor (0: disarmed) and be reprogrammed only when that changes.
 * The rest of the kernel is played here: irq_register() records the timer
 * interrupt's handler, sched_wait() is a fake for timer_sleep_until().
 */
#include <stdlib.h>
#include <kernel/irq.h>
#include <kernel/thread.h>
#include <kernel/timer.h>
#include "harness.h"
#include "stub.h"

#define T0	100000ull
#define NTIMERS	32

static struct timer tms[NTIMERS];
static int fired[4096];		/* indexes of the timers that fired, in order */
static int nfired;

static int idx(const struct timer *tm)
{
	return (int)(tm - tms);
}

static void record(struct timer *tm)
{
	if (nfired == (int)ARRAY_SIZE(fired))
		harness_fail(__FILE__, __LINE__, "too many timers fired");
	if (!arch_irqs_masked())
		harness_fail(__FILE__, __LINE__, "a timer function ran unmasked");
	if (timer_armed(tm))
		harness_fail(__FILE__, __LINE__, "a timer function ran with its timer armed");
	fired[nfired++] = idx(tm);
}

static void cancel_all(void)
{
	for (int i = 0; i < NTIMERS; i++)
		if (tms[i].node.next)		/* set up */
			timer_cancel(&tms[i]);
}

static void timers_cleanup(void)
{
	stub_irq_masked = false;
	stub_irq_saves = 0;
	cancel_all();
}

/* No timer armed, all set up with record(), TIMER_URGENT; floor none; TSC at T0. */
static void timers_begin(void)
{
	timers_cleanup();
	for (int i = 0; i < NTIMERS; i++)
		timer_setup(&tms[i], record);
	timer_set_floor(TIMER_FLOOR_NONE);
	stub_tsc = T0;
	nfired = 0;
	harness_cleanup = timers_cleanup;
}

static void timers_end(void)
{
	harness_cleanup = NULL;
	cancel_all();
	EXPECT_EQ(timer_next_deadline(), 0);
	EXPECT_EQ(timer_hw_deadline(), 0);
	EXPECT_EQ(stub_timer_deadline, 0);
	EXPECT_EQ(stub_irq_saves, 0);
	EXPECT(!stub_irq_masked);
}

/* The hardware timer holds deadline (0: disarmed), and timer.c agrees. */
#define EXPECT_HW(deadline) \
	do { \
		EXPECT_EQ(stub_timer_deadline, (deadline)); \
		EXPECT_EQ(timer_hw_deadline(), (deadline)); \
	} while (0)

/* The timers that fired since the last check were these, in this order (-1 ends). */
static void expect_fired(const char *file, int line, const int *want)
{
	int n = 0;

	while (want[n] >= 0)
		n++;
	for (int i = 0; i < n && i < nfired; i++)
		if (fired[i] != want[i])
			harness_fail(file, line, "fired #%d: timer %d, expected %d", i, fired[i],
				     want[i]);
	if (nfired != n)
		harness_fail(file, line, "%d timers fired, expected %d", nfired, n);
	nfired = 0;
}

#define EXPECT_FIRED(...) expect_fired(__FILE__, __LINE__, (const int[]){ __VA_ARGS__, -1 })
#define EXPECT_NONE_FIRED() expect_fired(__FILE__, __LINE__, (const int[]){ -1 })

static bool poll_at(uint64_t tsc)
{
	stub_tsc = tsc;
	return timer_poll();
}

TEST(timer_fires_in_deadline_order)
{
	static const uint64_t after[] = { 500, 100, 300, 200, 600, 400 };

	timers_begin();
	for (int i = 0; i < (int)ARRAY_SIZE(after); i++)
		timer_arm(&tms[i], T0 + after[i]);
	EXPECT_EQ(timer_next_deadline(), T0 + 100);
	EXPECT_HW(T0 + 100);
	EXPECT(!poll_at(T0 + 99));
	EXPECT_NONE_FIRED();
	EXPECT(poll_at(T0 + 1000));
	EXPECT_FIRED(1, 3, 2, 5, 0, 4);
	for (int i = 0; i < (int)ARRAY_SIZE(after); i++)
		EXPECT(!timer_armed(&tms[i]));
	EXPECT(!timer_poll());
	EXPECT_EQ(timer_next_deadline(), 0);
	EXPECT_HW(0);
	timers_end();
}

TEST(timer_poll_fires_only_what_is_due)
{
	timers_begin();
	timer_arm(&tms[0], T0 + 100);
	timer_arm(&tms[1], T0 + 200);
	timer_arm(&tms[2], T0 + 300);
	EXPECT(poll_at(T0 + 100));		/* a deadline is due when the TSC reaches it */
	EXPECT_FIRED(0);
	EXPECT_EQ(timer_next_deadline(), T0 + 200);
	EXPECT_HW(T0 + 200);
	EXPECT(!poll_at(T0 + 199));
	EXPECT(poll_at(T0 + 250));
	EXPECT_FIRED(1);
	EXPECT(timer_armed(&tms[2]));
	EXPECT_HW(T0 + 300);
	EXPECT(poll_at(T0 + 300));
	EXPECT_FIRED(2);
	EXPECT_HW(0);
	timers_end();
}

TEST(timer_equal_deadlines_fire_in_arming_order)
{
	timers_begin();
	timer_arm(&tms[3], T0 + 50);
	timer_arm(&tms[1], T0 + 50);
	timer_arm(&tms[2], T0 + 50);
	timer_arm(&tms[0], T0 + 10);
	timer_arm(&tms[4], T0 + 50);
	timer_arm(&tms[1], T0 + 50);		/* re-armed: now the last of its deadline */
	EXPECT(poll_at(T0 + 50));
	EXPECT_FIRED(0, 3, 2, 4, 1);
	timers_end();
}

TEST(timer_rearming_moves_a_timer)
{
	timers_begin();
	timer_arm(&tms[0], T0 + 100);
	timer_arm(&tms[1], T0 + 200);
	EXPECT_HW(T0 + 100);
	timer_arm(&tms[0], T0 + 300);		/* the earliest moves later */
	EXPECT(timer_armed(&tms[0]));
	EXPECT_EQ(timer_next_deadline(), T0 + 200);
	EXPECT_HW(T0 + 200);
	timer_arm(&tms[0], T0 + 150);		/* and earlier again */
	EXPECT_HW(T0 + 150);
	timer_arm(&tms[1], T0 + 120);		/* another one becomes the earliest */
	EXPECT_HW(T0 + 120);
	EXPECT(poll_at(T0 + 1000));
	EXPECT_FIRED(1, 0);			/* each fires once, at its last deadline */
	timers_end();
}

TEST(timer_cancel_returns_whether_it_was_armed)
{
	timers_begin();
	EXPECT(!timer_cancel(&tms[0]));		/* never armed */
	EXPECT(!timer_armed(&tms[0]));
	timer_arm(&tms[0], T0 + 100);
	timer_arm(&tms[1], T0 + 200);
	EXPECT(timer_armed(&tms[0]));
	EXPECT(timer_cancel(&tms[0]));
	EXPECT(!timer_armed(&tms[0]));
	EXPECT(!timer_cancel(&tms[0]));		/* twice */
	EXPECT_EQ(timer_next_deadline(), T0 + 200);
	EXPECT_HW(T0 + 200);
	EXPECT(poll_at(T0 + 200));
	EXPECT_FIRED(1);
	EXPECT(!timer_cancel(&tms[1]));		/* it fired */
	EXPECT_HW(0);
	timer_arm(&tms[2], T0 + 300);
	EXPECT(timer_cancel(&tms[2]));		/* the only one: the hardware is disarmed */
	EXPECT_HW(0);
	EXPECT(!poll_at(T0 + 1000));
	EXPECT_NONE_FIRED();
	timers_end();
}

#define PERIOD	100

static void periodic(struct timer *tm)
{
	record(tm);
	timer_arm(tm, tm->deadline + PERIOD);
}

TEST(timer_function_may_rearm_its_timer)
{
	timers_begin();
	timer_setup(&tms[0], periodic);
	timer_arm(&tms[0], T0 + PERIOD);
	EXPECT(poll_at(T0 + PERIOD));
	EXPECT_FIRED(0);
	EXPECT(timer_armed(&tms[0]));
	EXPECT_EQ(timer_next_deadline(), T0 + 2 * PERIOD);
	EXPECT_HW(T0 + 2 * PERIOD);
	EXPECT(!poll_at(T0 + 2 * PERIOD - 1));
	EXPECT(poll_at(T0 + 2 * PERIOD + 10));
	EXPECT_FIRED(0);
	/* Polled late: the periods that passed fire in that poll, in order. */
	EXPECT(poll_at(T0 + 5 * PERIOD + 50));
	EXPECT_FIRED(0, 0, 0);
	EXPECT_EQ(timer_next_deadline(), T0 + 6 * PERIOD);
	EXPECT_HW(T0 + 6 * PERIOD);
	EXPECT(timer_cancel(&tms[0]));
	timers_end();
}

/* Timer 0's function: cancels 1, arms 2 later, arms 3 at once (now). */
static void meddle(struct timer *tm)
{
	record(tm);
	EXPECT(timer_cancel(&tms[1]));
	timer_arm(&tms[2], arch_read_tsc() + 500);
	timer_arm(&tms[3], arch_read_tsc());
	timer_arm(&tms[4], arch_read_tsc() + 1);
}

TEST(timer_function_may_arm_and_cancel_others)
{
	timers_begin();
	timer_setup(&tms[0], meddle);
	timer_arm(&tms[0], T0 + 100);
	timer_arm(&tms[1], T0 + 100);		/* due with 0, but cancelled by it */
	timer_arm(&tms[5], T0 + 100);
	EXPECT(poll_at(T0 + 100));
	/* 3 is due: it fires in the same poll, after those due before it. */
	EXPECT_FIRED(0, 5, 3);
	EXPECT(!timer_armed(&tms[1]));
	EXPECT_EQ(timer_next_deadline(), T0 + 101);
	EXPECT_HW(T0 + 101);
	EXPECT(poll_at(T0 + 101));
	EXPECT_FIRED(4);
	EXPECT_HW(T0 + 600);
	EXPECT(poll_at(T0 + 600));
	EXPECT_FIRED(2);
	EXPECT_HW(0);
	timers_end();
}

TEST(timer_past_deadline_fires_at_the_next_poll)
{
	timers_begin();
	timer_arm(&tms[0], T0 - 500);
	EXPECT(timer_armed(&tms[0]));		/* not at once: at the next poll */
	EXPECT_NONE_FIRED();
	EXPECT_EQ(timer_next_deadline(), T0 - 500);
	EXPECT_HW(T0 - 500);			/* in the past: the hardware fires at once */
	timer_arm(&tms[1], T0);
	EXPECT(timer_poll());
	EXPECT_FIRED(0, 1);
	EXPECT_HW(0);
	timers_end();
}

TEST(timer_hardware_is_programmed_only_when_its_deadline_changes)
{
	long sets;

	timers_begin();
	sets = stub_timer_sets;
	EXPECT_EQ(timer_next_deadline(), 0);
	timer_arm(&tms[0], T0 + 100);
	EXPECT_EQ(stub_timer_sets, sets + 1);
	timer_arm(&tms[1], T0 + 200);		/* later: the hardware keeps 100 */
	timer_arm(&tms[2], T0 + 100);		/* equal: likewise */
	timer_cancel(&tms[1]);
	EXPECT_EQ(stub_timer_sets, sets + 1);
	EXPECT_HW(T0 + 100);
	timer_cancel(&tms[0]);			/* 2 still holds T0 + 100 */
	EXPECT_HW(T0 + 100);
	EXPECT(!poll_at(T0 + 50));
	EXPECT_EQ(stub_timer_sets, sets + 1);
	timer_arm(&tms[3], T0 + 60);
	EXPECT_EQ(stub_timer_sets, sets + 2);
	EXPECT_HW(T0 + 60);
	EXPECT(poll_at(T0 + 100));
	EXPECT_FIRED(3, 2);
	EXPECT_HW(0);
	EXPECT_EQ(stub_timer_sets, sets + 3);
	timers_end();
}

TEST(timer_hardware_holds_the_earliest_deadline_above_the_floor)
{
	timers_begin();
	timer_set_urgency(&tms[0], 10);
	timer_set_urgency(&tms[1], 20);
	timer_arm(&tms[0], T0 + 100);
	timer_arm(&tms[1], T0 + 200);
	timer_arm(&tms[2], T0 + 300);		/* TIMER_URGENT */
	EXPECT_HW(T0 + 100);			/* floor none: every timer */
	timer_set_floor(10);			/* a thread at 10 runs: 0 is not above it */
	EXPECT_HW(T0 + 200);
	EXPECT_EQ(timer_next_deadline(), T0 + 100);	/* the list is not affected */
	timer_set_floor(20);
	EXPECT_HW(T0 + 300);
	timer_set_floor(TIMER_FLOOR_POLLING);	/* nothing interrupts a polling idle loop */
	EXPECT_HW(0);
	timer_set_floor(15);
	EXPECT_HW(T0 + 200);
	timer_set_urgency(&tms[0], 16);		/* takes effect at once */
	EXPECT_HW(T0 + 100);
	timer_set_urgency(&tms[0], 15);
	EXPECT_HW(T0 + 200);
	timer_arm(&tms[3], T0 + 150);		/* urgent, earlier */
	EXPECT_HW(T0 + 150);
	timer_set_urgency(&tms[4], 5);
	timer_arm(&tms[4], T0 + 50);		/* below the floor: no change */
	EXPECT_HW(T0 + 150);
	EXPECT_EQ(timer_next_deadline(), T0 + 50);
	timer_cancel(&tms[3]);
	EXPECT_HW(T0 + 200);
	/* Polling fires every due timer whatever its urgency. */
	EXPECT(poll_at(T0 + 200));
	EXPECT_FIRED(4, 0, 1);
	EXPECT_HW(T0 + 300);
	timer_set_floor(TIMER_FLOOR_NONE);
	timers_end();
}

/*
 * A reference model: the timers as an array, fired by scanning for the
 * smallest (deadline, arming sequence). Timer functions act as a hash of
 * the firing count says, on both sides alike.
 */
static struct {
	bool armed;
	uint64_t deadline, seq;
	int urgency;
} model[NTIMERS];
static uint64_t model_seq;
static int model_floor;
static unsigned long real_fires;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static void model_arm(int i, uint64_t deadline)
{
	model[i].armed = true;
	model[i].deadline = deadline;
	model[i].seq = model_seq++;
}

/* What the function of timer i does at the n-th firing: as a model operation. */
static void model_action(unsigned long n, int i, uint64_t now)
{
	uint64_t h = mix(n + 1);
	int j = (int)((h >> 16) % NTIMERS);

	switch (h % 10) {
	case 0: case 1: case 2:		/* periodic */
		model_arm(i, model[i].deadline + 1 + (h >> 8) % 300);
		break;
	case 3: case 4:
		model[j].armed = false;
		break;
	case 5:
		model_arm(j, now + 1 + (h >> 24) % 400);
		break;
	case 6:				/* already due: fires in this poll */
		model_arm(j, now - (h >> 24) % 50);
		break;
	}
}

static void random_fn(struct timer *tm)
{
	uint64_t h = mix(real_fires + 1);
	int j = (int)((h >> 16) % NTIMERS);
	uint64_t now = arch_read_tsc();

	real_fires++;
	record(tm);
	switch (h % 10) {
	case 0: case 1: case 2:
		timer_arm(tm, tm->deadline + 1 + (h >> 8) % 300);
		break;
	case 3: case 4:
		timer_cancel(&tms[j]);
		break;
	case 5:
		timer_arm(&tms[j], now + 1 + (h >> 24) % 400);
		break;
	case 6:
		timer_arm(&tms[j], now - (h >> 24) % 50);
		break;
	}
}

/* The model's poll: fires into want[], returns how many. */
static int model_poll(uint64_t now, int *want, int max, unsigned long *fires)
{
	int n = 0;

	for (;;) {
		int first = -1;

		for (int i = 0; i < NTIMERS; i++)
			if (model[i].armed && model[i].deadline <= now &&
			    (first < 0 || model[i].deadline < model[first].deadline ||
			     (model[i].deadline == model[first].deadline &&
			      model[i].seq < model[first].seq)))
				first = i;
		if (first < 0 || n == max)
			return n;
		model[first].armed = false;
		want[n++] = first;
		model_action((*fires)++, first, now);
	}
}

#define MODEL_FAIL(step, fmt, ...) \
	harness_fail(__FILE__, __LINE__, "step %d: " fmt, (step), __VA_ARGS__)

static void model_check(int step)
{
	uint64_t next = 0, hw = 0;

	for (int i = 0; i < NTIMERS; i++) {
		if (timer_armed(&tms[i]) != model[i].armed)
			MODEL_FAIL(step, "timer %d armed %d, model %d", i, timer_armed(&tms[i]),
				   model[i].armed);
		if (!model[i].armed)
			continue;
		if (tms[i].deadline != model[i].deadline)
			MODEL_FAIL(step, "timer %d deadline", i);
		if (!next || model[i].deadline < next)
			next = model[i].deadline;
		if (model[i].urgency > model_floor && (!hw || model[i].deadline < hw))
			hw = model[i].deadline;
	}
	if (timer_next_deadline() != next)
		MODEL_FAIL(step, "next deadline %llu, model %llu",
			   (unsigned long long)timer_next_deadline(), (unsigned long long)next);
	if (timer_hw_deadline() != hw || stub_timer_deadline != hw)
		MODEL_FAIL(step, "hardware deadline %llu (arch %llu), model %llu",
			   (unsigned long long)timer_hw_deadline(),
			   (unsigned long long)stub_timer_deadline, (unsigned long long)hw);
}

static int random_urgency(void)
{
	int r = rand() % 8;

	return r == 0 ? TIMER_URGENT : r == 1 ? PRIO_IDLE : rand() % 100;
}

TEST(timer_random_operations_match_a_reference_model)
{
	static int want[ARRAY_SIZE(fired)];
	unsigned long model_fires = 0;
	int total_fired = 0;

	timers_begin();
	srand(12345);
	real_fires = 0;
	model_seq = 0;
	model_floor = TIMER_FLOOR_NONE;
	for (int i = 0; i < NTIMERS; i++) {
		model[i].armed = false;
		model[i].urgency = random_urgency();
		timer_setup(&tms[i], random_fn);
		timer_set_urgency(&tms[i], model[i].urgency);
	}
	for (int step = 0; step < 10000; step++) {
		int i = rand() % NTIMERS, op = rand() % 100;
		uint64_t now = stub_tsc;

		if (op < 35) {
			uint64_t deadline = now + 1000 - (uint64_t)(rand() % 1050);

			timer_arm(&tms[i], deadline);
			model_arm(i, deadline);
		} else if (op < 50) {
			if (timer_cancel(&tms[i]) != model[i].armed)
				MODEL_FAIL(step, "cancel of timer %d answered wrong", i);
			model[i].armed = false;
		} else if (op < 58) {
			model[i].urgency = random_urgency();
			timer_set_urgency(&tms[i], model[i].urgency);
		} else if (op < 66) {
			int r = rand() % 6;

			model_floor = r == 0 ? TIMER_FLOOR_NONE : r == 1 ? TIMER_FLOOR_POLLING :
				      rand() % 101 - 1;
			timer_set_floor(model_floor);
		} else {
			bool any;
			int n;

			stub_tsc = now + (uint64_t)(rand() % 400);
			nfired = 0;
			any = timer_poll();
			n = model_poll(stub_tsc, want, ARRAY_SIZE(want), &model_fires);
			if (any != (n > 0) || nfired != n)
				MODEL_FAIL(step, "%d fired, model %d", nfired, n);
			for (int k = 0; k < n; k++)
				if (fired[k] != want[k])
					MODEL_FAIL(step, "fired #%d: timer %d, model %d", k,
						   fired[k], want[k]);
			total_fired += n;
			nfired = 0;
		}
		model_check(step);
	}
	EXPECT(total_fired > 1000);		/* the test did test something */
	EXPECT_EQ(real_fires, model_fires);
	timer_set_floor(TIMER_FLOOR_NONE);
	timers_end();
}

static irq_handler_t timer_handler;
static unsigned int timer_vector;

/* The rest of the kernel, as timer.c sees it. */
int irq_register(unsigned int vector, irq_handler_t handler, void *arg)
{
	(void)arg;
	timer_vector = vector;
	timer_handler = handler;
	return 0;
}

TEST(timer_interrupt_polls_the_timers)
{
	timers_begin();
	timer_init();
	EXPECT_EQ(timer_vector, CRTOS_VEC_TIMER);
	EXPECT(timer_handler != NULL);
	timer_arm(&tms[0], T0 + 10);
	stub_tsc = T0 + 10;
	stub_irq_masked = true;			/* handlers run masked */
	timer_handler(CRTOS_VEC_TIMER, NULL);
	stub_irq_masked = false;
	EXPECT_FIRED(0);
	EXPECT_HW(0);
	timers_end();
}

static struct {
	int calls;
	uint64_t deadline;
	unsigned int flags;
	bool masked;
	int ret;
} fake_wait;

int sched_wait(uint64_t deadline, unsigned int flags)
{
	fake_wait.calls++;
	fake_wait.deadline = deadline;
	fake_wait.flags = flags;
	fake_wait.masked = arch_irqs_masked();
	return fake_wait.ret;
}

TEST(timer_sleep_until_waits_interruptibly_for_the_deadline)
{
	timers_begin();
	fake_wait.calls = 0;
	EXPECT_EQ(timer_sleep_until(T0), 0);		/* due already: no wait */
	EXPECT_EQ(timer_sleep_until(T0 - 1), 0);
	EXPECT_EQ(fake_wait.calls, 0);
	fake_wait.ret = -ETIMEDOUT;
	EXPECT_EQ(timer_sleep_until(T0 + 1), 0);	/* the deadline came */
	EXPECT_EQ(fake_wait.calls, 1);
	EXPECT_EQ(fake_wait.deadline, T0 + 1);
	EXPECT_EQ(fake_wait.flags, WAIT_INTERRUPTIBLE);
	EXPECT(fake_wait.masked);
	fake_wait.ret = -EINTR;
	EXPECT_EQ(timer_sleep_until(T0 + 100), -EINTR);
	EXPECT(!stub_irq_masked);
	timers_end();
}
