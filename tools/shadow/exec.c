// SPDX-License-Identifier: MIT
/*
 * What a program runs, decided in Linux: the shadow opens the file as
 * execve would (with the shadow's cwd, credentials and permissions), follows
 * `#!` lines to their interpreter as Linux's binfmt_script does, and fills
 * the channel's exec request; the kernel then checks and loads the ELF
 * file. The same path serves `crtos run` (the first program) and every
 * execve the program makes. After an execve the shadow closes the fds
 * marked close-on-exec, its own excepted.
 *
 * Nothing here may allocate from the C library's heap: musl's malloc
 * grows a brk heap, which Linux puts where programs live (the buffers are
 * static: one exec at a time, by the process's only thread).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "shadow.h"

#define EXEC_STACK_DEFAULT	(8ull << 20)
#define EXEC_MAX_DEPTH		4	/* `#!` interpreters that are scripts themselves (Linux: 4) */
#define EXEC_LINE_MAX		256	/* a `#!` line's bytes that count (Linux's BINPRM_BUF_SIZE) */
#define EXEC_ARGS_MAX		4096	/* argv + envp entries, as the kernel allows */

/* The file to load, and the `#!` lines that led to it. */
struct exec_plan {
	int fd;
	int depth;			/* `#!` levels followed */
	struct {
		const char *script;	/* the file that had the line */
		char *interp, *arg;	/* arg may be NULL */
		char line[EXEC_LINE_MAX + 1];
	} level[EXEC_MAX_DEPTH];
};

/*
 * Parse a `#!` line in buf (n bytes) into interpreter and optional
 * argument, as Linux does: blanks around, the argument is the rest of the
 * line. 0, or -ENOEXEC when no interpreter is named.
 */
static int exec_parse_shebang(char *buf, ssize_t n, char **interp, char **arg)
{
	char *p, *end;

	buf[n] = '\0';
	end = strchr(buf, '\n');
	if (end)
		*end = '\0';
	for (p = buf + 2; *p == ' ' || *p == '\t'; p++)
		;
	if (!*p)
		return -ENOEXEC;
	*interp = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	*arg = NULL;
	if (*p) {
		*p++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		for (end = p + strlen(p); end > p && (end[-1] == ' ' || end[-1] == '\t'); end--)
			end[-1] = '\0';
		*arg = *p ? p : NULL;
	}
	return 0;
}

/* Open path (relative to dirfd) as execve would: a regular file we may execute. fd or -errno. */
static int exec_open_one(int dirfd, const char *path, int atflags)
{
	struct stat st;
	int fd;

	if (!*path && (atflags & AT_EMPTY_PATH))
		fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	else if (!*path)
		return -ENOENT;
	else
		fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC |
			    (atflags & AT_SYMLINK_NOFOLLOW ? O_NOFOLLOW : 0));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (*path && faccessat(dirfd, path, X_OK, 0)) || (!*path && !(st.st_mode & 0111))) {
		close(fd);
		return -EACCES;
	}
	return fd;
}

/*
 * Open what execve(path) runs into pl: an ELF file, through up to
 * EXEC_MAX_DEPTH `#!` lines. 0 or -errno (ENOEXEC: neither ELF nor `#!`).
 */
static int exec_open(int dirfd, const char *path, int atflags, struct exec_plan *pl)
{
	const char *cur = path;
	char head[4];

	for (pl->depth = 0;; pl->depth++) {
		int fd = exec_open_one(dirfd, cur, atflags);
		char *line;
		ssize_t n;

		if (fd < 0)
			return fd;
		n = pread(fd, head, sizeof(head), 0);
		if (n == 4 && !memcmp(head, "\177ELF", 4)) {
			pl->fd = fd;
			return 0;
		}
		if (n < 2 || head[0] != '#' || head[1] != '!' || pl->depth == EXEC_MAX_DEPTH) {
			close(fd);
			return pl->depth == EXEC_MAX_DEPTH && n >= 2 && head[0] == '#' ? -ELOOP : -ENOEXEC;
		}
		line = pl->level[pl->depth].line;
		n = pread(fd, line, EXEC_LINE_MAX, 0);
		close(fd);
		if (n < 2 || exec_parse_shebang(line, n, &pl->level[pl->depth].interp,
						 &pl->level[pl->depth].arg))
			return -ENOEXEC;
		pl->level[pl->depth].script = cur;
		cur = pl->level[pl->depth].interp;
		dirfd = AT_FDCWD;
		atflags = 0;
	}
}

/*
 * argv as Linux's binfmt_script makes it, level by level: argv[0] goes,
 * "interp [arg] script" comes first. A static array; NULL: too many.
 */
static const char **exec_build_argv(const struct exec_plan *pl, char **argv, int *argc)
{
	static const char *out[EXEC_ARGS_MAX + 3 * EXEC_MAX_DEPTH + 1];
	int n = *argc;

	if (n > EXEC_ARGS_MAX)
		return NULL;
	for (int i = 0; i < n; i++)
		out[i] = argv[i];
	for (int l = 0; l < pl->depth; l++) {
		const char *head[3] = { pl->level[l].interp, pl->level[l].arg, pl->level[l].script };
		int add = pl->level[l].arg ? 3 : 2, drop = n > 0;

		memmove(out + add, out + drop, sizeof(char *) * (size_t)(n - drop));
		out[0] = head[0];
		out[add - 1] = head[2];
		if (add == 3)
			out[1] = head[1];
		n += add - drop;
	}
	*argc = n;
	return out;
}

static int put_string(const char *s, size_t *used)
{
	char *area = (char *)sh.chan + CRTOS_CHANNEL_STRINGS;
	size_t n = strlen(s) + 1;

	if (*used + n > CRTOS_EXEC_STRINGS)
		return -E2BIG;
	memcpy(area + *used, s, n);
	*used += n;
	return 0;
}

/* The program of the exec in progress: sh.program once it is loaded (exec_done). */
static char exec_program[sizeof(sh.program)];

/* The strings area: path (as given), exe (the file's canonical path), argv[], envp[]. */
static int exec_put_strings(int fd, const char *path, const char **argv, int argc, char **envp,
			    int envc)
{
	struct crtos_exec_request *req = &sh.chan->exec;
	char link[64], exe[4096];
	size_t used = 0, program_len;
	ssize_t len;
	int err;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, exe, sizeof(exe) - 1);
	exe[len > 0 ? len : 0] = '\0';
	err = put_string(path, &used);
	err = err ?: put_string(len > 0 ? exe : path, &used);
	program_len = strnlen(len > 0 ? exe : path, sizeof(exec_program) - 1);	/* a long one: cut */
	memcpy(exec_program, len > 0 ? exe : path, program_len);
	exec_program[program_len] = '\0';
	for (int i = 0; i < argc && !err; i++)
		err = put_string(argv[i], &used);
	for (int i = 0; i < envc && !err; i++)
		err = put_string(envp[i], &used);
	req->argc = (uint32_t)argc;
	req->envc = (uint32_t)envc;
	req->strings_size = (uint32_t)used;
	return err;
}

/* What the program learns from its auxiliary vector and limits, as Linux's exec gives them. */
static int exec_put_ids(struct crtos_exec_request *req)
{
	const char *platform = (const char *)getauxval(AT_PLATFORM);
	struct rlimit stack;

	req->uid = getuid();
	req->euid = geteuid();
	req->gid = getgid();
	req->egid = getegid();
	req->secure = 0;
	req->hwcap = getauxval(AT_HWCAP);
	req->hwcap2 = getauxval(AT_HWCAP2);
	req->clktck = getauxval(AT_CLKTCK);
	req->minsigstksz = getauxval(AT_MINSIGSTKSZ);
	getrlimit(RLIMIT_STACK, &stack);
	req->stack_limit = stack.rlim_cur == RLIM_INFINITY ? EXEC_STACK_DEFAULT : stack.rlim_cur;
	snprintf(req->platform, sizeof(req->platform), "%s", platform ? platform : "x86_64");
	if (getrandom(req->random, sizeof(req->random), 0) != sizeof(req->random))
		return -EIO;
	return 0;
}

int exec_request_fill(int dirfd, const char *path, int atflags, char **argv, int argc,
		      char **envp, int envc)
{
	static struct exec_plan plan;
	struct crtos_exec_request *req = &sh.chan->exec;
	struct exec_plan *pl = &plan;
	const char **args;
	struct stat st;
	int err;

	memset(pl, 0, sizeof(*pl));
	err = exec_open(dirfd, path, atflags, pl);
	if (err)
		return err;
	args = exec_build_argv(pl, argv, &argc);
	err = args ? exec_put_strings(pl->fd, path, args, argc, envp, envc) : -E2BIG;
	err = err ?: exec_put_ids(req);
	if (!err && fstat(pl->fd, &st))
		err = -errno;
	if (err) {
		close(pl->fd);
	} else {
		sh.prog_fd = pl->fd;
		req->fd = pl->fd;
		req->file_size = (uint64_t)st.st_size;
	}
	return err;
}

/* Pointers to n NUL-terminated strings from *p (before end) into v, advancing *p. */
static bool exec_split(char **p, const char *end, uint32_t n, char **v)
{
	for (uint32_t i = 0; i < n; i++) {
		if (*p >= end)
			return false;
		v[i] = *p;
		*p += strlen(*p) + 1;
	}
	v[n] = NULL;
	return true;
}

long exec_prepare(int dirfd, int atflags)
{
	static char copy[CRTOS_EXEC_STRINGS + 1], *argv[EXEC_ARGS_MAX + 1], *envp[EXEC_ARGS_MAX + 1];
	struct crtos_exec_request *req = &sh.chan->exec;
	uint32_t size = req->strings_size, argc = req->argc, envc = req->envc;
	char *p = copy;

	if (size > CRTOS_EXEC_STRINGS || !size || argc > EXEC_ARGS_MAX || envc > EXEC_ARGS_MAX)
		return -E2BIG;
	memcpy(copy, (char *)sh.chan + CRTOS_CHANNEL_STRINGS, size);
	copy[size] = '\0';
	p += strlen(p) + 1;	/* the path */
	if (!exec_split(&p, copy + size, argc, argv) || !exec_split(&p, copy + size, envc, envp))
		return -EINVAL;
	return exec_request_fill(dirfd, copy, atflags, argv, (int)argc, envp, (int)envc);
}

static bool fd_is_ours(int fd)
{
	return fd == sh.memfd || fd == sh.doorbell || fd == sh.kick || fd == sh.sup ||
	       (fd == sh.report && fd >= 0) || (fd == sh.stats_file && fd >= 0);
}

/* After an execve: close the program's fds marked close-on-exec (ours are too: they stay). */
static void exec_close_on_exec(void)
{
	int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char buf[4096];
	long n;

	if (dir < 0)
		return;
	/* getdents64 straight: opendir() would allocate. Closing while listing is fine here. */
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			int fd = atoi(e->d_name), fl;

			off += e->d_reclen;
			if (e->d_name[0] == '.' || fd == dir || fd_is_ours(fd))
				continue;
			fl = fcntl(fd, F_GETFD);
			if (fl >= 0 && (fl & FD_CLOEXEC))
				close(fd);
		}
	}
	close(dir);
}

long exec_done(int how)
{
	if (sh.prog_fd >= 0)
		close(sh.prog_fd);
	sh.prog_fd = -1;
	if (how)
		memcpy(sh.program, exec_program, sizeof(sh.program));
	if (how == 2)
		exec_close_on_exec();
	return 0;
}
