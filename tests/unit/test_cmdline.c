// SPDX-License-Identifier: MIT
/* kernel/cmdline.c on the host. */
#include <string.h>
#include <kernel/cmdline.h>
#include "harness.h"

TEST(cmdline_words_and_values)
{
	EXPECT_EQ(cmdline_parse("  selftest loglevel=7  fault=null x=  ", 100), 4);
	EXPECT(cmdline_has("selftest"));
	EXPECT(!strcmp(cmdline_get("selftest"), ""));
	EXPECT(!strcmp(cmdline_get("loglevel"), "7"));
	EXPECT(!strcmp(cmdline_get("fault"), "null"));
	EXPECT(!strcmp(cmdline_get("x"), ""));
	EXPECT(cmdline_get("fault=null") == NULL);
	EXPECT(!cmdline_has("self"));
}

TEST(cmdline_numbers)
{
	cmdline_parse("a=42 b=0x1F c=12z d= e=18446744073709551615 f=18446744073709551616 g=0x", 200);
	EXPECT_EQ(cmdline_u64("a", 1), 42);
	EXPECT_EQ(cmdline_u64("b", 1), 31);
	EXPECT_EQ(cmdline_u64("c", 1), 1);
	EXPECT_EQ(cmdline_u64("d", 1), 1);
	EXPECT_EQ(cmdline_u64("e", 1), UINT64_MAX);
	EXPECT_EQ(cmdline_u64("f", 1), 1);
	EXPECT_EQ(cmdline_u64("g", 1), 1);
	EXPECT_EQ(cmdline_u64("missing", 9), 9);
}

TEST(cmdline_last_word_wins_and_limits_hold)
{
	char line[400] = "";

	cmdline_parse("exit=1 exit=2", 100);
	EXPECT_EQ(cmdline_u64("exit", 0), 2);
	for (int i = 0; i < CMDLINE_MAX_WORDS + 1; i++)
		strcat(line, "w ");
	EXPECT_EQ(cmdline_parse(line, sizeof(line)), -E2BIG);
	/* Not NUL-terminated within max: only max bytes are read. */
	EXPECT_EQ(cmdline_parse("abc def", 3), 1);
	EXPECT(cmdline_has("abc") && !cmdline_has("def"));
}
