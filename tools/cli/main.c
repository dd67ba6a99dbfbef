// SPDX-License-Identifier: MIT
/* crtos: the command-line tool. One subcommand per file (cmd_*.c). */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "vmm/vmm.h"

#define CRTOS_TOOL_VERSION	"0.1.0"

uint64_t cli_start_ns;

static void main_help(void)
{
	printf(
"Usage: crtos <command> [options]\n"
"\n"
"crtos runs hard real-time beside Linux on one x86-64 machine: its own\n"
"real-time kernel in a partition (a dedicated CPU and fixed memory, in a KVM\n"
"virtual machine of its own), with Linux left untouched.\n"
"\n"
"Commands:\n"
"  run       run a Linux program in the real-time realm: crtos run -- PROG ARGS\n"
"  cell      boot a real-time cell: kernel log, boot time, self-tests\n"
"  doctor    check this host's real-time setup; --fix tunes it\n"
"  fifo      RT-FIFOs of a held cell: create, list, show, rm\n"
"  bench     measure this host natively and in the realm: a report with plots\n"
"  shm       RT shared-memory regions of a held cell: create, list, show, rm\n"
"  shield    run a command with Linux's tasks and interrupts kept off a CPU\n"
"  help      help for a command: crtos help <command>\n"
"  version   print the version and ABI\n"
"\n"
"Run 'crtos <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	cli_start_ns = vmm_now_ns();
	if (!cmd || !strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		main_help();
		return cmd ? 0 : EXIT_USAGE;
	}
	if (!strcmp(cmd, "help")) {
		if (argc > 2 && !strcmp(argv[2], "cell"))
			cmd_cell_help();
		else if (argc > 2 && !strcmp(argv[2], "run"))
			cmd_run_help();
		else if (argc > 2 && !strcmp(argv[2], "doctor"))
			cmd_doctor_help();
		else if (argc > 2 && !strcmp(argv[2], "fifo"))
			cmd_fifo_help();
		else if (argc > 2 && !strcmp(argv[2], "bench"))
			cmd_bench_help();
		else if (argc > 2 && !strcmp(argv[2], "shm"))
			cmd_shm_help();
		else if (argc > 2 && !strcmp(argv[2], "shield"))
			cmd_shield_help();
		else
			main_help();
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("crtos %s (kernel ABI %d)\n", CRTOS_TOOL_VERSION, CRTOS_ABI_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "cell"))
		return cmd_cell(argc - 1, argv + 1);
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "doctor"))
		return cmd_doctor(argc - 1, argv + 1);
	if (!strcmp(cmd, "fifo"))
		return cmd_fifo(argc - 1, argv + 1);
	if (!strcmp(cmd, "bench"))
		return cmd_bench(argc - 1, argv + 1);
	if (!strcmp(cmd, "shm"))
		return cmd_shm(argc - 1, argv + 1);
	if (!strcmp(cmd, "shield"))
		return cmd_shield(argc - 1, argv + 1);
	fprintf(stderr, "crtos: unknown command '%s'\nTry 'crtos --help'.\n", cmd);
	return EXIT_USAGE;
}
