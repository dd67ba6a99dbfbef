// SPDX-License-Identifier: MIT
/*
 * The real-time scheduling policies on one CPU. SCHED_FIFO: threads made
 * ready together run strictly by priority, equal priorities in the order
 * they became ready, and sched_yield passes the CPU to the next thread of
 * the same priority. SCHED_RR: threads of equal priority that spin take
 * turns, one quantum (sched_rr_get_interval) each. Also the priority range
 * of each policy, and that the policy and priority read back are the ones
 * set, through the system calls and through pthreads.
 *
 * Every worker waits on its own semaphore; once all of them wait (rt_settle)
 * the main thread, at SCHED_FIFO 90, posts them in a chosen order and steps
 * aside. The workers log their ids, and the checks are on that order. The
 * SCHED_RR test spins for about three quantums (300 ms on Linux).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"
#include "rt.h"

#define PRIO_MAIN	90
#define MAX_WORKERS	8
#define MAX_LOG		32
#define YIELDS		4
#define RR_THREADS	3
#define RR_TURNS	2	/* times each RR thread gets the CPU */

struct worker {
	int id;
	sem_t go;
	pthread_t thread;
	void (*body)(struct worker *w);
};

static struct {
	atomic_int n;
	int id[MAX_LOG];
	long long ns[MAX_LOG];
} trace;

static atomic_int rr_last;	/* the RR thread that last logged */
static long long rr_limit_ns;	/* bounds each RR thread's spin */

static void log_add(int id)
{
	int i = atomic_fetch_add(&trace.n, 1);

	if (i < MAX_LOG) {
		trace.id[i] = id;
		trace.ns[i] = rt_now_ns();
	}
}

/* The ids logged, as "a b c"; resets the log. */
static const char *log_take(void)
{
	static char buf[MAX_LOG * 4];
	int i, n = atomic_load(&trace.n), len = 0;

	buf[0] = '\0';
	for (i = 0; i < n && i < MAX_LOG; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%d", i ? " " : "", trace.id[i]);
	atomic_store(&trace.n, 0);
	return buf;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	sem_wait(&w->go);
	w->body(w);
	return NULL;
}

/* Start n workers at policy and prio[i], then make them ready in order[]. */
static void workers_run(int n, int policy, const int *prio, const int *order,
			void (*body)(struct worker *w))
{
	struct worker w[MAX_WORKERS];
	int i, ret;

	for (i = 0; i < n; i++) {
		w[i].id = i;
		w[i].body = body;
		sem_init(&w[i].go, 0, 0);
		ret = rt_thread_start(&w[i].thread, policy, prio[i], worker_main, &w[i]);
		if (ret)
			check_errnum("start worker", ret, 0);
	}
	rt_settle();
	for (i = 0; i < n; i++)
		sem_post(&w[order[i]].go);
	for (i = 0; i < n; i++) {
		pthread_join(w[i].thread, NULL);
		sem_destroy(&w[i].go);
	}
}

static const char *policy_name(int policy)
{
	return policy == SCHED_FIFO ? "SCHED_FIFO" : policy == SCHED_RR ? "SCHED_RR" :
	       policy == SCHED_OTHER ? "SCHED_OTHER" : "other";
}

static void test_priority_range(void)
{
	check_long("sched_get_priority_min(SCHED_FIFO)", sched_get_priority_min(SCHED_FIFO), 1);
	check_long("sched_get_priority_max(SCHED_FIFO)", sched_get_priority_max(SCHED_FIFO), 99);
	check_long("sched_get_priority_min(SCHED_RR)", sched_get_priority_min(SCHED_RR), 1);
	check_long("sched_get_priority_max(SCHED_RR)", sched_get_priority_max(SCHED_RR), 99);
	check_long("sched_get_priority_min(SCHED_OTHER)", sched_get_priority_min(SCHED_OTHER), 0);
	check_long("sched_get_priority_max(SCHED_OTHER)", sched_get_priority_max(SCHED_OTHER), 0);
	check_err("sched_get_priority_max(bad policy)", sched_get_priority_max(12345), EINVAL);
}

/* The raw system calls: musl's sched_get/setscheduler are ENOSYS stubs. */
static void test_params(void)
{
	struct sched_param param = { .sched_priority = 100 };
	int policy = -1;

	check_err("sched_setscheduler priority 100",
		  syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &param), EINVAL);
	param.sched_priority = 30;
	check_ok("sched_setscheduler SCHED_RR 30",
		 syscall(SYS_sched_setscheduler, 0, SCHED_RR, &param));
	check_str("sched_getscheduler", policy_name(syscall(SYS_sched_getscheduler, 0)),
		  "SCHED_RR");
	pthread_getschedparam(pthread_self(), &policy, &param);
	check_str("pthread_getschedparam policy", policy_name(policy), "SCHED_RR");
	check_long("pthread_getschedparam priority", param.sched_priority, 30);

	check_errnum("pthread_setschedparam SCHED_FIFO 80", rt_set_self(SCHED_FIFO, 80), 0);
	check_str("sched_getscheduler", policy_name(syscall(SYS_sched_getscheduler, 0)),
		  "SCHED_FIFO");
	param.sched_priority = -1;
	syscall(SYS_sched_getparam, 0, &param);
	check_long("sched_getparam", param.sched_priority, 80);
	check_errnum("pthread_setschedprio 90", pthread_setschedprio(pthread_self(), PRIO_MAIN), 0);
	syscall(SYS_sched_getparam, 0, &param);
	check_long("sched_getparam", param.sched_priority, PRIO_MAIN);
}

static void body_log(struct worker *w)
{
	log_add(w->id);
}

static void test_priority_order(void)
{
	static const int prio[] = { 15, 45, 5, 35, 25 };
	static const int lowest_first[] = { 2, 0, 4, 3, 1 };
	const char *got;

	workers_run(5, SCHED_FIFO, prio, lowest_first, body_log);
	got = log_take();
	check_explain("SCHED_FIFO: threads made ready together run by priority",
		      !strcmp(got, "1 3 4 0 2"), "ran %s", got);
}

static void test_ready_order(void)
{
	static const int prio[] = { 20, 20, 20, 20 };
	static const int order[] = { 2, 0, 3, 1 };
	const char *got;

	workers_run(4, SCHED_FIFO, prio, order, body_log);
	got = log_take();
	check_explain("SCHED_FIFO: equal priorities run in the order they became ready",
		      !strcmp(got, "2 0 3 1"), "made ready 2 0 3 1, ran %s", got);
}

static void body_yield(struct worker *w)
{
	int i;

	for (i = 0; i < YIELDS; i++) {
		log_add(w->id);
		sched_yield();
	}
}

static void test_yield(void)
{
	static const int prio[] = { 20, 20 };
	static const int order[] = { 0, 1 };
	const char *got;

	workers_run(2, SCHED_FIFO, prio, order, body_yield);
	got = log_take();
	check_explain("SCHED_FIFO: sched_yield alternates equal threads",
		      !strcmp(got, "0 1 0 1 0 1 0 1"), "ran %s", got);
}

/* Spin, logging each time we get the CPU back from another RR thread. */
static void body_rr(struct worker *w)
{
	long long end = rt_now_ns() + rr_limit_ns;
	int turns = 0;

	while (turns < RR_TURNS && rt_now_ns() < end) {
		if (atomic_load(&rr_last) != w->id) {
			atomic_store(&rr_last, w->id);
			log_add(w->id);
			turns++;
		}
	}
}

static void print_turns(void)
{
	int i, n = atomic_load(&trace.n);

	printf("# SCHED_RR turns (thread: ms):");
	for (i = 1; i < n && i < MAX_LOG; i++)
		printf(" %d: %lld", trace.id[i - 1], (trace.ns[i] - trace.ns[i - 1]) / 1000000);
	printf("\n");
}

static void test_rr(void)
{
	static const int prio[] = { 20, 20, 20 };
	static const int order[] = { 0, 1, 2 };
	struct timespec q = { -1, -1 };
	const char *got;

	check_ok("sched_rr_get_interval", sched_rr_get_interval(0, &q));
	check_true("sched_rr_get_interval(SCHED_FIFO thread) is 0", !q.tv_sec && !q.tv_nsec);
	check_errnum("pthread_setschedparam SCHED_RR 90", rt_set_self(SCHED_RR, PRIO_MAIN), 0);
	check_ok("sched_rr_get_interval", sched_rr_get_interval(0, &q));
	check_true("sched_rr_get_interval(SCHED_RR thread) is positive",
		   q.tv_sec > 0 || (q.tv_sec == 0 && q.tv_nsec > 0));
	printf("# SCHED_RR quantum %lld ms\n", (q.tv_sec * 1000000000LL + q.tv_nsec) / 1000000);
	rr_limit_ns = 4 * RR_THREADS * (q.tv_sec * 1000000000LL + q.tv_nsec);
	if (rr_limit_ns > 2000000000LL)
		rr_limit_ns = 2000000000LL;
	atomic_store(&rr_last, -1);
	workers_run(RR_THREADS, SCHED_RR, prio, order, body_rr);
	print_turns();
	got = log_take();
	check_explain("SCHED_RR: equal threads take turns", !strcmp(got, "0 1 2 0 1 2"),
		      "turns %s", got);
}

int main(void)
{
	int ret;

	check_quiet("pin to one CPU", rt_pin_one_cpu());
	check_true("one CPU", rt_cpu_count() == 1);
	test_priority_range();
	test_params();
	ret = rt_set_self(SCHED_FIFO, PRIO_MAIN);
	if (ret) {	/* not root: nothing else can work */
		check_errnum("main thread SCHED_FIFO", ret, 0);
		return check_done();
	}
	test_priority_order();
	test_ready_order();
	test_yield();
	test_rr();
	return check_done();
}
