// SPDX-License-Identifier: MIT
/*
 * crtos doctor: check the host's real-time setup, say what each finding
 * means for the cell and how to fix it; with --fix, apply the fixes that
 * can be made at run time. Nothing is changed without --fix, and nothing
 * --fix changes survives a reboot.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <asm/xstate.h>
#include "cli.h"
#include "vmm/vmm.h"

enum verdict { OK, WARN, FAIL, FIXED };

enum fix {
	FIX_RT_THROTTLING = 1 << 0,
	FIX_IRQS = 1 << 1,
	FIX_GOVERNOR = 1 << 2,
	FIX_HUGEPAGES = 1 << 3,
	FIX_SHIELD = 1 << 4,
	FIX_ALL = 0x1f,
};

struct doctor {
	int cpu;			/* the CPU a cell would get */
	unsigned int fix;		/* enum fix bits */
	int fails, warns, fixed;
	char others[256];		/* the other allowed CPUs, as a list */
};

void cmd_doctor_help(void)
{
	printf(
"Usage: crtos doctor [--cpu N] [--fix[=WHAT,...]]\n"
"\n"
"Check this host's real-time setup for a cell on CPU N (default: the CPU\n"
"crtos cell would choose) and explain each finding:\n"
"  KVM access, the guest CPU KVM offers (FPU/XSAVE state, x2APIC, TSC-deadline\n"
"  timer, TSC rate), CPUs, RT throttling (sched_rt_runtime_us), CPU isolation\n"
"  (isolcpus/nohz_full), interrupts routed to the cell's CPU, a shield of the\n"
"  CPU (crtos cell --shield: up, or stale after its guardian died), CPU\n"
"  frequency scaling, SMT siblings, huge pages for guest memory, the\n"
"  memory-lock limit.\n"
"\n"
"  --cpu N   check for this CPU\n"
"  --fix     apply the fixes that can be made at run time: RT throttling off,\n"
"            interrupts moved off the cell's CPU, the performance governor,\n"
"            huge pages for shared memory. They last until the next reboot.\n"
"            A stale shield is undone: tasks, cpusets and interrupts as they\n"
"            were before it.\n"
"  --fix=WHAT,...  only these: rt-throttling, irqs, governor, hugepages, shield\n"
"  -h, --help\n"
"\n"
"Exit status: 0 when a cell can run (warnings are advice), 1 when it cannot,\n"
"64 bad usage.\n");
}

static void say(struct doctor *d, enum verdict v, const char *what, const char *advice)
{
	static const char *const tags[] = { "[ ok ]", "[warn]", "[FAIL]", "[fixed]" };

	printf("%-7s %s\n", tags[v], what);
	if (advice && *advice && v != OK)
		printf("        %s\n", advice);
	d->fails += v == FAIL;
	d->warns += v == WARN;
	d->fixed += v == FIXED;
}

static void check_kvm(struct doctor *d)
{
	struct vmm_err err;
	int fd = vmm_kvm_open(NULL, &err);

	if (fd < 0) {
		say(d, FAIL, "KVM is not usable", err.msg);
		return;
	}
	close(fd);
	say(d, OK, "KVM: /dev/kvm is usable", NULL);
}

/* The guest CPU crtos would give the kernel: FPU state and timer, as KVM offers them. */
static void check_guest_cpu(struct doctor *d)
{
	struct vmm_guest_cpu gc;
	struct vmm_err err;
	char what[512], desc[256], names[128];
	const char *flavor = vmm_kvm_flavor();
	int fd = vmm_kvm_open(NULL, &err), khz;
	uint64_t host_xcr0;

	if (fd < 0)
		return;
	if (vmm_guest_cpu_probe(fd, &gc, NULL, &err)) {
		say(d, FAIL, "guest CPU: cannot ask KVM what it offers", err.msg);
		close(fd);
		return;
	}
	khz = vmm_kvm_tsc_khz(fd);
	close(fd);
	snprintf(what, sizeof(what), "mode: %s (%s)", vmm_mode_name(gc.mode), gc.mode_reason);
	say(d, OK, what, NULL);
	vmm_guest_cpu_describe(&gc, desc, sizeof(desc));
	snprintf(what, sizeof(what), "guest FPU (%s offers): %s", flavor, desc);
	say(d, OK, what, NULL);
	if (!strcmp(flavor, "kvm_pvm")) {
		host_xcr0 = vmm_host_xcr0();
		x86_xstate_names(host_xcr0, names, sizeof(names));
		snprintf(what, sizeof(what), "guest FPU in force: the kernel runs at ring 3 under the "
			 "host's XCR0 %#llx (%s), %u-byte areas (standard format), and saves all of it",
			 (unsigned long long)host_xcr0, names, vmm_host_xsave_size(host_xcr0));
		say(d, OK, what, NULL);
	}
	snprintf(what, sizeof(what), "guest timer: x2APIC %s, TSC-deadline %s; TSC %d.%03d MHz "
		 "(KVM_GET_TSC_KHZ)", gc.x2apic ? "yes" : "no", gc.tsc_deadline ? "yes" : "no",
		 khz > 0 ? khz / 1000 : 0, khz > 0 ? khz % 1000 : 0);
	say(d, gc.x2apic && gc.tsc_deadline && khz > 0 ? OK : FAIL, what,
	    "the crtos kernel needs KVM's in-kernel x2APIC with a TSC-deadline timer and a known "
	    "TSC rate: update the host kernel, or load kvm_amd/kvm_intel");
}

/* A CPU whose shield is up (want, if given), or -1: we may be kept off it ourselves. */
static int shielded_cpu(int want)
{
	struct vmm_cpuset online;

	vmm_host_online_cpus(&online);
	for (int cpu = 1023; cpu >= 0; cpu--)
		if (vmm_cpuset_has(&online, cpu) && (want < 0 || cpu == want) &&
		    vmm_shield_status(cpu, NULL, NULL, 0) == VMM_SHIELD_UP)
			return cpu;
	return -1;
}

static void check_cpu(struct doctor *d, int want)
{
	struct vmm_cpuset allowed;
	struct vmm_err err;
	char msg[512];

	d->cpu = vmm_host_pick_cpu(want, &err);
	if (d->cpu < 0 && (d->cpu = shielded_cpu(want)) >= 0) {
		snprintf(msg, sizeof(msg), "CPUs: this process runs under the shield of CPU %d (kept "
			 "off it); the checks below are for CPU %d", d->cpu, d->cpu);
		say(d, OK, msg, NULL);
	}
	if (d->cpu < 0) {
		say(d, FAIL, "no CPU for the cell", err.msg);
		return;
	}
	vmm_host_allowed_cpus(&allowed);
	allowed.bits[d->cpu / 64] &= ~(1ull << (d->cpu % 64));
	vmm_cpuset_format(&allowed, d->others, sizeof(d->others));
	snprintf(msg, sizeof(msg), "CPUs: the cell would run on CPU %d, Linux keeps CPU(s) %s",
		 d->cpu, d->others);
	say(d, OK, msg, NULL);
}

static void check_throttling(struct doctor *d)
{
	struct vmm_err err;
	long runtime;

	if (vmm_host_rt_runtime_us(&runtime)) {
		say(d, WARN, "RT throttling: cannot read sched_rt_runtime_us", NULL);
		return;
	}
	if (runtime == -1) {
		say(d, OK, "RT throttling is off (sched_rt_runtime_us = -1): the vCPU may poll", NULL);
		return;
	}
	if ((d->fix & FIX_RT_THROTTLING) && !vmm_host_set_rt_runtime_us(-1, &err)) {
		say(d, FIXED, "RT throttling turned off (sched_rt_runtime_us = -1)",
		    "until reboot; to keep it: echo kernel.sched_rt_runtime_us=-1 > "
		    "/etc/sysctl.d/90-crtos.conf");
		return;
	}
	say(d, WARN, "RT throttling is on: a polling SCHED_FIFO vCPU would stall 50 ms each second",
	    "cells halt when idle instead, waking before each deadline; fix: crtos doctor --fix, or "
	    "sysctl kernel.sched_rt_runtime_us=-1");
}

/* Whether cpu is in a kernel command-line list option like isolcpus=1-3. */
static bool cmdline_lists_cpu(const char *cmdline, const char *opt, int cpu)
{
	const char *p = strstr(cmdline, opt);
	char list[256];

	if (!p)
		return false;
	p += strlen(opt);
	snprintf(list, sizeof(list), "%.*s", (int)strcspn(p, " "), p);
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		int a, b;

		if (sscanf(tok, "%d-%d", &a, &b) == 2 ? cpu >= a && cpu <= b :
		    sscanf(tok, "%d", &a) == 1 && a == cpu)
			return true;
	}
	return false;
}

static void check_isolation(struct doctor *d)
{
	char cmdline[4096], advice[256], what[128];
	bool iso, nohz;

	if (host_read_line("/proc/cmdline", cmdline, sizeof(cmdline)))
		cmdline[0] = '\0';
	iso = cmdline_lists_cpu(cmdline, "isolcpus=", d->cpu);
	nohz = cmdline_lists_cpu(cmdline, "nohz_full=", d->cpu);
	snprintf(advice, sizeof(advice), "Linux may schedule its own work there; add "
		 "isolcpus=%d nohz_full=%d rcu_nocbs=%d to the kernel command line and reboot",
		 d->cpu, d->cpu, d->cpu);
	snprintf(what, sizeof(what), "CPU isolation: CPU %d is %s", d->cpu,
		 iso && nohz ? "isolated (isolcpus, nohz_full)" :
		 iso ? "isolated (isolcpus) but not tickless (nohz_full)" : "not isolated");
	say(d, iso && nohz ? OK : WARN, what, advice);
}

/* Linux 6.12+: starving SCHED_OTHER tasks get 50 ms a second over SCHED_FIFO (the fair server). */
static void check_fair_server(struct doctor *d)
{
	char what[160], advice[256];
	bool iso = vmm_host_cpu_isolated(d->cpu);

	if (!vmm_host_has_fair_server()) {
		say(d, OK, "fair server: this Linux has none (before 6.12)", NULL);
		return;
	}
	snprintf(what, sizeof(what), "fair server: Linux tasks on CPU %d may take up to 50 ms a second "
		 "from the cell%s", d->cpu, iso ? ", but none is put there (isolcpus)" : "");
	snprintf(advice, sizeof(advice), "the cell halts when idle (waking before each deadline) so that "
		 "they seldom starve; to poll without stalls add isolcpus=%d to the kernel command "
		 "line and reboot", d->cpu);
	say(d, iso ? OK : WARN, what, advice);
}

/*
 * The shields of this host's CPUs (crtos cell --shield): up while a cell's
 * guardian holds one; stale when the guardian died before restoring (its
 * state file remains): --fix restores from that file. Checked for every CPU
 * and before anything else: a stale shield may confine this very process to
 * Linux's CPUs.
 */
static void check_shield_of(struct doctor *d, int cpu, bool *any)
{
	char what[256], mech[8], advice[160];
	enum vmm_shield_state st;
	pid_t pid = 0;
	int ret;

	st = vmm_shield_status(cpu, &pid, mech, sizeof(mech));
	if (st == VMM_SHIELD_NONE)
		return;
	*any = true;
	if (st == VMM_SHIELD_UP) {
		snprintf(what, sizeof(what), "shield: up on CPU %d (cgroup %s), held by the guardian "
			 "pid %d of a running cell", cpu, mech, (int)pid);
		say(d, OK, what, NULL);
		return;
	}
	if (d->fix & FIX_SHIELD) {
		ret = vmm_shield_repair(cpu);
		snprintf(what, sizeof(what), "shield: a stale shield on CPU %d undone (%d record(s) "
			 "restored)", cpu, ret);
		if (ret >= 0) {
			say(d, FIXED, what, NULL);
			return;
		}
	}
	snprintf(what, sizeof(what), "shield: a stale shield on CPU %d (cgroup %s): its guardian, "
		 "pid %d, is gone, and Linux's tasks are still kept off the CPU", cpu, mech, (int)pid);
	snprintf(advice, sizeof(advice), "fix: crtos doctor --fix (restores tasks, cpusets and "
		 "interrupts from %s/shield-cpu%d)", vmm_runtime_dir(), cpu);
	say(d, WARN, what, advice);
}

static void check_shields(struct doctor *d)
{
	struct vmm_cpuset online;
	bool any = false;

	vmm_host_online_cpus(&online);
	for (int cpu = 0; cpu < 1024; cpu++)
		if (vmm_cpuset_has(&online, cpu))
			check_shield_of(d, cpu, &any);
	if (!any)
		say(d, OK, "shield: none (crtos cell --shield keeps Linux's tasks and interrupts off "
		    "the cell's CPU while it runs)", NULL);
}

/* IRQs whose affinity includes the cell's CPU; with fix, move them to the others. */
static void check_irqs(struct doctor *d)
{
	DIR *dir = opendir("/proc/irq");
	struct dirent *e;
	int on_cpu = 0, moved = 0;
	char path[300], list[256], what[160];

	if (!dir) {
		say(d, WARN, "interrupts: cannot read /proc/irq", NULL);
		return;
	}
	while ((e = readdir(dir))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/irq/%s/effective_affinity_list", e->d_name);
		if (host_read_line(path, list, sizeof(list)))
			continue;
		if (!cmdline_lists_cpu(list, "", d->cpu))
			continue;
		on_cpu++;
		snprintf(path, sizeof(path), "/proc/irq/%s/smp_affinity_list", e->d_name);
		if ((d->fix & FIX_IRQS) && !host_write_text(path, d->others))
			moved++;
	}
	closedir(dir);
	if (d->fix & FIX_IRQS)
		host_write_text("/proc/irq/default_smp_affinity", "1");	/* best effort: CPU 0 */
	snprintf(what, sizeof(what), "interrupts: %d interrupt(s) delivered to CPU %d%s",
		 on_cpu - moved, d->cpu, moved ? " (others moved off it)" : "");
	say(d, on_cpu == 0 ? OK : moved == on_cpu ? FIXED : WARN, what,
	    "each one interrupts the vCPU; fix: crtos doctor --fix (moves them to Linux's CPUs)");
}

static void check_governor(struct doctor *d)
{
	char path[128], gov[64], what[128];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor", d->cpu);
	if (host_read_line(path, gov, sizeof(gov))) {
		say(d, OK, "frequency scaling: not controlled by this kernel (fixed, or set by a "
		    "hypervisor)", NULL);
		return;
	}
	if (!strcmp(gov, "performance")) {
		say(d, OK, "frequency scaling: governor is performance", NULL);
		return;
	}
	if ((d->fix & FIX_GOVERNOR) && !host_write_text(path, "performance")) {
		say(d, FIXED, "frequency scaling: governor set to performance", NULL);
		return;
	}
	snprintf(what, sizeof(what), "frequency scaling: governor is %s", gov);
	say(d, WARN, what, "frequency changes add latency; fix: crtos doctor --fix "
	    "(sets the performance governor)");
}

static void check_smt(struct doctor *d)
{
	char path[128], list[64], what[160];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list",
		 d->cpu);
	if (host_read_line(path, list, sizeof(list)) || !strpbrk(list, ",-")) {
		say(d, OK, "SMT: the cell's CPU shares its core with no other CPU", NULL);
		return;
	}
	snprintf(what, sizeof(what), "SMT: CPU %d shares a core with CPUs %s", d->cpu, list);
	say(d, WARN, what, "a busy sibling slows the cell; take the sibling offline "
	    "(echo 0 > /sys/devices/system/cpu/cpuN/online) or disable SMT in the firmware");
}

static void check_hugepages(struct doctor *d)
{
	const char *path = "/sys/kernel/mm/transparent_hugepage/shmem_enabled";
	char val[128];

	if (host_read_line(path, val, sizeof(val))) {
		say(d, OK, "huge pages: not available on this kernel", NULL);
		return;
	}
	if (!strstr(val, "[never]") && !strstr(val, "[deny]")) {
		say(d, OK, "huge pages: guest memory can use 2 MiB pages", NULL);
		return;
	}
	if ((d->fix & FIX_HUGEPAGES) && !host_write_text(path, "advise")) {
		say(d, FIXED, "huge pages: enabled for shared memory that asks (shmem_enabled = advise)",
		    NULL);
		return;
	}
	say(d, WARN, "huge pages: guest memory uses 4 KiB pages (shmem_enabled = never)",
	    "populating 256 MiB takes ~80 ms instead of ~20 ms; fix: crtos doctor --fix "
	    "(sets shmem_enabled to advise)");
}

static void check_memlock(struct doctor *d)
{
	struct rlimit rl;

	if (geteuid() == 0 || (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur == RLIM_INFINITY)) {
		say(d, OK, "memory locking: unlimited", NULL);
		return;
	}
	say(d, WARN, "memory locking is limited (ulimit -l): guest memory cannot be locked",
	    "run crtos as root, or raise the limit in /etc/security/limits.conf");
}

static int doctor_parse_fix(const char *arg, unsigned int *fix)
{
	static const struct { const char *name; unsigned int bit; } names[] = {
		{ "rt-throttling", FIX_RT_THROTTLING }, { "irqs", FIX_IRQS },
		{ "governor", FIX_GOVERNOR }, { "hugepages", FIX_HUGEPAGES },
		{ "shield", FIX_SHIELD },
	};
	char list[256];

	if (!arg) {
		*fix = FIX_ALL;
		return 0;
	}
	snprintf(list, sizeof(list), "%s", arg);
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		unsigned int i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(tok, names[i].name))
				break;
		if (i == sizeof(names) / sizeof(names[0])) {
			fprintf(stderr, "crtos doctor: unknown fix '%s' (rt-throttling, irqs, governor, "
				"hugepages, shield)\n", tok);
			return -1;
		}
		*fix |= names[i].bit;
	}
	return 0;
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "fix", optional_argument, NULL, 'f' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct doctor d = { .cpu = -1 };
	long cpu = -1;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'f') {
			if (doctor_parse_fix(optarg, &d.fix))
				return EXIT_USAGE;
		} else if (opt == 'c' && cli_parse_int(optarg, 0, 4095, &cpu)) {
			continue;
		} else if (opt == 'h') {
			cmd_doctor_help();
			return 0;
		} else {
			fprintf(stderr, "Try 'crtos doctor --help'.\n");
			return EXIT_USAGE;
		}
	}
	check_kvm(&d);
	check_guest_cpu(&d);
	check_shields(&d);
	check_cpu(&d, (int)cpu);
	if (d.cpu >= 0) {
		check_throttling(&d);
		check_isolation(&d);
		check_fair_server(&d);
		check_irqs(&d);
		check_governor(&d);
		check_smt(&d);
		check_hugepages(&d);
		check_memlock(&d);
	}
	printf("\n%d problem(s), %d warning(s)%s\n", d.fails, d.warns,
	       d.fix ? "" : d.warns ? "; crtos doctor --fix applies the run-time fixes" : "");
	if (d.fixed)
		printf("%d fix(es) applied; they last until the next reboot\n", d.fixed);
	return d.fails ? 1 : 0;
}
