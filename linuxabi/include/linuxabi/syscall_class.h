/* SPDX-License-Identifier: MIT */
/*
 * How each Linux system call is routed: the classes, and the table that
 * linuxabi/syscall_routes.c builds from linuxabi/syscalls.def.
 *
 * The table has one entry per number below LINUX_SYSCALL_MAX (the highest
 * number in the Linux UAPI header, plus one). A number with no system call
 * has a NULL name and class SC_ENOSYS; a number at or above
 * LINUX_SYSCALL_MAX is the dispatcher's to refuse with -ENOSYS. Freestanding:
 * the kernel and host tools both include this.
 */
#ifndef LINUXABI_SYSCALL_CLASS_H
#define LINUXABI_SYSCALL_CLASS_H

#include <linux_syscalls.h>	/* LINUX_SYSCALL_MAX, generated from the UAPI */

enum syscall_class {
	/* -ENOSYS, deliberately (the reason says why) or not supported yet. */
	SC_ENOSYS = 0,
	/*
	 * Served by the RT kernel (handler sys_<name>). A handler whose target
	 * is outside the realm (a Linux pid, a prctl option about the Linux
	 * process) may forward the call to the shadow itself.
	 */
	SC_LOCAL,
	/* Executed verbatim by the calling thread's shadow thread. */
	SC_REMOTE,
	/*
	 * As SC_REMOTE, but argument 0 is a file descriptor the kernel checks
	 * first: it may be an RT fd (served locally) or one of the shadow's
	 * private fds, which the program must not reach.
	 */
	SC_REMOTE_FD,
	/*
	 * As SC_REMOTE, but a path argument is looked up in the RT namespace
	 * (/dev/rt...) first; a dirfd that comes with it is checked as for
	 * SC_REMOTE_FD. Which arguments are paths depends on the call.
	 */
	SC_REMOTE_PATH,
	/* Both realms act and stay in sync (handler sys_<name>). */
	SC_DUAL,
	SC_NR_CLASSES
};

/* Reason given to numbers that linuxabi/syscalls.def does not classify. */
#define SC_WHY_UNCLASSIFIED "not supported yet"

/*
 * Why the realm answered -ENOSYS to a call it does not serve (crtos run
 * --stats): the route's own reason for an unclassified call, else these.
 */
#define SC_WHY_NO_HANDLER	"its handler is not written yet"
#define SC_WHY_NO_SUCH_CALL	"no such system call"

struct syscall_route {
	const char *name;	/* Linux name without sys_, NULL if no such call */
	unsigned char cls;	/* enum syscall_class */
	const char *why;	/* one line: why this class; NULL if no such call */
	/*
	 * A handler's deliberate fallback: what it answers, and why, for the
	 * options of the call it does not serve (as a Linux without them
	 * would); NULL if none. ENOSYS-class calls are fallbacks too, for why.
	 */
	const char *fallback;
};

/* The reason of a fallback answer to route's call (crtos run --stats, docs). */
static inline const char *syscall_fallback_reason(const struct syscall_route *r)
{
	return r->fallback ? r->fallback : r->why;
}

extern const struct syscall_route syscall_routes[LINUX_SYSCALL_MAX];

/* The class's name as syscalls.def spells it ("LOCAL", ...), for traces and docs. */
static inline const char *syscall_class_name(unsigned int cls)
{
	static const char *const names[SC_NR_CLASSES] = {
		[SC_ENOSYS] = "ENOSYS",
		[SC_LOCAL] = "LOCAL",
		[SC_REMOTE] = "REMOTE",
		[SC_REMOTE_FD] = "REMOTE_FD",
		[SC_REMOTE_PATH] = "REMOTE_PATH",
		[SC_DUAL] = "DUAL",
	};

	return cls < SC_NR_CLASSES ? names[cls] : "?";
}

#endif
