// SPDX-License-Identifier: MIT
/*
 * The kernel log drain: a thread on a Linux CPU sleeps on the log doorbell
 * (an ioeventfd the kernel rings from ring 3, no VM exit) and copies records
 * to the configured stream, each prefixed with its time since kernel entry.
 * A gap in the records' sequence numbers is reported where it happened.
 * The thread also runs the halt watchdog's check (watchdog.c) on each pass.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "internal.h"

/* Report the records before sequence number seq that never reached the ring. */
static void log_report_gap(struct cell *c, uint64_t seq)
{
	if (seq > c->next_seq && c->cfg.log_out)
		fprintf(c->cfg.log_out, "[ ... %llu kernel messages dropped: the log ring was full ... ]\n",
			(unsigned long long)(seq - c->next_seq));
}

static void log_print_record(struct cell *c, const struct crtos_log_rec *rec)
{
	FILE *out = c->cfg.log_out;
	uint64_t entry = c->comm->tsc_entry;
	double t = 0;

	log_report_gap(c, rec->seq);
	c->next_seq = rec->seq + 1;
	if (!out)
		return;
	if (entry && rec->tsc >= entry)
		t = (double)crtos_clock_delta_ns(&(struct crtos_clock){ .tsc_ref = entry,
				.mult = c->clock->mult, .shift = c->clock->shift }, rec->tsc) / 1e9;
	fprintf(out, "[%12.6f] %.*s", t, (int)c->reader.text_len, rec->text);
	if (!c->reader.text_len || rec->text[c->reader.text_len - 1] != '\n')
		fputc('\n', out);
}

/* Copy every complete record out. Only the log thread, or the caller once it has stopped. */
void log_drain(struct cell *c)
{
	const struct crtos_log_rec *rec;
	int ret;

	while (!c->log_corrupt && (ret = crtos_log_read(&c->reader, &rec)) != 0) {
		if (ret < 0) {
			fprintf(c->msg, "crtos: the kernel log ring is corrupt; no more kernel messages\n");
			c->log_corrupt = true;
			break;
		}
		log_print_record(c, rec);
		crtos_log_release(&c->reader);
	}
	if (c->cfg.log_out)
		fflush(c->cfg.log_out);
}

static void *log_thread(void *arg)
{
	struct cell *c = arg;
	struct pollfd fds[2] = {
		{ .fd = c->log_efd, .events = POLLIN },
		{ .fd = c->stop_efd, .events = POLLIN },
	};
	eventfd_t v;

	while (!c->stopping) {
		/* The timeout catches records whose doorbell came before we slept. */
		if (poll(fds, 2, 100) < 0 && errno != EINTR)
			break;
		if (fds[0].revents & POLLIN)
			eventfd_read(c->log_efd, &v);
		log_drain(c);
		watchdog_poll(c);
		shm_watch(c);
		if (fds[1].revents & POLLIN)
			break;
	}
	return NULL;
}

int log_start(struct cell *c, struct vmm_err *err)
{
	int ret = host_start_helper(&c->log_thread, c->cpu, log_thread, c);

	if (ret)
		return vmm_fail(err, ret, "cannot start the log thread: %s", strerror(-ret));
	c->log_started = true;
	return 0;
}

/* Stop the thread, then drain what is left (the kernel has stopped by now). */
void log_stop(struct cell *c)
{
	if (c->log_started) {
		eventfd_write(c->stop_efd, 1);
		pthread_join(c->log_thread, NULL);
		c->log_started = false;
	}
	if (!c->log)
		return;
	log_drain(c);
	/* Messages dropped after the last one printed: no later record shows their gap. */
	if (!c->log_corrupt) {
		log_report_gap(c, __atomic_load_n(&c->log->next_seq, __ATOMIC_ACQUIRE));
		c->next_seq = __atomic_load_n(&c->log->next_seq, __ATOMIC_ACQUIRE);
		if (c->cfg.log_out)
			fflush(c->cfg.log_out);
	}
}

uint64_t cell_log_dropped(const struct cell *c)
{
	return c->log ? __atomic_load_n(&c->log->dropped, __ATOMIC_ACQUIRE) : 0;
}
