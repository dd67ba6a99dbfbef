// SPDX-License-Identifier: MIT
/*
 * The kernel image: an ELF64 x86-64 executable linked in the kernel window.
 * Every offset and size in the file is checked before use, so a truncated
 * or corrupt image gives a message, not a crash. The symbol table is kept
 * for symbolizing panic reports.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "internal.h"

#define IMAGE_MAX_SIZE	(64 * MiB)

static bool range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static int image_read_file(struct vmm_image *img, const char *path, struct vmm_err *err)
{
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(img->path, sizeof(img->path), "%s", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vmm_fail(err, -errno, "kernel image %s: %s%s", path, strerror(errno),
				errno == ENOENT ? " (build it with make, or pass --kernel)" : "");
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > (off_t)IMAGE_MAX_SIZE) {
		close(fd);
		return vmm_fail(err, -EINVAL, "kernel image %s: not a regular file of at most 64 MiB",
				path);
	}
	img->file_size = (size_t)st.st_size;
	img->file = malloc(img->file_size ? img->file_size : 1);
	if (!img->file) {
		close(fd);
		return vmm_fail(err, -ENOMEM, "out of memory");
	}
	n = pread(fd, img->file, img->file_size, 0);
	close(fd);
	if (n != (ssize_t)img->file_size)
		return vmm_fail(err, -EIO, "kernel image %s: short read", path);
	return 0;
}

static int image_check_ehdr(const struct vmm_image *img, struct vmm_err *err)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img->file;

	if (img->file_size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return vmm_fail(err, -ENOEXEC, "kernel image %s: not an ELF file", img->path);
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC)
		return vmm_fail(err, -ENOEXEC, "kernel image %s: not an x86-64 ELF executable",
				img->path);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !range_ok(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), img->file_size))
		return vmm_fail(err, -ENOEXEC, "kernel image %s: program headers out of the file",
				img->path);
	if (eh->e_shnum && (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shstrndx >= eh->e_shnum ||
	    !range_ok(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), img->file_size)))
		return vmm_fail(err, -ENOEXEC, "kernel image %s: section headers out of the file",
				img->path);
	return 0;
}

static int image_scan_segments(struct vmm_image *img, struct vmm_err *err)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img->file;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(img->file + eh->e_phoff);

	img->load_start = UINT64_MAX;
	img->load_end = 0;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		uint64_t gpa = ph[i].p_vaddr;	/* linked at its GPA */

		if (ph[i].p_type != PT_LOAD)
			continue;
		if (!range_ok(ph[i].p_offset, ph[i].p_filesz, img->file_size) ||
		    ph[i].p_filesz > ph[i].p_memsz || gpa < CRTOS_GPA_KERNEL ||
		    ph[i].p_memsz > CRTOS_MAX_MEM || gpa > CRTOS_MAX_MEM)
			return vmm_fail(err, -ENOEXEC, "kernel image %s: segment %u is out of bounds",
					img->path, i);
		if (gpa < img->load_start)
			img->load_start = gpa;
		if (gpa + ph[i].p_memsz > img->load_end)
			img->load_end = gpa + ph[i].p_memsz;
	}
	if (!img->load_end)
		return vmm_fail(err, -ENOEXEC, "kernel image %s: nothing to load", img->path);
	img->entry = eh->e_entry;
	return 0;
}

static const Elf64_Shdr *image_section(const struct vmm_image *img, const char *name)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img->file;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(img->file + eh->e_shoff);
	const Elf64_Shdr *strs = &sh[eh->e_shstrndx];

	if (!eh->e_shnum || !range_ok(strs->sh_offset, strs->sh_size, img->file_size))
		return NULL;
	for (unsigned int i = 0; i < eh->e_shnum; i++) {
		uint64_t n = sh[i].sh_name;
		size_t len = strlen(name);

		if (range_ok(strs->sh_offset + n, len + 1, strs->sh_offset + strs->sh_size) &&
		    !memcmp(img->file + strs->sh_offset + n, name, len + 1))
			return &sh[i];
	}
	return NULL;
}

static int image_check_header(struct vmm_image *img, struct vmm_err *err)
{
	const Elf64_Shdr *sh = image_section(img, ".crtos.header");

	if (!sh || sh->sh_size < sizeof(img->header) ||
	    !range_ok(sh->sh_offset, sizeof(img->header), img->file_size))
		return vmm_fail(err, -ENOEXEC, "kernel image %s: no .crtos.header: not a crtos kernel",
				img->path);
	memcpy(&img->header, img->file + sh->sh_offset, sizeof(img->header));
	if (img->header.magic != CRTOS_IMAGE_MAGIC)
		return vmm_fail(err, -ENOEXEC, "kernel image %s: bad header magic", img->path);
	if (img->header.abi_version != CRTOS_ABI_VERSION)
		return vmm_fail(err, -EPROTO,
				"kernel image %s was built for crtos ABI %u, this crtos speaks ABI %u: "
				"rebuild both with make", img->path, img->header.abi_version,
				CRTOS_ABI_VERSION);
	if (img->header.link_base || img->load_start != img->header.load_gpa)
		return vmm_fail(err, -ENOEXEC, "kernel image %s: linked at an unexpected address",
				img->path);
	return 0;
}

/* The PT_LOAD segment whose file-backed bytes hold [gpa, gpa + len), or NULL. */
static const Elf64_Phdr *image_segment_of(const struct vmm_image *img, uint64_t gpa, uint64_t len)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img->file;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(img->file + eh->e_phoff);

	for (unsigned int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && gpa >= ph[i].p_vaddr &&
		    range_ok(gpa - ph[i].p_vaddr, len, ph[i].p_filesz))
			return &ph[i];
	return NULL;
}

/*
 * The relocations the image needs (.rela.dyn; none is fine). Only
 * R_X86_64_RELATIVE is meaningful for a kernel that has no symbols to
 * import, and none may patch code: text stays exactly what was linked.
 */
static int image_check_relocs(struct vmm_image *img, struct vmm_err *err)
{
	const Elf64_Shdr *sh = image_section(img, ".rela.dyn");

	if (!sh)
		return 0;
	if (sh->sh_type != SHT_RELA || sh->sh_entsize != sizeof(Elf64_Rela) ||
	    sh->sh_size % sizeof(Elf64_Rela) || !range_ok(sh->sh_offset, sh->sh_size, img->file_size))
		return vmm_fail(err, -ENOEXEC, "kernel image %s: malformed .rela.dyn", img->path);
	img->rela = (const Elf64_Rela *)(img->file + sh->sh_offset);
	img->nr_rela = sh->sh_size / sizeof(Elf64_Rela);
	for (size_t i = 0; i < img->nr_rela; i++) {
		const Elf64_Rela *r = &img->rela[i];
		const Elf64_Phdr *seg = image_segment_of(img, r->r_offset, sizeof(uint64_t));

		if (ELF64_R_TYPE(r->r_info) != R_X86_64_RELATIVE || ELF64_R_SYM(r->r_info))
			return vmm_fail(err, -ENOEXEC, "kernel image %s: relocation %zu has type %u; "
					"only R_X86_64_RELATIVE is supported (link it with -pie)",
					img->path, i, (unsigned int)ELF64_R_TYPE(r->r_info));
		if (!seg || (seg->p_flags & PF_X))
			return vmm_fail(err, -ENOEXEC, "kernel image %s: relocation %zu at %#llx is "
					"outside the image's data", img->path, i,
					(unsigned long long)r->r_offset);
	}
	return 0;
}

static int symbol_cmp(const void *a, const void *b)
{
	const struct vmm_symbol *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Keep the symbols for panic reports; an image without them is still usable. */
static void image_load_symbols(struct vmm_image *img)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img->file;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(img->file + eh->e_shoff);
	const Elf64_Shdr *symtab = image_section(img, ".symtab"), *strtab;
	const Elf64_Sym *syms;
	size_t n;

	if (!symtab || symtab->sh_link >= eh->e_shnum)
		return;
	strtab = &sh[symtab->sh_link];
	if (!range_ok(symtab->sh_offset, symtab->sh_size, img->file_size) ||
	    !range_ok(strtab->sh_offset, strtab->sh_size, img->file_size) || !strtab->sh_size ||
	    img->file[strtab->sh_offset + strtab->sh_size - 1] != '\0')
		return;
	syms = (const Elf64_Sym *)(img->file + symtab->sh_offset);
	n = symtab->sh_size / sizeof(*syms);
	img->syms = calloc(n ? n : 1, sizeof(*img->syms));
	if (!img->syms)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned int type = ELF64_ST_TYPE(syms[i].st_info);

		if ((type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE) ||
		    !syms[i].st_value || syms[i].st_name >= strtab->sh_size)
			continue;
		img->syms[img->nr_syms++] = (struct vmm_symbol){
			.addr = syms[i].st_value,
			.size = syms[i].st_size,
			.name = (const char *)img->file + strtab->sh_offset + syms[i].st_name,
		};
	}
	qsort(img->syms, img->nr_syms, sizeof(*img->syms), symbol_cmp);
}

int vmm_image_open(struct vmm_image *img, const char *path, struct vmm_err *err)
{
	int ret;

	memset(img, 0, sizeof(*img));
	ret = image_read_file(img, path, err);
	ret = ret ?: image_check_ehdr(img, err);
	ret = ret ?: image_scan_segments(img, err);
	ret = ret ?: image_check_header(img, err);
	ret = ret ?: image_check_relocs(img, err);
	if (ret) {
		vmm_image_close(img);
		return ret;
	}
	image_load_symbols(img);
	return 0;
}

int vmm_image_load(struct vmm_image *img, uint8_t *mem, uint64_t mem_size, uint64_t base,
		   struct vmm_err *err)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img->file;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(img->file + eh->e_phoff);

	if (img->load_end > mem_size)
		return vmm_fail(err, -ENOMEM, "the kernel image does not fit in %llu MiB",
				(unsigned long long)(mem_size / MiB));
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		uint64_t gpa = ph[i].p_vaddr;

		if (ph[i].p_type != PT_LOAD)
			continue;
		memcpy(mem + gpa, img->file + ph[i].p_offset, ph[i].p_filesz);
		memset(mem + gpa + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
	}
	for (size_t i = 0; i < img->nr_rela; i++) {
		uint64_t value = base + (uint64_t)img->rela[i].r_addend;

		memcpy(mem + img->rela[i].r_offset, &value, sizeof(value));
	}
	img->base = base;
	return 0;
}

const char *vmm_image_symbol(const struct vmm_image *img, uint64_t addr, uint64_t *off)
{
	size_t lo = 0, hi = img->nr_syms;

	addr -= img->base;	/* symbols carry link addresses */
	if (addr < img->load_start || addr >= img->load_end)
		return NULL;
	/* The last symbol at or below addr. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (img->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	lo--;
	if (img->syms[lo].size && addr >= img->syms[lo].addr + img->syms[lo].size &&
	    addr - img->syms[lo].addr > 0x10000)
		return NULL;
	*off = addr - img->syms[lo].addr;
	return img->syms[lo].name;
}

void vmm_image_close(struct vmm_image *img)
{
	free(img->syms);
	free(img->file);
	img->syms = NULL;
	img->file = NULL;
	img->nr_syms = 0;
}

/*
 * A file crtos ships next to its binary: $env if set, else name next to the
 * running binary, one directory up (build/asan/crtos), or in ../lib/crtos
 * (an installed tree). 0, or -ENOENT with buf holding the first place tried.
 */
int vmm_find_tool(const char *name, const char *env, char *buf, size_t len)
{
	static const char *const places[] = { "", "/..", "/../lib/crtos" };
	const char *value = env ? getenv(env) : NULL;
	char exe[PATH_MAX], *dir;
	ssize_t n;

	if (value && *value) {
		snprintf(buf, len, "%s", value);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = '\0';
	dir = dirname(exe);
	for (unsigned int i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		snprintf(buf, len, "%s%s/%s", dir, places[i], name);
		if (!access(buf, R_OK))
			return 0;
	}
	snprintf(buf, len, "%s/%s", dir, name);
	return -ENOENT;
}

int vmm_default_kernel_path(char *buf, size_t len)
{
	int ret = vmm_find_tool("crtos-kernel.elf", "CRTOS_KERNEL", buf, len);

	return ret == -ENOENT ? 0 : ret;	/* the open reports the missing file */
}
