// SPDX-License-Identifier: MIT
/*
 * System calls that fail here as natively, whatever serves them: a number
 * with no system call (ENOSYS), seccomp with flags its mode does not take
 * and prctl(PR_SET_SECCOMP) with a mode that does not exist (EINVAL
 * natively). It prints only whether each failed, so that its output is the
 * same wherever it runs; crtos run --stats names them (an unknown call, and
 * fallbacks). Raw system calls: both C libraries pass the same arguments.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#define NO_SUCH_CALL	511	/* below x32's numbers, far above x86-64's last call */

static void report(const char *what, long ret)
{
	printf("%s: %s\n", what, ret < 0 ? "fails" : "succeeds");
}

int main(void)
{
	report("system call 511", syscall(NO_SUCH_CALL, 0, 0, 0));
	report("seccomp strict mode with flags", syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 1, 0));
	report("prctl PR_SET_SECCOMP with an unknown mode", prctl(PR_SET_SECCOMP, 12345, 0, 0, 0));
	return 0;
}
