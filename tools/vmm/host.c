// SPDX-License-Identifier: MIT
/*
 * The host side of partitioning: which CPU the cell gets, keeping our other
 * threads off it, one cell per CPU (a lock file), and Linux's RT throttling.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <sys/file.h>
#include <sys/stat.h>
#include "internal.h"

#define RT_RUNTIME_PATH	"/proc/sys/kernel/sched_rt_runtime_us"
#define MAX_CPUS	1024


bool vmm_cpuset_has(const struct vmm_cpuset *s, int cpu)
{
	return cpu >= 0 && cpu < MAX_CPUS && (s->bits[cpu / 64] >> (cpu % 64)) & 1;
}

int vmm_cpuset_count(const struct vmm_cpuset *s)
{
	int n = 0;

	for (unsigned int i = 0; i < 16; i++)
		n += __builtin_popcountll(s->bits[i]);
	return n;
}

void vmm_cpuset_format(const struct vmm_cpuset *s, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int cpu = 0; cpu < MAX_CPUS && used < len; cpu++) {
		int end = cpu;

		if (!vmm_cpuset_has(s, cpu))
			continue;
		while (vmm_cpuset_has(s, end + 1))
			end++;
		used += (size_t)snprintf(buf + used, len - used, used ? ",%d" : "%d", cpu);
		if (end > cpu && used < len)
			used += (size_t)snprintf(buf + used, len - used, "-%d", end);
		cpu = end;
	}
}

int vmm_host_allowed_cpus(struct vmm_cpuset *out)
{
	cpu_set_t set;

	memset(out, 0, sizeof(*out));
	if (sched_getaffinity(0, sizeof(set), &set))
		return -errno;
	for (int cpu = 0; cpu < CPU_SETSIZE && cpu < MAX_CPUS; cpu++)
		if (CPU_ISSET(cpu, &set))
			out->bits[cpu / 64] |= 1ull << (cpu % 64);
	return 0;
}

/* Parse a sysfs CPU list ("0-3,6"). */
int vmm_cpuset_parse(const char *text, struct vmm_cpuset *out)
{
	const char *p = text;

	memset(out, 0, sizeof(*out));
	while (*p && *p != '\n') {
		char *end;
		long a = strtol(p, &end, 10), b = a;

		if (end == p)
			return -EINVAL;
		p = end;
		if (*p == '-') {
			b = strtol(p + 1, &end, 10);
			p = end;
		}
		for (long cpu = a; cpu <= b && cpu < MAX_CPUS; cpu++)
			if (cpu >= 0)
				out->bits[cpu / 64] |= 1ull << (cpu % 64);
		if (*p == ',')
			p++;
	}
	return 0;
}

/* A small file's contents, NUL-terminated. 0 or -errno. */
static int host_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	return 0;
}

int vmm_host_online_cpus(struct vmm_cpuset *out)
{
	char buf[4096];
	int ret = host_read_file("/sys/devices/system/cpu/online", buf, sizeof(buf));

	return ret ? ret : vmm_cpuset_parse(buf, out);
}

int vmm_host_pick_cpu(int cpu, struct vmm_err *err)
{
	struct vmm_cpuset allowed, online;
	char list[256], olist[256];

	if (vmm_host_allowed_cpus(&allowed) || vmm_host_online_cpus(&online))
		return vmm_fail(err, -EIO, "cannot read this machine's CPU list");
	vmm_cpuset_format(&allowed, list, sizeof(list));
	vmm_cpuset_format(&online, olist, sizeof(olist));
	if (cpu < 0)
		for (int i = 0; i < MAX_CPUS; i++)
			if (vmm_cpuset_has(&allowed, i))
				cpu = i;
	if (!vmm_cpuset_has(&online, cpu))
		return vmm_fail(err, -EINVAL, "CPU %d does not exist on this machine (online CPUs: %s); "
				"choose one with --cpu", cpu, olist);
	if (!vmm_cpuset_has(&allowed, cpu))
		return vmm_fail(err, -EINVAL, "CPU %d is not available to this process (allowed CPUs: "
				"%s); choose one of those with --cpu, or run crtos with a wider "
				"affinity (taskset, cgroup cpuset)", cpu, list);
	if (vmm_cpuset_count(&allowed) < 2)
		return vmm_fail(err, -EINVAL, "CPU %d is the only CPU this process may run on (allowed: "
				"%s): the cell needs a CPU of its own and Linux at least one more; "
				"run crtos with two or more CPUs available", cpu, list);
	return cpu;
}

/* The CPUs for our own threads: every allowed CPU but the cell's. */
static void host_cpus_but(int cpu, cpu_set_t *set)
{
	struct vmm_cpuset allowed;

	CPU_ZERO(set);
	vmm_host_allowed_cpus(&allowed);
	for (int i = 0; i < CPU_SETSIZE && i < MAX_CPUS; i++)
		if (i != cpu && vmm_cpuset_has(&allowed, i))
			CPU_SET(i, set);
}

int vmm_host_keep_thread_off_cpu(int cpu)
{
	cpu_set_t set;

	host_cpus_but(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/*
 * KVM starts worker threads in our process (kvm-nx-lpage-recovery, at the
 * first KVM_RUN) that inherit the vCPU thread's CPU and SCHED_FIFO priority.
 * Move them (threads named kvm*) off the cell's CPU, back to SCHED_OTHER.
 * Returns how many it moved.
 */
static bool host_is_kvm_worker(pid_t tid)
{
	char path[64], comm[32] = "";
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (read(fd, comm, sizeof(comm) - 1) < 0)
		comm[0] = '\0';
	close(fd);
	return !strncmp(comm, "kvm", 3);
}

int host_evict_kvm_workers(int cpu, pid_t vcpu_tid)
{
	struct sched_param sp = { 0 };
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;
	cpu_set_t others;
	int moved = 0;

	if (!dir)
		return 0;
	host_cpus_but(cpu, &others);
	while ((e = readdir(dir))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		cpu_set_t cur;

		if (tid <= 0 || tid == vcpu_tid || !host_is_kvm_worker(tid) ||
		    sched_getaffinity(tid, sizeof(cur), &cur) || !CPU_ISSET(cpu, &cur))
			continue;
		sched_setscheduler(tid, SCHED_OTHER, &sp);
		moved += !sched_setaffinity(tid, sizeof(others), &others);
	}
	closedir(dir);
	return moved;
}

/* Start a helper thread that never runs on the cell's CPU. */
int host_start_helper(pthread_t *t, int cpu, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	cpu_set_t set;
	int ret;

	host_cpus_but(cpu, &set);
	pthread_attr_init(&attr);
	pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	ret = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return -ret;
}

/*
 * Where cells keep their lock files and sockets: /run/crtos, or /tmp/crtos
 * when /run is not writable (not root).
 */
const char *vmm_runtime_dir(void)
{
	if (!mkdir("/run/crtos", 0755) || (errno == EEXIST && !access("/run/crtos", W_OK)))
		return "/run/crtos";
	if (!mkdir("/tmp/crtos", 0755))
		chmod("/tmp/crtos", 01777);	/* shared by every user, like /tmp */
	return "/tmp/crtos";
}

/* One cell per CPU: an exclusive flock on <runtime dir>/cpuN.lock, holding the owner's pid. */
int host_lock_cpu(struct cell *c, struct vmm_err *err)
{
	char path[64], pid[32];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/cpu%d.lock", vmm_runtime_dir(), c->cpu);
	c->cpu_lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (c->cpu_lock_fd < 0)
		return vmm_fail(err, -errno, "cannot create the lock file for CPU %d: %s", c->cpu,
				strerror(errno));
	if (flock(c->cpu_lock_fd, LOCK_EX | LOCK_NB)) {
		n = pread(c->cpu_lock_fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		return vmm_fail(err, -EBUSY, "CPU %d already runs a crtos cell (pid %s); stop it, or "
				"choose another CPU with --cpu", c->cpu, pid[0] ? pid : "unknown");
	}
	c->cpu_locked = true;
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(c->cpu_lock_fd, 0) || pwrite(c->cpu_lock_fd, pid, (size_t)n, 0) != n)
		return vmm_fail(err, -errno, "cannot write %s", path);
	return 0;
}

/* Whether cpu is in /sys/devices/system/cpu/isolated (isolcpus=): no Linux task is put there. */
bool vmm_host_cpu_isolated(int cpu)
{
	char buf[256];
	struct vmm_cpuset set;

	if (host_read_file("/sys/devices/system/cpu/isolated", buf, sizeof(buf)))
		return false;
	return !vmm_cpuset_parse(buf, &set) && vmm_cpuset_has(&set, cpu);
}

/*
 * Whether Linux runs a fair server (since 6.12): a deadline entity that
 * gives starving SCHED_OTHER tasks up to 50 ms per second on a CPU, even
 * over SCHED_FIFO, and whatever sched_rt_runtime_us says.
 */
bool vmm_host_has_fair_server(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 12);
}

int vmm_host_rt_runtime_us(long *value)
{
	char buf[32];
	int ret = host_read_file(RT_RUNTIME_PATH, buf, sizeof(buf));

	if (!ret)
		*value = strtol(buf, NULL, 10);
	return ret;
}

int vmm_host_set_rt_runtime_us(long value, struct vmm_err *err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", value);
	int fd = open(RT_RUNTIME_PATH, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, buf, (size_t)n) != n) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return vmm_fail(err, -e, "cannot write %s: %s (root is needed)", RT_RUNTIME_PATH,
				strerror(e));
	}
	close(fd);
	return 0;
}

/* A file's first line (a sysfs, procfs or cgroup value), without its newline. 0 or -errno. */
int host_read_line(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Write text to a sysfs, procfs or cgroup file, all of it in one write. 0 or -errno. */
int host_write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int ret;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	ret = n == (ssize_t)strlen(text) ? 0 : n < 0 ? -errno : -EIO;
	close(fd);
	return ret;
}
