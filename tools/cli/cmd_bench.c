// SPDX-License-Identifier: MIT
/*
 * crtos bench: the cRTOS paper's measurements, natively and in the RT realm
 * in one run, with a report (Markdown, JSON, gnuplot plots). The work is
 * done by bench/crtos-bench, a script shipped beside the binary (found as
 * the kernel image is: vmm_find_tool), which runs this binary's own `crtos
 * run`, `crtos cell` and `crtos fifo`; this command checks the host and
 * hands it the command line.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "vmm/vmm.h"

void cmd_bench_help(void)
{
	printf(
"Usage: crtos bench [options]\n"
"\n"
"Measure this host the way the cRTOS paper did, the same binaries natively\n"
"and in the real-time realm in one run, and write a report directory:\n"
"report.md, report.json, plots/ (gnuplot PNGs) and data/ (every raw output).\n"
"\n"
"  timer    Debian's cyclictest, SCHED_FIFO 90, 1 ms period: natively on\n"
"           Linux's CPU, natively on the RT CPU, and in the realm; Linux idle,\n"
"           then loaded by stress-ng on every CPU, and loaded again with the RT\n"
"           CPU shielded (crtos shield, crtos run --shield). Histograms in 1 us\n"
"           bins, log y, native and realm on one figure; each series notes the\n"
"           host's stolen time and Linux's interrupt time on the RT CPU.\n"
"  syscall  lmbench's lat_syscall calls (null = getppid, remote in the realm;\n"
"           gettid, the local null call; read 1 byte of /dev/zero; write 1\n"
"           byte to /dev/null; open+close), natively, in the realm through\n"
"           Linux, and in the realm on RT-FIFOs: mean, median, p99, max.\n"
"  event    the RT-FIFO round trip from a Linux process, against a pipe and\n"
"           an eventfd natively, idle and under load.\n"
"  costs    cell boot, process start (crtos run -- /bin/true), fork + exit +\n"
"           wait, vfork + exec + wait, and where a remote call's time goes.\n"
"  scope    a rich real-time process: examples/scope, a SCHED_FIFO 80 thread\n"
"           sampling every 1 ms while its X11 window draws (a private Xvfb),\n"
"           natively on the RT CPU and in the realm; idle, then with the window\n"
"           dragged by xdotool and stress-ng on every CPU. Its histogram, both\n"
"           realms on one figure.\n"
"\n"
"The report names the host, the KVM mode (hardware or kvm_pvm) and whether it\n"
"ran under TCG (the test VM: then read the ratios to native, not the\n"
"microseconds), states the project's goals and whether this run met them.\n"
"A full run takes about 17 minutes, --quick a few. It boots cells on the RT\n"
"CPU: run nothing else there meanwhile.\n"
"\n"
"Options:\n"
"  --quick          short runs (cyclictest 5000 loops, fewer samples)\n"
"  --loops N        cyclictest loops per series (default 100000, the paper's;\n"
"                   5000 with --quick)\n"
"  --samples N      system calls per call and event round trips (default\n"
"                   50000 and 10000; 5000 and 2000 with --quick)\n"
"  --only LIST      measure only these, e.g. --only 'timer syscall'\n"
"  --idle MODE      the realm's idle mode: auto, poll or halt (crtos cell --help)\n"
"  --out DIR        the report directory (default ./crtos-bench-DATE-TIME)\n"
"  --json           progress and the result as JSON lines on stdout\n"
"  -h, --help\n"
"\n"
"It needs root, /dev/kvm, cyclictest, stress-ng and gnuplot (scope: Xvfb,\n"
"xdotool, xwd, convert and libx11); from a source tree it installs what is\n"
"missing (scripts/install-deps --bench, Debian).\n"
"\n"
"Exit status: 0 when the report is written (whether the goals were met or\n"
"not: read it), 1 when a measurement failed (the message says which), 64 bad\n"
"usage, 69 this host cannot run a cell.\n");
}

int cmd_bench(int argc, char **argv)
{
	char script[PATH_MAX], self[PATH_MAX];
	ssize_t n;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			cmd_bench_help();
			return 0;
		}
	}
	/* build/crtos and an installed tree find bench/ one level up, build/asan/crtos two. */
	if (vmm_find_tool("bench/crtos-bench", "CRTOS_BENCH", script, sizeof(script)) &&
	    vmm_find_tool("../bench/crtos-bench", NULL, script, sizeof(script))) {
		fprintf(stderr, "crtos bench: %s is missing: crtos bench runs from a crtos source "
			"tree (build/crtos) or an installed one (lib/crtos/bench/)\n", script);
		return EXIT_HOST;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		fprintf(stderr, "crtos bench: cannot find this program: %s\n", strerror(errno));
		return EXIT_HOST;
	}
	self[n] = '\0';
	if (setenv("CRTOS", self, 1)) {
		fprintf(stderr, "crtos bench: setenv: %s\n", strerror(errno));
		return EXIT_HOST;
	}
	argv[0] = script;
	execv(script, argv);
	fprintf(stderr, "crtos bench: cannot run %s: %s\n", script, strerror(errno));
	return EXIT_HOST;
}
