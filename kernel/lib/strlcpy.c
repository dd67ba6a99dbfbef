// SPDX-License-Identifier: MIT
/* strlcpy, kept apart from string.c because host C libraries lack it too. */
#include <kernel/string.h>

size_t strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
