// SPDX-License-Identifier: MIT
/*
 * crtos cell: boot a cell, show the kernel's log and the boot time, run the
 * self-tests when asked, and shut the cell down in order. SIGINT, SIGTERM
 * and SIGHUP ask the kernel to shut down; a kernel that does not within
 * SHUTDOWN_GRACE_MS is stopped.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "cellsock.h"
#include "fifofs.h"
#include "cli.h"
#include "vmm/vmm.h"

#define SHUTDOWN_GRACE_MS	5000
#define SELFTEST_TIMEOUT_MS	120000
#define RAM_WAIT_MS		10000

struct cell_opts {
	struct cell_config cfg;
	const char *selftest;		/* NULL: no self-tests */
	const char *extra_cmdline;
	const char *log_path;
	bool hold;
	long hold_ms;			/* < 0: until a signal */
	long boot_timeout_ms;
	bool quiet;
	char cmdline[1024];
};

void cmd_cell_help(void)
{
	printf(
"Usage: crtos cell [options]\n"
"\n"
"Boot the crtos real-time kernel in a partition: a KVM virtual machine with one\n"
"vCPU pinned to its own CPU at SCHED_FIFO priority, its memory populated and\n"
"locked. Prints the kernel's log and the boot time, runs the kernel's\n"
"self-tests when asked, and shuts the cell down in order.\n"
"\n"
"Options:\n"
"  --cpu N              CPU for the cell (default: the last CPU crtos may use);\n"
"                       crtos's other threads stay off it\n"
"  --prio P             SCHED_FIFO priority of the vCPU thread, 1-99 (default 90)\n"
"  --mem SIZE           guest memory, e.g. 256M or 1G (default 256M)\n"
"  --idle MODE          auto, poll or halt (default auto: poll, unless Linux\n"
"                       throttles real-time threads or, since Linux 6.12, its\n"
"                       fair server may run its tasks on a CPU not isolated;\n"
"                       halting wakes before each deadline; see crtos doctor)\n"
"  --idle-spin US       halt mode: spin this long before halting (default 200)\n"
"  --selftest[=FILTER]  run the kernel's self-tests (those whose name contains\n"
"                       FILTER) and exit 0 if all pass, 1 if not\n"
"  --hold[=MS]          keep the cell running until Ctrl-C (or for MS ms), and let\n"
"                       crtos run use it: programs then share this cell; its\n"
"                       RT-FIFOs appear as files in <runtime dir>/cell<CPU>/fifo\n"
"                       (see crtos fifo --help)\n"
"  --cmdline TEXT       extra kernel command-line words (see below)\n"
"  --log FILE           write the kernel log to FILE instead of the terminal\n"
"  --log-size SIZE      kernel log ring, a power of two (default 256K)\n"
"  --quiet              do not show the kernel log\n"
"  --kernel PATH        kernel image (default: crtos-kernel.elf next to crtos,\n"
"                       or $CRTOS_KERNEL)\n"
"  --kvm PATH           KVM device (default /dev/kvm)\n"
"  --fix-rt-throttling  turn Linux's RT throttling off while the cell runs\n"
"                       (sched_rt_runtime_us = -1, restored at exit)\n"
"  --shield             move every movable Linux task and interrupt off the\n"
"                       cell's CPU while it runs (a cgroup v1 cpuset, or a v2\n"
"                       isolated partition); a guardian process restores\n"
"                       everything when the cell ends, also if crtos is killed\n"
"                       (crtos doctor shows a shield and repairs a stale one)\n"
"  --no-rt              no SCHED_FIFO and no memory locking (debugging only)\n"
"  --boot-timeout MS    give up if the kernel has not booted after MS (default 10000)\n"
"  -h, --help           this text\n"
"\n"
"Kernel command-line words: loglevel=N (0-7), heartbeat_ms=N, exit=N (exit with\n"
"N once booted), rr_quantum_ms=N (SCHED_RR and SCHED_OTHER quantum, default\n"
"100), wake_margin_us=N (a halted CPU wakes this long before a timer, default\n"
"300), trace (keep the last scheduling events; printed when a process is\n"
"reaped), and test hooks: logflood=N (N messages at boot), fault=KIND\n"
"(null, unmapped, write-text, ud, div0, gp, ring0, exec-user, read-user,\n"
"bad-stack, panic, assert, hang;\n"
"lost-wakeup: every idle halt loses its wake-up interrupt, which the VMM's\n"
"watchdog must notice and repair).\n"
"\n"
"Exit status: the kernel's exit status (0 after a plain boot and shutdown);\n"
"64 bad usage; 69 this host cannot run a cell (the message says why and what\n"
"to do); 70 kernel panic; 71 the vCPU stopped in a state the kernel could not\n"
"report itself (triple fault, fault in ring 0); 72 the kernel did not boot or\n"
"shut down in time.\n");
}

enum { OPT_CPU = 256, OPT_PRIO, OPT_MEM, OPT_IDLE, OPT_IDLE_SPIN, OPT_SELFTEST, OPT_HOLD,
       OPT_CMDLINE, OPT_LOG, OPT_LOG_SIZE, OPT_QUIET, OPT_KERNEL, OPT_KVM, OPT_FIX_RT,
       OPT_NO_RT, OPT_BOOT_TIMEOUT, OPT_SHIELD };

static const struct option cell_options[] = {
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "prio", required_argument, NULL, OPT_PRIO },
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "idle", required_argument, NULL, OPT_IDLE },
	{ "idle-spin", required_argument, NULL, OPT_IDLE_SPIN },
	{ "selftest", optional_argument, NULL, OPT_SELFTEST },
	{ "hold", optional_argument, NULL, OPT_HOLD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "log-size", required_argument, NULL, OPT_LOG_SIZE },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "kvm", required_argument, NULL, OPT_KVM },
	{ "fix-rt-throttling", no_argument, NULL, OPT_FIX_RT },
	{ "no-rt", no_argument, NULL, OPT_NO_RT },
	{ "shield", no_argument, NULL, OPT_SHIELD },
	{ "boot-timeout", required_argument, NULL, OPT_BOOT_TIMEOUT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "crtos cell: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'crtos cell --help'.\n");
	return EXIT_USAGE;
}

/* One option; returns 0, or an exit status (usage error, or -1 for --help). */
static int cell_parse_one(struct cell_opts *o, int opt, const char *arg)
{
	long v;
	int64_t size;

	switch (opt) {
	case OPT_CPU:
		if (!cli_parse_int(arg, 0, 4095, &v))
			return usage_error("--cpu needs a CPU number, not '%s'", arg);
		o->cfg.cpu = (int)v;
		return 0;
	case OPT_PRIO:
		if (!cli_parse_int(arg, 1, 99, &v))
			return usage_error("--prio needs a priority 1-99, not '%s'", arg);
		o->cfg.prio = (int)v;
		return 0;
	case OPT_MEM:
		size = cli_parse_size(arg);
		if (size < 16 << 20 || size % (2 << 20))
			return usage_error("--mem needs a multiple of 2 MiB, at least 16M, not '%s'", arg);
		o->cfg.mem_size = (uint64_t)size;
		return 0;
	case OPT_IDLE:
		if (!strcmp(arg, "auto"))
			o->cfg.idle = VMM_IDLE_AUTO;
		else if (!strcmp(arg, "poll"))
			o->cfg.idle = VMM_IDLE_POLL;
		else if (!strcmp(arg, "halt"))
			o->cfg.idle = VMM_IDLE_HALT;
		else
			return usage_error("--idle is auto, poll or halt, not '%s'", arg);
		return 0;
	case OPT_IDLE_SPIN:
		if (!cli_parse_int(arg, 1, 1000000, &v))
			return usage_error("--idle-spin needs microseconds, not '%s'", arg);
		o->cfg.idle_spin_us = (unsigned int)v;
		return 0;
	case OPT_SELFTEST:
		o->selftest = arg ? arg : "";
		return 0;
	case OPT_HOLD:
		o->hold = true;
		if (arg && !cli_parse_int(arg, 0, 1000000000, &o->hold_ms))
			return usage_error("--hold takes milliseconds, not '%s'", arg);
		return 0;
	case OPT_CMDLINE:
		o->extra_cmdline = arg;
		return 0;
	case OPT_LOG:
		o->log_path = arg;
		return 0;
	case OPT_LOG_SIZE:
		size = cli_parse_size(arg);
		if (size < 4096 || size > (64 << 20) || (size & (size - 1)))
			return usage_error("--log-size needs a power of two, 4K to 64M, not '%s'", arg);
		o->cfg.log_size = (uint64_t)size;
		return 0;
	case OPT_QUIET:
		o->quiet = true;
		return 0;
	case OPT_KERNEL:
		o->cfg.kernel_path = arg;
		return 0;
	case OPT_KVM:
		o->cfg.kvm_path = arg;
		return 0;
	case OPT_FIX_RT:
		o->cfg.fix_rt_throttling = true;
		return 0;
	case OPT_NO_RT:
		o->cfg.no_rt = true;
		return 0;
	case OPT_SHIELD:
		o->cfg.shield = true;
		return 0;
	case OPT_BOOT_TIMEOUT:
		if (!cli_parse_int(arg, 1, 3600000, &o->boot_timeout_ms))
			return usage_error("--boot-timeout needs milliseconds, not '%s'", arg);
		return 0;
	case 'h':
		cmd_cell_help();
		return -1;
	default:
		return usage_error("%s", "unknown option");
	}
}

static int cell_parse(struct cell_opts *o, int argc, char **argv)
{
	int opt, ret;

	memset(o, 0, sizeof(*o));
	o->cfg.cpu = -1;
	o->hold_ms = -1;
	o->boot_timeout_ms = 10000;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cell_options, NULL)) != -1) {
		ret = cell_parse_one(o, opt, optarg);
		if (ret)
			return ret;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	snprintf(o->cmdline, sizeof(o->cmdline), "%s%s%s%s",
		 o->selftest ? "selftest" : "", o->selftest && *o->selftest ? "=" : "",
		 o->selftest ? o->selftest : "", o->extra_cmdline ? " " : "");
	if (o->extra_cmdline)
		strncat(o->cmdline, o->extra_cmdline, sizeof(o->cmdline) - strlen(o->cmdline) - 1);
	o->cfg.cmdline = o->cmdline;
	o->cfg.start_ns = cli_start_ns;
	return 0;
}

/* A pending SIGINT/SIGTERM/SIGHUP, or 0. The signals are blocked in every thread. */
static int cell_pending_signal(const sigset_t *set)
{
	struct timespec zero = { 0 };
	int sig = sigtimedwait(set, NULL, &zero);

	return sig > 0 ? sig : 0;
}

/* Wait for the cell to stop, a signal, or timeout_ms (< 0: no limit). */
static int cell_wait_or_signal(struct cell *c, const sigset_t *set, long timeout_ms, int *sig)
{
	uint64_t start = vmm_now_ns();

	for (;;) {
		if (cell_wait(c, 50) == 0)
			return 0;
		*sig = cell_pending_signal(set);
		if (*sig)
			return -EINTR;
		if (timeout_ms >= 0 && vmm_now_ns() - start >= (uint64_t)timeout_ms * 1000000)
			return -ETIMEDOUT;
	}
}

static void cell_shutdown(struct cell *c, const sigset_t *set)
{
	int sig;

	cell_request_shutdown(c, 0);
	if (cell_wait_or_signal(c, set, SHUTDOWN_GRACE_MS, &sig)) {
		cell_stop(c);
		cell_wait(c, -1);
		cell_report_where(c, "the kernel did not shut down within 5 s; stopped it");
	}
}

static void cell_print_boot(struct cell *c)
{
	const struct cell_times *t = cell_times(c);

	printf("crtos: booted in %.1f ms, from crtos starting to the kernel being up, about to "
	       "idle (setup %.1f ms with %llu MiB of guest memory populated, kernel %.1f ms)\n",
	       t->boot_ms, t->setup_ms, (unsigned long long)(t->boot_mem >> 20), t->kernel_ms);
	fflush(stdout);
}

static void cell_print_ram(struct cell *c, uint64_t mem_size)
{
	const struct cell_times *t = cell_times(c);

	if (t->ram_ready_ms > 0)
		printf("crtos: all %llu MiB of guest memory populated and locked %.1f ms after start\n",
		       (unsigned long long)(mem_size >> 20), t->ram_ready_ms);
}

/* Keep the cell and serve crtos run until a signal, the cell's end, or hold_ms. */
static int cell_hold(struct cell *c, bool rt, const sigset_t *set, long hold_ms, int *sig)
{
	char path[108], why[300];
	int ret;

	if (fifofs_start(c, rt, why, sizeof(why)))
		fprintf(stderr, "crtos: warning: the cell's RT-FIFOs will not be visible to Linux: %s\n",
			why);
	else
		printf("crtos: RT-FIFOs (/dev/rtf/NAME in the realm) are files in %s\n", fifofs_path());
	cellsock_path(cell_cpu(c), path, sizeof(path));
	printf("crtos: the cell serves crtos run on CPU %d (%s) until Ctrl-C\n", cell_cpu(c), path);
	fflush(stdout);
	ret = cellsock_serve(c, set, sig, hold_ms);
	fifofs_stop();
	if (ret)
		fprintf(stderr, "crtos: cannot serve crtos run: %s\n", strerror(-ret));
	return cell_wait(c, 0) == 0 ? 0 : *sig ? -EINTR : -ETIMEDOUT;
}

/* Boot, then do what was asked. Returns the exit status. */
static int cell_run(struct cell *c, struct cell_opts *o, const sigset_t *set)
{
	int ret, sig = 0;

	ret = cell_wait_running(c, (int)o->boot_timeout_ms);
	if (ret == -ETIMEDOUT) {
		char what[128];

		snprintf(what, sizeof(what), "the kernel did not finish booting within %ld ms; "
			 "stopped it", o->boot_timeout_ms);
		cell_stop(c);
		cell_wait(c, -1);
		cell_report_where(c, what);
		return 72;
	}
	if (ret == 0) {
		cell_print_boot(c);
		if (o->selftest)
			ret = cell_wait_or_signal(c, set, SELFTEST_TIMEOUT_MS, &sig);
		else if (o->hold)
			ret = cell_hold(c, !o->cfg.no_rt, set, o->hold_ms, &sig);
		else
			ret = 0;
		if (ret == 0 && !o->selftest && !o->hold) {
			/* Let the memory thread finish, so the report is complete. */
			for (int i = 0; i < RAM_WAIT_MS / 10 && !cell_times(c)->ram_ready_ms; i++)
				if (cell_wait(c, 10) == 0)
					break;
		}
		if (ret == -ETIMEDOUT && o->selftest)
			fprintf(stderr, "crtos: the self-tests did not finish within %d s\n",
				SELFTEST_TIMEOUT_MS / 1000);
		if (sig)
			fprintf(stderr, "crtos: %s: shutting the cell down\n", strsignal(sig));
	}
	cell_shutdown(c, set);
	cell_print_ram(c, o->cfg.mem_size ? o->cfg.mem_size : 256 << 20);
	return cell_exit_code(c);
}

int cmd_cell(int argc, char **argv)
{
	struct cell_opts o;
	struct vmm_err err;
	struct cell *c;
	sigset_t set;
	char desc[256];
	FILE *log = NULL;
	int ret, status;

	ret = cell_parse(&o, argc, argv);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (o.log_path && !(log = fopen(o.log_path, "w"))) {
		fprintf(stderr, "crtos: cannot write the log file %s: %s\n", o.log_path, strerror(errno));
		return EXIT_USAGE;
	}
	o.cfg.log_out = log ? log : o.quiet ? NULL : stdout;
	if (!o.cfg.no_rt && mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT))
		fprintf(stderr, "crtos: warning: cannot lock crtos's own memory: %s\n", strerror(errno));

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	ret = cell_create(&c, &o.cfg, &err);
	if (ret) {
		fprintf(stderr, "crtos: %s\n", err.msg);
		if (log)
			fclose(log);
		return EXIT_HOST;
	}
	vmm_host_keep_thread_off_cpu(cell_cpu(c));
	cell_describe(c, desc, sizeof(desc));
	printf("crtos: starting a cell: %s\n", desc);
	fflush(stdout);
	ret = cell_start(c, &err);
	if (ret) {
		fprintf(stderr, "crtos: %s\n", err.msg);
		cell_destroy(c);
		return EXIT_HOST;
	}
	status = cell_run(c, &o, &set);
	if (cell_end(c, NULL) == CELL_EXITED)
		printf("crtos: the cell shut down, exit status %d\n", status);
	cell_destroy(c);
	if (log)
		fclose(log);
	return status;
}
