/* SPDX-License-Identifier: MIT */
/*
 * crtos run --stats: the report of what an RT process did, read from its
 * channel (CRTOS_CHANNEL_STATS, written by the kernel). The shadow prints
 * it when the program ends; crtos run prints it when the shadow could not
 * (it was killed), so a program that had to be killed still shows its calls.
 */
#ifndef SHADOW_STATS_H
#define SHADOW_STATS_H

#include <stdio.h>
#include <crtos/channel.h>

/* Print the report to out; why, if not NULL, says the program has not ended (a snapshot). */
void stats_print(FILE *out, const struct crtos_channel *chan, const char *why);

#endif
