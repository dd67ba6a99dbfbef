// SPDX-License-Identifier: MIT
/*
 * Freestanding string functions. The compiler may emit calls to memcpy,
 * memmove, memset and memcmp on its own, so these must exist and must not
 * be turned back into calls to themselves (-fno-builtin for this file).
 */
#include <kernel/string.h>

/*
 * Aligned buffers go a word at a time: pages are copied and zeroed this
 * way (fork's copy, every new mapping), 8 times fewer iterations than bytes.
 */
typedef uint64_t __attribute__((may_alias)) string_word_t;

void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (!(((uintptr_t)d | (uintptr_t)s) & (sizeof(string_word_t) - 1)))
		for (; n >= sizeof(string_word_t); n -= sizeof(string_word_t)) {
			*(string_word_t *)d = *(const string_word_t *)s;
			d += sizeof(string_word_t);
			s += sizeof(string_word_t);
		}
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (d < s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;
	string_word_t w = 0x0101010101010101ull * (uint8_t)c;

	if (!((uintptr_t)d & (sizeof(w) - 1)))
		for (; n >= sizeof(w); n -= sizeof(w), d += sizeof(w))
			*(string_word_t *)d = w;
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (uint8_t)*a - (uint8_t)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (uint8_t)*a - (uint8_t)*b;
		if (!*a)
			break;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (; *s; s++)
		if (*s == (char)c)
			return (char *)s;
	return c ? NULL : (char *)s;
}

char *strrchr(const char *s, int c)
{
	const char *last = NULL;

	do {
		if (*s == (char)c)
			last = s;
	} while (*s++);
	return (char *)last;
}

char *strstr(const char *haystack, const char *needle)
{
	size_t n = strlen(needle);

	for (; *haystack; haystack++)
		if (!strncmp(haystack, needle, n))
			return (char *)haystack;
	return n ? NULL : (char *)haystack;
}
