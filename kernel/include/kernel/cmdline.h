/* SPDX-License-Identifier: MIT */
/*
 * The kernel command line: space-separated words, each "name" or
 * "name=value". Parsed once at boot into a private copy.
 */
#ifndef KERNEL_CMDLINE_H
#define KERNEL_CMDLINE_H

#include <kernel/types.h>

#define CMDLINE_MAX_WORDS	32

/* Parse line (at most max bytes). Returns the number of words, or -E2BIG if too many. */
int cmdline_parse(const char *line, size_t max);

/* Whether the word name (with or without a value) is present. */
bool cmdline_has(const char *name);

/* The value of name=value, "" for a bare word, NULL if absent. */
const char *cmdline_get(const char *name);

/* The value of name as an unsigned number (decimal, or 0x hex), or def if absent or malformed. */
uint64_t cmdline_u64(const char *name, uint64_t def);

#endif
