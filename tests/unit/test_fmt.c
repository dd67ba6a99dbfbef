// SPDX-License-Identifier: MIT
/*
 * kernel/lib/fmt.c against the C library's snprintf, conversion by
 * conversion. fmt.c is built for this test with its functions renamed
 * kfmt_* (tests/rules.mk), so both can live in one program.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include "harness.h"

int kfmt_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define SAME(...) \
	do { \
		char want[256], got[256]; \
		int nw = snprintf(want, sizeof(want), __VA_ARGS__); \
		int ng = kfmt_snprintf(got, sizeof(got), __VA_ARGS__); \
		if (nw != ng || strcmp(want, got)) \
			harness_fail(__FILE__, __LINE__, "'%s' (%d) != libc '%s' (%d)", got, ng, \
				     want, nw); \
	} while (0)

TEST(fmt_integers_match_libc)
{
	SAME("%d %i %u", 0, -1, 4000000000u);
	SAME("%ld %lu %lld %llu", -1234567890123l, 18446744073709551615ul, -9223372036854775807ll - 1,
	     12345ull);
	SAME("%x %X %#x %#X %#lx", 0xdeadu, 0xbeefu, 0u, 0xabcu, 0x7f0000200000ul);
	SAME("%o %#o %#o", 8u, 8u, 0u);
	SAME("%hhd %hhu %hd %hu", 300, 300, 70000, 70000);
	SAME("%zu %zd %td %jd", (size_t)12, (ssize_t)-12, (ptrdiff_t)-3, (intmax_t)99);
}

TEST(fmt_width_precision_and_flags_match_libc)
{
	SAME("[%5d] [%-5d] [%05d] [%+d] [% d] [%+05d]", 42, 42, 42, 42, 42, -42);
	SAME("[%.3d] [%8.3d] [%-8.3x] [%.0d] [%.0x]", 7, 7, 255, 0, 0);
	SAME("[%*d] [%-*d] [%.*d] [%*d]", 6, 1, 6, 2, 4, 3, -6, 4);
	SAME("[%016lx] [%#018lx] [%-#8x]", 0xabcul, 0x12ul, 0x7u);
	SAME("[%s] [%10s] [%-10s] [%.2s] [%c] [%3c] [%%]", "abc", "abc", "abc", "abc", 'z', 'y');
	SAME("%p %p", (void *)0x1234, (void *)0x7f0000200000);
}

TEST(fmt_truncates_and_reports_the_full_length)
{
	char buf[8];

	EXPECT_EQ(kfmt_snprintf(buf, sizeof(buf), "%s", "0123456789"), 10);
	EXPECT(!strcmp(buf, "0123456"));
	EXPECT_EQ(kfmt_snprintf(buf, 0, "abc"), 3);
	EXPECT_EQ(kfmt_snprintf(NULL, 0, "%d", 12345), 5);
	const char *volatile none = NULL;	/* hidden from the format checker */

	EXPECT_EQ(kfmt_snprintf(buf, sizeof(buf), "%s", none), 6);
	EXPECT(!strcmp(buf, "(null)"));
}
