// SPDX-License-Identifier: MIT
/*
 * The --stats report (stats.h), shared by the shadow and crtos run. Call
 * names and the reasons of fallbacks come from the kernel's routing table
 * (linuxabi/syscalls.def, linked in as data, as tools/gen/syscalls_doc
 * does), so the report cannot disagree with docs/syscalls.md.
 */
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <linuxabi/syscall_class.h>
#include "stats.h"

/* What the counts of one kind mean, for both forms of the report. */
enum stats_kind { STATS_LOCAL, STATS_REMOTE, STATS_ENOSYS, STATS_FALLBACK, STATS_KINDS };

static const char *const kind_names[STATS_KINDS] = {
	[STATS_LOCAL] = "local", [STATS_REMOTE] = "remote",
	[STATS_ENOSYS] = "enosys", [STATS_FALLBACK] = "fallback",
};

static const struct crtos_stats *stats_of(const struct crtos_channel *chan)
{
	return (const void *)((const char *)chan + CRTOS_CHANNEL_STATS);
}

static const uint32_t *stats_counts(const struct crtos_stats *st, enum stats_kind kind)
{
	switch (kind) {
	case STATS_LOCAL: return st->local_by_nr;
	case STATS_REMOTE: return st->remote_by_nr;
	case STATS_ENOSYS: return st->enosys_by_nr;
	default: return st->fallback_by_nr;
	}
}

static const struct syscall_route *route_of(int nr)
{
	return nr < LINUX_SYSCALL_MAX && syscall_routes[nr].name ? &syscall_routes[nr] : NULL;
}

/* The call's name, or "#nr" (in buf) for a number Linux has no call for. */
static const char *call_name(int nr, char *buf, size_t len)
{
	const struct syscall_route *r = route_of(nr);

	if (r)
		return r->name;
	snprintf(buf, len, "#%d", nr);
	return buf;
}

/* Why the realm gave nr this answer (ENOSYS and fallback kinds), else "". */
static const char *call_reason(int nr, enum stats_kind kind)
{
	const struct syscall_route *r = route_of(nr);

	if (kind != STATS_ENOSYS && kind != STATS_FALLBACK)
		return "";
	if (!r)
		return SC_WHY_NO_SUCH_CALL;
	if (kind == STATS_FALLBACK)
		return syscall_fallback_reason(r);
	return r->cls == SC_ENOSYS ? r->why : SC_WHY_NO_HANDLER;
}

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

/* "local by call: read 3 write 1", on one line. */
static void stats_by_nr(FILE *out, const char *what, const uint32_t *counts)
{
	bool any = false;
	char buf[16];

	fprintf(out, "crtos:   %s:", what);
	for (int nr = 0; nr < CRTOS_STATS_SYSCALLS; nr++) {
		if (!counts[nr])
			continue;
		fprintf(out, " %s %u", call_name(nr, buf, sizeof(buf)), counts[nr]);
		any = true;
	}
	fprintf(out, "%s\n", any ? "" : " none");
}

/* The calls of kind answered without being served: one line each, with the reason. */
static void stats_refused(FILE *out, const struct crtos_stats *st, enum stats_kind kind,
			  const char *what)
{
	const uint32_t *counts = stats_counts(st, kind);
	uint32_t beyond = kind == STATS_ENOSYS ? st->enosys_beyond : 0;
	bool any = beyond > 0;
	char buf[16];

	for (int nr = 0; nr < CRTOS_STATS_SYSCALLS && !any; nr++)
		any = counts[nr] > 0;
	fprintf(out, "crtos:   %s:%s\n", what, any ? "" : " none");
	for (int nr = 0; nr < CRTOS_STATS_SYSCALLS; nr++)
		if (counts[nr])
			fprintf(out, "crtos:     %s %u: %s\n", call_name(nr, buf, sizeof(buf)),
				counts[nr], call_reason(nr, kind));
	if (beyond)
		fprintf(out, "crtos:     #>=%d %u: %s\n", CRTOS_STATS_SYSCALLS, beyond,
			SC_WHY_NO_SUCH_CALL);
}

void stats_print(FILE *out, const struct crtos_channel *chan, const char *why)
{
	const struct crtos_stats *st = stats_of(chan);

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
	stats_refused(out, st, STATS_ENOSYS, "answered ENOSYS (calls the realm does not serve)");
	stats_refused(out, st, STATS_FALLBACK,
		      "fallbacks (answered as Linux without the feature would)");
	fflush(out);
}

/* One TSV field: tabs and newlines would break the record, so they become spaces. */
static void tsv_field(FILE *out, const char *s, char end)
{
	for (; *s; s++)
		fputc(*s == '\t' || *s == '\n' ? ' ' : *s, out);
	fputc(end, out);
}

static void tsv_row(FILE *out, int pid, const char *program, enum stats_kind kind,
		    const char *call, uint32_t count, const char *reason)
{
	fprintf(out, "%d\t", pid);
	tsv_field(out, program, '\t');
	fprintf(out, "%s\t", kind_names[kind]);
	tsv_field(out, call, '\t');
	fprintf(out, "%u\t", count);
	tsv_field(out, reason, '\n');
}

int stats_write_tsv(int fd, const struct crtos_channel *chan, int pid, const char *program)
{
	const struct crtos_stats *st = stats_of(chan);
	char *buf = NULL, name[16];
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	ssize_t n = -1;

	if (!out)
		return -1;
	for (int kind = 0; kind < STATS_KINDS; kind++) {
		const uint32_t *counts = stats_counts(st, kind);

		for (int nr = 0; nr < CRTOS_STATS_SYSCALLS; nr++)
			if (counts[nr])
				tsv_row(out, pid, program, kind, call_name(nr, name, sizeof(name)),
					counts[nr], call_reason(nr, kind));
	}
	if (st->enosys_beyond) {
		snprintf(name, sizeof(name), "#>=%d", CRTOS_STATS_SYSCALLS);
		tsv_row(out, pid, program, STATS_ENOSYS, name, st->enosys_beyond, SC_WHY_NO_SUCH_CALL);
	}
	if (fclose(out) == 0)
		n = len ? write(fd, buf, len) : 0;	/* one write: O_APPEND keeps records whole */
	free(buf);
	return n == (ssize_t)len ? 0 : -1;
}
