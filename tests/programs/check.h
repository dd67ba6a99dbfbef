/* SPDX-License-Identifier: MIT */
/*
 * Shared by the test programs in tests/programs/: one output line per check
 * ("what: result"), errno values printed by name, and a failure count that
 * decides the exit status. Output must be the same run to run and with
 * either C library, so nothing here prints addresses, pids or times.
 */
#ifndef TESTS_PROGRAMS_CHECK_H
#define TESTS_PROGRAMS_CHECK_H

/* "ENOENT" for ENOENT; "errno 123" for values not in the table. */
const char *errno_name(int err);

/* Print "what: got"; a failure when got differs from want. */
void check_str(const char *what, const char *got, const char *want);
void check_long(const char *what, long got, long want);

/* Print "what: ok" or "what: FAILED"; a failure when cond is false. */
void check_true(const char *what, int cond);

/* Like check_true, but a failure prints "what: FAILED (details)". */
void check_explain(const char *what, int cond, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* For functions returning an error number (pthread_*): prints its name. */
void check_errnum(const char *what, int ret, int want);

/* A call that should succeed: prints "ok", or the errno name on -1. */
void check_ok(const char *what, long ret);

/* A setup step: silent on success; on -1 prints "what: ENAME", a failure. */
void check_quiet(const char *what, long ret);

/* A call that should fail with want: prints the errno name, or "no error". */
void check_err(const char *what, long ret, int want);

/* Print "done"; returns the exit status (0 when every check passed). */
int check_done(void);

#endif
