/* SPDX-License-Identifier: MIT */
/* The crtos command: shared helpers of its subcommands. */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses of the tool itself (sysexits.h values). */
#define EXIT_USAGE	64	/* bad command line */
#define EXIT_HOST	69	/* the host cannot run a cell; the message says why */

/* Parse "256M", "1G", "4096", "64K": bytes, or -1 if malformed. */
int64_t cli_parse_size(const char *s);

/* Parse a decimal integer in [min, max]; false if malformed or out of range. */
bool cli_parse_int(const char *s, long min, long max, long *out);

/* "crtos TOOL: WHAT ARG" and where help is, on stderr. Returns EXIT_USAGE. */
int cli_usage(const char *tool, const char *what, const char *arg);

/*
 * The options of crtos fifo and crtos shm: --size (> 0, checked by the
 * caller), --cpu, -h (help() printed: -1). 0, -1 or EXIT_USAGE.
 */
int cli_object_options(const char *tool, int argc, char **argv, void (*help)(void),
		       int64_t *size, long *cpu);

/*
 * After cli_object_options: the command word (create, list, show, rm) and the name of
 * the object (what: "FIFO", "region") it needs, into name. 0 or EXIT_USAGE.
 */
int cli_object_words(const char *tool, const char *what, int argc, char **argv, const char **cmd,
		     char *name, size_t name_len);

/* CLOCK_MONOTONIC in ns when the process started (taken first thing in main). */
extern uint64_t cli_start_ns;

int cmd_cell(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_fifo(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_shm(int argc, char **argv);
int cmd_shield(int argc, char **argv);
void cmd_cell_help(void);
void cmd_doctor_help(void);
void cmd_run_help(void);
void cmd_fifo_help(void);
void cmd_bench_help(void);
void cmd_shm_help(void);
void cmd_shield_help(void);

#endif
