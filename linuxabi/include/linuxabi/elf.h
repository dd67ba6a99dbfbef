/* SPDX-License-Identifier: MIT */
/*
 * The ELF header parser of the Linux personality. It checks the ELF and
 * program headers of a static x86-64 Linux program (ET_EXEC, or ET_DYN for
 * static-pie) and describes what to map; it reads only the buffer it is
 * given and never touches memory or the file. No byte of the input is
 * trusted: every field is range-checked with overflow-checked arithmetic
 * before it is used, so a struct elf_image that elf_parse() filled in can be
 * mapped without further checks.
 *
 * Messages name a program header by its index in the table, as
 * `readelf -l` numbers them ("segment 3").
 */
#ifndef LINUXABI_ELF_H
#define LINUXABI_ELF_H

#include <kernel/types.h>
#include <crtos/abi.h>
#include <linux/elf.h>

#define ELF_MAX_LOADS	16		/* PT_LOAD segments in one image */
#define ELF_MAX_PHNUM	128		/* program headers in one image */
#define ELF_MAX_SPAN	(1ull << 30)	/* largest image span, segment or TLS block */
#define ELF_MAX_INTERP	4096		/* PT_INTERP size limit (Linux: PATH_MAX) */
#define ELF_MIN_VADDR	0x10000ull	/* lowest mappable address (Linux's mmap_min_addr) */
#define ELF_USER_LIMIT	CRTOS_USER_TOP	/* where user space ends (crtos/abi.h) */

/* One PT_LOAD: [vaddr, vaddr + memsz), the first filesz bytes from offset. */
struct elf_segment {
	uint64_t vaddr;		/* unbiased; congruent to offset modulo PAGE_SIZE */
	uint64_t memsz;		/* > 0 and >= filesz; the rest is zero-filled */
	uint64_t offset;	/* offset + filesz <= the file's size */
	uint64_t filesz;
	unsigned int prot;	/* MAP_READ | MAP_WRITE | MAP_EXEC (kernel/mmflags.h) */
};

/*
 * What elf_parse() found. All addresses are as linked (unbiased): add
 * elf_load_bias()'s result to each of them for an ET_DYN image.
 */
struct elf_image {
	uint16_t type;		/* ET_EXEC or ET_DYN (static-pie) */
	uint64_t entry;		/* e_entry; inside an executable segment */
	uint64_t phdr_vaddr;	/* program headers in memory (AT_PHDR), 0 if not mapped */
	uint16_t phnum;		/* 1..ELF_MAX_PHNUM (AT_PHNUM) */
	uint64_t lo, hi;	/* page-aligned span covering every PT_LOAD */
	uint64_t align;		/* largest PT_LOAD p_align, at least PAGE_SIZE */
	struct elf_segment segs[ELF_MAX_LOADS];	/* PT_LOADs, memsz > 0, ascending, disjoint */
	unsigned int nsegs;	/* >= 1 */
	bool has_interp;	/* PT_INTERP: a dynamically linked program */
	uint64_t interp_offset, interp_size;	/* inside the file, size 2..ELF_MAX_INTERP */
	bool exec_stack;	/* PT_GNU_STACK has PF_X; false without one (Linux's x86-64 default) */
	bool has_tls;		/* PT_TLS: the initial image lies inside a PT_LOAD */
	uint64_t tls_vaddr, tls_filesz, tls_memsz, tls_align;	/* align: a power of two */
};

/*
 * Check the headers of an ELF program and describe it in *img. buf holds the
 * first buflen bytes of the file, which is file_size bytes long; the ELF
 * header and the program headers must lie in those bytes. Returns 0, or
 * -ENOEXEC with a one-line, human-readable reason in msg (msglen bytes,
 * NUL-terminated; msg may be NULL when msglen is 0). *img is only meaningful
 * on success. Any context; no allocation.
 */
int elf_parse(const void *buf, size_t buflen, uint64_t file_size, struct elf_image *img,
	      char *msg, size_t msglen);

/*
 * The load bias for an image elf_parse() accepted: 0 for ET_EXEC; for ET_DYN
 * the smallest multiple of img->align such that the image lies at
 * [bias + lo, bias + hi) with bias + lo >= base (and >= ELF_MIN_VADDR).
 * Returns 0 with *bias set, or -ENOMEM if the image would then reach past
 * ELF_USER_LIMIT.
 */
int elf_load_bias(const struct elf_image *img, uint64_t base, uint64_t *bias);

#endif
