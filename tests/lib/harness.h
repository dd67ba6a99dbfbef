/* SPDX-License-Identifier: MIT */
/*
 * A minimal test harness for host unit tests. Each TEST() registers itself;
 * main() (harness.c) runs them in order and prints one line per test:
 * "PASS name" or "FAIL name: file:line: what". A failed EXPECT ends its
 * test. A kernel panic() inside a test fails it, unless the test expects
 * it with EXPECT_PANIC().
 */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>

typedef void (*test_fn)(void);

void harness_add(const char *name, test_fn fn);
_Noreturn void harness_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Called after a test fails, to release what it held (tests set it). */
extern void (*harness_cleanup)(void);

/* Set while a statement under EXPECT_PANIC runs; panics longjmp here. */
extern jmp_buf *harness_panic_jmp;

#define TEST(name) \
	static void name(void); \
	__attribute__((constructor)) static void harness_register_##name(void) \
	{ \
		harness_add(#name, name); \
	} \
	static void name(void)

#define EXPECT(cond) \
	do { \
		if (!(cond)) \
			harness_fail(__FILE__, __LINE__, "%s", #cond); \
	} while (0)

#define EXPECT_EQ(a, b) \
	do { \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
		if (a_ != b_) \
			harness_fail(__FILE__, __LINE__, "%s == %s (%#llx != %#llx)", #a, #b, a_, b_); \
	} while (0)

#define EXPECT_PANIC(stmt) \
	do { \
		jmp_buf jb_; \
		bool panicked_ = false; \
		harness_panic_jmp = &jb_; \
		if (setjmp(jb_) == 0) { \
			stmt; \
		} else { \
			panicked_ = true; \
		} \
		harness_panic_jmp = NULL; \
		if (!panicked_) \
			harness_fail(__FILE__, __LINE__, "expected a panic from %s", #stmt); \
	} while (0)

#endif
