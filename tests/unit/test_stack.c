// SPDX-License-Identifier: MIT
/*
 * linuxabi/stack.c on the host: the stack is built into a heap buffer that
 * stands for user memory [top - size, top), then walked the way a C
 * runtime's _start walks it. Where the host kernel's own choices can be
 * observed (the auxv order, AT_PHDR of this very process), they are the
 * reference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/auxvec.h>
#include <linuxabi/elf.h>
#include <linuxabi/stack.h>
#include "harness.h"

#define TOP	0x7ffffffff000ull	/* a typical Linux stack top */
#define SIZE	(64u << 10)

/* The host buffer that plays user memory [top - size, top). */
struct umem {
	uint8_t *mem;
	uint64_t top;
	size_t size;
};

static bool umem_has(const struct umem *u, uint64_t addr, uint64_t len)
{
	uint64_t low = u->top - u->size;

	return addr >= low && addr <= u->top && len <= u->top - addr;
}

static uint64_t umem_word(const struct umem *u, uint64_t addr)
{
	uint64_t v;

	EXPECT(umem_has(u, addr, 8));
	memcpy(&v, u->mem + (addr - (u->top - u->size)), 8);
	return v;
}

static const uint8_t *umem_bytes(const struct umem *u, uint64_t addr, uint64_t len)
{
	EXPECT(umem_has(u, addr, len));
	return u->mem + (addr - (u->top - u->size));
}

/* The NUL-terminated string at addr, which must end inside the buffer. */
static const char *umem_str(const struct umem *u, uint64_t addr)
{
	const uint8_t *s;

	EXPECT(umem_has(u, addr, 1));
	s = umem_bytes(u, addr, 1);
	EXPECT(memchr(s, '\0', u->top - addr) != NULL);
	return (const char *)s;
}

/* What a C runtime finds at the initial rsp. */
struct start {
	uint64_t argc, argv, envp, auxv;
	int envc;
	unsigned int nauxv;
	uint64_t aux[STACK_AUXV_MAX + 4][2];
};

static void start_walk(const struct umem *u, uint64_t sp, struct start *st)
{
	uint64_t p;

	memset(st, 0, sizeof(*st));
	st->argc = umem_word(u, sp);
	st->argv = sp + 8;
	EXPECT_EQ(umem_word(u, st->argv + st->argc * 8), 0);
	st->envp = st->argv + (st->argc + 1) * 8;
	for (p = st->envp; umem_word(u, p); p += 8)
		st->envc++;
	st->auxv = p + 8;
	for (p = st->auxv;; p += 16) {
		EXPECT(st->nauxv < ARRAY_SIZE(st->aux));
		st->aux[st->nauxv][0] = umem_word(u, p);
		st->aux[st->nauxv][1] = umem_word(u, p + 8);
		if (st->aux[st->nauxv++][0] == AT_NULL)
			break;
	}
}

/* getauxval() on the walked stack; ~0 if absent. */
static uint64_t start_aux(const struct start *st, uint64_t type)
{
	for (unsigned int i = 0; i < st->nauxv; i++)
		if (st->aux[i][0] == type)
			return st->aux[i][1];
	return ~0ull;
}

static const char *const test_argv[] = { "/bin/prog", "-x", "hello world", "" };
static const char *const test_envp[] = { "PATH=/usr/bin:/bin", "HOME=/root", "EMPTY=" };

static struct exec_info test_info(void)
{
	struct exec_info info = {
		.argc = ARRAY_SIZE(test_argv), .argv = test_argv,
		.envc = ARRAY_SIZE(test_envp), .envp = test_envp,
		.execfn = "/bin/prog", .platform = "x86_64",
		.uid = 1000, .euid = 1001, .gid = 100, .egid = 101, .secure = 0,
		.hwcap = 0x178bfbff, .hwcap2 = 2, .clktck = 100, .minsigstksz = 1776,
		.pagesz = 4096, .sysinfo_ehdr = 0x7ffff7fc1000ull,
	};

	for (int i = 0; i < 16; i++)
		info.random[i] = (uint8_t)(0xa0 + i);
	return info;
}

static void umem_new(struct umem *u, uint64_t top, size_t size)
{
	u->top = top;
	u->size = size;
	u->mem = malloc(size ? size : 1);
	memset(u->mem, 0xa5, size);
}

TEST(stack_walks_like_a_c_runtime)
{
	struct exec_info info = test_info();
	static const uint64_t order[] = {
		AT_SYSINFO_EHDR, AT_MINSIGSTKSZ, AT_HWCAP, AT_PAGESZ, AT_CLKTCK, AT_PHDR,
		AT_PHENT, AT_PHNUM, AT_BASE, AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID, AT_GID,
		AT_EGID, AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_PLATFORM, AT_NULL,
	};
	struct start st;
	struct umem u;
	uint64_t sp;

	umem_new(&u, TOP, SIZE);
	EXPECT_EQ(stack_build(u.mem, TOP, SIZE, &info, 0x401520, 0x400040, 10, &sp), 0);
	EXPECT_EQ(sp % 16, 0);
	EXPECT(sp >= TOP - SIZE && sp < TOP);
	start_walk(&u, sp, &st);
	EXPECT_EQ(st.argc, ARRAY_SIZE(test_argv));
	for (size_t i = 0; i < ARRAY_SIZE(test_argv); i++)
		EXPECT(!strcmp(umem_str(&u, umem_word(&u, st.argv + i * 8)), test_argv[i]));
	EXPECT_EQ(st.envc, ARRAY_SIZE(test_envp));
	for (size_t i = 0; i < ARRAY_SIZE(test_envp); i++)
		EXPECT(!strcmp(umem_str(&u, umem_word(&u, st.envp + i * 8)), test_envp[i]));
	EXPECT_EQ(st.nauxv, ARRAY_SIZE(order));
	EXPECT_EQ(st.nauxv, STACK_AUXV_MAX);
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		EXPECT_EQ(st.aux[i][0], order[i]);
	EXPECT_EQ(start_aux(&st, AT_SYSINFO_EHDR), 0x7ffff7fc1000ull);
	EXPECT_EQ(start_aux(&st, AT_MINSIGSTKSZ), 1776);
	EXPECT_EQ(start_aux(&st, AT_HWCAP), 0x178bfbff);
	EXPECT_EQ(start_aux(&st, AT_PAGESZ), 4096);
	EXPECT_EQ(start_aux(&st, AT_CLKTCK), 100);
	EXPECT_EQ(start_aux(&st, AT_PHDR), 0x400040);
	EXPECT_EQ(start_aux(&st, AT_PHENT), 56);
	EXPECT_EQ(start_aux(&st, AT_PHNUM), 10);
	EXPECT_EQ(start_aux(&st, AT_BASE), 0);
	EXPECT_EQ(start_aux(&st, AT_FLAGS), 0);
	EXPECT_EQ(start_aux(&st, AT_ENTRY), 0x401520);
	EXPECT_EQ(start_aux(&st, AT_UID), 1000);
	EXPECT_EQ(start_aux(&st, AT_EUID), 1001);
	EXPECT_EQ(start_aux(&st, AT_GID), 100);
	EXPECT_EQ(start_aux(&st, AT_EGID), 101);
	EXPECT_EQ(start_aux(&st, AT_SECURE), 0);
	EXPECT_EQ(start_aux(&st, AT_HWCAP2), 2);
	EXPECT(!memcmp(umem_bytes(&u, start_aux(&st, AT_RANDOM), 16), info.random, 16));
	EXPECT(!strcmp(umem_str(&u, start_aux(&st, AT_EXECFN)), "/bin/prog"));
	EXPECT(!strcmp(umem_str(&u, start_aux(&st, AT_PLATFORM)), "x86_64"));
	/* The stack ends with the zero word, and the rest below sp is untouched. */
	EXPECT_EQ(umem_word(&u, TOP - 8), 0);
	EXPECT_EQ(*umem_bytes(&u, sp - 1, 1), 0xa5);
	free(u.mem);
}

/* Linux's layout (fs/binfmt_elf.c, fs/exec.c), byte for byte where it is not random. */
TEST(stack_layout_is_linux_layout)
{
	struct exec_info info = test_info();
	uint64_t sp, s, random, platform, auxv_end;
	struct start st;
	struct umem u;

	umem_new(&u, TOP, SIZE);
	EXPECT_EQ(stack_build(u.mem, TOP, SIZE, &info, 1, 2, 3, &sp), 0);
	start_walk(&u, sp, &st);
	/* The strings: argv's, then envp's, then execfn, back to back, then a zero word. */
	s = umem_word(&u, st.argv);
	for (size_t i = 0; i < ARRAY_SIZE(test_argv); i++) {
		EXPECT_EQ(umem_word(&u, st.argv + i * 8), s);
		s += strlen(test_argv[i]) + 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(test_envp); i++) {
		EXPECT_EQ(umem_word(&u, st.envp + i * 8), s);
		s += strlen(test_envp[i]) + 1;
	}
	EXPECT_EQ(start_aux(&st, AT_EXECFN), s);
	EXPECT_EQ(s + strlen(info.execfn) + 1, TOP - 8);
	/* Below them, 16-byte aligned: the platform string, then the random bytes. */
	platform = start_aux(&st, AT_PLATFORM);
	random = start_aux(&st, AT_RANDOM);
	EXPECT_EQ(platform + strlen(info.platform) + 1, ALIGN_DOWN(umem_word(&u, st.argv), 16));
	EXPECT_EQ(random + 16, platform);
	/* The vectors are contiguous and end at most 15 bytes below the random bytes. */
	auxv_end = st.auxv + st.nauxv * 16;
	EXPECT(auxv_end <= random && random - auxv_end < 16);
	EXPECT_EQ(st.envp, st.argv + 8 * (st.argc + 1));
	free(u.mem);
}

TEST(stack_omits_what_is_absent)
{
	struct exec_info info = test_info();
	struct start st;
	struct umem u;
	uint64_t sp;

	info.sysinfo_ehdr = 0;
	info.execfn = NULL;
	info.platform = NULL;
	info.argc = info.envc = 0;
	info.argv = info.envp = NULL;
	umem_new(&u, TOP, SIZE);
	EXPECT_EQ(stack_build(u.mem, TOP, SIZE, &info, 1, 2, 3, &sp), 0);
	EXPECT_EQ(sp % 16, 0);
	start_walk(&u, sp, &st);
	EXPECT_EQ(st.argc, 0);
	EXPECT_EQ(st.envc, 0);
	EXPECT_EQ(st.nauxv, STACK_AUXV_MAX - 3);
	EXPECT_EQ(st.aux[0][0], AT_MINSIGSTKSZ);
	EXPECT_EQ(start_aux(&st, AT_SYSINFO_EHDR), ~0ull);
	EXPECT_EQ(start_aux(&st, AT_EXECFN), ~0ull);
	EXPECT_EQ(start_aux(&st, AT_PLATFORM), ~0ull);
	EXPECT_EQ(start_aux(&st, AT_RANDOM) + 16, TOP - 8 - 8);	/* after aligning down */
	free(u.mem);
}

/*
 * Every size from nothing to a little more than needed: the build fits
 * exactly when the buffer reaches down to rsp, and a failed build writes
 * nothing (the buffer is an exact-size heap block: ASan sees any stray byte).
 */
TEST(stack_reports_e2big_and_writes_nothing)
{
	struct exec_info info = test_info();
	uint64_t sp, need, sp2;
	struct umem u;

	umem_new(&u, TOP, SIZE);
	EXPECT_EQ(stack_build(u.mem, TOP, SIZE, &info, 1, 2, 3, &sp), 0);
	free(u.mem);
	need = TOP - sp;
	for (size_t size = 0; size <= need + 64; size++) {
		umem_new(&u, TOP, size);
		sp2 = 0;
		if (size < need) {
			EXPECT_EQ(stack_build(u.mem, TOP, size, &info, 1, 2, 3, &sp2), -E2BIG);
			EXPECT_EQ(sp2, 0);
			for (size_t i = 0; i < size; i++)
				EXPECT_EQ(u.mem[i], 0xa5);
		} else {
			EXPECT_EQ(stack_build(u.mem, TOP, size, &info, 1, 2, 3, &sp2), 0);
			EXPECT_EQ(sp2, sp);
		}
		free(u.mem);
	}
}

TEST(stack_refuses_huge_arguments_and_bad_calls)
{
	struct exec_info info = test_info();
	const char *argv[2];
	char *big = malloc(SIZE + 1);
	struct umem u;
	uint64_t sp;

	memset(big, 'a', SIZE);
	big[SIZE] = '\0';
	argv[0] = "x";
	argv[1] = big;
	info.argv = argv;
	info.argc = 2;
	umem_new(&u, TOP, SIZE);
	EXPECT_EQ(stack_build(u.mem, TOP, SIZE, &info, 1, 2, 3, &sp), -E2BIG);
	info.argv = test_argv;
	info.envp = argv;
	info.envc = 2;
	EXPECT_EQ(stack_build(u.mem, TOP, SIZE, &info, 1, 2, 3, &sp), -E2BIG);
	info.envc = 0;
	info.execfn = big;
	EXPECT_EQ(stack_build(u.mem, TOP, SIZE, &info, 1, 2, 3, &sp), -E2BIG);
	info.execfn = NULL;
	info.platform = big;
	EXPECT_EQ(stack_build(u.mem, TOP, SIZE, &info, 1, 2, 3, &sp), -E2BIG);
	info = test_info();
	info.argc = -1;
	EXPECT_EQ(stack_build(u.mem, TOP, SIZE, &info, 1, 2, 3, &sp), -EINVAL);
	info = test_info();
	info.envc = -1;
	EXPECT_EQ(stack_build(u.mem, TOP, SIZE, &info, 1, 2, 3, &sp), -EINVAL);
	info = test_info();
	EXPECT_EQ(stack_build(u.mem, SIZE - 1, SIZE, &info, 1, 2, 3, &sp), -EINVAL);
	/* The stack may reach down to address 0, not below. */
	EXPECT_EQ(stack_build(u.mem, SIZE, SIZE, &info, 1, 2, 3, &sp), 0);
	EXPECT(sp > 0 && sp < SIZE);
	free(u.mem);
	free(big);
}

/* Many shapes, odd tops and an unaligned host buffer: rsp stays aligned, the walk stays sane. */
TEST(stack_stays_aligned_for_any_shape)
{
	static char strs[8][48];
	const char *args[8];
	struct exec_info info;
	struct start st;
	struct umem u;
	uint8_t *raw = malloc(SIZE + 1);

	srand(99);
	for (int iter = 0; iter < 2000; iter++) {
		uint64_t top = TOP - (uint64_t)(rand() % 32), sp;
		int n = rand() % 8, e = rand() % (8 - n + 1);

		for (int i = 0; i < 8; i++) {
			int len = rand() % 47;

			memset(strs[i], 'a' + i, (size_t)len);
			strs[i][len] = '\0';
			args[i] = strs[i];
		}
		info = test_info();
		info.argc = n;
		info.argv = args;
		info.envc = e;
		info.envp = args + n;
		info.platform = rand() % 2 ? strs[rand() % 8] : NULL;
		info.execfn = rand() % 2 ? strs[rand() % 8] : NULL;
		info.sysinfo_ehdr = (uint64_t)(rand() % 2);
		u = (struct umem){ .mem = raw + 1, .top = top, .size = SIZE };
		EXPECT_EQ(stack_build(u.mem, top, SIZE, &info, 1, 2, 3, &sp), 0);
		EXPECT_EQ(sp % 16, 0);
		start_walk(&u, sp, &st);
		EXPECT_EQ(st.argc, (uint64_t)n);
		EXPECT_EQ(st.envc, e);
		for (int i = 0; i < n + e; i++) {
			uint64_t vec = i < n ? st.argv + i * 8 : st.envp + (i - n) * 8;

			EXPECT(!strcmp(umem_str(&u, umem_word(&u, vec)), args[i]));
		}
		EXPECT(!memcmp(umem_bytes(&u, start_aux(&st, AT_RANDOM), 16), info.random, 16));
		EXPECT(!info.execfn ||
		       !strcmp(umem_str(&u, start_aux(&st, AT_EXECFN)), info.execfn));
		EXPECT(!info.platform ||
		       !strcmp(umem_str(&u, start_aux(&st, AT_PLATFORM)), info.platform));
	}
	free(raw);
}

/* The host's auxv, from /proc/self/auxv; false if unreadable. */
static bool host_auxv(uint64_t (*aux)[2], unsigned int max, unsigned int *n)
{
	FILE *fp = fopen("/proc/self/auxv", "rb");

	*n = 0;
	if (!fp)
		return false;
	while (*n < max && fread(aux[*n], sizeof(aux[0]), 1, fp) == 1)
		if (aux[(*n)++][0] == AT_NULL)
			break;
	fclose(fp);
	return *n > 0;
}

static bool aux_in(uint64_t (*aux)[2], unsigned int n, uint64_t type)
{
	for (unsigned int i = 0; i < n; i++)
		if (aux[i][0] == type)
			return true;
	return false;
}

/* The entries both kernels write come in the same order. */
TEST(stack_auxv_order_matches_host_linux)
{
	struct exec_info info = test_info();
	uint64_t host[64][2], sp;
	unsigned int nhost, i = 0, j = 0, common = 0;
	struct start st;
	struct umem u;

	if (!host_auxv(host, 64, &nhost)) {
		printf("  (no /proc/self/auxv: not checked)\n");
		return;
	}
	umem_new(&u, TOP, SIZE);
	EXPECT_EQ(stack_build(u.mem, TOP, SIZE, &info, 1, 2, 3, &sp), 0);
	start_walk(&u, sp, &st);
	for (;;) {
		while (i < st.nauxv && !aux_in(host, nhost, st.aux[i][0]))
			i++;
		while (j < nhost && !aux_in(st.aux, st.nauxv, host[j][0]))
			j++;
		if (i == st.nauxv || j == nhost)
			break;
		EXPECT_EQ(st.aux[i][0], host[j][0]);
		i++;
		j++;
		common++;
	}
	EXPECT(i == st.nauxv && j == nhost);
	EXPECT(common >= 15);
	free(u.mem);
}

/*
 * elf_parse() and stack_build() together describe this very process as
 * Linux did: its AT_PHDR, AT_PHNUM and AT_ENTRY are the parsed values plus
 * the load bias Linux chose.
 */
TEST(stack_describes_this_process_like_linux)
{
	uint64_t host[64][2], sp, bias, want_phdr = 0, want_entry = 0, want_phnum = 0;
	unsigned int nhost;
	struct exec_info info = test_info();
	struct elf_image img;
	static uint8_t head[4096];
	char msg[160];
	struct start st;
	struct umem u;
	size_t len;
	long size;
	FILE *fp;

	fp = fopen("/proc/self/exe", "rb");
	if (!fp || !host_auxv(host, 64, &nhost)) {
		printf("  (no /proc/self/exe or auxv: not checked)\n");
		if (fp)
			fclose(fp);
		return;
	}
	len = fread(head, 1, sizeof(head), fp);
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	fclose(fp);
	EXPECT_EQ(elf_parse(head, len, (uint64_t)size, &img, msg, sizeof(msg)), 0);
	for (unsigned int i = 0; i < nhost; i++) {
		if (host[i][0] == AT_PHDR)
			want_phdr = host[i][1];
		if (host[i][0] == AT_ENTRY)
			want_entry = host[i][1];
		if (host[i][0] == AT_PHNUM)
			want_phnum = host[i][1];
	}
	bias = want_entry - img.entry;
	EXPECT_EQ(bias % PAGE_SIZE, 0);
	EXPECT_EQ(img.phdr_vaddr + bias, want_phdr);
	EXPECT_EQ(img.phnum, want_phnum);
	umem_new(&u, TOP, SIZE);
	EXPECT_EQ(stack_build(u.mem, TOP, SIZE, &info, img.entry + bias, img.phdr_vaddr + bias,
			      img.phnum, &sp), 0);
	start_walk(&u, sp, &st);
	EXPECT_EQ(start_aux(&st, AT_PHDR), want_phdr);
	EXPECT_EQ(start_aux(&st, AT_ENTRY), want_entry);
	EXPECT_EQ(start_aux(&st, AT_PHNUM), want_phnum);
	free(u.mem);
}
