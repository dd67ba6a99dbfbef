// SPDX-License-Identifier: MIT
/*
 * A harness program for the runner's self-test (runner_selftest): its
 * first test passes, and its second ends the way FIXTURE_END says: "segv"
 * (a wild write, which ASan turns into exit status 1), "exit0" (exit(0)
 * in the middle of a test), "fail" (an ordinary failed EXPECT), or, unset,
 * it passes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

TEST(fixture_first_test_passes)
{
	EXPECT(1 + 1 == 2);
}

TEST(fixture_second_test_ends_as_told)
{
	const char *end = getenv("FIXTURE_END");

	if (!end)
		return;
	if (!strcmp(end, "segv"))
		*(volatile int *)(uintptr_t)16 = 1;
	if (!strcmp(end, "exit0"))
		exit(0);
	EXPECT(strcmp(end, "fail"));
}
