// SPDX-License-Identifier: MIT
/*
 * A program that crashes the way argv[1] says: null (a store through
 * NULL: SIGSEGV), ill (ud2: SIGILL), fpe (an integer division by zero:
 * SIGFPE), bus (a push through a non-canonical stack pointer, a stack
 * segment fault: SIGBUS), abort (abort(): SIGABRT). Its exit status is the
 * shell's 128 + signal, natively and in the realm.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int zero;

static int bus(void)
{
	__asm__ volatile("movabs $0x8000000000000000, %%rsp\n\tpush %%rax" ::: "memory");
	return 2;
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "";

	if (!strcmp(how, "null"))
		*(volatile int *)(uintptr_t)zero = 1;
	else if (!strcmp(how, "ill"))
		__asm__ volatile("ud2");
	else if (!strcmp(how, "fpe"))
		return 10 / zero;
	else if (!strcmp(how, "bus"))
		return bus();
	else if (!strcmp(how, "abort"))
		abort();
	fprintf(stderr, "usage: crash null|ill|fpe|bus|abort\n");
	return 1;
}
