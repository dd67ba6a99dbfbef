// SPDX-License-Identifier: MIT
/*
 * The unit-test runner behind tests/lib/harness.h. Its output is what
 * tests/run reads: one "PASS name" / "FAIL name" line per test, then
 * "DONE n tests run, m failed" when every test has run. A program that ends
 * without that line (a crash, an exit() in a test) is counted as failed.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

#define MAX_TESTS 256

static struct {
	const char *name;
	test_fn fn;
} tests[MAX_TESTS];
static int nr_tests;
static jmp_buf test_jmp;
jmp_buf *harness_panic_jmp;
void (*harness_cleanup)(void);

void harness_add(const char *name, test_fn fn)
{
	if (nr_tests == MAX_TESTS)
		abort();
	tests[nr_tests].name = name;
	tests[nr_tests].fn = fn;
	nr_tests++;
}

_Noreturn void harness_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	const char *base = strrchr(file, '/');

	printf("%s:%d: ", base ? base + 1 : file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	longjmp(test_jmp, 1);
}

/* Run one test; false if it failed. */
static bool harness_run(int i)
{
	if (setjmp(test_jmp) == 0) {
		tests[i].fn();
		printf("PASS %s\n", tests[i].name);
		return true;
	}
	if (harness_cleanup)
		harness_cleanup();
	printf("FAIL %s\n", tests[i].name);
	return false;
}

int main(int argc, char **argv)
{
	int failed = 0, ran = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < nr_tests; i++)
		if (argc < 2 || strstr(tests[i].name, argv[1])) {
			failed += !harness_run(i);
			ran++;
		}
	printf("DONE %d tests run, %d failed\n", ran, failed);
	return failed ? 1 : 0;
}
