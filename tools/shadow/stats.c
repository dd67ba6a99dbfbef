// SPDX-License-Identifier: MIT
/* The --stats report (stats.h), shared by the shadow and crtos run. */
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <linux_syscalls.h>
#include "stats.h"

static const char *const syscall_names[LINUX_SYSCALL_MAX] = {
#define LINUX_SYSCALL(name, nr) [nr] = #name,
#include <linux_syscalls.h>
#undef LINUX_SYSCALL
};

static const char *policy_name(int policy)
{
	switch (policy) {
	case SCHED_FIFO: return "FIFO";
	case SCHED_RR: return "RR";
	case SCHED_BATCH: return "BATCH";
	case SCHED_IDLE: return "IDLE";
	default: return "OTHER";
	}
}

static void stats_by_nr(FILE *out, const char *what, const uint32_t *counts)
{
	bool any = false;

	fprintf(out, "crtos:   %s:", what);
	for (int nr = 0; nr < CRTOS_STATS_SYSCALLS && nr < LINUX_SYSCALL_MAX; nr++) {
		if (!counts[nr])
			continue;
		fprintf(out, " %s %u", syscall_names[nr] ? syscall_names[nr] : "?", counts[nr]);
		any = true;
	}
	fprintf(out, "%s\n", any ? "" : " none");
}

void stats_print(FILE *out, const struct crtos_channel *chan, const char *why)
{
	const struct crtos_stats *st = (const void *)((const char *)chan + CRTOS_CHANNEL_STATS);

	if (why)
		fprintf(out, "crtos: the program has not ended (%s): its statistics so far\n", why);
	fprintf(out, "crtos: thread statistics (local: served in the RT realm; remote: made in Linux "
		"by the thread's twin)\n");
	fprintf(out, "crtos: %8s %-6s %4s %12s %12s %10s %9s\n", "tid", "policy", "prio",
		"local calls", "remote calls", "cpu ms", "switches");
	for (uint32_t i = 0; i < st->nr_threads && i < CRTOS_STATS_THREADS; i++) {
		const struct crtos_thread_stats *t = &st->threads[i];

		char tid[16];

		if (t->state == CRTOS_THREAD_OTHERS)
			snprintf(tid, sizeof(tid), "others");	/* threads beyond the records, summed */
		else
			snprintf(tid, sizeof(tid), "%d", t->tid);
		fprintf(out, "crtos: %8s %-6s %4d %12llu %12llu %10.3f %9llu\n", tid,
			policy_name(t->policy), t->prio, (unsigned long long)t->local_calls,
			(unsigned long long)t->remote_calls, (double)t->cpu_ns / 1e6,
			(unsigned long long)t->switches);
	}
	stats_by_nr(out, "local by call", st->local_by_nr);
	stats_by_nr(out, "remote by call", st->remote_by_nr);
	fflush(out);
}
