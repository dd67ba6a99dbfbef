/* SPDX-License-Identifier: MIT */
/*
 * The initial stack of a Linux process, as x86-64 Linux builds it
 * (fs/binfmt_elf.c create_elf_tables). From the initial rsp upwards:
 *
 *	rsp ->	argc			16-byte aligned
 *		argv[0..argc-1], NULL
 *		envp[0..envc-1], NULL
 *		auxv pairs, ending with AT_NULL, 0
 *		padding
 *		AT_RANDOM's 16 bytes
 *		the AT_PLATFORM string
 *		padding to 16 bytes
 *		the argv strings, then the envp strings (arg_start..env_end)
 *		the AT_EXECFN string
 *	top ->	8 zero bytes end the stack
 *
 * Linux moves the platform string down by a random amount; this builder
 * does not, so the layout depends only on its inputs.
 */
#ifndef LINUXABI_STACK_H
#define LINUXABI_STACK_H

#include <kernel/types.h>

/* The auxv entries stack_build() writes at most, AT_NULL included. */
#define STACK_AUXV_MAX	21

/* What the new program is told about itself and its environment. */
struct exec_info {
	int argc;			/* >= 0 */
	const char *const *argv;	/* argc strings */
	int envc;			/* >= 0 */
	const char *const *envp;	/* envc strings */
	const char *execfn;		/* AT_EXECFN string, NULL to omit */
	const char *platform;		/* AT_PLATFORM string (e.g. "x86_64"), NULL to omit */
	uint8_t random[16];		/* AT_RANDOM bytes */
	uint64_t uid, euid, gid, egid, secure, hwcap, hwcap2, clktck, minsigstksz, pagesz;
	uint64_t sysinfo_ehdr;		/* AT_SYSINFO_EHDR (the vDSO), 0 to omit */
	uint64_t base;			/* AT_BASE: the interpreter's load address, 0 if none */
};

/*
 * Write the initial stack into the memory that appears at user addresses
 * [top - size, top): mem points at the byte for user address top - size and
 * need not be aligned. entry, phdr and phnum are the biased AT_ENTRY, AT_PHDR
 * and AT_PHNUM; AT_BASE is info->base. Bytes
 * between the initial rsp and top that hold nothing are zeroed; bytes below
 * it are left alone. Returns 0 with *sp set to the initial rsp (16-byte
 * aligned), -E2BIG if the stack does not fit in size bytes (then mem is
 * untouched), or -EINVAL if argc or envc is negative or size > top. Any
 * context; no allocation; the strings are read with strlen().
 */
int stack_build(void *mem, uint64_t top, size_t size, const struct exec_info *info,
		uint64_t entry, uint64_t phdr, unsigned int phnum, uint64_t *sp);

#endif
