// SPDX-License-Identifier: MIT
/* The reporting helpers behind check.h, linked into every test program. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "check.h"

static int failures;

#define E(x) { x, #x }
static const struct {
	int err;
	const char *name;
} errno_table[] = {
	E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG),
	E(ENOEXEC), E(EBADF), E(ECHILD), E(EAGAIN), E(ENOMEM), E(EACCES),
	E(EFAULT), E(EBUSY), E(EEXIST), E(EXDEV), E(ENODEV), E(ENOTDIR),
	E(EISDIR), E(EINVAL), E(ENFILE), E(EMFILE), E(ENOTTY), E(EFBIG),
	E(ENOSPC), E(ESPIPE), E(EROFS), E(EMLINK), E(EPIPE), E(EDOM),
	E(ERANGE), E(EDEADLK), E(ENAMETOOLONG), E(ENOSYS), E(ENOTEMPTY),
	E(ELOOP), E(EOVERFLOW), E(EOPNOTSUPP), E(ETIMEDOUT), E(EOWNERDEAD),
	E(ENOTRECOVERABLE),
};

const char *errno_name(int err)
{
	static char buf[32];
	size_t i;

	for (i = 0; i < sizeof(errno_table) / sizeof(errno_table[0]); i++)
		if (errno_table[i].err == err)
			return errno_table[i].name;
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

void check_str(const char *what, const char *got, const char *want)
{
	printf("%s: %s\n", what, got);
	if (strcmp(got, want) != 0)
		failures++;
}

void check_long(const char *what, long got, long want)
{
	printf("%s: %ld\n", what, got);
	if (got != want)
		failures++;
}

void check_true(const char *what, int cond)
{
	printf("%s: %s\n", what, cond ? "ok" : "FAILED");
	if (!cond)
		failures++;
}

void check_explain(const char *what, int cond, const char *fmt, ...)
{
	va_list ap;

	if (cond) {
		printf("%s: ok\n", what);
		return;
	}
	printf("%s: FAILED (", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(")\n");
	failures++;
}

void check_errnum(const char *what, int ret, int want)
{
	printf("%s: %s\n", what, ret ? errno_name(ret) : "ok");
	if (ret != want)
		failures++;
}

void check_ok(const char *what, long ret)
{
	if (ret == -1) {
		printf("%s: %s\n", what, errno_name(errno));
		failures++;
		return;
	}
	printf("%s: ok\n", what);
}

void check_quiet(const char *what, long ret)
{
	if (ret == -1)
		check_ok(what, ret);
}

void check_err(const char *what, long ret, int want)
{
	int err = errno;

	if (ret != -1) {
		printf("%s: no error\n", what);
		failures++;
		return;
	}
	printf("%s: %s\n", what, errno_name(err));
	if (err != want)
		failures++;
}

int check_done(void)
{
	printf("done\n");
	return failures ? 1 : 0;
}
