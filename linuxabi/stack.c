// SPDX-License-Identifier: MIT
/*
 * The initial process stack (linuxabi/stack.h). stack_build() first lays the
 * stack out from the top down with a cursor that refuses to pass below
 * top - size, and writes only once everything fits. The layout and the auxv
 * order are Linux's, so C runtimes and programs that poke at their own
 * stack (AT_EXECFN, argv[0] right below envp[0]'s string) see what they
 * would see on Linux.
 */
#include <linux/auxvec.h>
#include <linux/elf.h>
#include <kernel/string.h>
#include <linuxabi/stack.h>

/* Allocation from the top of the stack down to low. */
struct stack_cursor {
	uint64_t low;		/* top - size: nothing goes below */
	uint64_t p;		/* lowest address allocated so far */
	bool full;		/* an allocation did not fit */
};

struct stack_auxv {
	uint64_t ent[STACK_AUXV_MAX][2];
	unsigned int n;
};

/* User addresses of the pieces, from the top down. */
struct stack_layout {
	uint64_t execfn, strings, platform, random, auxv, sp;
};

/* Reserve len bytes below the cursor; returns their address. */
static uint64_t stack_alloc(struct stack_cursor *c, uint64_t len)
{
	if (c->full || len > c->p - c->low) {
		c->full = true;
		return c->low;
	}
	c->p -= len;
	return c->p;
}

static void stack_align(struct stack_cursor *c, uint64_t align)
{
	uint64_t p = ALIGN_DOWN(c->p, align);

	if (p < c->low)
		c->full = true;
	else
		c->p = p;
}

/* Room for a string and its NUL, or the address 0 for no string. */
static uint64_t stack_alloc_str(struct stack_cursor *c, const char *s)
{
	return s ? stack_alloc(c, (uint64_t)strlen(s) + 1) : 0;
}

static void stack_auxv_add(struct stack_auxv *v, uint64_t type, uint64_t val)
{
	v->ent[v->n][0] = type;
	v->ent[v->n][1] = val;
	v->n++;
}

/* The auxiliary vector, in the order Linux writes it. */
static void stack_fill_auxv(struct stack_auxv *v, const struct exec_info *info,
			    const struct stack_layout *l, uint64_t entry, uint64_t phdr,
			    unsigned int phnum)
{
	v->n = 0;
	if (info->sysinfo_ehdr)
		stack_auxv_add(v, AT_SYSINFO_EHDR, info->sysinfo_ehdr);
	stack_auxv_add(v, AT_MINSIGSTKSZ, info->minsigstksz);
	stack_auxv_add(v, AT_HWCAP, info->hwcap);
	stack_auxv_add(v, AT_PAGESZ, info->pagesz);
	stack_auxv_add(v, AT_CLKTCK, info->clktck);
	stack_auxv_add(v, AT_PHDR, phdr);
	stack_auxv_add(v, AT_PHENT, sizeof(Elf64_Phdr));
	stack_auxv_add(v, AT_PHNUM, phnum);
	stack_auxv_add(v, AT_BASE, info->base);
	stack_auxv_add(v, AT_FLAGS, 0);
	stack_auxv_add(v, AT_ENTRY, entry);
	stack_auxv_add(v, AT_UID, info->uid);
	stack_auxv_add(v, AT_EUID, info->euid);
	stack_auxv_add(v, AT_GID, info->gid);
	stack_auxv_add(v, AT_EGID, info->egid);
	stack_auxv_add(v, AT_SECURE, info->secure);
	stack_auxv_add(v, AT_RANDOM, l->random);
	stack_auxv_add(v, AT_HWCAP2, info->hwcap2);
	if (info->execfn)
		stack_auxv_add(v, AT_EXECFN, l->execfn);
	if (info->platform)
		stack_auxv_add(v, AT_PLATFORM, l->platform);
	stack_auxv_add(v, AT_NULL, 0);
}

/*
 * Lay the stack out below top (see stack.h) and fill in the auxv, whose
 * values need the layout. Returns false if it does not fit.
 */
static bool stack_plan(struct stack_cursor *c, const struct exec_info *info,
		       struct stack_layout *l, struct stack_auxv *v,
		       uint64_t entry, uint64_t phdr, unsigned int phnum)
{
	/* argc, argv[] and NULL, envp[] and NULL */
	uint64_t vec_words = (uint64_t)info->argc + 1 + (uint64_t)info->envc + 1 + 1;

	stack_alloc(c, sizeof(uint64_t));	/* the zero word at the very top */
	l->execfn = stack_alloc_str(c, info->execfn);
	for (int i = info->envc - 1; i >= 0; i--)
		stack_alloc_str(c, info->envp[i]);
	for (int i = info->argc - 1; i >= 0; i--)
		stack_alloc_str(c, info->argv[i]);
	l->strings = c->p;
	stack_align(c, 16);
	l->platform = stack_alloc_str(c, info->platform);
	l->random = stack_alloc(c, sizeof(info->random));
	stack_fill_auxv(v, info, l, entry, phdr, phnum);
	/* Like Linux: the auxv ends at most at the random bytes, argc is aligned. */
	stack_alloc(c, (2ull * v->n + vec_words) * sizeof(uint64_t));
	stack_align(c, 16);
	l->sp = c->p;
	l->auxv = l->sp + vec_words * sizeof(uint64_t);
	return !c->full;
}

static void stack_put(uint8_t *mem, uint64_t low, uint64_t addr, const void *src, size_t len)
{
	memcpy(mem + (addr - low), src, len);
}

static void stack_put_word(uint8_t *mem, uint64_t low, uint64_t addr, uint64_t val)
{
	stack_put(mem, low, addr, &val, sizeof(val));
}

/*
 * Copy n strings to str and their addresses to the pointer array at vec,
 * which ends with NULL. Returns where the next string goes.
 */
static uint64_t stack_put_strings(uint8_t *mem, uint64_t low, uint64_t vec, uint64_t str,
				  const char *const *s, int n)
{
	for (int i = 0; i < n; i++) {
		size_t len = strlen(s[i]) + 1;

		stack_put_word(mem, low, vec + (uint64_t)i * 8, str);
		stack_put(mem, low, str, s[i], len);
		str += len;
	}
	stack_put_word(mem, low, vec + (uint64_t)n * 8, 0);
	return str;
}

int stack_build(void *mem, uint64_t top, size_t size, const struct exec_info *info,
		uint64_t entry, uint64_t phdr, unsigned int phnum, uint64_t *sp)
{
	struct stack_cursor c = { .low = top - size, .p = top };
	struct stack_layout l;
	struct stack_auxv v;
	uint64_t argv, envp, str;
	uint8_t *m = mem;

	if (info->argc < 0 || info->envc < 0 || size > top)
		return -EINVAL;
	if (!stack_plan(&c, info, &l, &v, entry, phdr, phnum))
		return -E2BIG;
	memset(m + (l.sp - c.low), 0, top - l.sp);
	stack_put_word(m, c.low, l.sp, (uint64_t)info->argc);
	argv = l.sp + 8;
	envp = argv + ((uint64_t)info->argc + 1) * 8;
	str = stack_put_strings(m, c.low, argv, l.strings, info->argv, info->argc);
	stack_put_strings(m, c.low, envp, str, info->envp, info->envc);
	stack_put(m, c.low, l.auxv, v.ent, v.n * sizeof(v.ent[0]));
	stack_put(m, c.low, l.random, info->random, sizeof(info->random));
	if (info->platform)
		stack_put(m, c.low, l.platform, info->platform, strlen(info->platform) + 1);
	if (info->execfn)
		stack_put(m, c.low, l.execfn, info->execfn, strlen(info->execfn) + 1);
	*sp = l.sp;
	return 0;
}
