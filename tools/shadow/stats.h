/* SPDX-License-Identifier: MIT */
/*
 * crtos run --stats: the report of what an RT process did, read from its
 * channel (CRTOS_CHANNEL_STATS, written by the kernel). The shadow prints
 * it when the program ends; crtos run prints it when the shadow could not
 * (it was killed), so a program that had to be killed still shows its calls.
 * With --stats=FILE, every process of the run (forked ones too) appends its
 * counts to FILE as tab-separated records instead (STATS_TSV_HEADER).
 */
#ifndef SHADOW_STATS_H
#define SHADOW_STATS_H

#include <stdio.h>
#include <crtos/channel.h>

/* Print the report to out; why, if not NULL, says the program has not ended (a snapshot). */
void stats_print(FILE *out, const struct crtos_channel *chan, const char *why);

/*
 * The columns of --stats=FILE, its first line. kind: local, remote, enosys
 * (the realm does not serve the call) or fallback (it answered as a Linux
 * without the feature would); reason: why, for the last two.
 */
#define STATS_TSV_HEADER "pid\tprogram\tkind\tcall\tcount\treason\n"

/*
 * Append the process's counts to fd (opened O_APPEND) in one write, as
 * records of pid and program. 0, or -1 with errno set.
 */
int stats_write_tsv(int fd, const struct crtos_channel *chan, int pid, const char *program);

#endif
