/* SPDX-License-Identifier: MIT */
/*
 * The C string functions the kernel uses. The kernel defines them in
 * kernel/lib/string.c; host unit tests use the C library's, which have the
 * same contracts.
 */
#ifndef KERNEL_STRING_H
#define KERNEL_STRING_H

#include <kernel/types.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
char *strstr(const char *haystack, const char *needle);

/* Copy at most size - 1 bytes and NUL-terminate; returns strlen(src). */
size_t strlcpy(char *dst, const char *src, size_t size);

#endif
