// SPDX-License-Identifier: MIT
/*
 * exec: load the program the shadow opened (crtos_exec_request) into the
 * process. The kernel trusts no byte of the file or of the request: the
 * ELF headers are read through the channel's bounce buffer and checked by
 * elf_parse(); segment data is read by the shadow straight into the mapped
 * pages (it maps them at the same addresses), with their final protection
 * applied afterwards; argv, envp and auxv are checked and copied before the
 * initial stack is built.
 *
 * A dynamically linked program names its interpreter (PT_INTERP, ld.so):
 * the shadow opens it, the kernel loads it the same way at the top of the
 * mmap area, and the program starts in it, with AT_BASE telling it where it
 * is and AT_ENTRY, AT_PHDR where the program is, as Linux does. ld.so then
 * maps the libraries itself, through ordinary system calls.
 *
 * execve: the kernel copies path, argv and envp into the channel, the
 * shadow opens the file (following `#!` lines) and fills in the request,
 * the kernel reads and checks the headers; only then (the point of no
 * return) does the old image go, in both realms, with the signal handlers,
 * POSIX timers and the alternate stack. An error before that point is the
 * caller's to handle, as in Linux; after it, the process dies of SIGSEGV.
 */
#include <kernel/kmem.h>
#include <kernel/printk.h>
#include <kernel/string.h>
#include <linuxabi/elf.h>
#include <linuxabi/handlers.h>
#include <linuxabi/linux.h>
#include <linuxabi/rtfd.h>
#include <linuxabi/stack.h>
#include <asm/unistd_64.h>
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/signal.h>

#define LX_ET_DYN_BASE		0x0000555555554000ull	/* Linux's ELF_ET_DYN_BASE, without ASLR */
#define LX_STACK_TOP		0x00007effff000000ull
#define LX_VDSO_BASE		0x00007efffff00000ull	/* above the stack, below the kernel */
#define LX_STACK_DEFAULT	(8ull << 20)
#define LX_STACK_MAX		(64ull << 20)
#define LX_ARGS_MAX		4096		/* argv + envp entries */
#define LX_STACK_BUILD		(CRTOS_EXEC_STRINGS + 64 * 1024)

/* An ELF file to load: the program, or its interpreter. */
struct exec_file {
	int fd;				/* open in the shadow */
	uint64_t size;
	struct elf_image img;
	uint64_t bias;			/* load address - link address */
};

struct exec_ctx {
	struct lx_process *p;
	struct crtos_exec_request req;	/* a copy: the shadow could change the original */
	char *strings;			/* a copy of the strings area */
	const char **argv, **envp;
	struct exec_file prog;
	struct exec_file interp;	/* fd -1: none (a static program) */
	bool replace;			/* execve: an old image goes first */
	const char *exe;		/* the canonical path, for /proc/self/exe */
	char *why;
	size_t whylen;
};

static int exec_fail(struct exec_ctx *x, int err, const char *what)
{
	strlcpy(x->why, what, x->whylen);
	return err;
}

/* Split the strings area into path, exe, argv[] and envp[], checking every bound. */
static int exec_parse_strings(struct exec_ctx *x)
{
	uint32_t size = x->req.strings_size, want = x->req.argc + x->req.envc + 2, n = 0;
	const uint8_t *area = (const uint8_t *)x->p->chan + CRTOS_CHANNEL_STRINGS;

	if (size > CRTOS_EXEC_STRINGS || !size || x->req.argc + x->req.envc > LX_ARGS_MAX)
		return exec_fail(x, -E2BIG, "argument list too long");
	x->strings = kmalloc(size);
	x->argv = kmalloc((x->req.argc + 1) * sizeof(char *));
	x->envp = kmalloc((x->req.envc + 1) * sizeof(char *));
	if (!x->strings || !x->argv || !x->envp)
		return exec_fail(x, -ENOMEM, "out of memory");
	memcpy(x->strings, area, size);
	if (x->strings[size - 1] != '\0')
		return exec_fail(x, -EINVAL, "malformed exec request");
	for (uint32_t off = 0; off < size; off += (uint32_t)strlen(x->strings + off) + 1, n++) {
		if (n == 1)
			x->exe = x->strings + off;
		else if (n >= 2 && n < 2 + x->req.argc)
			x->argv[n - 2] = x->strings + off;
		else if (n >= 2 + x->req.argc && n < want)
			x->envp[n - 2 - x->req.argc] = x->strings + off;
	}
	if (n != want)
		return exec_fail(x, -EINVAL, "malformed exec request");
	x->argv[x->req.argc] = NULL;
	x->envp[x->req.envc] = NULL;
	/* As across execve: ignored signals stay ignored, everything else is default. */
	for (int sig = 1; sig < 32 && !x->replace; sig++)
		x->p->sigactions[sig].handler = (x->req.ignored_signals >> sig) & 1;
	return 0;
}

/* pread the file f into user memory (uaddr) or the bounce buffer, all of len. */
static long exec_pread(const struct exec_file *f, uint64_t uaddr, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		long n = rcall(__NR_pread64, (uint64_t)f->fd, uaddr + done, len - done, off + done,
			       0, 0);

		if (n <= 0)
			return n < 0 ? n : -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* The channel's bounce buffer: the kernel's view, and where the shadow sees it. */
static uint8_t *bounce(const struct exec_ctx *x)
{
	return (uint8_t *)x->p->chan + CRTOS_CHANNEL_BOUNCE;
}

static uint64_t bounce_in_shadow(const struct exec_ctx *x)
{
	return x->p->chan->shadow_va + CRTOS_CHANNEL_BOUNCE;
}

/* Read and check f's ELF headers into f->img. what names it in messages. */
static int exec_read_elf(struct exec_ctx *x, struct exec_file *f, const char *what)
{
	size_t len = MIN(CRTOS_BOUNCE_SIZE, f->size);
	uint8_t *buf = kmalloc(CRTOS_BOUNCE_SIZE);
	char msg[160], why[200];
	long err;

	if (!buf)
		return exec_fail(x, -ENOMEM, "out of memory");
	err = exec_pread(f, bounce_in_shadow(x), len, 0);
	if (err) {
		kfree(buf);
		snprintf(why, sizeof(why), "cannot read %s", what);
		return exec_fail(x, (int)err, why);
	}
	memcpy(buf, bounce(x), len);
	err = elf_parse(buf, len, f->size, &f->img, msg, sizeof(msg));
	kfree(buf);
	if (err) {
		snprintf(why, sizeof(why), "%s%s", f == &x->interp ? "its interpreter: " : "", msg);
		return exec_fail(x, (int)err, why);
	}
	return 0;
}

static int exec_read_headers(struct exec_ctx *x)
{
	int err = exec_read_elf(x, &x->prog, "the program file");

	if (err)
		return err;
	if (elf_load_bias(&x->prog.img, LX_ET_DYN_BASE, &x->prog.bias) ||
	    !user_range_ok(x->prog.img.lo + x->prog.bias, x->prog.img.hi - x->prog.img.lo) ||
	    x->prog.img.hi + x->prog.bias > LX_MMAP_TOP)
		return exec_fail(x, -ENOEXEC, "the program's address range is not available");
	return 0;
}

/*
 * The program names an interpreter: have the shadow open it (the path goes
 * through the bounce buffer), and read its headers. It must be an ET_DYN
 * file without an interpreter of its own, as Linux requires.
 */
static int exec_open_interp(struct exec_ctx *x)
{
	const struct elf_image *img = &x->prog.img;
	char path[ELF_MAX_INTERP + 1];
	long err, fd, size;

	if (!img->has_interp)
		return 0;
	err = exec_pread(&x->prog, bounce_in_shadow(x), img->interp_size, img->interp_offset);
	if (err)
		return exec_fail(x, (int)err, "cannot read the program file");
	memcpy(path, bounce(x), img->interp_size);
	/* As Linux: the field must end in NUL; the path is what comes before the first one. */
	if (path[img->interp_size - 1] != '\0')
		return exec_fail(x, -ENOEXEC, "its PT_INTERP is not a path");
	fd = rcall(__NR_openat, (uint64_t)AT_FDCWD, bounce_in_shadow(x), O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0) {
		char why[ELF_MAX_INTERP + 64];

		snprintf(why, sizeof(why), "cannot open its interpreter %s", path);
		return exec_fail(x, (int)fd, why);
	}
	x->interp.fd = (int)fd;
	size = rcall(__NR_lseek, (uint64_t)fd, 0, SEEK_END, 0, 0, 0);
	if (size < 0)
		return exec_fail(x, (int)size, "cannot read its interpreter");
	x->interp.size = (uint64_t)size;
	err = exec_read_elf(x, &x->interp, "its interpreter");
	if (err)
		return err;
	if (x->interp.img.type != ET_DYN || x->interp.img.has_interp)
		return exec_fail(x, -ELIBBAD, "its interpreter is not a shared object");
	return 0;
}

/* Protection of the page at va of f: every segment that covers part of it. */
static unsigned int exec_page_prot(const struct exec_file *f, vaddr_t va)
{
	unsigned int prot = 0;

	for (unsigned int i = 0; i < f->img.nsegs; i++) {
		const struct elf_segment *s = &f->img.segs[i];
		vaddr_t lo = ALIGN_DOWN(s->vaddr + f->bias, PAGE_SIZE);
		vaddr_t hi = ALIGN_UP(s->vaddr + f->bias + s->memsz, PAGE_SIZE);

		if (va >= lo && va < hi)
			prot |= s->prot;
	}
	return prot;
}

/* Whether a segment of f covers part of the page at va. */
static bool exec_page_covered(const struct exec_file *f, vaddr_t va)
{
	for (unsigned int i = 0; i < f->img.nsegs; i++) {
		const struct elf_segment *s = &f->img.segs[i];

		if (va >= ALIGN_DOWN(s->vaddr + f->bias, PAGE_SIZE) &&
		    va < ALIGN_UP(s->vaddr + f->bias + s->memsz, PAGE_SIZE))
			return true;
	}
	return false;
}

/*
 * Read f's segments into their pages, mapped writable, then set the final
 * protections: pages between segments become PROT_NONE if span_mapped
 * (the interpreter's whole span is one mapping), else they are not mapped.
 */
static int exec_fill_segments(struct exec_ctx *x, const struct exec_file *f, bool span_mapped)
{
	vaddr_t start = ALIGN_DOWN(f->img.lo + f->bias, PAGE_SIZE), end_all = f->img.hi + f->bias;
	long err;

	for (unsigned int i = 0; i < f->img.nsegs; i++) {
		const struct elf_segment *s = &f->img.segs[i];

		err = exec_pread(f, s->vaddr + f->bias, s->filesz, s->offset);
		if (err)
			return exec_fail(x, (int)err, "cannot read the program file");
	}
	/* One call (and one shadow operation) per run of pages with the same protection. */
	for (vaddr_t va = start, end; va < end_all; va = end) {
		unsigned int prot = exec_page_prot(f, va);
		bool covered = exec_page_covered(f, va);

		for (end = va + PAGE_SIZE; end < end_all && exec_page_prot(f, end) == prot &&
		     exec_page_covered(f, end) == covered; end += PAGE_SIZE)
			;
		if (!covered && !span_mapped)
			continue;
		err = lx_mprotect(va, end - va, prot);
		if (err)
			return exec_fail(x, (int)err, "cannot protect the program's pages");
	}
	return 0;
}

/* The program: each segment's pages at its address (gaps between segments stay unmapped). */
static int exec_load_program(struct exec_ctx *x)
{
	const struct exec_file *f = &x->prog;
	vaddr_t mapped_to = 0, got;
	long err;

	for (unsigned int i = 0; i < f->img.nsegs; i++) {
		const struct elf_segment *s = &f->img.segs[i];
		vaddr_t lo = MAX(ALIGN_DOWN(s->vaddr + f->bias, PAGE_SIZE), mapped_to);
		vaddr_t hi = ALIGN_UP(s->vaddr + f->bias + s->memsz, PAGE_SIZE);

		if (hi > lo) {
			err = lx_mmap_anon(lo, hi - lo, MAP_READ | MAP_WRITE, true, &got);
			if (err)
				return exec_fail(x, (int)err, "not enough memory for the program");
			mapped_to = hi;
		}
	}
	x->p->brk_start = x->p->brk = mapped_to;
	return exec_fill_segments(x, f, false);
}

/* The interpreter: its whole span at the top of the free mmap area, like Linux's mmap base. */
static int exec_load_interp(struct exec_ctx *x)
{
	struct exec_file *f = &x->interp;
	vaddr_t got;
	long err;

	if (f->fd < 0)
		return 0;
	err = lx_mmap_anon(0, f->img.hi - f->img.lo, MAP_READ | MAP_WRITE, false, &got);
	if (err)
		return exec_fail(x, (int)err, "not enough memory for its interpreter");
	f->bias = got - f->img.lo;
	return exec_fill_segments(x, f, true);
}

extern const char vdso_image_start[], vdso_image_end[];

/*
 * The vDSO (vdso/) at LX_VDSO_BASE and the clock page it reads one page
 * below, as Linux maps its vvar page below the vDSO.
 */
static int exec_map_vdso(struct exec_ctx *x)
{
	paddr_t image = arch_virt_to_phys(vdso_image_start);
	size_t size = (size_t)(vdso_image_end - vdso_image_start);
	long err;

	err = lx_map_kernel_pages(LX_VDSO_BASE - PAGE_SIZE, CRTOS_GPA_CLOCK, PAGE_SIZE, MAP_READ);
	err = err ?: lx_map_kernel_pages(LX_VDSO_BASE, image, size, MAP_READ | MAP_EXEC);
	return err ? exec_fail(x, (int)err, "cannot map the vDSO") : 0;
}

static int exec_build_stack(struct exec_ctx *x, uint64_t *sp)
{
	uint64_t size = x->req.stack_limit ? x->req.stack_limit : LX_STACK_DEFAULT;
	struct exec_info info = {
		.argc = (int)x->req.argc, .argv = x->argv, .envc = (int)x->req.envc, .envp = x->envp,
		.execfn = x->strings, .platform = x->req.platform,
		.uid = x->req.uid, .euid = x->req.euid, .gid = x->req.gid, .egid = x->req.egid,
		.secure = x->req.secure, .hwcap = x->req.hwcap, .hwcap2 = x->req.hwcap2,
		.clktck = x->req.clktck, .minsigstksz = x->req.minsigstksz, .pagesz = PAGE_SIZE,
		.sysinfo_ehdr = LX_VDSO_BASE,
		.base = x->interp.fd >= 0 ? x->interp.bias + x->interp.img.lo : 0,
	};
	uint8_t *buf;
	vaddr_t got;
	long err;

	memcpy(info.random, x->req.random, sizeof(info.random));
	x->req.platform[sizeof(x->req.platform) - 1] = '\0';
	size = ALIGN_UP(MIN(MAX(size, (uint64_t)LX_STACK_BUILD), LX_STACK_MAX), PAGE_SIZE);
	/* PT_GNU_STACK decides whether the stack is executable, as in Linux. */
	err = lx_mmap_anon(LX_STACK_TOP - size, size,
			   MAP_READ | MAP_WRITE | (x->prog.img.exec_stack ? MAP_EXEC : 0), true, &got);
	if (err)
		return exec_fail(x, (int)err, "not enough memory for the stack");
	buf = kmalloc(LX_STACK_BUILD);
	if (!buf)
		return exec_fail(x, -ENOMEM, "out of memory");
	err = stack_build(buf, LX_STACK_TOP, LX_STACK_BUILD, &info, x->prog.img.entry + x->prog.bias,
			  x->prog.img.phdr_vaddr ? x->prog.img.phdr_vaddr + x->prog.bias : 0,
			  x->prog.img.phnum, sp);
	/* Only [sp, top): the buffer below sp holds whatever the heap had. */
	if (!err)
		err = copy_to_user(*sp, buf + (*sp - (LX_STACK_TOP - LX_STACK_BUILD)),
				   LX_STACK_TOP - *sp);
	kfree(buf);
	return err ? exec_fail(x, (int)err, "argument list too long") : 0;
}

/*
 * The point of no return of execve: the old image goes. Handlers become
 * SIG_DFL (SIG_IGN stays), POSIX timers and the alternate stack end, the
 * thread's TLS, robust list and clear_child_tid are forgotten. The caller
 * is the only thread.
 */
static int exec_flush_old(struct exec_ctx *x)
{
	struct lx_thread *lt = lx_current();
	unsigned long flags;

	/* A vfork child leaves its parent's memory: the shadow's mirror of it, the page tables. */
	if (x->p->vfork_mm && rcall(CRTOS_SHADOW_UNMAP, 0, LX_USER_TOP, 0, 0, 0, 0))
		return exec_fail(x, -ENOMEM, "cannot unmap the parent's memory");
	flags = arch_irq_save();
	if (x->p->vfork_mm) {
		x->p->vfork_mm = NULL;
		sched_set_aspace(lt->t, &x->p->as);
	}

	for (int sig = 1; sig <= LX_NSIG; sig++) {
		struct lx_sigaction *sa = &x->p->sigactions[sig];

		*sa = (struct lx_sigaction){ .handler = sa->handler == 1 };
	}
	lx_ptimers_destroy(x->p);
	x->p->membarrier_registered = 0;
	lt->altstack = (struct lx_altstack){ .flags = SS_DISABLE };
	lt->robust_list = 0;
	lt->clear_child_tid = 0;
	arch_irq_restore(flags);
	arch_thread_set_tls(&lt->t->arch, 0, true);
	arch_thread_set_gs(&lt->t->arch, 0, true);
	return (int)lx_mm_unmap_all() ? exec_fail(x, -ENOMEM, "cannot unmap the old image") : 0;
}

/*
 * Load the program of p's exec request into p (the current thread's
 * process: empty, or with replace its old image goes once the new file
 * checks out, and *committed says so). Returns 0 with the entry point and
 * initial stack pointer, or -errno with the reason in why.
 */
int lx_exec(struct lx_process *p, bool replace, bool *committed, uint64_t *entry, uint64_t *sp,
	    char *why, size_t whylen)
{
	struct exec_ctx x = { .p = p, .why = why, .whylen = whylen, .replace = replace };
	int err;

	memcpy(&x.req, &p->chan->exec, sizeof(x.req));
	x.prog.fd = x.req.fd;
	x.prog.size = x.req.file_size;
	x.interp.fd = -1;
	err = exec_parse_strings(&x);
	err = err ?: exec_read_headers(&x);
	err = err ?: exec_open_interp(&x);
	if (!err && replace) {
		*committed = true;
		err = exec_flush_old(&x);
	}
	if (!err)
		strlcpy(p->exe, x.exe, sizeof(p->exe));
	err = err ?: exec_load_program(&x);
	err = err ?: exec_load_interp(&x);
	err = err ?: exec_map_vdso(&x);
	err = err ?: exec_build_stack(&x, sp);
	if (x.interp.fd >= 0) {
		rcall(__NR_close, (uint64_t)x.interp.fd, 0, 0, 0, 0, 0);
		*entry = x.interp.img.entry + x.interp.bias;
	} else {
		*entry = x.prog.img.entry + x.prog.bias;
	}
	kfree(x.strings);
	kfree(x.argv);
	kfree(x.envp);
	return err;
}

/* Copy the user string at uaddr to *at in the strings area (of size end). */
static long exec_stage_string(char *area, size_t *at, uint64_t uaddr)
{
	long n = strncpy_from_user(area + *at, uaddr, CRTOS_EXEC_STRINGS - *at);

	if (n < 0)
		return n;
	if ((size_t)n >= CRTOS_EXEC_STRINGS - *at)
		return -E2BIG;
	*at += (size_t)n + 1;
	return 0;
}

/* Copy a NULL-terminated user array of strings (NULL: none); *count gets its length. */
static long exec_stage_array(char *area, size_t *at, uint64_t uarray, uint32_t *count)
{
	uint64_t ptr;
	long err;

	for (*count = 0; uarray; (*count)++) {
		if (*count >= LX_ARGS_MAX)
			return -E2BIG;
		if (copy_from_user(&ptr, uarray + *count * sizeof(ptr), sizeof(ptr)))
			return -EFAULT;
		if (!ptr)
			break;
		err = exec_stage_string(area, at, ptr);
		if (err)
			return err;
	}
	return 0;
}

/*
 * The strings area as CRTOS_SHADOW_EXEC_PREPARE expects it: path, argv[],
 * envp[]. /proc/self/exe is the program, not the shadow (busybox re-execs
 * itself that way): its path goes instead.
 */
static long exec_stage(struct lx_process *p, uint64_t path, uint64_t argv, uint64_t envp)
{
	char *area = (char *)p->chan + CRTOS_CHANNEL_STRINGS;
	size_t at = 0;
	uint32_t argc, envc;
	long err = exec_stage_string(area, &at, path);

	if (!err && !strcmp(area, "/proc/self/exe")) {
		at = strlcpy(area, p->exe, CRTOS_EXEC_STRINGS) + 1;
		if (at > sizeof(p->exe))
			return -ENAMETOOLONG;
	}

	err = err ?: exec_stage_array(area, &at, argv, &argc);
	err = err ?: exec_stage_array(area, &at, envp, &envc);
	if (err)
		return err;
	p->chan->exec.argc = argc;
	p->chan->exec.envc = envc;
	p->chan->exec.strings_size = (uint32_t)at;
	return 0;
}

/*
 * execveat(dirfd, path, argv, envp, flags) in both realms. Returns -errno
 * as Linux would, or enters the new program. Only a process's single
 * thread may exec for now.
 */
static long lx_execve(uint64_t dirfd, uint64_t path, uint64_t argv, uint64_t envp, uint64_t flags)
{
	struct lx_thread *lt = lx_current();
	struct lx_process *p = lt->proc;
	bool committed = false;
	uint64_t entry, sp;
	char why[200];
	long err;

	if (p->nr_threads > 1) {
		pr_info("process %d: execve with %d threads is not supported in the RT realm yet\n",
			p->pid, p->nr_threads);
		return -EAGAIN;
	}
	err = exec_stage(p, path, argv, envp);
	err = err ?: lx_rcall_restartable(CRTOS_SHADOW_EXEC_PREPARE, (const uint64_t[6]){ dirfd, flags });
	if (err)
		return err;
	err = lx_exec(p, true, &committed, &entry, &sp, why, sizeof(why));
	rcall(CRTOS_SHADOW_EXEC_DONE, err ? 0 : 2, 0, 0, 0, 0, 0);
	if (err && !committed)
		return err;
	if (err) {
		pr_info("process %d: execve failed after the old image was gone: %s\n", p->pid, why);
		lx_process_exit(CRTOS_EXIT_SIGNAL, SIGSEGV);
	}
	lx_rtfd_prune(p);	/* the close-on-exec RT fds */
	lx_sigchld_sync(p);	/* a handler's SA_NOCLDWAIT is gone */
	lx_vfork_release(p);
	lt->syscall_nr = -1;
	arch_enter_user(entry, sp);
}

long sys_execve(const uint64_t *a)
{
	return lx_execve((uint64_t)(int64_t)AT_FDCWD, a[0], a[1], a[2], 0);
}

long sys_execveat(const uint64_t *a)
{
	return lx_execve(a[0], a[1], a[2], a[3], a[4]);
}
