// SPDX-License-Identifier: MIT
/*
 * The system-call routing table, indexed by Linux x86-64 syscall number.
 *
 * Every call of the UAPI header (the generated linux_syscalls.h) first gets
 * SC_ENOSYS "not supported yet"; the lines of syscalls.def then override
 * their own entries, as arm64 Linux fills its table with sys_ni_syscall
 * before the real handlers. Numbers come only from <asm/unistd_64.h>.
 * Builds freestanding for the kernel and hosted for tools/gen/syscalls_doc.
 */
#include <asm/unistd_64.h>
#include <linuxabi/syscall_class.h>

/* The generated list must come from the same header as the __NR_ constants. */
#define LINUX_SYSCALL(name, nr) \
	_Static_assert(__NR_##name == (nr), "linux_syscalls.h is stale for " #name);
#include <linux_syscalls.h>
#undef LINUX_SYSCALL

/*
 * A call listed twice in syscalls.def would silently win over itself below:
 * here it is a redeclared enumerator, a compile error naming the call.
 */
#define SC(name, cls, why) syscall_listed_twice_##name,
#define SCF(name, cls, why, fallback) syscall_listed_twice_##name,
enum {
#include "syscalls.def"
};
#undef SCF
#undef SC

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"	/* defaults, then syscalls.def */
const struct syscall_route syscall_routes[LINUX_SYSCALL_MAX] = {
#define LINUX_SYSCALL(name, nr) [nr] = { #name, SC_ENOSYS, SC_WHY_UNCLASSIFIED, 0 },
#include <linux_syscalls.h>
#undef LINUX_SYSCALL
#define SC(name, cls, why) [__NR_##name] = { #name, SC_##cls, why, 0 },
#define SCF(name, cls, why, fallback) [__NR_##name] = { #name, SC_##cls, why, fallback },
#include "syscalls.def"
#undef SCF
#undef SC
};
#pragma GCC diagnostic pop
