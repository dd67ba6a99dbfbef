// SPDX-License-Identifier: MIT
/*
 * Cell tests that drive libvmm directly, in one process: a hundred boots
 * must leak no fd, thread or memory; the vCPU thread is pinned and
 * SCHED_FIFO while ours stay off its CPU; the heartbeat runs; the kernel's
 * clocks read the same time as Linux's; a halted kernel wakes up on a kick;
 * and the kernel adopts all guest RAM once the VMM has populated it.
 * Needs root and /dev/kvm (tests/run skips or fails it otherwise).
 */
#include <dirent.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "vmm/vmm.h"

#define MiB (1ull << 20)

static struct cell *current;	/* destroyed if a test fails while it runs */

static void destroy_current(void)
{
	cell_destroy(current);
	current = NULL;
}

static struct cell *boot(const char *cmdline, enum vmm_idle idle, uint64_t mem, FILE *log)
{
	struct cell_config cfg = {
		.cpu = -1, .idle = idle, .mem_size = mem, .cmdline = cmdline, .log_out = log,
	};
	struct vmm_err err;
	struct cell *c;

	harness_cleanup = destroy_current;
	if (cell_create(&c, &cfg, &err))
		harness_fail(__FILE__, __LINE__, "cannot create a cell: %s", err.msg);
	current = c;
	if (cell_start(c, &err))
		harness_fail(__FILE__, __LINE__, "cannot start a cell: %s", err.msg);
	EXPECT_EQ(cell_wait_running(c, 10000), 0);
	return c;
}

static int shut_down(struct cell *c, int status)
{
	int got = -1;

	cell_request_shutdown(c, status);
	EXPECT_EQ(cell_wait(c, 5000), 0);
	EXPECT_EQ(cell_end(c, &got), CELL_EXITED);
	destroy_current();
	return got;
}

static long count_dir(const char *path)
{
	DIR *d = opendir(path);
	long n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static long status_kib(const char *field)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			v = strtol(line + strlen(field) + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

TEST(hundred_boots_leak_no_fd_thread_or_memory)
{
	long fds = 0, threads = 0, rss = 0, vm = 0;

	for (int i = 1; i <= 100; i++) {
		EXPECT_EQ(shut_down(boot("", VMM_IDLE_AUTO, 32 * MiB, NULL), i % 200), i % 200);
		if (i == 10) {	/* after the C library's one-time allocations */
			fds = count_dir("/proc/self/fd");
			threads = count_dir("/proc/self/task");
			rss = status_kib("VmRSS:");
			vm = status_kib("VmSize:");
		}
	}
	printf("  after boot 10 / 100: fds %ld / %ld, threads %ld / %ld, VmRSS %ld / %ld KiB, "
	       "VmSize %ld / %ld KiB\n", fds, count_dir("/proc/self/fd"), threads,
	       count_dir("/proc/self/task"), rss, status_kib("VmRSS:"), vm, status_kib("VmSize:"));
	EXPECT_EQ(count_dir("/proc/self/fd"), fds);
	EXPECT_EQ(count_dir("/proc/self/task"), threads);
	EXPECT_EQ(status_kib("VmSize:"), vm);
	EXPECT(status_kib("VmRSS:") - rss < 1024);
}

/* policy and CPUs of thread tid */
static void thread_sched(pid_t tid, int *policy, int *prio, cpu_set_t *cpus)
{
	struct sched_param sp;

	*policy = sched_getscheduler(tid);
	sched_getparam(tid, &sp);
	*prio = sp.sched_priority;
	sched_getaffinity(tid, sizeof(*cpus), cpus);
}

TEST(vcpu_thread_alone_on_its_cpu_at_sched_fifo)
{
	struct cell *c = boot("", VMM_IDLE_AUTO, 32 * MiB, NULL);
	int rt_cpu = cell_cpu(c), fifo = 0, others = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	while ((e = readdir(d))) {
		pid_t tid = atoi(e->d_name);
		int policy, prio;
		cpu_set_t cpus;

		if (tid <= 0)
			continue;
		thread_sched(tid, &policy, &prio, &cpus);
		if (policy == SCHED_FIFO) {
			fifo++;
			EXPECT_EQ(prio, 90);
			EXPECT_EQ(CPU_COUNT(&cpus), 1);
			EXPECT(CPU_ISSET(rt_cpu, &cpus));
		} else {
			others++;
		}
	}
	closedir(d);
	EXPECT_EQ(fifo, 1);
	EXPECT(others >= 3);	/* this thread, the log thread, KVM's worker */
	/* None of libvmm's or KVM's other threads may run on the vCPU's CPU. */
	d = opendir("/proc/self/task");
	while ((e = readdir(d))) {
		pid_t tid = atoi(e->d_name);
		int policy, prio;
		cpu_set_t cpus;

		if (tid <= 0 || tid == getpid())	/* the caller's thread is its own business */
			continue;
		thread_sched(tid, &policy, &prio, &cpus);
		if (policy != SCHED_FIFO)
			EXPECT(!CPU_ISSET(rt_cpu, &cpus));
	}
	closedir(d);
	shut_down(c, 0);
}

TEST(heartbeat_advances_while_idle)
{
	struct cell *c = boot("heartbeat_ms=10", VMM_IDLE_AUTO, 32 * MiB, NULL);
	const volatile struct crtos_comm *comm = cell_comm(c);
	uint64_t beat = comm->heartbeat, tsc = comm->heartbeat_tsc;
	struct timespec wait = { .tv_nsec = 200000000 };

	nanosleep(&wait, NULL);
	EXPECT(comm->heartbeat >= beat + 5);
	EXPECT(comm->heartbeat_tsc > tsc);
	EXPECT_EQ(comm->state, CRTOS_STATE_RUNNING);
	shut_down(c, 0);
}

static int64_t now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

TEST(kernel_clocks_read_linux_time)
{
	char *text = NULL, *line;
	size_t len = 0;
	FILE *log = open_memstream(&text, &len);
	int64_t mono0 = now_ns(CLOCK_MONOTONIC), real0 = now_ns(CLOCK_REALTIME), mono1, real1;
	long long kmono = 0, kreal = 0;
	struct cell *c = boot("", VMM_IDLE_AUTO, 32 * MiB, log);

	mono1 = now_ns(CLOCK_MONOTONIC);
	real1 = now_ns(CLOCK_REALTIME);
	shut_down(c, 0);
	fclose(log);
	line = strstr(text, "clock: CLOCK_MONOTONIC ");
	EXPECT(line && sscanf(line, "clock: CLOCK_MONOTONIC %lld ns, CLOCK_REALTIME %lld ns",
			      &kmono, &kreal) == 2);
	printf("  kernel read CLOCK_MONOTONIC %+.3f ms after the test's start, %.3f ms before "
	       "its end\n", (kmono - mono0) / 1e6, (mono1 - kmono) / 1e6);
	/* The kernel read its clocks while this test was waiting for it. */
	EXPECT(kmono > mono0 && kmono < mono1);
	EXPECT(kreal > real0 && kreal < real1);
	free(text);
}

TEST(halted_kernel_wakes_on_a_kick)
{
	/* A 10 s heartbeat: without the kick, shutdown would take that long. */
	struct cell *c = boot("heartbeat_ms=10000", VMM_IDLE_HALT, 32 * MiB, NULL);
	struct timespec settle = { .tv_nsec = 50000000 };
	int status = -1;

	nanosleep(&settle, NULL);	/* well past the 200 us spin: halted */
	cell_request_shutdown(c, 9);
	EXPECT_EQ(cell_wait(c, 2000), 0);
	EXPECT_EQ(cell_end(c, &status), CELL_EXITED);
	EXPECT_EQ(status, 9);
	destroy_current();
}

TEST(kernel_adopts_all_ram_once_populated)
{
	struct cell *c = boot("", VMM_IDLE_HALT, 128 * MiB, NULL);
	const volatile struct crtos_comm *comm = cell_comm(c);

	/* The kernel may adopt the last chunk before the VMM notes the time it finished. */
	for (int i = 0; i < 1000 && (comm->ram_in_use < 120 * MiB || !cell_times(c)->ram_ready_ms);
	     i++) {
		struct timespec t = { .tv_nsec = 10000000 };

		nanosleep(&t, NULL);
	}
	EXPECT(cell_times(c)->ram_ready_ms > 0);
	EXPECT(comm->ram_ready == 128 * MiB);
	/* All of it but the kernel image, boot structures and log ring. */
	EXPECT(comm->ram_in_use >= 120 * MiB);
	shut_down(c, 0);
}
