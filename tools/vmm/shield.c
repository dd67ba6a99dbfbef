// SPDX-License-Identifier: MIT
/*
 * The shield: every movable Linux task and interrupt off the cell's CPU while
 * the cell runs, and everything put back after, also when crtos is killed.
 *
 * Contract. vmm_shield_raise() forks a guardian (its own process group, off
 * the cell's CPU) that writes each change to <runtime dir>/shield-cpuN
 * *before* making it, makes the changes, reports, and then waits on a pipe
 * whose only writer is the cell's process. When that end closes, because
 * vmm_shield_lower() closed it or because the process died in any way
 * (SIGKILL included: the kernel closes it), the guardian restores everything
 * the file lists and removes the file. A guardian that dies itself leaves the
 * file behind: vmm_shield_status() calls that shield stale and
 * vmm_shield_repair() (crtos doctor --fix) restores from it. Restoring an
 * entry that was recorded but not applied writes back what is already there.
 *
 * Mechanisms. cgroup v1: tasks whose cpuset holds the CPU move to a cpuset of
 * Linux's CPUs (crtos.shieldN) and get their own affinity back, less the CPU;
 * their children are born there. The cell's process stays in its cpuset (its
 * vCPU thread needs the CPU; its other threads and the shadows keep off it by
 * affinity). cgroup v2: an isolated partition (crtos.shieldN, a threaded
 * child of the root cgroup) takes the CPU from every other cgroup; the cell's
 * process moves to the root cgroup and its vCPU thread into the partition
 * (vmm_shield_adopt_thread). Either way interrupts move by
 * /proc/irq/N/smp_affinity_list. Per-CPU kernel threads and some interrupts
 * cannot move: they are counted, never an error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "internal.h"

#define SHIELD_NAME		"crtos.shield"
#define REPORT_TIMEOUT_MS	60000	/* moving a task costs an RCU grace period or so */
#define STALE_WAIT_MS		10000	/* a killed cell's guardian still restoring */

enum shield_mech { MECH_NONE, MECH_V1, MECH_V2 };

struct vmm_shield {
	pid_t guardian;
	int hold_fd;			/* the pipe's write end: closing it lowers the shield */
	int cpu;
	enum shield_mech mech;
	char dir[300];			/* v2: the partition's cgroup */
};

/* What one guardian did: the report's numbers. */
struct shield_counts {
	int moved, stuck;		/* tasks moved off the CPU, tasks that cannot move */
	int irqs_moved, irqs_stuck;
};

static int shield_write_int(const char *path, long v)
{
	char text[32];

	snprintf(text, sizeof(text), "%ld", v);
	return host_write_text(path, text);
}

static void shield_state_path(int cpu, char *buf, size_t len)
{
	snprintf(buf, len, "%s/shield-cpu%d", vmm_runtime_dir(), cpu);
}

/* A task's start time (/proc/TID/stat field 22): with its id, who it is. 0 if gone or a zombie. */
static unsigned long long shield_start_time(pid_t tid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	if (host_read_line(path, buf, sizeof(buf)) || !(p = strrchr(buf, ')')))
		return 0;
	/* After "comm)": state is field 3, starttime field 22. */
	if (p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	if (sscanf(p + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
		   "%*s %*s %llu", &start) != 1)
		return 0;
	return start;
}

static void cpuset_from_mask(const cpu_set_t *m, struct vmm_cpuset *s)
{
	memset(s, 0, sizeof(*s));
	for (int cpu = 0; cpu < CPU_SETSIZE && cpu < 1024; cpu++)
		if (CPU_ISSET(cpu, m))
			s->bits[cpu / 64] |= 1ull << (cpu % 64);
}

static void mask_from_cpuset(const struct vmm_cpuset *s, cpu_set_t *m)
{
	CPU_ZERO(m);
	for (int cpu = 0; cpu < CPU_SETSIZE && cpu < 1024; cpu++)
		if (vmm_cpuset_has(s, cpu))
			CPU_SET(cpu, m);
}

/* Linux's CPUs: those online but the cell's. */
static void shield_others(int cpu, struct vmm_cpuset *others, char *list, size_t len)
{
	vmm_host_online_cpus(others);
	others->bits[cpu / 64] &= ~(1ull << (cpu % 64));
	vmm_cpuset_format(others, list, len);
}

/* Where the cpuset controller is: v1 (a cgroup mount with it), else v2, else none. */
static enum shield_mech shield_find_mech(char *mount, size_t len)
{
	FILE *f = fopen("/proc/mounts", "re");
	char dev[256], dir[256], type[64], opts[1024], path[300], ctl[512];
	enum shield_mech mech = MECH_NONE;

	if (!f)
		return MECH_NONE;
	while (mech != MECH_V1 && fscanf(f, "%255s %255s %63s %1023s %*d %*d", dev, dir, type,
					 opts) == 4) {
		char *tok, *save;

		if (!strcmp(type, "cgroup")) {
			for (tok = strtok_r(opts, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
				if (!strcmp(tok, "cpuset")) {
					snprintf(mount, len, "%s", dir);
					mech = MECH_V1;
				}
		} else if (!strcmp(type, "cgroup2") && mech == MECH_NONE) {
			snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
			if (!host_read_line(path, ctl, sizeof(ctl)) && strstr(ctl, "cpuset")) {
				snprintf(mount, len, "%s", dir);
				mech = MECH_V2;
			}
		}
	}
	fclose(f);
	return mech;
}

static const char *shield_mech_name(enum shield_mech m)
{
	return m == MECH_V1 ? "v1" : m == MECH_V2 ? "v2" : "none";
}

/* ---- the guardian: recording and applying ---- */

struct guardian {
	int cpu;
	int state_fd;			/* the state file, O_APPEND */
	enum shield_mech mech;
	char mount[256];
	char dir[300];			/* our cgroup: <mount>/crtos.shieldN */
	pid_t cell_pid;
	struct vmm_cpuset others;
	char others_list[256];
	struct shield_counts n;
};

/* One record line, written before the change it describes. */
static void guardian_record(struct guardian *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void guardian_record(struct guardian *g, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(line) - 1)
		return;
	line[n++] = '\n';
	if (write(g->state_fd, line, (size_t)n) != n)
		return;	/* the file is on tmpfs: a failure here means no space, nothing to add */
}

/* The cgroup v1 cpuset path of a task ("/" for the root), from /proc/TID/cpuset. */
static int v1_task_cpuset(pid_t tid, char *path, size_t len)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/%d/cpuset", (int)tid);
	return host_read_line(proc, path, len);
}

static bool v1_cpuset_holds(struct guardian *g, const char *cs)
{
	char path[1024], list[1024];
	struct vmm_cpuset set;

	snprintf(path, sizeof(path), "%s%s/cpuset.cpus", g->mount, cs);
	return !host_read_line(path, list, sizeof(list)) && !vmm_cpuset_parse(list, &set) &&
	       vmm_cpuset_has(&set, g->cpu);
}

/*
 * A task pinned to fewer CPUs than its cpuset had gets its pinning back, less
 * the CPU, after the move. Only then: sched_setaffinity also records a "user"
 * mask that Linux intersects with every later cpuset's CPUs and that children
 * inherit, so setting it on every task would keep them (and all they fork)
 * off the CPU after the shield is gone.
 */
static void shield_keep_pinning(pid_t tid, cpu_set_t *had, int cpu)
{
	cpu_set_t now;

	CPU_CLR(cpu, had);
	if (CPU_COUNT(had) && !sched_getaffinity(tid, sizeof(now), &now) && !CPU_EQUAL(had, &now))
		sched_setaffinity(tid, sizeof(*had), had);
}

/*
 * Move one thread into our cpuset and give it back its affinity less the CPU
 * (attaching to a v1 cpuset resets a task's affinity to the cpuset's CPUs).
 * Threads of the cell's process and of the guardian stay.
 */
static void v1_move_task(struct guardian *g, pid_t pid, pid_t tid)
{
	char cs[512], list[512], tasks[400];
	unsigned long long start;
	struct vmm_cpuset had;
	cpu_set_t mask;

	if (pid == g->cell_pid || pid == getpid() || v1_task_cpuset(tid, cs, sizeof(cs)) ||
	    !strncmp(cs, "/" SHIELD_NAME, strlen(SHIELD_NAME) + 1) || !v1_cpuset_holds(g, cs))
		return;
	start = shield_start_time(tid);
	if (!start || sched_getaffinity(tid, sizeof(mask), &mask))
		return;		/* gone */
	cpuset_from_mask(&mask, &had);
	vmm_cpuset_format(&had, list, sizeof(list));
	guardian_record(g, "task %d %llu %s %s", (int)tid, start, list, cs);
	snprintf(tasks, sizeof(tasks), "%s/tasks", g->dir);
	if (shield_write_int(tasks, tid)) {
		/* A per-CPU kernel thread (PF_NO_SETAFFINITY), or gone: stuck if on our CPU. */
		g->n.stuck += CPU_ISSET(g->cpu, &mask) ? 1 : 0;
		return;
	}
	g->n.moved++;
	shield_keep_pinning(tid, &mask, g->cpu);
}

/* Every thread of every process; twice, for those forked while we looked. */
static void v1_move_all(struct guardian *g)
{
	for (int pass = 0; pass < 2; pass++) {
		DIR *procs = opendir("/proc");
		struct dirent *p;

		while (procs && (p = readdir(procs))) {
			pid_t pid = (pid_t)atoi(p->d_name);
			char path[64];
			DIR *tasks;
			struct dirent *t;

			if (pid <= 0)
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
			tasks = opendir(path);
			while (tasks && (t = readdir(tasks)))
				if (atoi(t->d_name) > 0)
					v1_move_task(g, pid, (pid_t)atoi(t->d_name));
			if (tasks)
				closedir(tasks);
		}
		if (procs)
			closedir(procs);
		if (pass == 0)
			g->n.stuck = 0;	/* the second pass counts them again */
	}
}

static int v1_raise(struct guardian *g, char *why, size_t len)
{
	char path[400], mems[256];
	int ret;

	snprintf(path, sizeof(path), "%s/cpuset.mems", g->mount);
	if ((ret = host_read_line(path, mems, sizeof(mems)))) {
		snprintf(why, len, "cannot read %.300s: %s", path, strerror(-ret));
		return ret;
	}
	if (mkdir(g->dir, 0755) && errno != EEXIST) {
		snprintf(why, len, "cannot create the cpuset %s: %s", g->dir, strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/cpuset.cpus", g->dir);
	ret = host_write_text(path, g->others_list);
	snprintf(path, sizeof(path), "%s/cpuset.mems", g->dir);
	ret = ret ?: host_write_text(path, mems);
	if (ret) {
		snprintf(why, len, "cannot set up the cpuset %s: %s", g->dir, strerror(-ret));
		return ret;
	}
	v1_move_all(g);
	return 0;
}

/* The cgroup v2 path of a process ("0::/path"). */
static int v2_proc_cgroup(pid_t pid, char *path, size_t len)
{
	char proc[64], buf[1024];
	int ret;

	snprintf(proc, sizeof(proc), "/proc/%d/cgroup", (int)pid);
	ret = host_read_line(proc, buf, sizeof(buf));
	if (ret || strncmp(buf, "0::", 3))
		return ret ? ret : -ENOENT;
	snprintf(path, len, "%.500s", buf + 3);
	return 0;
}

/* Count the tasks still allowed on the CPU after the partition took it: those that cannot move. */
static void v2_count_stuck(struct guardian *g)
{
	DIR *procs = opendir("/proc");
	struct dirent *p;
	cpu_set_t mask;

	while (procs && (p = readdir(procs))) {
		pid_t pid = (pid_t)atoi(p->d_name);

		if (pid <= 0 || pid == g->cell_pid)
			continue;
		if (!sched_getaffinity(pid, sizeof(mask), &mask))
			CPU_ISSET(g->cpu, &mask) ? g->n.stuck++ : g->n.moved++;
	}
	if (procs)
		closedir(procs);
}

static int v2_raise(struct guardian *g, char *why, size_t len)
{
	char path[400], text[256], origin[512];
	int ret;

	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", g->mount);
	if (!host_read_line(path, text, sizeof(text)) && !strstr(text, "cpuset")) {
		guardian_record(g, "subtree");
		if ((ret = host_write_text(path, "+cpuset"))) {
			snprintf(why, len, "cannot enable the cpuset controller in %.300s: %s", path,
				 strerror(-ret));
			return ret;
		}
	}
	if (mkdir(g->dir, 0755) && errno != EEXIST) {
		snprintf(why, len, "cannot create the cgroup %s: %s", g->dir, strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/cgroup.type", g->dir);
	ret = host_write_text(path, "threaded");
	snprintf(path, sizeof(path), "%s/cpuset.cpus", g->dir);
	ret = ret ?: shield_write_int(path, g->cpu);
	snprintf(path, sizeof(path), "%s/cpuset.cpus.partition", g->dir);
	if (!ret && host_write_text(path, "isolated"))
		ret = host_write_text(path, "root");
	/* "root invalid (reason)" when Linux took the request but cannot honour it. */
	if (!ret && (host_read_line(path, text, sizeof(text)) || strstr(text, "invalid") ||
		     (strncmp(text, "root", 4) && strncmp(text, "isolated", 8))))
		ret = -EINVAL;
	if (ret) {
		snprintf(why, len, "Linux refused the partition %.200s for CPU %d (%.100s)", g->dir, g->cpu,
			 ret == -EINVAL ? text : strerror(-ret));
		return ret;
	}
	/* The vCPU thread can join the threaded partition from the root cgroup only. */
	if (!v2_proc_cgroup(g->cell_pid, origin, sizeof(origin)) && strcmp(origin, "/")) {
		guardian_record(g, "proc %d %llu %s", (int)g->cell_pid,
				shield_start_time(g->cell_pid), origin);
		snprintf(path, sizeof(path), "%s/cgroup.procs", g->mount);
		if ((ret = shield_write_int(path, g->cell_pid))) {
			snprintf(why, len, "cannot move the cell's process to the root cgroup: %s",
				 strerror(-ret));
			return ret;
		}
	}
	v2_count_stuck(g);
	return 0;
}

/* Interrupts whose affinity holds the CPU go to Linux's CPUs; the default too. */
static void guardian_move_irqs(struct guardian *g)
{
	DIR *dir = opendir("/proc/irq");
	struct dirent *e;
	char path[300], list[512], mask[300];
	struct vmm_cpuset set;

	if (!host_read_line("/proc/irq/default_smp_affinity", mask, sizeof(mask))) {
		char hex[32];

		guardian_record(g, "irqdefault %s", mask);
		snprintf(hex, sizeof(hex), "%llx", (unsigned long long)g->others.bits[0]);
		host_write_text("/proc/irq/default_smp_affinity", hex);
	}
	while (dir && (e = readdir(dir))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/irq/%s/smp_affinity_list", e->d_name);
		if (host_read_line(path, list, sizeof(list)) || vmm_cpuset_parse(list, &set) ||
		    !vmm_cpuset_has(&set, g->cpu))
			continue;
		guardian_record(g, "irq %s %s", e->d_name, list);
		host_write_text(path, g->others_list) ? g->n.irqs_stuck++ : g->n.irqs_moved++;
	}
	if (dir)
		closedir(dir);
}

/* ---- restoring, from the state file (guardian and repair alike) ---- */

static void restore_task(const char *mount, char *rest)
{
	int tid;
	unsigned long long start;
	char list[512], path[1024];
	int used = 0;
	struct vmm_cpuset set;
	cpu_set_t mask;

	if (sscanf(rest, "%d %llu %511s %n", &tid, &start, list, &used) != 3 || !used ||
	    shield_start_time(tid) != start)
		return;		/* gone, or another task with its id */
	snprintf(path, sizeof(path), "%s%s/tasks", mount, strcmp(rest + used, "/") ? rest + used : "");
	if (shield_write_int(path, tid)) {
		snprintf(path, sizeof(path), "%s/tasks", mount);	/* its cpuset went away */
		shield_write_int(path, tid);
	}
	/* Back in its cpuset its affinity is that cpuset's CPUs (with its own mask, if any). */
	if (!vmm_cpuset_parse(list, &set)) {
		cpu_set_t now;

		mask_from_cpuset(&set, &mask);
		if (!sched_getaffinity(tid, sizeof(now), &now) && !CPU_EQUAL(&mask, &now))
			sched_setaffinity(tid, sizeof(mask), &mask);
	}
}

/* The whole of a small list file (shield_read stops at the first line). */
static ssize_t shield_read_all(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* Tasks born inside our cgroup, and any left, go to the root's (file: tasks or cgroup.threads). */
static void restore_empty_cgroup(const char *mount, const char *dir, const char *file)
{
	char path[600], to[600], buf[8192];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	snprintf(to, sizeof(to), "%s/%s", mount, file);
	for (int round = 0; round < 20 && shield_read_all(path, buf, sizeof(buf)) > 0; round++) {
		char *tok, *save;

		for (tok = strtok_r(buf, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save))
			host_write_text(to, tok);
	}
}

static void restore_v1(const char *mount, int cpu)
{
	char dir[300];

	snprintf(dir, sizeof(dir), "%s/" SHIELD_NAME "%d", mount, cpu);
	restore_empty_cgroup(mount, dir, "tasks");
	rmdir(dir);
}

static void restore_v2(const char *mount, int cpu)
{
	char dir[300], path[400];

	snprintf(dir, sizeof(dir), "%s/" SHIELD_NAME "%d", mount, cpu);
	restore_empty_cgroup(mount, dir, "cgroup.threads");
	snprintf(path, sizeof(path), "%s/cpuset.cpus.partition", dir);
	host_write_text(path, "member");
	rmdir(dir);
}

static void restore_proc(const char *mount, char *rest)
{
	int pid, used = 0;
	unsigned long long start;
	char path[1024];

	if (sscanf(rest, "%d %llu %n", &pid, &start, &used) != 2 || !used ||
	    shield_start_time(pid) != start)
		return;
	snprintf(path, sizeof(path), "%s%s/cgroup.procs", mount, rest + used);
	shield_write_int(path, pid);
}

/*
 * Undo what the state file lists, in reverse dependency order: interrupts,
 * tasks back to their cpusets, our cgroup emptied and removed, the cell's
 * process back to its cgroup, the controller off if we turned it on. Then the
 * file goes. Returns how many records it applied.
 */
static int shield_restore_file(const char *state)
{
	FILE *f = fopen(state, "re");
	char line[1200], mount[256] = "", mech[8] = "none", path[300];
	int cpu = -1, records = 0;
	bool subtree = false;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		records++;
		if (sscanf(line, "crtos-shield %d %*d %*u %7s %255s", &cpu, mech, mount) >= 2)
			continue;
		if (!strncmp(line, "task ", 5))
			restore_task(mount, line + 5);
		else if (!strncmp(line, "proc ", 5) && !strcmp(mech, "v2"))
			continue;	/* after the partition is gone */
		else if (!strncmp(line, "irq ", 4)) {
			char *list = strchr(line + 4, ' ');

			if (list) {
				*list++ = '\0';
				snprintf(path, sizeof(path), "/proc/irq/%.32s/smp_affinity_list", line + 4);
				host_write_text(path, list);
			}
		} else if (!strncmp(line, "irqdefault ", 11)) {
			host_write_text("/proc/irq/default_smp_affinity", line + 11);
		} else if (!strcmp(line, "subtree")) {
			subtree = true;
		}
	}
	if (cpu >= 0 && !strcmp(mech, "v1"))
		restore_v1(mount, cpu);
	if (cpu >= 0 && !strcmp(mech, "v2")) {
		restore_v2(mount, cpu);
		rewind(f);
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "proc ", 5)) {
				line[strcspn(line, "\n")] = '\0';
				restore_proc(mount, line + 5);
			}
		snprintf(path, sizeof(path), "%s/cgroup.subtree_control", mount);
		if (subtree)
			host_write_text(path, "-cpuset");	/* fails if someone else uses it now: fine */
	}
	fclose(f);
	unlink(state);
	return records;
}

/* ---- the guardian process ---- */

static void guardian_detach(int cpu, int keep1, int keep2)
{
	static const int ignored[] = { SIGINT, SIGHUP, SIGQUIT, SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU,
				       SIGPIPE, SIGUSR1, SIGUSR2 };
	struct vmm_cpuset others;
	char list[256];
	cpu_set_t mask;
	sigset_t none;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	setpgid(0, 0);
	prctl(PR_SET_NAME, "crtos-shield");
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (unsigned int i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
	}
	/* Nothing of the cell's (its CPU lock, KVM, memory) may outlive it here. */
	for (int fd = 3; fd < 4096; fd++)
		if (fd != keep1 && fd != keep2)
			close(fd);
	shield_others(cpu, &others, list, sizeof(list));
	mask_from_cpuset(&others, &mask);
	sched_setaffinity(0, sizeof(mask), &mask);
	munlockall();
}

static int guardian_raise(struct guardian *g, const char *state, char *why, size_t len)
{
	g->state_fd = open(state, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
	if (g->state_fd < 0) {
		snprintf(why, len, "cannot create %s: %s", state, strerror(errno));
		return -errno;
	}
	guardian_record(g, "crtos-shield %d %d %llu %s %s", g->cpu, (int)getpid(),
			shield_start_time(getpid()), shield_mech_name(g->mech),
			g->mech == MECH_NONE ? "-" : g->mount);
	if (g->mech == MECH_V1 && v1_raise(g, why, len))
		return -1;
	if (g->mech == MECH_V2 && v2_raise(g, why, len))
		return -1;
	guardian_move_irqs(g);
	return 0;
}

/* The guardian's life: raise, report on out_fd, wait for hold_fd's end, restore. */
static void __attribute__((noreturn)) guardian_main(int cpu, pid_t cell_pid, int hold_fd,
						     int out_fd)
{
	struct guardian g = { .cpu = cpu, .cell_pid = cell_pid };
	char state[128], report[512], why[400] = "", c;
	int ret;

	guardian_detach(cpu, hold_fd, out_fd);
	shield_state_path(cpu, state, sizeof(state));
	shield_others(cpu, &g.others, g.others_list, sizeof(g.others_list));
	g.mech = shield_find_mech(g.mount, sizeof(g.mount));
	snprintf(g.dir, sizeof(g.dir), "%s/" SHIELD_NAME "%d", g.mount, cpu);
	ret = guardian_raise(&g, state, why, sizeof(why));
	if (ret) {
		if (g.state_fd >= 0)
			shield_restore_file(state);
		snprintf(report, sizeof(report), "ERR %s\n", why);
	} else {
		snprintf(report, sizeof(report), "OK %s %d %d %d %d %s\n", shield_mech_name(g.mech),
			 g.n.moved, g.n.stuck, g.n.irqs_moved, g.n.irqs_stuck,
			 g.mech == MECH_NONE ? "-" : g.dir);
	}
	if (write(out_fd, report, strlen(report)) < 0 || ret)
		_exit(ret ? 1 : 0);
	close(out_fd);
	for (;;) {
		ssize_t n = read(hold_fd, &c, 1);

		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	shield_restore_file(state);
	_exit(0);
}

/* ---- the cell's side ---- */

enum vmm_shield_state vmm_shield_status(int cpu, pid_t *guardian, char *mech, size_t len)
{
	char state[128], line[512], m[8] = "none";
	int pid = 0;
	unsigned long long start = 0;
	FILE *f;

	shield_state_path(cpu, state, sizeof(state));
	f = fopen(state, "re");
	if (!f)
		return VMM_SHIELD_NONE;
	if (!fgets(line, sizeof(line), f) ||
	    sscanf(line, "crtos-shield %*d %d %llu %7s", &pid, &start, m) != 3)
		pid = 0;
	fclose(f);
	if (guardian)
		*guardian = pid;
	if (mech)
		snprintf(mech, len, "%s", m);
	return pid > 0 && shield_start_time(pid) == start ? VMM_SHIELD_UP : VMM_SHIELD_STALE;
}

int vmm_shield_repair(int cpu)
{
	char state[128];

	if (vmm_shield_status(cpu, NULL, NULL, 0) != VMM_SHIELD_STALE)
		return 0;
	shield_state_path(cpu, state, sizeof(state));
	return shield_restore_file(state);
}

/* A shield left on cpu: wait for a guardian still restoring, repair a stale one. */
static int shield_clear_leftover(int cpu, struct vmm_err *err)
{
	pid_t pid = 0;

	for (int ms = 0; ms < STALE_WAIT_MS; ms += 50) {
		enum vmm_shield_state s = vmm_shield_status(cpu, &pid, NULL, 0);

		if (s == VMM_SHIELD_NONE)
			return 0;
		if (s == VMM_SHIELD_STALE)
			return vmm_shield_repair(cpu) < 0 ? vmm_fail(err, -EIO, "cannot repair the "
				"stale shield of CPU %d; see crtos doctor", cpu) : 0;
		usleep(50000);
	}
	return vmm_fail(err, -EBUSY, "CPU %d is still shielded by pid %d (a cell's guardian that "
			"does not end); see crtos doctor", cpu, (int)pid);
}

/* Read the guardian's one-line report, with a time limit. */
static int shield_read_report(int fd, char *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t used = 0;

	while (used < len - 1 && !memchr(buf, '\n', used)) {
		ssize_t n;

		if (poll(&p, 1, REPORT_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		n = read(fd, buf + used, len - 1 - used);
		if (n <= 0)
			return -EPIPE;
		used += (size_t)n;
		buf[used] = '\0';
	}
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int shield_parse_report(struct vmm_shield *s, const char *rep, char *what, size_t len,
			       struct vmm_err *err)
{
	struct shield_counts n;
	char mech[8], dir[300];

	if (!strncmp(rep, "ERR ", 4))
		return vmm_fail(err, -EPERM, "cannot shield CPU %d: %s", s->cpu, rep + 4);
	if (sscanf(rep, "OK %7s %d %d %d %d %299s", mech, &n.moved, &n.stuck, &n.irqs_moved,
		   &n.irqs_stuck, dir) != 6)
		return vmm_fail(err, -EPROTO, "cannot shield CPU %d: the guardian said '%s'", s->cpu,
				rep);
	s->mech = !strcmp(mech, "v1") ? MECH_V1 : !strcmp(mech, "v2") ? MECH_V2 : MECH_NONE;
	if (s->mech == MECH_V2)
		snprintf(s->dir, sizeof(s->dir), "%s", dir);
	snprintf(what, len, "CPU %d shielded (%s%s): %d task(s) moved off it, %d cannot move "
		 "(per-CPU kernel threads); %d interrupt(s) moved, %d cannot move; all restored when "
		 "the cell ends, also if crtos is killed (guardian pid %d)", s->cpu,
		 s->mech == MECH_V1 ? "cgroup v1 cpuset " : s->mech == MECH_V2 ?
		 "cgroup v2 partition " : "no cpuset controller: interrupts only",
		 s->mech == MECH_NONE ? "" : dir, n.moved, n.stuck, n.irqs_moved, n.irqs_stuck,
		 (int)s->guardian);
	return 0;
}

int vmm_shield_raise(int cpu, struct vmm_shield **out, char *what, size_t len,
		     struct vmm_err *err)
{
	struct vmm_shield *s;
	int hold[2], rep[2], ret;
	char report[512] = "";

	ret = shield_clear_leftover(cpu, err);
	if (ret)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s)
		return vmm_fail(err, -ENOMEM, "out of memory");
	s->cpu = cpu;
	if (pipe2(hold, O_CLOEXEC) || pipe2(rep, O_CLOEXEC)) {
		free(s);
		return vmm_fail(err, -errno, "cannot shield CPU %d: pipe: %s", cpu, strerror(errno));
	}
	fflush(NULL);
	s->guardian = fork();
	if (s->guardian == 0) {
		close(hold[1]);
		close(rep[0]);
		guardian_main(cpu, getppid(), hold[0], rep[1]);
	}
	close(hold[0]);
	close(rep[1]);
	s->hold_fd = hold[1];
	ret = s->guardian < 0 ? vmm_fail(err, -errno, "cannot shield CPU %d: fork: %s", cpu,
					 strerror(errno)) : 0;
	if (!ret && (ret = shield_read_report(rep[0], report, sizeof(report))))
		vmm_fail(err, ret, "cannot shield CPU %d: the guardian %s", cpu,
			 ret == -ETIMEDOUT ? "did not report in time" : "ended without a report");
	ret = ret ?: shield_parse_report(s, report, what, len, err);
	close(rep[0]);
	if (ret) {
		vmm_shield_lower(s);
		return ret;
	}
	*out = s;
	return 0;
}

int vmm_shield_adopt_thread(struct vmm_shield *s, pid_t tid)
{
	char path[400];

	if (!s || s->mech != MECH_V2)
		return 0;
	snprintf(path, sizeof(path), "%s/cgroup.threads", s->dir);
	return shield_write_int(path, tid);
}

bool vmm_shield_needs_adoption(const struct vmm_shield *s)
{
	return s && s->mech == MECH_V2;
}

void vmm_shield_lower(struct vmm_shield *s)
{
	if (!s)
		return;
	close(s->hold_fd);
	while (s->guardian > 0 && waitpid(s->guardian, NULL, 0) < 0 && errno == EINTR)
		;
	free(s);
}
