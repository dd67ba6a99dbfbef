// SPDX-License-Identifier: MIT
/*
 * linuxabi/elf.c on the host. Real programs (busybox, and programs the test
 * compiles with the toolchains it finds) must parse exactly as readelf reads
 * them; corrupted headers must be refused with a reason and never crash.
 * Every input is handed over in a heap block of its exact size, so ASan
 * catches a read past what the kernel would have read from the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <kernel/mmflags.h>
#include <linuxabi/elf.h>
#include "harness.h"

#define READ_SIZE	4096	/* what the kernel reads of a program before parsing */

/* ---- helpers: files, exact-size copies, the result checks ---- */

struct file {
	uint8_t *data;
	size_t size;
};

static bool file_read(const char *path, struct file *f)
{
	FILE *fp = fopen(path, "rb");
	long size;

	if (!fp)
		return false;
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	f->size = (size_t)size;
	f->data = malloc(f->size ? f->size : 1);
	if (fread(f->data, 1, f->size, fp) != f->size) {
		free(f->data);
		fclose(fp);
		return false;
	}
	fclose(fp);
	return true;
}

/* Parse the first buflen bytes of data, copied into a block of exactly that size. */
static int parse_exact(const void *data, size_t buflen, uint64_t file_size,
		       struct elf_image *img, char *msg, size_t msglen)
{
	void *copy = malloc(buflen ? buflen : 1);
	int ret;

	memcpy(copy, data, buflen);
	ret = elf_parse(copy, buflen, file_size, img, msg, msglen);
	free(copy);
	return ret;
}

static void expect_accept(const char *file, int line, const void *data, size_t buflen,
			  uint64_t file_size, struct elf_image *img)
{
	char msg[200];
	int ret = parse_exact(data, buflen, file_size, img, msg, sizeof(msg));

	if (ret)
		harness_fail(file, line, "refused (%d): %s", ret, msg);
	if (msg[0])
		harness_fail(file, line, "accepted with a message: %s", msg);
}

static void expect_reject(const char *file, int line, const void *data, size_t buflen,
			  uint64_t file_size, const char *why)
{
	struct elf_image img;
	char msg[200];
	int ret;

	memset(msg, 'x', sizeof(msg));
	ret = parse_exact(data, buflen, file_size, &img, msg, sizeof(msg));
	if (ret != -ENOEXEC)
		harness_fail(file, line, "returned %d, expected -ENOEXEC (\"%s\")", ret, why);
	if (!memchr(msg, '\0', sizeof(msg)) || !msg[0])
		harness_fail(file, line, "no message, expected \"%s\"", why);
	if (!strstr(msg, why))
		harness_fail(file, line, "message \"%s\", expected \"%s\"", msg, why);
}

#define EXPECT_ACCEPT(data, len, img) \
	expect_accept(__FILE__, __LINE__, data, len, len, img)
#define EXPECT_REJECT(data, len, why) \
	expect_reject(__FILE__, __LINE__, data, len, len, why)

static bool seg_has(const struct elf_segment *s, uint64_t addr, uint64_t len, bool file_only)
{
	uint64_t limit = file_only ? s->filesz : s->memsz;

	return addr >= s->vaddr && addr - s->vaddr <= limit && len <= limit - (addr - s->vaddr);
}

static bool image_has(const struct elf_image *img, uint64_t addr, uint64_t len,
		      unsigned int prot, bool file_only)
{
	for (unsigned int i = 0; i < img->nsegs; i++)
		if (seg_has(&img->segs[i], addr, len, file_only) &&
		    (img->segs[i].prot & prot) == prot)
			return true;
	return false;
}

/* What elf.h promises about an accepted image, checked independently. */
static void expect_invariants(const struct elf_image *img, uint64_t file_size)
{
	uint64_t bias;

	EXPECT(img->type == ET_EXEC || img->type == ET_DYN);
	EXPECT(img->phnum >= 1 && img->phnum <= ELF_MAX_PHNUM);
	EXPECT(img->nsegs >= 1 && img->nsegs <= ELF_MAX_LOADS);
	EXPECT(IS_ALIGNED(img->lo, PAGE_SIZE) && IS_ALIGNED(img->hi, PAGE_SIZE));
	EXPECT(img->lo < img->hi && img->hi <= ELF_USER_LIMIT);
	EXPECT(img->hi - img->lo <= ELF_MAX_SPAN);
	EXPECT(img->type == ET_DYN || img->lo >= ELF_MIN_VADDR);
	EXPECT(img->align >= PAGE_SIZE && (img->align & (img->align - 1)) == 0);
	for (unsigned int i = 0; i < img->nsegs; i++) {
		const struct elf_segment *s = &img->segs[i];

		EXPECT(s->memsz > 0 && s->filesz <= s->memsz);
		EXPECT(s->offset + s->filesz >= s->offset && s->offset + s->filesz <= file_size);
		EXPECT((s->vaddr - s->offset) % PAGE_SIZE == 0);
		EXPECT(s->vaddr >= img->lo && s->vaddr + s->memsz <= img->hi);
		EXPECT((s->prot & ~(MAP_READ | MAP_WRITE | MAP_EXEC)) == 0);
		if (i)
			EXPECT(s->vaddr >= img->segs[i - 1].vaddr + img->segs[i - 1].memsz);
	}
	EXPECT(image_has(img, img->entry, 1, MAP_EXEC, false));
	if (img->phdr_vaddr)
		EXPECT(image_has(img, img->phdr_vaddr, img->phnum * sizeof(Elf64_Phdr), 0, true));
	if (img->has_tls) {
		EXPECT(image_has(img, img->tls_vaddr, img->tls_filesz, 0, false));
		EXPECT(img->tls_filesz <= img->tls_memsz);
		EXPECT((img->tls_align & (img->tls_align - 1)) == 0 && img->tls_align);
	}
	if (img->has_interp) {
		EXPECT(img->interp_size >= 2 && img->interp_size <= ELF_MAX_INTERP);
		EXPECT(img->interp_offset + img->interp_size <= file_size);
	}
	EXPECT_EQ(elf_load_bias(img, 0x555555554000ull, &bias), 0);
	EXPECT(bias + img->hi <= ELF_USER_LIMIT);
	EXPECT(img->type == ET_DYN || bias == 0);
}

/* ---- a synthetic static program, the base of the corruption suite ---- */

#define SYN_SIZE	0x4000
#define SYN_PHNUM	6

/*
 * The headers of a small static program, in a file of SYN_SIZE bytes:
 * 0 PT_PHDR, 1 LOAD R (the headers), 2 LOAD RX (text at 0x401000),
 * 3 LOAD RW (data + bss at 0x402f00), 4 PT_TLS inside 3, 5 PT_GNU_STACK.
 */
union synth {
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph[ELF_MAX_PHNUM];
	};
	uint8_t bytes[SYN_SIZE];
};

static void synth_ph(Elf64_Phdr *ph, uint32_t type, uint32_t flags, uint64_t offset,
		     uint64_t vaddr, uint64_t filesz, uint64_t memsz, uint64_t align)
{
	*ph = (Elf64_Phdr){
		.p_type = type, .p_flags = flags, .p_offset = offset, .p_vaddr = vaddr,
		.p_paddr = vaddr, .p_filesz = filesz, .p_memsz = memsz, .p_align = align,
	};
}

static union synth *synth_new(void)
{
	union synth *s = calloc(1, sizeof(*s));
	Elf64_Ehdr *eh = &s->eh;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0x401010;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = SYN_PHNUM;
	synth_ph(&s->ph[0], PT_PHDR, PF_R, 64, 0x400040, SYN_PHNUM * 56, SYN_PHNUM * 56, 8);
	synth_ph(&s->ph[1], PT_LOAD, PF_R, 0, 0x400000, 0x200, 0x200, 0x1000);
	synth_ph(&s->ph[2], PT_LOAD, PF_R | PF_X, 0x1000, 0x401000, 0x1000, 0x1000, 0x1000);
	synth_ph(&s->ph[3], PT_LOAD, PF_R | PF_W, 0x2f00, 0x402f00, 0x100, 0x2100, 0x1000);
	synth_ph(&s->ph[4], PT_TLS, PF_R, 0x2f00, 0x402f00, 0x10, 0x40, 0x10);
	synth_ph(&s->ph[5], PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 0x10);
	return s;
}

/* Add a program header after the last one. */
static Elf64_Phdr *synth_add(union synth *s)
{
	return &s->ph[s->eh.e_phnum++];
}

TEST(elf_synthetic_program_is_described_exactly)
{
	union synth *s = synth_new();
	struct elf_image img;

	EXPECT_ACCEPT(s->bytes, SYN_SIZE, &img);
	EXPECT_EQ(img.type, ET_EXEC);
	EXPECT_EQ(img.entry, 0x401010);
	EXPECT_EQ(img.phdr_vaddr, 0x400040);
	EXPECT_EQ(img.phnum, SYN_PHNUM);
	EXPECT_EQ(img.lo, 0x400000);
	EXPECT_EQ(img.hi, 0x405000);
	EXPECT_EQ(img.align, 0x1000);
	EXPECT_EQ(img.nsegs, 3);
	EXPECT_EQ(img.segs[0].vaddr, 0x400000);
	EXPECT_EQ(img.segs[0].prot, MAP_READ);
	EXPECT_EQ(img.segs[1].offset, 0x1000);
	EXPECT_EQ(img.segs[1].prot, MAP_READ | MAP_EXEC);
	EXPECT_EQ(img.segs[2].vaddr, 0x402f00);
	EXPECT_EQ(img.segs[2].offset, 0x2f00);
	EXPECT_EQ(img.segs[2].filesz, 0x100);
	EXPECT_EQ(img.segs[2].memsz, 0x2100);
	EXPECT_EQ(img.segs[2].prot, MAP_READ | MAP_WRITE);
	EXPECT(img.has_tls);
	EXPECT_EQ(img.tls_vaddr, 0x402f00);
	EXPECT_EQ(img.tls_filesz, 0x10);
	EXPECT_EQ(img.tls_memsz, 0x40);
	EXPECT_EQ(img.tls_align, 0x10);
	EXPECT(!img.has_interp && !img.exec_stack);
	expect_invariants(&img, SYN_SIZE);
	free(s);
}

TEST(elf_rejects_truncated_files)
{
	union synth *s = synth_new();
	static const size_t short_sizes[] = { 1, 2, 3, 4, 16, 52, 63 };

	EXPECT_REJECT(s->bytes, 0, "empty file");
	for (size_t i = 0; i < ARRAY_SIZE(short_sizes); i++)
		EXPECT_REJECT(s->bytes, short_sizes[i], "truncated");
	EXPECT_REJECT(s->bytes, 52, "truncated: 52 bytes, an ELF header needs 64");
	/* The header is whole but the program headers are cut off. */
	EXPECT_REJECT(s->bytes, 64, "program headers at offset 0x40 lie outside the file");
	EXPECT_REJECT(s->bytes, 64 + 5 * 56 + 55, "lie outside the file (size 0x18f)");
	/* The file is long enough, but the caller read too little of it. */
	expect_reject(__FILE__, __LINE__, s->bytes, 32, SYN_SIZE, "ELF header beyond the first 32 bytes");
	expect_reject(__FILE__, __LINE__, s->bytes, 100, SYN_SIZE,
		      "program headers beyond the first 100 bytes read");
	/* A segment's file range beyond a file that ends early. */
	EXPECT_REJECT(s->bytes, 0x2fff, "segment 3: file range 0x2f00+0x100 lies outside the file");
	free(s);
}

TEST(elf_rejects_foreign_files)
{
	union synth *s = synth_new();
	static const char script[] = "#!/bin/sh\necho hello, this is a long enough shell script\n";
	static const uint8_t zeros[64];

	EXPECT_REJECT(script, sizeof(script), "a script");
	EXPECT_REJECT(zeros, sizeof(zeros), "not an ELF file");
	s->bytes[3] = 'f';
	EXPECT_REJECT(s->bytes, SYN_SIZE, "not an ELF file (starts with 7f 45 4c 66)");
	s->bytes[3] = 'F';
	s->eh.e_ident[EI_CLASS] = ELFCLASS32;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "32-bit");
	s->eh.e_ident[EI_CLASS] = 7;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "unknown ELF class 7");
	s->eh.e_ident[EI_CLASS] = ELFCLASS64;
	s->eh.e_ident[EI_DATA] = ELFDATA2MSB;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "big-endian");
	s->eh.e_ident[EI_DATA] = ELFDATANONE;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "unknown ELF data encoding 0");
	s->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	s->eh.e_ident[EI_VERSION] = EV_NONE;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "ELF version");
	s->eh.e_ident[EI_VERSION] = EV_CURRENT;
	s->eh.e_version = 2;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "ELF version 1/2");
	s->eh.e_version = EV_CURRENT;
	s->eh.e_machine = EM_386;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "for machine 3 (i386), not x86-64");
	s->eh.e_machine = EM_AARCH64;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "for machine 183 (AArch64), not x86-64");
	s->eh.e_machine = 0x1234;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "(unknown), not x86-64");
	s->eh.e_machine = EM_X86_64;
	s->eh.e_type = ET_REL;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "relocatable");
	s->eh.e_type = ET_CORE;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "core dump");
	s->eh.e_type = ET_NONE;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "not an executable");
	s->eh.e_type = 0xfe00;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "ELF type 0xfe00");
	free(s);
}

TEST(elf_rejects_bad_program_header_tables)
{
	union synth *s = synth_new();

	s->eh.e_phoff = SYN_SIZE;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "program headers at offset 0x4000 lie outside the file");
	s->eh.e_phoff = SYN_SIZE - 56;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "lie outside the file (size 0x4000)");
	s->eh.e_phoff = 0xffffffffffffffc0ull;	/* + 6 * 56 wraps to 0x110 */
	EXPECT_REJECT(s->bytes, SYN_SIZE, "program headers at offset 0xffffffffffffffc0 lie outside");
	s->eh.e_phoff = 0x8000000000000000ull;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "lie outside the file");
	s->eh.e_phoff = 64;
	s->eh.e_phentsize = 32;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "program header entry size 32, expected 56");
	s->eh.e_phentsize = 64;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "program header entry size 64");
	s->eh.e_phentsize = 56;
	s->eh.e_phnum = 0;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "no program headers");
	s->eh.e_phnum = PN_XNUM;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "PN_XNUM");
	s->eh.e_phnum = ELF_MAX_PHNUM + 1;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "129 program headers: more than 128");
	s->eh.e_phnum = 1000;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "more than 128");
	free(s);
}

TEST(elf_rejects_bad_load_segments)
{
	union synth *s = synth_new();
	Elf64_Phdr *data = &s->ph[3], saved = *data;

	data->p_filesz = data->p_memsz + 1;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 3: file size 0x2101 exceeds its memory size 0x2100");
	*data = saved;
	data->p_offset = SYN_SIZE - 0xff;
	data->p_vaddr = 0x403001;
	EXPECT_REJECT(s->bytes, SYN_SIZE,
		      "segment 3: file range 0x3f01+0x100 lies outside the file (size 0x4000)");
	data->p_offset = 0xffffffffffffff00ull;	/* offset + filesz wraps to 0 */
	data->p_vaddr = 0x402f00;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 3: file range 0xffffffffffffff00+0x100");
	*data = saved;
	data->p_vaddr = 0xfffffffffffff000ull;
	data->p_offset = 0;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 3: address range 0xfffffffffffff000+0x2100 wraps");
	*data = saved;
	data->p_vaddr += 8;	/* no longer congruent with the offset */
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 3: address 0x402f08 and file offset 0x2f00 differ");
	*data = saved;
	data->p_align = 3;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 3: alignment 0x3 is not a power of two");
	data->p_align = 1ull << 40;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "alignment 0x10000000000 is larger than 1 GiB");
	*data = saved;
	data->p_memsz = 16ull << 30;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 3 is 16 GiB: too large");
	data->p_memsz = ELF_MAX_SPAN + 1;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 3 is 0x40000001 bytes: too large");
	data->p_memsz = 0xffffffffffffffffull;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 3");
	free(s);
}

TEST(elf_rejects_bad_layouts)
{
	union synth *s = synth_new();
	Elf64_Phdr *text = &s->ph[2], *data = &s->ph[3], saved = *data;

	data->p_vaddr = 0x401f00;	/* inside the text */
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segments 2 and 3 overlap");
	data->p_vaddr = 0x400f00;	/* starts below the text, ends inside it */
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segments 2 and 3 overlap");
	data->p_vaddr = 0x3fdf00;	/* entirely below the headers */
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segments 2 and 3 are not in ascending address order");
	data->p_vaddr = 0x401000 - 0x2100;	/* ends exactly where the text starts */
	EXPECT_REJECT(s->bytes, SYN_SIZE, "not in ascending address order");
	*data = saved;
	data->p_vaddr = 0x40400f00;	/* 1 GiB above the headers */
	EXPECT_REJECT(s->bytes, SYN_SIZE, "the segments span 0x40003000 bytes (0x400000..0x40403000): too large");
	data->p_vaddr = ELF_USER_LIMIT + 0xf00;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 3 ends at 0x7f0000003000, in the kernel's window");
	data->p_vaddr = ELF_USER_LIMIT - 0x1100;	/* straddles the limit */
	EXPECT_REJECT(s->bytes, SYN_SIZE, "in the kernel's window");
	data->p_vaddr = 0xffff800000000f00ull;	/* the kernel half */
	EXPECT_REJECT(s->bytes, SYN_SIZE, "in the kernel's window");
	*data = saved;
	/* ET_EXEC must stay clear of page zero; the entry moves along. */
	s->ph[0].p_vaddr -= 0x400000;
	s->ph[1].p_vaddr -= 0x400000;
	text->p_vaddr -= 0x400000;
	data->p_vaddr -= 0x400000;
	s->ph[4].p_vaddr -= 0x400000;
	s->eh.e_entry -= 0x400000;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 1 starts at 0, below the lowest mappable address 0x10000");
	s->eh.e_type = ET_DYN;	/* fine for static-pie */
	{
		struct elf_image img;

		EXPECT_ACCEPT(s->bytes, SYN_SIZE, &img);
		EXPECT_EQ(img.lo, 0);
		expect_invariants(&img, SYN_SIZE);
	}
	free(s);
}

TEST(elf_rejects_missing_or_too_many_loads)
{
	union synth *s = synth_new();

	for (int i = 1; i <= 3; i++)
		s->ph[i].p_type = PT_NOTE;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "no PT_LOAD segment");
	free(s);

	/* 16 PT_LOADs are fine, 17 are not. */
	s = synth_new();
	s->ph[0].p_type = PT_NULL;	/* its size would outgrow the first LOAD */
	for (int i = 0; i < ELF_MAX_LOADS - 3; i++)
		synth_ph(synth_add(s), PT_LOAD, PF_R, 0, 0x500000 + i * 0x1000ull, 0, 0x10, 0x1000);
	{
		struct elf_image img;

		s->ph[1].p_filesz = s->ph[1].p_memsz = 64 + s->eh.e_phnum * 56;
		EXPECT_ACCEPT(s->bytes, SYN_SIZE, &img);
		EXPECT_EQ(img.nsegs, ELF_MAX_LOADS);
		EXPECT_EQ(img.hi, 0x50d000);
		EXPECT_EQ(img.phdr_vaddr, 0x400040);
		expect_invariants(&img, SYN_SIZE);
	}
	synth_ph(synth_add(s), PT_LOAD, PF_R, 0, 0x600000, 0, 0x10, 0x1000);
	EXPECT_REJECT(s->bytes, SYN_SIZE, "more than 16 PT_LOAD segments");
	free(s);
}

TEST(elf_rejects_entry_points_outside_executable_segments)
{
	union synth *s = synth_new();
	static const uint64_t bad[] = {
		0, 0x1000, 0x400000,	/* nowhere, then in the read-only headers */
		0x402000,		/* one past the text */
		0x403000,		/* in the writable data */
		0xffffffffffffffffull,
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		s->eh.e_entry = bad[i];
		EXPECT_REJECT(s->bytes, SYN_SIZE, "is not inside an executable segment");
	}
	s->eh.e_entry = 0x401fff;	/* the text's last byte */
	{
		struct elf_image img;

		EXPECT_ACCEPT(s->bytes, SYN_SIZE, &img);
	}
	free(s);
}

TEST(elf_rejects_bad_tls_interp_and_phdr)
{
	union synth *s = synth_new();
	Elf64_Phdr *tls = &s->ph[4], saved = *tls;

	tls->p_filesz = 0x41;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 4: TLS initial image of 0x41 bytes exceeds the TLS size 0x40");
	*tls = saved;
	tls->p_align = 24;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 4: TLS alignment 0x18 is not a power of two");
	tls->p_align = 1ull << 62;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "TLS alignment");
	*tls = saved;
	tls->p_vaddr = 0x500000;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 4: TLS initial image at 0x500000+0x10 is not inside a PT_LOAD");
	tls->p_vaddr = 0x404ff8;	/* starts in the bss, runs past its end */
	EXPECT_REJECT(s->bytes, SYN_SIZE, "is not inside a PT_LOAD");
	tls->p_vaddr = 0xffffffffffffffe0ull;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "TLS range 0xffffffffffffffe0+0x40 wraps around");
	*tls = saved;
	tls->p_memsz = 2 * ELF_MAX_SPAN;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "TLS block of 0x80000000 bytes: too large");
	*tls = saved;
	*synth_add(s) = saved;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 6: a second PT_TLS");
	s->eh.e_phnum--;

	s->ph[0].p_vaddr = 0x900000;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 0: PT_PHDR at 0x900000 is not inside a PT_LOAD's file contents");
	s->ph[0].p_vaddr = 0x4001f0;	/* runs past the first LOAD's 0x200 file bytes */
	EXPECT_REJECT(s->bytes, SYN_SIZE, "PT_PHDR at 0x4001f0");
	s->ph[0].p_vaddr = 0x400040;
	*synth_add(s) = s->ph[0];
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 6: a second PT_PHDR");
	s->eh.e_phnum--;

	synth_ph(synth_add(s), PT_INTERP, PF_R, 0x3000, 0, 1, 1, 1);
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 6: PT_INTERP of 1 bytes");
	s->ph[6].p_filesz = ELF_MAX_INTERP + 1;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "PT_INTERP of 4097 bytes");
	s->ph[6].p_filesz = 0x1000;
	s->ph[6].p_offset = 0x3001;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 6: PT_INTERP at 0x3001+0x1000 lies outside the file");
	s->ph[6].p_offset = 0xfffffffffffffff0ull;
	s->ph[6].p_filesz = 0x20;
	EXPECT_REJECT(s->bytes, SYN_SIZE, "PT_INTERP at 0xfffffffffffffff0+0x20 lies outside the file");
	s->ph[6].p_offset = 0x3000;
	*synth_add(s) = s->ph[6];
	EXPECT_REJECT(s->bytes, SYN_SIZE, "segment 7: a second PT_INTERP");
	free(s);
}

TEST(elf_accepts_unusual_but_valid_programs)
{
	union synth *s = synth_new();
	struct elf_image img;
	char msg[8];
	uint8_t *odd;

	/* Two segments sharing a page (not bytes): the data starts right after the text. */
	s->ph[2].p_memsz = s->ph[2].p_filesz = 0xf00;
	s->ph[3].p_vaddr = s->ph[4].p_vaddr = 0x401f00;
	s->ph[3].p_offset = s->ph[4].p_offset = 0x1f00;
	EXPECT_ACCEPT(s->bytes, SYN_SIZE, &img);
	EXPECT_EQ(img.segs[1].vaddr + img.segs[1].memsz, img.segs[2].vaddr);
	EXPECT_EQ(img.hi, 0x404000);
	free(s);

	/* No PT_PHDR: found through the LOAD that holds their file bytes. */
	s = synth_new();
	s->ph[0].p_type = PT_NULL;
	EXPECT_ACCEPT(s->bytes, SYN_SIZE, &img);
	EXPECT_EQ(img.phdr_vaddr, 0x400040);
	/* ... or not mapped at all (linking with -N gives that). */
	s->ph[1].p_offset = 0x1000;
	s->ph[1].p_filesz = s->ph[1].p_memsz = 0x10;
	s->ph[1].p_vaddr = 0x3ff000;
	EXPECT_ACCEPT(s->bytes, SYN_SIZE, &img);
	EXPECT_EQ(img.phdr_vaddr, 0);
	free(s);

	/* An empty PT_LOAD maps nothing; p_align 0 and 1 mean "none". */
	s = synth_new();
	s->ph[1].p_memsz = s->ph[1].p_filesz = 0;
	s->ph[1].p_align = 0;
	s->ph[2].p_align = 1;
	s->ph[0].p_type = PT_NULL;
	EXPECT_ACCEPT(s->bytes, SYN_SIZE, &img);
	EXPECT_EQ(img.nsegs, 2);
	EXPECT_EQ(img.lo, 0x401000);
	EXPECT_EQ(img.phdr_vaddr, 0);
	free(s);

	/* An executable stack, no TLS, 2 MiB alignment, 128 program headers. */
	s = synth_new();
	s->ph[5].p_flags |= PF_X;
	s->ph[4].p_type = PT_NOTE;
	s->ph[3].p_align = 0x200000;
	s->ph[0].p_type = PT_NULL;
	s->eh.e_phnum = ELF_MAX_PHNUM;
	EXPECT_ACCEPT(s->bytes, SYN_SIZE, &img);
	EXPECT(img.exec_stack && !img.has_tls);
	EXPECT_EQ(img.align, 0x200000);
	EXPECT_EQ(img.phnum, ELF_MAX_PHNUM);
	EXPECT_EQ(img.phdr_vaddr, 0);	/* 128 headers do not fit in the first LOAD */
	free(s);

	/* An unaligned buffer, longer than the file; no message buffer, a tiny one. */
	s = synth_new();
	odd = malloc(SYN_SIZE + 101);
	memcpy(odd + 1, s->bytes, SYN_SIZE);
	EXPECT_EQ(elf_parse(odd + 1, SYN_SIZE + 100, SYN_SIZE, &img, NULL, 0), 0);
	expect_invariants(&img, SYN_SIZE);
	odd[1] = 0;
	EXPECT_EQ(elf_parse(odd + 1, SYN_SIZE + 100, SYN_SIZE, &img, NULL, 0), -ENOEXEC);
	EXPECT_EQ(elf_parse(odd + 1, SYN_SIZE, SYN_SIZE, &img, msg, sizeof(msg)), -ENOEXEC);
	EXPECT_EQ(strlen(msg), sizeof(msg) - 1);
	free(odd);
	free(s);
}

TEST(elf_load_bias_places_static_pie)
{
	union synth *s = synth_new();
	struct elf_image img;
	uint64_t bias;

	EXPECT_ACCEPT(s->bytes, SYN_SIZE, &img);
	EXPECT_EQ(elf_load_bias(&img, 0x555555554000ull, &bias), 0);
	EXPECT_EQ(bias, 0);	/* ET_EXEC: where it was linked */

	for (int i = 0; i < SYN_PHNUM - 1; i++)
		s->ph[i].p_vaddr -= 0x400000;
	s->eh.e_entry -= 0x400000;
	s->eh.e_type = ET_DYN;
	s->ph[2].p_align = 0x200000;
	EXPECT_ACCEPT(s->bytes, SYN_SIZE, &img);
	EXPECT_EQ(img.lo, 0);
	EXPECT_EQ(img.hi, 0x5000);
	EXPECT_EQ(elf_load_bias(&img, 0x555555554000ull, &bias), 0);
	EXPECT_EQ(bias, 0x555555600000ull);	/* rounded up to 2 MiB */
	EXPECT_EQ(elf_load_bias(&img, 0, &bias), 0);
	EXPECT_EQ(bias, 0x200000);	/* above page zero, aligned */
	EXPECT_EQ(elf_load_bias(&img, ELF_USER_LIMIT - 0x400000, &bias), 0);
	EXPECT_EQ(bias + img.hi, ELF_USER_LIMIT - 0x400000 + 0x5000);
	EXPECT_EQ(elf_load_bias(&img, ELF_USER_LIMIT - 0x1000, &bias), -ENOMEM);
	EXPECT_EQ(elf_load_bias(&img, ~0ull, &bias), -ENOMEM);
	free(s);
}

/*
 * Random corruption of real headers, seeded so a failure reproduces: byte
 * and bit flips, interesting 64-bit values in header fields, truncation.
 * Nothing may crash, every refusal has a message, and every accepted image
 * keeps the promises of elf.h.
 */
static void fuzz_one(const uint8_t *orig, size_t len, uint64_t file_size, unsigned int *accepted)
{
	static const uint64_t values[] = {
		0, 1, 0x38, 0x40, 0xfff, 0x1000, 0x400000, 0x7f0000000000ull, 0x7effffffffffull,
		0x40000000, 0x8000000000000000ull, 0xfffffffffffff000ull, 0xffffffffffffffffull,
	};
	size_t hdr = MIN(len, (size_t)64 + 16 * 56);
	uint8_t *buf = malloc(len);
	struct elf_image img;
	char msg[200];
	int n = 1 + rand() % 4;
	int ret;

	memcpy(buf, orig, len);
	for (int k = 0; k < n; k++) {
		size_t at = (size_t)rand() % hdr;

		switch (rand() % 3) {
		case 0:
			buf[at] ^= (uint8_t)(1u << (rand() % 8));
			break;
		case 1:
			buf[at] = (uint8_t)rand();
			break;
		default:
			at &= ~(size_t)7;
			if (at + 8 <= len)
				memcpy(buf + at, &values[rand() % ARRAY_SIZE(values)], 8);
		}
	}
	if (rand() % 8 == 0)
		len = (size_t)rand() % (len + 1);
	if (rand() % 8 == 0)
		file_size = (uint64_t)rand() % (file_size + 1);
	ret = parse_exact(buf, len, file_size, &img, msg, sizeof(msg));
	free(buf);
	if (ret == 0) {
		expect_invariants(&img, file_size);
		(*accepted)++;
	} else {
		EXPECT_EQ(ret, -ENOEXEC);
		EXPECT(msg[0] != '\0');
	}
}

TEST(elf_fuzzed_headers_never_crash)
{
	union synth *s = synth_new();
	unsigned int accepted = 0;
	struct file f = { 0 };
	bool real = file_read("/bin/busybox", &f);

	srand(1234);
	for (int i = 0; i < 20000; i++)
		fuzz_one(s->bytes, SYN_SIZE, SYN_SIZE, &accepted);
	if (real && f.size >= READ_SIZE)
		for (int i = 0; i < 20000; i++)
			fuzz_one(f.data, READ_SIZE, f.size, &accepted);
	/* The mutations are small: many survive, and those must be sane. */
	EXPECT(accepted > 1000);
	if (real)
		free(f.data);
	free(s);
}

/* ---- real programs, checked against readelf ---- */

struct ref_ph {
	char type[24];
	uint64_t offset, vaddr, filesz, memsz, align;
	unsigned int flags;	/* PF_* */
};

struct ref {
	unsigned int type;
	uint64_t entry, phoff;
	char interp[256];
	int nph;
	struct ref_ph ph[ELF_MAX_PHNUM];
};

/* One program header line: "LOAD 0x000000 0x400000 0x400000 0x0006e0 0x0006e0 R E 0x1000". */
static bool ref_parse_ph(const char *line, struct ref_ph *ph)
{
	unsigned long long off, vaddr, paddr, filesz, memsz;
	const char *rest, *align;
	int n = 0;

	if (sscanf(line, " %23s 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx%n", ph->type, &off, &vaddr,
		   &paddr, &filesz, &memsz, &n) != 6 || !n)
		return false;
	ph->offset = off;
	ph->vaddr = vaddr;
	ph->filesz = filesz;
	ph->memsz = memsz;
	rest = line + n;
	align = strrchr(rest, ' ');	/* the last word: "0x1000", or "0" */
	if (!align)
		return false;
	ph->align = strtoull(align, NULL, 0);
	ph->flags = 0;
	for (const char *p = rest; p < align; p++)
		ph->flags |= *p == 'R' ? PF_R : *p == 'W' ? PF_W : *p == 'E' ? PF_X : 0;
	return true;
}

/* What `readelf -hlW path` says; false if readelf is missing or refuses. */
static bool ref_read(const char *path, struct ref *r)
{
	char cmd[600], line[600], word[32];
	unsigned long long v;
	FILE *p;

	memset(r, 0, sizeof(*r));
	snprintf(cmd, sizeof(cmd), "readelf -hlW '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	if (!p)
		return false;
	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, " Type: %31s", word) == 1)
			r->type = !strcmp(word, "EXEC") ? ET_EXEC :
				  !strcmp(word, "DYN") ? ET_DYN : 0;
		else if (sscanf(line, " Entry point address: %llx", &v) == 1)
			r->entry = v;
		else if (sscanf(line, " Start of program headers: %llu", &v) == 1)
			r->phoff = v;
		else if (sscanf(line, " [Requesting program interpreter: %255[^]]", r->interp) == 1)
			continue;
		else if (r->nph < ELF_MAX_PHNUM && ref_parse_ph(line, &r->ph[r->nph]))
			r->nph++;
	}
	return pclose(p) == 0 && r->nph > 0;
}

static unsigned int ref_prot(unsigned int flags)
{
	return (flags & PF_R ? MAP_READ : 0) | (flags & PF_W ? MAP_WRITE : 0) |
	       (flags & PF_X ? MAP_EXEC : 0);
}

/* elf_parse() and readelf agree on path. Returns false (and says so) if it cannot be checked. */
static bool expect_like_readelf(const char *path, struct elf_image *img)
{
	uint64_t phdr = 0, align = PAGE_SIZE, phsize;
	unsigned int k = 0;
	struct file f;
	struct ref r;

	if (!file_read(path, &f) || !ref_read(path, &r)) {
		printf("  (%s: not readable, or no readelf: not checked)\n", path);
		return false;
	}
	expect_accept(__FILE__, __LINE__, f.data, MIN(f.size, (size_t)READ_SIZE), f.size, img);
	expect_invariants(img, f.size);
	EXPECT_EQ(img->type, r.type);
	EXPECT_EQ(img->entry, r.entry);
	EXPECT_EQ(img->phnum, r.nph);
	phsize = r.nph * sizeof(Elf64_Phdr);
	for (int i = 0; i < r.nph; i++) {
		const struct ref_ph *ph = &r.ph[i];

		if (!strcmp(ph->type, "LOAD") && ph->memsz) {
			const struct elf_segment *s = &img->segs[k++];

			EXPECT(k <= img->nsegs);
			EXPECT_EQ(s->vaddr, ph->vaddr);
			EXPECT_EQ(s->memsz, ph->memsz);
			EXPECT_EQ(s->offset, ph->offset);
			EXPECT_EQ(s->filesz, ph->filesz);
			EXPECT_EQ(s->prot, ref_prot(ph->flags));
			align = MAX(align, ph->align);
			if (!phdr && ph->offset <= r.phoff &&
			    r.phoff + phsize <= ph->offset + ph->filesz)
				phdr = ph->vaddr + r.phoff - ph->offset;
		} else if (!strcmp(ph->type, "TLS")) {
			EXPECT(img->has_tls);
			EXPECT_EQ(img->tls_vaddr, ph->vaddr);
			EXPECT_EQ(img->tls_filesz, ph->filesz);
			EXPECT_EQ(img->tls_memsz, ph->memsz);
			EXPECT_EQ(img->tls_align, ph->align);
		} else if (!strcmp(ph->type, "INTERP")) {
			EXPECT(img->has_interp);
			EXPECT_EQ(img->interp_offset, ph->offset);
			EXPECT_EQ(img->interp_size, ph->filesz);
			EXPECT_EQ(img->interp_size, strlen(r.interp) + 1);
			EXPECT(!memcmp(f.data + img->interp_offset, r.interp, img->interp_size));
		} else if (!strcmp(ph->type, "GNU_STACK")) {
			EXPECT_EQ(img->exec_stack, !!(ph->flags & PF_X));
		} else if (!strcmp(ph->type, "PHDR")) {
			EXPECT_EQ(img->phdr_vaddr, ph->vaddr);
		}
	}
	EXPECT_EQ(img->nsegs, k);
	EXPECT_EQ(img->align, align);
	EXPECT_EQ(img->lo, ALIGN_DOWN(img->segs[0].vaddr, PAGE_SIZE));
	EXPECT_EQ(img->hi, ALIGN_UP(img->segs[k - 1].vaddr + img->segs[k - 1].memsz, PAGE_SIZE));
	EXPECT_EQ(img->phdr_vaddr, phdr);
	free(f.data);
	return true;
}

TEST(elf_parses_busybox)
{
	struct elf_image img;

	if (!expect_like_readelf("/bin/busybox", &img))
		return;
	if (img.has_interp)
		return;		/* a dynamically linked busybox */
	/* Static and without PT_PHDR: the headers are found in the first LOAD. */
	EXPECT_EQ(img.segs[0].offset, 0);
	EXPECT_EQ(img.phdr_vaddr, img.segs[0].vaddr + 64);
}

TEST(elf_parses_the_host_dynamic_programs)
{
	struct elf_image img;

	if (expect_like_readelf("/bin/sh", &img))
		EXPECT(img.has_interp);
	char self[256];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		if (expect_like_readelf(self, &img))
			EXPECT(img.has_interp && img.phdr_vaddr);
	}
}

static const char prog_src[] =
	"#include <stdio.h>\n"
	"__thread int tls_init = 5;\n"
	"__thread char tls_zero[100];\n"
	"int main(int argc, char **argv)\n"
	"{\n"
	"	printf(\"%d %s\\n\", tls_init, argv[0]);\n"
	"	return tls_zero[argc];\n"
	"}\n";

/* How the test program is built, and what must come out. */
static const struct prog_variant {
	const char *name;
	const char *cc;
	uint16_t type;
	bool interp, exec_stack, phdr_unmapped;
	uint64_t align;
} prog_variants[] = {
	{ .name = "gcc-static", .cc = "gcc -static -O2", .type = ET_EXEC },
	{ .name = "gcc-static-pie", .cc = "gcc -static-pie -O2", .type = ET_DYN },
	{ .name = "gcc-noseparate-code", .cc = "gcc -static -O2 -Wl,-z,noseparate-code",
	  .type = ET_EXEC },
	{ .name = "gcc-2m-pages", .cc = "gcc -static -O2 -Wl,-z,max-page-size=0x200000",
	  .type = ET_EXEC, .align = 0x200000 },
	{ .name = "gcc-2m-pages-pie", .cc = "gcc -static-pie -O2 -Wl,-z,max-page-size=0x200000",
	  .type = ET_DYN, .align = 0x200000 },
	{ .name = "gcc-execstack", .cc = "gcc -static -O2 -z execstack", .type = ET_EXEC,
	  .exec_stack = true },
	{ .name = "gcc-lld", .cc = "gcc -static -O2 -fuse-ld=lld", .type = ET_EXEC },
	{ .name = "gcc-lld-pie", .cc = "gcc -static-pie -O2 -fuse-ld=lld", .type = ET_DYN },
	{ .name = "musl-static", .cc = "musl-gcc -static -O2", .type = ET_EXEC },
	/* musl-gcc's -static-pie still names musl's loader as interpreter. */
	{ .name = "musl-static-pie", .cc = "musl-gcc -static-pie -O2", .type = ET_DYN,
	  .interp = true },
	/* -N: one RWX segment that does not map the headers (it crashes on Linux). */
	{ .name = "musl-omagic", .cc = "musl-gcc -static -O2 -Wl,-N", .type = ET_EXEC,
	  .phdr_unmapped = true },
	{ .name = "gcc-dynamic", .cc = "gcc -O2", .type = ET_DYN, .interp = true },
};

static char prog_dir[64];

static void prog_cleanup(void)
{
	char path[128];

	for (size_t i = 0; i < ARRAY_SIZE(prog_variants); i++) {
		snprintf(path, sizeof(path), "%s/%s", prog_dir, prog_variants[i].name);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/prog.c", prog_dir);
	unlink(path);
	rmdir(prog_dir);
}

/* Build the test program as v says, into path; false if that toolchain is missing. */
static bool prog_build(const struct prog_variant *v, char *path, size_t len)
{
	char cmd[512];
	FILE *fp;

	if (!prog_dir[0]) {
		strcpy(prog_dir, "/tmp/crtos-test-elf-XXXXXX");
		if (!mkdtemp(prog_dir))
			return false;
		atexit(prog_cleanup);
		snprintf(cmd, sizeof(cmd), "%s/prog.c", prog_dir);
		fp = fopen(cmd, "w");
		if (!fp)
			return false;
		fputs(prog_src, fp);
		fclose(fp);
	}
	snprintf(path, len, "%s/%s", prog_dir, v->name);
	snprintf(cmd, sizeof(cmd), "%s -o %s %s/prog.c >/dev/null 2>&1", v->cc, path, prog_dir);
	return system(cmd) == 0;
}

TEST(elf_parses_toolchain_outputs_as_readelf_reads_them)
{
	int checked = 0;

	for (size_t i = 0; i < ARRAY_SIZE(prog_variants); i++) {
		const struct prog_variant *v = &prog_variants[i];
		struct elf_image img;
		char path[128];

		if (!prog_build(v, path, sizeof(path))) {
			printf("  (%s: \"%s\" failed: not checked)\n", v->name, v->cc);
			continue;
		}
		if (!expect_like_readelf(path, &img))
			continue;
		EXPECT_EQ(img.type, v->type);
		EXPECT_EQ(img.has_interp, v->interp);
		EXPECT_EQ(img.exec_stack, v->exec_stack);
		EXPECT_EQ(img.align, v->align ? v->align : PAGE_SIZE);
		EXPECT(img.has_tls);
		EXPECT_EQ(!img.phdr_vaddr, v->phdr_unmapped);
		checked++;
	}
	EXPECT(checked > 0);
}
