// SPDX-License-Identifier: MIT
/*
 * crtos shield: the shield of crtos cell --shield without a cell, around one
 * command: Linux's movable tasks and interrupts leave the CPU, the command
 * (and what it starts) keeps it, and everything is restored when the command
 * ends or crtos is killed (libvmm's guardian, tools/vmm/shield.c). The bench
 * uses it to run native cyclictest on a shielded RT CPU.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "cli.h"
#include "vmm/vmm.h"

void cmd_shield_help(void)
{
	printf(
"Usage: crtos shield [--cpu N] -- COMMAND [ARGS...]\n"
"\n"
"Run COMMAND with CPU N (default: the CPU crtos cell would choose) shielded as\n"
"crtos cell --shield does, but with no cell: every movable Linux task and\n"
"interrupt leaves the CPU, COMMAND and what it starts may still use it\n"
"(taskset -c N ...; under a cgroup v2 partition they run on that CPU alone),\n"
"and everything is restored when COMMAND ends, also if crtos is killed. To\n"
"compare a native program on a shielded CPU with the realm (crtos bench\n"
"does).\n"
"\n"
"  --cpu N   the CPU to shield\n"
"  -h, --help\n"
"\n"
"Exit status: COMMAND's (128 + N if signal N ended it); 64 bad usage; 69 the\n"
"CPU cannot be shielded (the message says why); 127 COMMAND not found.\n");
}

/*
 * Run argv as our child, relaying nothing: it shares our process group. Its
 * exit status. Under a cgroup v2 partition the CPU has left every other
 * cgroup, so the child joins the partition first (as a cell's vCPU thread
 * does): there it and what it starts run on the shielded CPU alone.
 */
static int shield_run_child(struct vmm_shield *s, char **argv)
{
	int st, ret;
	pid_t pid = fork();

	if (pid < 0)
		return EXIT_HOST;
	if (pid == 0) {
		ret = vmm_shield_adopt_thread(s, getpid());
		if (ret) {
			fprintf(stderr, "crtos shield: cannot put %s into the shielded CPU's cgroup: %s\n",
				argv[0], strerror(-ret));
			_exit(EXIT_HOST);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "crtos shield: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return EXIT_HOST;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int cmd_shield(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cpu", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vmm_shield *s;
	struct vmm_err err;
	char what[512];
	long cpu = -1;
	int opt, status;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (opt == 'c' && cli_parse_int(optarg, 0, 4095, &cpu))
			continue;
		if (opt == 'h') {
			cmd_shield_help();
			return 0;
		}
		return cli_usage("shield", opt == 'c' ? "--cpu needs a CPU number, not" :
				 "unknown option", opt == 'c' ? optarg : NULL);
	}
	if (optind >= argc)
		return cli_usage("shield", "no command to run", NULL);
	cpu = vmm_host_pick_cpu((int)cpu, &err);
	if (cpu < 0 || vmm_shield_raise((int)cpu, &s, what, sizeof(what), &err)) {
		fprintf(stderr, "crtos shield: %s\n", err.msg);
		return EXIT_HOST;
	}
	fprintf(stderr, "crtos: %s\n", what);
	/* Ctrl-C reaches the command (same process group); we wait for it either way. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	status = shield_run_child(s, argv + optind);
	vmm_shield_lower(s);
	return status;
}
