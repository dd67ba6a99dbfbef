// SPDX-License-Identifier: MIT
/*
 * The cell's life cycle: create (check the host, build the VM, load the
 * kernel), start (the vCPU thread on the RT CPU, SCHED_FIFO, plus the log
 * and memory threads on the other CPUs), wait, and destroy.
 *
 * The vCPU thread only runs the guest and records why it stopped; reports
 * are printed by the thread that waits for the cell (cell_finish), after the
 * kernel log has been drained, so the kernel's last messages come first.
 * A vCPU is stopped from outside by setting immediate_exit and sending its
 * thread a signal whose handler does nothing (KVM_RUN returns -EINTR).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <crtos/mmio.h>
#include "internal.h"

#define DEFAULT_MEM		(256 * MiB)
#define DEFAULT_PRIO		90
#define DEFAULT_LOG		(256 * 1024)
#define PUTS_MAX		1024

/* Why the vCPU loop stopped, recorded by the vCPU thread for cell_finish(). */
struct vcpu_stop {
	uint32_t exit_reason;
	uint64_t addr, value;		/* KVM_EXIT_MMIO */
	uint64_t detail;		/* internal error suberror, entry failure reason, errno */
};

struct cell_private {
	struct cell c;
	struct vcpu_stop stop;
	bool finished;
	uint64_t vcpu_entry_ns;
	pid_t vcpu_tid;
};

static struct cell_private *priv(struct cell *c)
{
	return (struct cell_private *)c;
}

static int vcpu_kick_signal(void)
{
	return SIGRTMIN;
}

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

static void vcpu_kick_install(void)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(vcpu_kick_signal(), &sa, NULL);
}

void cell_set_end(struct cell *c, enum cell_end end, int status)
{
	pthread_mutex_lock(&c->lock);
	if (c->end == CELL_RUNNING) {
		c->end = end;
		c->status = status;
	}
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* A string the kernel passed to CRTOS_MMIO_PUTS, checked to lie in RAM. */
static void cell_puts(struct cell *c, uint64_t va)
{
	uint64_t gpa;
	size_t max;

	if (!cell_kernel_gpa(c, va, 1, &gpa))
		return;
	max = c->mem_size - gpa < PUTS_MAX ? c->mem_size - gpa : PUTS_MAX;
	fprintf(c->msg, "%.*s", (int)strnlen((const char *)c->mem + gpa, max),
		(const char *)c->mem + gpa);
	fflush(c->msg);
}

/* An MMIO exit: a hypercall, or a kernel bug. Returns true when the vCPU must stop. */
static bool cell_handle_mmio(struct cell *c, struct vcpu_stop *stop)
{
	struct kvm_run *run = c->run;
	uint64_t value = 0;

	if (!run->mmio.is_write) {
		/* Loads from nowhere (a probe that wandered off) read zeros. */
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
		return false;
	}
	memcpy(&value, run->mmio.data, run->mmio.len < 8 ? run->mmio.len : 8);
	stop->addr = run->mmio.phys_addr;
	stop->value = value;
	if (run->mmio.phys_addr == c->mmio_gpa + CRTOS_MMIO_PUTS) {
		cell_puts(c, value);
		return false;
	}
	/*
	 * A doorbell that exits is one whose shadow is gone (cell_reap() took
	 * its ioeventfd away before telling the kernel): nobody to wake.
	 */
	if (run->mmio.phys_addr >= c->mmio_gpa + CRTOS_MMIO_DOORBELL(0) &&
	    run->mmio.phys_addr < c->mmio_gpa + CRTOS_MMIO_DOORBELL(CRTOS_MAX_PROCESSES))
		return false;
	return true;
}

static bool vcpu_handle_exit(struct cell *c, struct vcpu_stop *stop)
{
	struct kvm_run *run = c->run;

	stop->exit_reason = run->exit_reason;
	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		return cell_handle_mmio(c, stop);
	case KVM_EXIT_INTERNAL_ERROR:
		stop->detail = run->internal.suberror;
		return true;
	case KVM_EXIT_FAIL_ENTRY:
		stop->detail = run->fail_entry.hardware_entry_failure_reason;
		return true;
	default:
		return true;
	}
}

/*
 * Under a cgroup v2 shield the CPU belongs to the shield's partition: the
 * vCPU thread joins it and only then can pin itself there (cell_start_vcpu
 * leaves the affinity to it).
 */
static void vcpu_join_shield(struct cell *c)
{
	cpu_set_t set;
	int ret = vmm_shield_adopt_thread(c->shield, gettid());

	CPU_ZERO(&set);
	CPU_SET(c->cpu, &set);
	if (ret || sched_setaffinity(0, sizeof(set), &set))
		fprintf(c->msg, "crtos: warning: the vCPU thread cannot join the shield's partition "
			"of CPU %d (%s): it runs where Linux lets it\n", c->cpu,
			strerror(ret ? -ret : errno));
}

static void *vcpu_thread(void *arg)
{
	struct cell *c = arg;
	struct vcpu_stop *stop = &priv(c)->stop;

	priv(c)->vcpu_tid = gettid();
	if (vmm_shield_needs_adoption(c->shield))
		vcpu_join_shield(c);
	priv(c)->vcpu_entry_ns = vmm_now_ns();
	for (;;) {
		if (c->stopping) {
			stop->exit_reason = KVM_EXIT_INTR;
			break;
		}
		if (ioctl(c->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				c->run->immediate_exit = 0;
				watchdog_check_vcpu(c);
				continue;
			}
			stop->exit_reason = KVM_EXIT_UNKNOWN;
			stop->detail = (uint64_t)errno;
			break;
		}
		if (vcpu_handle_exit(c, stop))
			break;
	}
	__atomic_store_n(&c->vcpu_exited, true, __ATOMIC_RELEASE);
	pthread_mutex_lock(&c->lock);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* Words at the nucleus's stack pointer (see CRTOS_PANIC_NUCLEUS). */
static void cell_nucleus_frame(struct cell *c, const struct crtos_regs *r, uint64_t frame[8])
{
	uint64_t gpa;

	memset(frame, 0, 8 * sizeof(uint64_t));
	if (cell_kernel_gpa(c, r->rsp, 8 * sizeof(uint64_t), &gpa))
		memcpy(frame, c->mem + gpa, 8 * sizeof(uint64_t));
}

/* Turn the recorded stop into the cell's end, and report it. Waiter's thread only. */
static void cell_conclude(struct cell *c)
{
	struct vcpu_stop *s = &priv(c)->stop;
	struct crtos_regs regs;
	uint64_t frame[8], slot = s->addr - c->mmio_gpa;
	char what[256];

	if (s->exit_reason == KVM_EXIT_MMIO && slot == CRTOS_MMIO_EXIT) {
		cell_set_end(c, CELL_EXITED, (int)(s->value & 0xff));
	} else if (s->exit_reason == KVM_EXIT_MMIO && slot == CRTOS_MMIO_PANIC &&
		   s->value == CRTOS_PANIC_RECORD) {
		report_panic(c);
		cell_set_end(c, CELL_PANICKED, 0);
	} else if (s->exit_reason == KVM_EXIT_MMIO && slot == CRTOS_MMIO_PANIC) {
		if (!kvm_get_regs(c, &regs)) {
			cell_nucleus_frame(c, &regs, frame);
			report_nucleus_fault(c, &regs, frame);
		}
		cell_set_end(c, CELL_FATAL, 0);
	} else if (s->exit_reason == KVM_EXIT_INTR) {
		cell_set_end(c, CELL_STOPPED, 0);
	} else {
		if (s->exit_reason == KVM_EXIT_SHUTDOWN)
			snprintf(what, sizeof(what), "kernel triple fault: an exception it could not "
				 "even report (corrupt IDT, GDT, TSS or stack)");
		else if (s->exit_reason == KVM_EXIT_MMIO)
			snprintf(what, sizeof(what), "kernel wrote %#llx to guest-physical %#llx, "
				 "where there is neither memory nor a hypercall",
				 (unsigned long long)s->value, (unsigned long long)s->addr);
		else if (s->exit_reason == KVM_EXIT_INTERNAL_ERROR)
			snprintf(what, sizeof(what), "KVM could not emulate the kernel's instruction "
				 "(internal error %llu)", (unsigned long long)s->detail);
		else if (s->exit_reason == KVM_EXIT_UNKNOWN)
			snprintf(what, sizeof(what), "KVM_RUN failed: %s", strerror((int)s->detail));
		else
			snprintf(what, sizeof(what), "unexpected VM exit %u", s->exit_reason);
		report_vcpu_state(c, what);
		if (s->exit_reason == KVM_EXIT_SHUTDOWN)
			report_triple_fault(c);
		cell_set_end(c, CELL_FATAL, 0);
	}
}

/* Once the vCPU thread is gone: drain the log, then report. Idempotent. */
static void cell_finish(struct cell *c)
{
	if (priv(c)->finished)
		return;
	priv(c)->finished = true;
	if (c->vcpu_started)
		pthread_join(c->vcpu_thread, NULL);
	c->vcpu_started = false;
	log_stop(c);
	cell_conclude(c);
	if (cell_log_dropped(c))
		fprintf(c->msg, "crtos: %llu kernel log messages were dropped because the log ring "
			"was full (a larger --log-size keeps more)\n",
			(unsigned long long)cell_log_dropped(c));
}

/* Whether the vCPU thread has left its loop; joins it if so (it is about to end). */
static bool vcpu_stopped(struct cell *c)
{
	if (!c->vcpu_started || !__atomic_load_n(&c->vcpu_exited, __ATOMIC_ACQUIRE))
		return false;
	pthread_join(c->vcpu_thread, NULL);
	c->vcpu_started = false;
	return true;
}

static void timespec_after_ms(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000l;
	if (ts->tv_nsec >= 1000000000l) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000l;
	}
}

int cell_wait(struct cell *c, int timeout_ms)
{
	uint64_t deadline = vmm_now_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000;
	struct timespec ts;

	pthread_mutex_lock(&c->lock);
	while (c->vcpu_started && !vcpu_stopped(c)) {
		if (timeout_ms >= 0 && vmm_now_ns() >= deadline) {
			pthread_mutex_unlock(&c->lock);
			return -ETIMEDOUT;
		}
		timespec_after_ms(&ts, 50);
		pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	}
	pthread_mutex_unlock(&c->lock);
	cell_finish(c);
	return 0;
}

int cell_wait_running(struct cell *c, int timeout_ms)
{
	uint64_t deadline = vmm_now_ns() + (uint64_t)timeout_ms * 1000000;
	struct timespec pause = { .tv_nsec = 200000 };

	for (;;) {
		if (__atomic_load_n(&c->comm->state, __ATOMIC_ACQUIRE) >= CRTOS_STATE_RUNNING &&
		    c->comm->tsc_ready) {
			c->times.boot_ms = clock_tsc_to_ms_since(c, c->comm->tsc_ready, c->cfg.start_ns);
			c->times.kernel_ms = clock_tsc_to_ms_since(c, c->comm->tsc_ready, 0) -
					     clock_tsc_to_ms_since(c, c->comm->tsc_entry, 0);
			c->times.setup_ms = (double)(priv(c)->vcpu_entry_ns - c->cfg.start_ns) / 1e6;
			/* The first KVM_RUN has happened: its worker threads exist now. */
			host_evict_kvm_workers(c->cpu, priv(c)->vcpu_tid);
			return 0;
		}
		if (!c->vcpu_started || cell_wait(c, 0) == 0)
			return -ECANCELED;
		if (vmm_now_ns() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
}

void cell_request_shutdown(struct cell *c, int status)
{
	__atomic_store_n(&c->comm->shutdown, (uint32_t)status + 1, __ATOMIC_RELEASE);
	eventfd_write(c->kick_efd, 1);
}

void cell_stop(struct cell *c)
{
	c->stopping = true;
	if (c->vcpu_started && c->run) {
		__atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_RELEASE);
		pthread_kill(c->vcpu_thread, vcpu_kick_signal());
	}
}

/*
 * Take the vCPU thread out of KVM_RUN once (it goes back in at once) so that
 * it sees a request. A thread that has left its loop is not signalled; its
 * tid is checked rather than its pthread_t, which may be joined meanwhile.
 */
void cell_interrupt_vcpu(struct cell *c)
{
	if (!c->run || !priv(c)->vcpu_tid || __atomic_load_n(&c->vcpu_exited, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_RELEASE);
	syscall(SYS_tgkill, getpid(), priv(c)->vcpu_tid, vcpu_kick_signal());
}

void cell_report_where(struct cell *c, const char *what)
{
	report_vcpu_state(c, what);
}

enum cell_end cell_end(const struct cell *c, int *status)
{
	if (status)
		*status = c->status;
	return c->end;
}

int cell_exit_code(const struct cell *c)
{
	switch (c->end) {
	case CELL_EXITED:
		return c->status;
	case CELL_PANICKED:
		return 70;
	case CELL_FATAL:
		return 71;
	default:
		return 72;
	}
}

const struct cell_times *cell_times(struct cell *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->ram_done_ns)
		c->times.ram_ready_ms = (double)(c->ram_done_ns - c->cfg.start_ns) / 1e6;
	pthread_mutex_unlock(&c->lock);
	return &c->times;
}

const volatile struct crtos_comm *cell_comm(const struct cell *c)
{
	return c->comm;
}

int cell_cpu(const struct cell *c)
{
	return c->cpu;
}

void cell_describe(const struct cell *c, char *buf, size_t len)
{
	snprintf(buf, len, "CPU %d, %s, %llu MiB, idle: %s", c->cpu,
		 c->cfg.no_rt ? "no real-time priority" : "SCHED_FIFO", 
		 (unsigned long long)(c->mem_size / MiB),
		 c->idle == VMM_IDLE_POLL ? "poll" : "spin then halt");
	if (!c->cfg.no_rt) {
		char tail[64];

		snprintf(tail, sizeof(tail), " (priority %d)", c->prio);
		strncat(buf, tail, len - strlen(buf) - 1);
	}
	if (c->guest.mode) {
		char tail[160];

		snprintf(tail, sizeof(tail), "; %s mode (%s)", vmm_mode_name(c->guest.mode),
			 c->guest.mode_reason);
		strncat(buf, tail, len - strlen(buf) - 1);
	}
}

/* Defaults and limits of the configuration. */
static int cell_check_config(struct cell *c, struct vmm_err *err)
{
	struct cell_config *cfg = &c->cfg;

	if (!cfg->mem_size)
		cfg->mem_size = DEFAULT_MEM;
	if (!cfg->log_size)
		cfg->log_size = DEFAULT_LOG;
	if (!cfg->start_ns)
		cfg->start_ns = vmm_now_ns();
	c->prio = cfg->prio ? cfg->prio : DEFAULT_PRIO;
	if (cfg->mem_size % (2 * MiB) || cfg->mem_size < CRTOS_MIN_MEM || cfg->mem_size > CRTOS_MAX_MEM)
		return vmm_fail(err, -EINVAL, "memory size must be a multiple of 2 MiB between %llu MiB "
				"and %llu GiB", (unsigned long long)(CRTOS_MIN_MEM / MiB),
				(unsigned long long)(CRTOS_MAX_MEM / GiB));
	if (cfg->log_size & (cfg->log_size - 1) || cfg->log_size < 4096 || cfg->log_size > 64 * MiB)
		return vmm_fail(err, -EINVAL, "log size must be a power of two between 4 KiB and 64 MiB");
	if (c->prio < 1 || c->prio > 99)
		return vmm_fail(err, -EINVAL, "priority must be 1-99 (SCHED_FIFO)");
	c->mem_size = cfg->mem_size;
	return 0;
}

/*
 * Idle policy: polling is best, but a spinning SCHED_FIFO thread loses 50 ms
 * of every second to Linux's RT throttling unless sched_rt_runtime_us is -1.
 */
static int cell_choose_idle(struct cell *c, struct vmm_err *err)
{
	long runtime = -1;
	bool fair;

	vmm_host_rt_runtime_us(&runtime);
	if (runtime != -1 && c->cfg.fix_rt_throttling) {
		int ret = vmm_host_set_rt_runtime_us(-1, err);

		if (ret)
			return ret;
		c->saved_rt_runtime = runtime;
		c->restore_rt_runtime = true;
		if (!c->cfg.quiet)
			fprintf(c->msg, "crtos: RT throttling off while the cell runs (sched_rt_runtime_us "
			"was %ld)\n", runtime);
		runtime = -1;
	}
	fair = vmm_host_has_fair_server() && !vmm_host_cpu_isolated(c->cpu);
	c->idle = c->cfg.idle;
	if (c->idle == VMM_IDLE_AUTO)
		c->idle = (runtime == -1 && !fair) || c->cfg.no_rt ? VMM_IDLE_POLL : VMM_IDLE_HALT;
	if (fair && runtime == -1 && !c->cfg.no_rt && !c->cfg.quiet)
		fprintf(c->msg, "crtos: note: this Linux (6.12 or later) gives its own tasks up to 50 ms "
			"per second on CPU %d even over SCHED_FIFO (its fair server), which would stall a "
			"polling vCPU whenever a Linux task wants that CPU; %s. To poll without stalls, "
			"isolate the CPU (isolcpus=%d on the kernel command line; see crtos doctor)\n",
			c->cpu, c->idle == VMM_IDLE_POLL ? "polling anyway, as asked" :
			"the kernel halts when idle, and wakes before each deadline", c->cpu);
	if (runtime != -1 && !c->cfg.no_rt && !c->cfg.quiet)
		fprintf(c->msg, "crtos: note: Linux throttles real-time threads (sched_rt_runtime_us = "
			"%ld), which would stall a polling vCPU for 50 ms every second; %s. To poll "
			"without stalls: crtos doctor --fix, or crtos cell --fix-rt-throttling%s\n",
			runtime, c->idle == VMM_IDLE_POLL ? "polling anyway, as asked" :
			"the kernel spins briefly and then halts when idle, waking before each deadline",
			fair ? ", and isolate the CPU (see crtos doctor)" : "");
	return 0;
}

/* cfg.shield: Linux's tasks and interrupts off the CPU until cell_destroy (shield.c). */
static int cell_raise_shield(struct cell *c, struct vmm_err *err)
{
	char what[512];
	int ret;

	if (!c->cfg.shield)
		return 0;
	ret = vmm_shield_raise(c->cpu, &c->shield, what, sizeof(what), err);
	if (!ret && !c->cfg.quiet)
		fprintf(c->msg, "crtos: %s\n", what);
	return ret;
}

/* Guest-physical layout (see boot.c): log ring after the kernel, boot region after that. */
static void cell_layout(struct cell *c)
{
	uint64_t meta = c->mem_size / 4096 * 16;

	c->log_gpa = (c->img.load_end + 0xffff) & ~0xffffull;
	c->log_bytes = 4096 + c->cfg.log_size;
	c->boot_mem = (c->log_gpa + c->log_bytes + meta + 4 * MiB + 2 * MiB - 1) & ~(2 * MiB - 1);
	if (c->boot_mem > c->mem_size)
		c->boot_mem = c->mem_size;
	c->mmio_gpa = c->mem_size;
}

static int cell_build(struct cell *c, struct vmm_err *err)
{
	char path[4096];
	int ret;

	ret = cell_check_config(c, err);
	if (ret)
		return ret;
	if (!c->cfg.kernel_path) {
		if (vmm_default_kernel_path(path, sizeof(path)))
			return vmm_fail(err, -ENOENT, "cannot find the kernel image; pass --kernel");
		c->cfg.kernel_path = path;
	}
	ret = vmm_image_open(&c->img, c->cfg.kernel_path, err);
	c->cfg.kernel_path = NULL;	/* path is on this stack */
	if (ret)
		return ret;
	c->kvm_fd = vmm_kvm_open(c->cfg.kvm_path, err);
	if (c->kvm_fd < 0)
		return c->kvm_fd;
	c->cpu = vmm_host_pick_cpu(c->cfg.cpu, err);
	if (c->cpu < 0)
		return c->cpu;
	ret = host_lock_cpu(c, err);
	ret = ret ?: cell_raise_shield(c, err);
	ret = ret ?: cell_choose_idle(c, err);
	if (ret)
		return ret;
	cell_layout(c);
	ret = mem_create(c, err);
	ret = ret ?: kvm_create_vm(c, err);
	ret = ret ?: kvm_create_vcpu(c, err);
	ret = ret ?: kvm_setup_events(c, err);
	ret = ret ?: boot_setup(c, err);
	return ret;
}

int cell_create(struct cell **out, const struct cell_config *cfg, struct vmm_err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct cell_private *p = calloc(1, sizeof(*p));
	struct cell *c;
	int ret;

	if (!p)
		return vmm_fail(err, -ENOMEM, "out of memory");
	pthread_once(&once, vcpu_kick_install);
	c = &p->c;
	c->cfg = *cfg;
	c->msg = cfg->msg_out ? cfg->msg_out : stderr;
	c->kvm_fd = c->vm_fd = c->vcpu_fd = c->mem_fd = c->cpu_lock_fd = -1;
	c->log_efd = c->kick_efd = c->stop_efd = c->fifo_efd = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->ctl_lock, NULL);
	pthread_mutex_init(&c->fifo_lock, NULL);
	pthread_mutex_init(&c->shm_lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	p->finished = true;	/* nothing to finish until the vCPU starts */
	ret = cell_build(c, err);
	if (ret) {
		cell_destroy(c);
		return ret;
	}
	*out = c;
	return 0;
}

static int cell_start_vcpu(struct cell *c, struct vmm_err *err)
{
	struct sched_param sp = { .sched_priority = c->prio };
	pthread_attr_t attr;
	cpu_set_t set;
	int ret;

	CPU_ZERO(&set);
	CPU_SET(c->cpu, &set);
	pthread_attr_init(&attr);
	if (!vmm_shield_needs_adoption(c->shield))
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	if (!c->cfg.no_rt) {
		pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
		pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
		pthread_attr_setschedparam(&attr, &sp);
	}
	ret = pthread_create(&c->vcpu_thread, &attr, vcpu_thread, c);
	pthread_attr_destroy(&attr);
	if (ret == EPERM)
		return vmm_fail(err, -EPERM, "not allowed to run the vCPU thread at SCHED_FIFO "
				"priority %d: run as root, or grant CAP_SYS_NICE / an RLIMIT_RTPRIO "
				"of at least %d", c->prio, c->prio);
	if (ret)
		return vmm_fail(err, -ret, "cannot start the vCPU thread: %s", strerror(ret));
	c->vcpu_started = true;
	priv(c)->finished = false;
	return 0;
}

int cell_start(struct cell *c, struct vmm_err *err)
{
	int ret;

	ret = log_start(c, err);
	ret = ret ?: mem_start_population(c, err);
	ret = ret ?: cell_start_vcpu(c, err);
	return ret;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void cell_destroy(struct cell *c)
{
	if (!c)
		return;
	cell_stop(c);
	cell_finish(c);
	if (c->pop_started)
		pthread_join(c->pop_thread, NULL);
	log_stop(c);
	shm_destroy(c);		/* before the VM goes: its slots first */
	if (c->run)
		munmap(c->run, c->run_size);
	close_fd(&c->vcpu_fd);
	close_fd(&c->vm_fd);
	close_fd(&c->kvm_fd);
	close_fd(&c->log_efd);
	close_fd(&c->kick_efd);
	close_fd(&c->stop_efd);
	close_fd(&c->fifo_efd);
	mem_destroy(c);
	if (c->restore_rt_runtime)
		vmm_host_set_rt_runtime_us(c->saved_rt_runtime, NULL);
	vmm_shield_lower(c->shield);	/* restored before the CPU is free for another cell */
	close_fd(&c->cpu_lock_fd);
	vmm_image_close(&c->img);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->ctl_lock);
	pthread_mutex_destroy(&c->fifo_lock);
	pthread_mutex_destroy(&c->shm_lock);
	pthread_cond_destroy(&c->cond);
	free(priv(c));
}
