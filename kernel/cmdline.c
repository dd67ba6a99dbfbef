// SPDX-License-Identifier: MIT
/* Kernel command-line parsing: a fixed table of words, no allocation. */
#include <kernel/cmdline.h>
#include <kernel/string.h>
#include <crtos/boot.h>

static char cmdline_buf[CRTOS_CMDLINE_MAX];
static const char *cmdline_names[CMDLINE_MAX_WORDS];
static const char *cmdline_values[CMDLINE_MAX_WORDS];
static int cmdline_nr;

int cmdline_parse(const char *line, size_t max)
{
	size_t len = strnlen(line, max);
	char *p = cmdline_buf;

	if (len >= sizeof(cmdline_buf))
		len = sizeof(cmdline_buf) - 1;
	memcpy(cmdline_buf, line, len);
	cmdline_buf[len] = '\0';
	cmdline_nr = 0;
	for (;;) {
		char *eq;

		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			return cmdline_nr;
		if (cmdline_nr == CMDLINE_MAX_WORDS)
			return -E2BIG;
		cmdline_names[cmdline_nr] = p;
		while (*p && *p != ' ')
			p++;
		eq = strchr(cmdline_names[cmdline_nr], '=');
		if (eq && eq < p) {
			*eq = '\0';
			cmdline_values[cmdline_nr] = eq + 1;
		} else {
			cmdline_values[cmdline_nr] = p;	/* the empty string at the word's end */
		}
		cmdline_nr++;
	}
}

const char *cmdline_get(const char *name)
{
	for (int i = cmdline_nr - 1; i >= 0; i--)
		if (!strcmp(cmdline_names[i], name))
			return cmdline_values[i];
	return NULL;
}

bool cmdline_has(const char *name)
{
	return cmdline_get(name) != NULL;
}

uint64_t cmdline_u64(const char *name, uint64_t def)
{
	const char *s = cmdline_get(name);
	unsigned int base = 10;
	uint64_t v = 0;

	if (!s || !*s)
		return def;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!*s)
			return def;
	}
	for (; *s; s++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned int)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned int)(*s - 'A' + 10);
		else
			return def;
		if (v > (UINT64_MAX - d) / base)
			return def;
		v = v * base + d;
	}
	return v;
}
