// SPDX-License-Identifier: MIT
/*
 * include/crtos/logring.h: the protocol both the kernel (producer) and the
 * VMM (consumer) run, including overflow and a corrupt ring.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <crtos/logring.h>
#include "harness.h"

static struct crtos_log_ring *ring_new(size_t total)
{
	struct crtos_log_ring *r = aligned_alloc(64, (total + 63) & ~63ul);

	EXPECT(r != NULL);
	EXPECT(crtos_log_init(r, total));
	return r;
}

static bool put(struct crtos_log_ring *r, const char *s)
{
	return crtos_log_write(r, 6, 0, s, (uint32_t)strlen(s));
}

TEST(logring_delivers_records_in_order)
{
	struct crtos_log_ring *r = ring_new(sizeof(struct crtos_log_ring) + 4096);
	struct crtos_log_reader rd;
	const struct crtos_log_rec *rec;

	crtos_log_reader_init(&rd, r);
	EXPECT_EQ(r->data_size, 4096);
	EXPECT(put(r, "one") && put(r, "two"));
	EXPECT_EQ(crtos_log_read(&rd, &rec), 1);
	EXPECT(rd.text_len == 3 && !memcmp(rec->text, "one", 3) && rec->seq == 0);
	crtos_log_release(&rd);
	EXPECT_EQ(crtos_log_read(&rd, &rec), 1);
	EXPECT(!memcmp(rec->text, "two", 3) && rec->seq == 1);
	crtos_log_release(&rd);
	EXPECT_EQ(crtos_log_read(&rd, &rec), 0);
	free(r);
}

TEST(logring_wraps_with_padding)
{
	struct crtos_log_ring *r = ring_new(sizeof(struct crtos_log_ring) + 256);
	struct crtos_log_reader rd;
	const struct crtos_log_rec *rec;
	char text[40];

	crtos_log_reader_init(&rd, r);
	for (int i = 0; i < 100; i++) {
		snprintf(text, sizeof(text), "message number %d", i);
		EXPECT(put(r, text));
		EXPECT_EQ(crtos_log_read(&rd, &rec), 1);
		EXPECT(rd.text_len == strlen(text) && !memcmp(rec->text, text, rd.text_len));
		EXPECT_EQ(rec->seq, (uint64_t)i);
		crtos_log_release(&rd);
	}
	EXPECT(r->head > 256 * 10);	/* it went around many times */
	EXPECT_EQ(r->dropped, 0);
	free(r);
}

TEST(logring_counts_what_does_not_fit)
{
	struct crtos_log_ring *r = ring_new(sizeof(struct crtos_log_ring) + 256);
	struct crtos_log_reader rd;
	const struct crtos_log_rec *rec;
	int written = 0, seen = 0;
	uint64_t next = 0, gaps = 0;

	crtos_log_reader_init(&rd, r);
	for (int i = 0; i < 50; i++)
		written += put(r, "0123456789012345678901234567890123456789");
	EXPECT(written > 0 && written < 50);
	EXPECT_EQ(r->dropped, 50 - written);
	while (crtos_log_read(&rd, &rec) == 1) {
		gaps += rec->seq - next;
		next = rec->seq + 1;
		seen++;
		crtos_log_release(&rd);
	}
	EXPECT_EQ(seen, written);
	/* Everything that was dropped shows as a sequence gap or after the last record. */
	EXPECT_EQ(gaps + (r->next_seq - next), r->dropped);
	free(r);
}

TEST(logring_truncates_oversized_records)
{
	struct crtos_log_ring *r = ring_new(sizeof(struct crtos_log_ring) + 1024);
	struct crtos_log_reader rd;
	const struct crtos_log_rec *rec;
	char big[2000];

	memset(big, 'x', sizeof(big));
	crtos_log_reader_init(&rd, r);
	EXPECT(crtos_log_write(r, 6, 0, big, sizeof(big)));
	EXPECT_EQ(crtos_log_read(&rd, &rec), 1);
	EXPECT_EQ(rd.text_len, crtos_log_max_text(r));
	free(r);
}

TEST(logring_reader_survives_a_corrupt_ring)
{
	struct crtos_log_ring *r = ring_new(sizeof(struct crtos_log_ring) + 1024);
	struct crtos_log_reader rd;
	const struct crtos_log_rec *rec;

	crtos_log_reader_init(&rd, r);
	EXPECT(put(r, "fine"));
	((struct crtos_log_rec *)r->data)->len = 5000;	/* beyond the ring */
	EXPECT_EQ(crtos_log_read(&rd, &rec), -1);
	r->data_size = 1 << 30;				/* the reader kept its own copy */
	r->head = 1ull << 40;
	EXPECT_EQ(crtos_log_read(&rd, &rec), -1);
	free(r);
}

struct stress {
	struct crtos_log_ring *ring;
	int count;
	bool done;		/* the producer has written (or dropped) everything */
};

static void *stress_producer(void *arg)
{
	struct stress *s = arg;
	char text[32];

	for (int i = 0; i < s->count; i++) {
		int n = snprintf(text, sizeof(text), "%d", i);

		crtos_log_write(s->ring, 6, (uint64_t)i, text, (uint32_t)n);
	}
	__atomic_store_n(&s->done, true, __ATOMIC_RELEASE);
	return NULL;
}

TEST(logring_concurrent_producer_and_consumer_lose_nothing_silently)
{
	struct stress s = { ring_new(sizeof(struct crtos_log_ring) + 2048), 200000, false };
	struct crtos_log_reader rd;
	const struct crtos_log_rec *rec;
	uint64_t seen = 0, next = 0;
	pthread_t t;

	crtos_log_reader_init(&rd, s.ring);
	pthread_create(&t, NULL, stress_producer, &s);
	while (next < (uint64_t)s.count) {
		int ret = crtos_log_read(&rd, &rec);

		EXPECT(ret >= 0);
		if (ret == 0) {
			/*
			 * next_seq counts a record before its head is published: only
			 * the producer's end says that an empty ring stays empty.
			 */
			if (__atomic_load_n(&s.done, __ATOMIC_ACQUIRE) && crtos_log_read(&rd, &rec) == 0)
				break;
			continue;
		}
		char text[32];

		EXPECT(rec->seq >= next && rd.text_len < sizeof(text));
		memcpy(text, rec->text, rd.text_len);
		text[rd.text_len] = '\0';
		EXPECT_EQ(strtoull(text, NULL, 10), rec->seq);
		EXPECT_EQ(rec->tsc, rec->seq);
		next = rec->seq + 1;
		seen++;
		crtos_log_release(&rd);
	}
	pthread_join(t, NULL);
	EXPECT_EQ(seen + s.ring->dropped, (uint64_t)s.count);
	free(s.ring);
}
