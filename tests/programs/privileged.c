// SPDX-License-Identifier: MIT
/*
 * What an ordinary program may not do: read memory it was not given, or run
 * a privileged instruction. Linux kills it with SIGSEGV.
 *
 * Usage: privileged read ADDR | cli | hlt
 * Prints what it is about to do; the value read, if the read succeeds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "read")) {
		volatile uint64_t *p = (volatile uint64_t *)strtoull(argv[2], NULL, 0);

		printf("reading %p\n", (void *)p);
		fflush(stdout);
		printf("read %#llx\n", (unsigned long long)*p);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "cli")) {
		puts("cli");
		fflush(stdout);
		__asm__ volatile("cli");
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "hlt")) {
		puts("hlt");
		fflush(stdout);
		__asm__ volatile("hlt");
		return 0;
	}
	fprintf(stderr, "usage: privileged read ADDR | cli | hlt\n");
	return 2;
}
