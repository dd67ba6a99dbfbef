// SPDX-License-Identifier: MIT
/*
 * ELF header checks (linuxabi/elf.h). elf_parse() copies the ELF header and
 * each program header out of the buffer before reading it (the buffer need
 * not be aligned), checks every field of a header where it reads it, then
 * checks the segments against each other. Sums of file values go through
 * __builtin_add_overflow: a bounds check that wraps around accepts anything.
 */
#include <stdarg.h>
#include <kernel/mmflags.h>
#include <kernel/printk.h>
#include <kernel/string.h>
#include <linuxabi/elf.h>

#define GIB	(1ull << 30)

struct elf_ctx {
	const uint8_t *buf;
	size_t avail;			/* bytes of the file in buf */
	uint64_t file_size;
	struct elf_image *img;
	char *msg;
	size_t msglen;
	uint64_t phoff, phsize;		/* the program header table in the file */
	unsigned int load_idx[ELF_MAX_LOADS];	/* program header index of img->segs[i] */
	bool has_pt_phdr;
	uint64_t pt_phdr_vaddr;
	unsigned int pt_phdr_idx, tls_idx;
};

static __printf(2, 3) int elf_fail(struct elf_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->msglen) {
		va_start(ap, fmt);
		vsnprintf(c->msg, c->msglen, fmt, ap);
		va_end(ap);
	}
	return -ENOEXEC;
}

/* "16 GiB" for whole GiB, else the byte count in hex. Returns buf. */
static const char *elf_size_name(char *buf, size_t len, uint64_t v)
{
	if (v % GIB == 0)
		snprintf(buf, len, "%lu GiB", (unsigned long)(v / GIB));
	else
		snprintf(buf, len, "%#lx bytes", (unsigned long)v);
	return buf;
}

static const char *elf_machine_name(unsigned int machine)
{
	static const struct {
		unsigned int machine;
		const char *name;
	} names[] = {
		{ EM_386, "i386" }, { EM_ARM, "ARM" }, { EM_AARCH64, "AArch64" },
		{ EM_RISCV, "RISC-V" }, { EM_PPC, "PowerPC" }, { EM_PPC64, "PowerPC64" },
		{ EM_S390, "s390" }, { EM_MIPS, "MIPS" }, { EM_SPARCV9, "SPARC64" },
		{ EM_IA_64, "IA-64" }, { EM_LOONGARCH, "LoongArch" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].machine == machine)
			return names[i].name;
	return "unknown";
}

/* The magic and the sizes; copies the ELF header into *eh. */
static int elf_read_ehdr(struct elf_ctx *c, Elf64_Ehdr *eh)
{
	const uint8_t *b = c->buf;

	if (c->avail >= SELFMAG && memcmp(b, ELFMAG, SELFMAG) != 0) {
		if (b[0] == '#' && b[1] == '!')
			return elf_fail(c, "a script (starts with #!), not an ELF file");
		return elf_fail(c, "not an ELF file (starts with %02x %02x %02x %02x)",
				b[0], b[1], b[2], b[3]);
	}
	if (c->file_size == 0)
		return elf_fail(c, "empty file");
	if (c->file_size < sizeof(*eh))
		return elf_fail(c, "truncated: %lu bytes, an ELF header needs %zu",
				(unsigned long)c->file_size, sizeof(*eh));
	if (c->avail < sizeof(*eh))
		return elf_fail(c, "ELF header beyond the first %zu bytes read", c->avail);
	memcpy(eh, b, sizeof(*eh));
	return 0;
}

/* The identification bytes, machine and type. */
static int elf_check_ident(struct elf_ctx *c, const Elf64_Ehdr *eh)
{
	const unsigned char *id = eh->e_ident;

	if (id[EI_CLASS] == ELFCLASS32)
		return elf_fail(c, "32-bit ELF (ELFCLASS32): only 64-bit x86-64 programs run");
	if (id[EI_CLASS] != ELFCLASS64)
		return elf_fail(c, "unknown ELF class %u", id[EI_CLASS]);
	if (id[EI_DATA] == ELFDATA2MSB)
		return elf_fail(c, "big-endian ELF (ELFDATA2MSB): only little-endian x86-64 programs run");
	if (id[EI_DATA] != ELFDATA2LSB)
		return elf_fail(c, "unknown ELF data encoding %u", id[EI_DATA]);
	if (id[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
		return elf_fail(c, "ELF version %u/%u, expected %u (EV_CURRENT)",
				id[EI_VERSION], eh->e_version, EV_CURRENT);
	if (eh->e_machine != EM_X86_64)
		return elf_fail(c, "for machine %u (%s), not x86-64",
				eh->e_machine, elf_machine_name(eh->e_machine));
	if (eh->e_type == ET_REL)
		return elf_fail(c, "a relocatable object (ET_REL), not an executable: link it first");
	if (eh->e_type == ET_CORE)
		return elf_fail(c, "a core dump (ET_CORE), not an executable");
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return elf_fail(c, "ELF type %#x, not an executable (ET_EXEC or ET_DYN)", eh->e_type);
	return 0;
}

/* The program header table: entry size, count, and where it lies. */
static int elf_check_phtab(struct elf_ctx *c, const Elf64_Ehdr *eh)
{
	uint64_t end;

	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return elf_fail(c, "program header entry size %u, expected %zu",
				eh->e_phentsize, sizeof(Elf64_Phdr));
	if (eh->e_phnum == 0)
		return elf_fail(c, "no program headers");
	if (eh->e_phnum == PN_XNUM)
		return elf_fail(c, "extended program header numbering (PN_XNUM) is not supported");
	if (eh->e_phnum > ELF_MAX_PHNUM)
		return elf_fail(c, "%u program headers: more than %d", eh->e_phnum, ELF_MAX_PHNUM);
	c->phoff = eh->e_phoff;
	c->phsize = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
	if (__builtin_add_overflow(c->phoff, c->phsize, &end) || end > c->file_size)
		return elf_fail(c, "program headers at offset %#lx lie outside the file (size %#lx)",
				(unsigned long)c->phoff, (unsigned long)c->file_size);
	if (end > c->avail)
		return elf_fail(c, "program headers beyond the first %zu bytes read (they end at %#lx)",
				c->avail, (unsigned long)end);
	return 0;
}

/* Append a non-empty PT_LOAD after the previous one, which it must follow. */
static int elf_append_load(struct elf_ctx *c, unsigned int i, const Elf64_Phdr *ph)
{
	struct elf_image *img = c->img;
	struct elf_segment *prev, *seg;

	if (img->nsegs == ELF_MAX_LOADS)
		return elf_fail(c, "more than %d PT_LOAD segments", ELF_MAX_LOADS);
	if (img->nsegs) {
		prev = &img->segs[img->nsegs - 1];
		/* The sums cannot wrap: each segment was checked on its own. */
		if (ph->p_vaddr < prev->vaddr + prev->memsz) {
			if (ph->p_vaddr + ph->p_memsz > prev->vaddr)
				return elf_fail(c, "segments %u and %u overlap",
						c->load_idx[img->nsegs - 1], i);
			return elf_fail(c, "segments %u and %u are not in ascending address order",
					c->load_idx[img->nsegs - 1], i);
		}
	}
	c->load_idx[img->nsegs] = i;
	seg = &img->segs[img->nsegs++];
	seg->vaddr = ph->p_vaddr;
	seg->memsz = ph->p_memsz;
	seg->offset = ph->p_offset;
	seg->filesz = ph->p_filesz;
	seg->prot = (ph->p_flags & PF_R ? MAP_READ : 0) | (ph->p_flags & PF_W ? MAP_WRITE : 0) |
		    (ph->p_flags & PF_X ? MAP_EXEC : 0);
	img->align = MAX(img->align, ph->p_align);
	return 0;
}

static int elf_check_load(struct elf_ctx *c, unsigned int i, const Elf64_Phdr *ph)
{
	uint64_t end;
	char sz[32];

	if (ph->p_filesz > ph->p_memsz)
		return elf_fail(c, "segment %u: file size %#lx exceeds its memory size %#lx", i,
				(unsigned long)ph->p_filesz, (unsigned long)ph->p_memsz);
	if (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &end) || end > c->file_size)
		return elf_fail(c, "segment %u: file range %#lx+%#lx lies outside the file (size %#lx)",
				i, (unsigned long)ph->p_offset, (unsigned long)ph->p_filesz,
				(unsigned long)c->file_size);
	if (__builtin_add_overflow(ph->p_vaddr, ph->p_memsz, &end))
		return elf_fail(c, "segment %u: address range %#lx+%#lx wraps around", i,
				(unsigned long)ph->p_vaddr, (unsigned long)ph->p_memsz);
	if (ph->p_align & (ph->p_align - 1))
		return elf_fail(c, "segment %u: alignment %#lx is not a power of two", i,
				(unsigned long)ph->p_align);
	if (ph->p_align > ELF_MAX_SPAN)
		return elf_fail(c, "segment %u: alignment %#lx is larger than 1 GiB", i,
				(unsigned long)ph->p_align);
	if ((ph->p_vaddr - ph->p_offset) % PAGE_SIZE)
		return elf_fail(c, "segment %u: address %#lx and file offset %#lx differ modulo the page size",
				i, (unsigned long)ph->p_vaddr, (unsigned long)ph->p_offset);
	if (ph->p_memsz > ELF_MAX_SPAN)
		return elf_fail(c, "segment %u is %s: too large (the limit is 1 GiB)", i,
				elf_size_name(sz, sizeof(sz), ph->p_memsz));
	if (ph->p_memsz == 0)
		return 0;	/* maps nothing; Linux accepts it too */
	return elf_append_load(c, i, ph);
}

static int elf_check_interp(struct elf_ctx *c, unsigned int i, const Elf64_Phdr *ph)
{
	uint64_t end;

	if (c->img->has_interp)
		return elf_fail(c, "segment %u: a second PT_INTERP", i);
	if (ph->p_filesz < 2 || ph->p_filesz > ELF_MAX_INTERP)
		return elf_fail(c, "segment %u: PT_INTERP of %lu bytes (a path needs 2..%d)", i,
				(unsigned long)ph->p_filesz, ELF_MAX_INTERP);
	if (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &end) || end > c->file_size)
		return elf_fail(c, "segment %u: PT_INTERP at %#lx+%#lx lies outside the file (size %#lx)",
				i, (unsigned long)ph->p_offset, (unsigned long)ph->p_filesz,
				(unsigned long)c->file_size);
	c->img->has_interp = true;
	c->img->interp_offset = ph->p_offset;
	c->img->interp_size = ph->p_filesz;
	return 0;
}

static int elf_check_tls(struct elf_ctx *c, unsigned int i, const Elf64_Phdr *ph)
{
	struct elf_image *img = c->img;
	uint64_t end;

	if (img->has_tls)
		return elf_fail(c, "segment %u: a second PT_TLS", i);
	if (ph->p_filesz > ph->p_memsz)
		return elf_fail(c, "segment %u: TLS initial image of %#lx bytes exceeds the TLS size %#lx",
				i, (unsigned long)ph->p_filesz, (unsigned long)ph->p_memsz);
	if (__builtin_add_overflow(ph->p_vaddr, ph->p_memsz, &end))
		return elf_fail(c, "segment %u: TLS range %#lx+%#lx wraps around", i,
				(unsigned long)ph->p_vaddr, (unsigned long)ph->p_memsz);
	if (ph->p_memsz > ELF_MAX_SPAN)
		return elf_fail(c, "segment %u: TLS block of %#lx bytes: too large", i,
				(unsigned long)ph->p_memsz);
	if ((ph->p_align & (ph->p_align - 1)) || ph->p_align > ELF_MAX_SPAN)
		return elf_fail(c, "segment %u: TLS alignment %#lx is not a power of two up to 1 GiB",
				i, (unsigned long)ph->p_align);
	img->has_tls = true;
	img->tls_vaddr = ph->p_vaddr;
	img->tls_filesz = ph->p_filesz;
	img->tls_memsz = ph->p_memsz;
	img->tls_align = ph->p_align ? ph->p_align : 1;
	c->tls_idx = i;
	return 0;
}

static int elf_check_pt_phdr(struct elf_ctx *c, unsigned int i, const Elf64_Phdr *ph)
{
	if (c->has_pt_phdr)
		return elf_fail(c, "segment %u: a second PT_PHDR", i);
	c->has_pt_phdr = true;
	c->pt_phdr_vaddr = ph->p_vaddr;
	c->pt_phdr_idx = i;
	return 0;
}

/* Check each program header on its own; other types than these are ignored. */
static int elf_read_phdrs(struct elf_ctx *c, unsigned int phnum)
{
	Elf64_Phdr ph;
	int ret = 0;

	for (unsigned int i = 0; i < phnum && !ret; i++) {
		memcpy(&ph, c->buf + c->phoff + i * sizeof(ph), sizeof(ph));
		switch (ph.p_type) {
		case PT_LOAD:
			ret = elf_check_load(c, i, &ph);
			break;
		case PT_INTERP:
			ret = elf_check_interp(c, i, &ph);
			break;
		case PT_TLS:
			ret = elf_check_tls(c, i, &ph);
			break;
		case PT_PHDR:
			ret = elf_check_pt_phdr(c, i, &ph);
			break;
		case PT_GNU_STACK:
			c->img->exec_stack = ph.p_flags & PF_X;
			break;
		}
	}
	return ret;
}

/*
 * Whether [addr, addr + len) lies in seg's first filesz bytes (file_only) or
 * in its memory. A zero-length range may sit at the end.
 */
static bool elf_seg_covers(const struct elf_segment *seg, uint64_t addr, uint64_t len,
			   bool file_only)
{
	uint64_t limit = file_only ? seg->filesz : seg->memsz;

	if (addr < seg->vaddr || addr - seg->vaddr > limit)
		return false;
	return len <= limit - (addr - seg->vaddr);
}

/* Index of the PT_LOAD covering [addr, addr + len) with all of prot, or -1. */
static int elf_find_seg(const struct elf_image *img, uint64_t addr, uint64_t len,
			unsigned int prot, bool file_only)
{
	for (unsigned int i = 0; i < img->nsegs; i++)
		if (elf_seg_covers(&img->segs[i], addr, len, file_only) &&
		    (img->segs[i].prot & prot) == prot)
			return (int)i;
	return -1;
}

/* The span of the PT_LOADs: in the user address space and not too large. */
static int elf_check_span(struct elf_ctx *c)
{
	struct elf_image *img = c->img;
	const struct elf_segment *last = &img->segs[img->nsegs - 1];
	uint64_t end = last->vaddr + last->memsz;	/* the highest: they ascend */
	char sz[32];

	if (end > ELF_USER_LIMIT)
		return elf_fail(c, "segment %u ends at %#lx, in the kernel's window (user addresses end at %#lx)",
				c->load_idx[img->nsegs - 1], (unsigned long)end,
				(unsigned long)ELF_USER_LIMIT);
	img->lo = ALIGN_DOWN(img->segs[0].vaddr, PAGE_SIZE);
	img->hi = ALIGN_UP(end, PAGE_SIZE);
	if (img->hi - img->lo > ELF_MAX_SPAN)
		return elf_fail(c, "the segments span %s (%#lx..%#lx): too large (the limit is 1 GiB)",
				elf_size_name(sz, sizeof(sz), img->hi - img->lo),
				(unsigned long)img->lo, (unsigned long)img->hi);
	if (img->type == ET_EXEC && img->lo < ELF_MIN_VADDR)
		return elf_fail(c, "segment %u starts at %#lx, below the lowest mappable address %#lx",
				c->load_idx[0], (unsigned long)img->segs[0].vaddr,
				(unsigned long)ELF_MIN_VADDR);
	return 0;
}

/* Where the program headers are in memory: PT_PHDR, else the PT_LOAD with their bytes. */
static int elf_find_phdr(struct elf_ctx *c)
{
	struct elf_image *img = c->img;

	if (c->has_pt_phdr) {
		if (elf_find_seg(img, c->pt_phdr_vaddr, c->phsize, 0, true) < 0)
			return elf_fail(c, "segment %u: PT_PHDR at %#lx is not inside a PT_LOAD's file contents",
					c->pt_phdr_idx, (unsigned long)c->pt_phdr_vaddr);
		img->phdr_vaddr = c->pt_phdr_vaddr;
		return 0;
	}
	for (unsigned int i = 0; i < img->nsegs; i++) {
		const struct elf_segment *seg = &img->segs[i];

		/* offset + filesz and phoff + phsize lie in the file: no wrap. */
		if (seg->offset <= c->phoff && c->phoff + c->phsize <= seg->offset + seg->filesz) {
			img->phdr_vaddr = seg->vaddr + (c->phoff - seg->offset);
			return 0;
		}
	}
	img->phdr_vaddr = 0;
	return 0;
}

/* The checks that need every segment: span, entry point, headers, TLS. */
static int elf_check_image(struct elf_ctx *c)
{
	struct elf_image *img = c->img;
	int ret;

	if (!img->nsegs)
		return elf_fail(c, "no PT_LOAD segment: nothing to run");
	ret = elf_check_span(c);
	if (ret)
		return ret;
	if (elf_find_seg(img, img->entry, 1, MAP_EXEC, false) < 0)
		return elf_fail(c, "entry point %#lx is not inside an executable segment",
				(unsigned long)img->entry);
	ret = elf_find_phdr(c);
	if (ret)
		return ret;
	if (img->has_tls && elf_find_seg(img, img->tls_vaddr, img->tls_filesz, 0, false) < 0)
		return elf_fail(c, "segment %u: TLS initial image at %#lx+%#lx is not inside a PT_LOAD",
				c->tls_idx, (unsigned long)img->tls_vaddr,
				(unsigned long)img->tls_filesz);
	return 0;
}

int elf_parse(const void *buf, size_t buflen, uint64_t file_size, struct elf_image *img,
	      char *msg, size_t msglen)
{
	struct elf_ctx c = {
		.buf = buf, .file_size = file_size, .img = img, .msg = msg, .msglen = msglen,
		.avail = file_size < buflen ? (size_t)file_size : buflen,
	};
	Elf64_Ehdr eh;
	int ret;

	if (msglen)
		msg[0] = '\0';
	memset(img, 0, sizeof(*img));
	img->align = PAGE_SIZE;
	ret = elf_read_ehdr(&c, &eh);
	if (!ret)
		ret = elf_check_ident(&c, &eh);
	if (!ret)
		ret = elf_check_phtab(&c, &eh);
	if (ret)
		return ret;
	img->type = eh.e_type;
	img->entry = eh.e_entry;
	img->phnum = eh.e_phnum;
	ret = elf_read_phdrs(&c, eh.e_phnum);
	if (!ret)
		ret = elf_check_image(&c);
	return ret;
}

int elf_load_bias(const struct elf_image *img, uint64_t base, uint64_t *bias)
{
	uint64_t b = 0, end;

	if (img->type == ET_DYN) {
		base = MAX(base, ELF_MIN_VADDR);
		b = base > img->lo ? base - img->lo : 0;
		if (b > ELF_USER_LIMIT)
			return -ENOMEM;
		b = ALIGN_UP(b, img->align);	/* align <= 1 GiB: no wrap */
	}
	if (__builtin_add_overflow(b, img->hi, &end) || end > ELF_USER_LIMIT)
		return -ENOMEM;
	*bias = b;
	return 0;
}
