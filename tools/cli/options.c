// SPDX-License-Identifier: MIT
/* Option value parsing for the crtos command. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

int64_t cli_parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K':
		v <<= 10, end++;
		break;
	case 'm': case 'M':
		v <<= 20, end++;
		break;
	case 'g': case 'G':
		v <<= 30, end++;
		break;
	}
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' ? 1 : 0;
	if (*end == 'B')
		end++;
	return *end || v > (1ull << 50) ? -1 : (int64_t)v;
}

bool cli_parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

int cli_usage(const char *tool, const char *what, const char *arg)
{
	fprintf(stderr, "crtos %s: %s%s%s\nTry 'crtos %s --help'.\n", tool, what, arg ? " " : "",
		arg ? arg : "", tool);
	return EXIT_USAGE;
}

int cli_object_words(const char *tool, const char *what, int argc, char **argv, const char **cmd,
		     char *name, size_t name_len)
{
	const char *n = optind + 1 < argc ? argv[optind + 1] : NULL;
	char msg[64];

	*cmd = optind < argc ? argv[optind] : NULL;
	if (!*cmd)
		return cli_usage(tool, "which command? create, list, show or rm", NULL);
	if (optind + (strcmp(*cmd, "list") ? 2 : 1) < argc)
		return cli_usage(tool, "unexpected argument", argv[argc - 1]);
	snprintf(msg, sizeof(msg), "which %s? give its NAME after", what);
	if (strcmp(*cmd, "list") && !n)
		return cli_usage(tool, msg, *cmd);
	snprintf(msg, sizeof(msg), "a name has at most %zu characters:", name_len - 1);
	if (n && strlen(n) >= name_len)
		return cli_usage(tool, msg, n);
	snprintf(name, name_len, "%s", n ? n : "");
	return 0;
}

enum { OBJ_OPT_SIZE = 256, OBJ_OPT_CPU };

static const struct option cli_object_opts[] = {
	{ "size", required_argument, NULL, OBJ_OPT_SIZE },
	{ "cpu", required_argument, NULL, OBJ_OPT_CPU },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cli_object_options(const char *tool, int argc, char **argv, void (*help)(void),
		       int64_t *size, long *cpu)
{
	int opt;

	*size = 0;
	*cpu = -1;
	optind = 1;	/* GNU getopt: the words may come before or after the options */
	while ((opt = getopt_long(argc, argv, "h", cli_object_opts, NULL)) != -1) {
		switch (opt) {
		case OBJ_OPT_SIZE:
			*size = cli_parse_size(optarg);
			if (*size <= 0)
				return cli_usage(tool, "--size needs a size (4096, 64K, 1M), not", optarg);
			break;
		case OBJ_OPT_CPU:
			if (!cli_parse_int(optarg, 0, 4095, cpu))
				return cli_usage(tool, "--cpu needs a CPU number, not", optarg);
			break;
		case 'h':
			help();
			return -1;
		default:
			return cli_usage(tool, "unknown option", NULL);
		}
	}
	return 0;
}
