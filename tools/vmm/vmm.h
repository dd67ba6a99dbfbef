/* SPDX-License-Identifier: MIT */
/*
 * libvmm: the partition. A cell is a KVM virtual machine with one vCPU,
 * pinned to its own CPU, running the crtos kernel in guest RAM that is one
 * memfd. The CLI and the integration tests are thin layers over this API.
 *
 * Conventions: functions return 0 or -errno; on failure they fill a
 * struct vmm_err with a message that says what failed and what to do
 * (the CLI prints it as is). Nothing here exits the process or installs
 * process-wide state other than one no-op signal handler (vcpu kicks).
 * Every resource a cell holds is released by cell_destroy().
 */
#ifndef VMM_VMM_H
#define VMM_VMM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <elf.h>
#include <crtos/boot.h>
#include <crtos/comm.h>

struct vmm_err {
	char msg[1024];
};

/* Record a message in err (if not NULL) and return code (a -errno). */
int vmm_fail(struct vmm_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- host checks (host.c) ---- */

/* A file's first line (a sysfs, procfs or cgroup value), without its newline. 0 or -errno. */
int host_read_line(const char *path, char *buf, size_t len);
/* Write text to a sysfs, procfs or cgroup file, all of it in one write. 0 or -errno. */
int host_write_text(const char *path, const char *text);

/* CPUs this process may run on, as a bitmask of up to 1024 CPUs. */
struct vmm_cpuset {
	uint64_t bits[16];
};

bool vmm_cpuset_has(const struct vmm_cpuset *s, int cpu);
int vmm_cpuset_count(const struct vmm_cpuset *s);
/* "0-3,6" style text for messages. */
void vmm_cpuset_format(const struct vmm_cpuset *s, char *buf, size_t len);
/* Parse a sysfs CPU list ("0-3,6"): 0 or -EINVAL. */
int vmm_cpuset_parse(const char *text, struct vmm_cpuset *out);

/* The CPUs this process may use (sched_getaffinity), and those online. */
int vmm_host_allowed_cpus(struct vmm_cpuset *out);
int vmm_host_online_cpus(struct vmm_cpuset *out);

/*
 * Check that cpu can be the cell's CPU: it exists, this process may use it,
 * and at least one other allowed CPU remains for Linux and our own threads.
 * cpu < 0 picks the highest allowed CPU. Returns the CPU or -errno.
 */
int vmm_host_pick_cpu(int cpu, struct vmm_err *err);

/* Directory for cells' lock files and sockets (/run/crtos, or /tmp/crtos). */
const char *vmm_runtime_dir(void);

/* Keep the calling thread off cpu (the cell's): it may run on any other allowed CPU. */
int vmm_host_keep_thread_off_cpu(int cpu);

/* Read /proc/sys/kernel/sched_rt_runtime_us; -1 means no RT throttling. */
int vmm_host_rt_runtime_us(long *value);
bool vmm_host_cpu_isolated(int cpu);
bool vmm_host_has_fair_server(void);
int vmm_host_set_rt_runtime_us(long value, struct vmm_err *err);

/*
 * The shield (shield.c): every movable Linux task and interrupt off cpu while
 * a cell runs. vmm_shield_raise() forks a guardian that moves them (cgroup v1
 * cpusets, or a cgroup v2 isolated partition) and puts everything back when
 * vmm_shield_lower() is called or this process dies in any way; it records
 * each change in <runtime dir>/shield-cpuN first. Call it while this process
 * has one thread (the guardian is forked). what: one line for the user.
 */
struct vmm_shield;
int vmm_shield_raise(int cpu, struct vmm_shield **out, char *what, size_t len,
		     struct vmm_err *err);
void vmm_shield_lower(struct vmm_shield *s);
/* cgroup v2: a thread that must run on the CPU joins the partition (the vCPU's, first thing). */
bool vmm_shield_needs_adoption(const struct vmm_shield *s);
int vmm_shield_adopt_thread(struct vmm_shield *s, pid_t tid);

enum vmm_shield_state {
	VMM_SHIELD_NONE,	/* no state file */
	VMM_SHIELD_UP,		/* its guardian lives */
	VMM_SHIELD_STALE,	/* its guardian died: the changes are still in force */
};
/* The shield of cpu; guardian: its pid, mech: "v1", "v2" or "none". */
enum vmm_shield_state vmm_shield_status(int cpu, pid_t *guardian, char *mech, size_t len);
/* Undo a stale shield from its state file: records applied, 0 if none was stale, or -errno. */
int vmm_shield_repair(int cpu);

/* Open the KVM device: a clear message when it is missing or not accessible. */
int vmm_kvm_open(const char *path, struct vmm_err *err);

/* The KVM module behind /dev/kvm: "kvm_pvm", "kvm_amd", "kvm_intel" or "kvm". */
const char *vmm_kvm_flavor(void);

/*
 * The guest CPU, decided from what KVM offers (cpu.c). xcr0: the XCR0 a
 * kernel at ring 0 loads (leaf 0xD restricted to the user state crtos
 * handles), 0 without XSAVE. Under kvm_pvm the kernel runs at ring 3 under
 * the host's XCR0 instead (docs/architecture.md).
 */
struct vmm_guest_cpu {
	bool xsave;			/* KVM offers XSAVE: CR4.OSXSAVE is set */
	uint64_t xcr0;
	uint32_t xsave_ext;		/* CPUID 0xD.1 EAX: XSAVEOPT, XSAVEC, XGETBV1, XSAVES */
	uint32_t xsave_size;		/* standard-format area for xcr0 */
	uint32_t xsave_compacted_size;	/* compacted-format area for xcr0 */
	bool x2apic;			/* KVM's CPUID offers x2APIC */
	bool tsc_deadline;		/* KVM_CAP_TSC_DEADLINE_TIMER */
	bool smep;			/* hardware mode and KVM offers SMEP: CR4.SMEP is set */
	bool smap;			/* hardware mode and KVM offers SMAP: CR4.SMAP is set */
	uint32_t mode;			/* enum crtos_cpu_mode: kvm_pvm, or hardware mode */
	const char *mode_reason;	/* why, for banners and crtos doctor */
};

/* "hardware" or "kvm_pvm". */
const char *vmm_mode_name(uint32_t mode);

struct kvm_cpuid2;
/* Decide; *table (if asked, free() it) is the CPUID to give the vCPU. 0 or -errno. */
int vmm_guest_cpu_probe(int kvm_fd, struct vmm_guest_cpu *gc, struct kvm_cpuid2 **table,
			struct vmm_err *err);
void vmm_guest_cpu_describe(const struct vmm_guest_cpu *gc, char *buf, size_t len);
/* The guest TSC rate KVM gives a new vCPU (KVM_GET_TSC_KHZ), or -errno. */
int vmm_kvm_tsc_khz(int kvm_fd);
/* The host's XCR0 (what ring 3 runs under, also in kvm_pvm guests); its XSAVE size. */
uint64_t vmm_host_xcr0(void);
uint32_t vmm_host_xsave_size(uint64_t xcr0);

/* ---- the kernel image (image.c) ---- */

struct vmm_symbol {
	uint64_t addr;
	uint64_t size;
	const char *name;
};

struct vmm_image {
	char path[256];
	uint8_t *file;			/* the whole ELF, read into memory */
	size_t file_size;
	uint64_t entry;			/* link address (= GPA) of the entry point */
	uint64_t load_start, load_end;	/* guest-physical range of all PT_LOAD segments */
	uint64_t base;			/* where vmm_image_load() placed GPA 0 */
	const Elf64_Rela *rela;		/* its R_X86_64_RELATIVE relocations, checked */
	size_t nr_rela;
	struct crtos_image_header header;
	struct vmm_symbol *syms;	/* functions and objects, sorted by address */
	size_t nr_syms;
};

/* Read and check a kernel ELF (magic, ABI version, segments). */
int vmm_image_open(struct vmm_image *img, const char *path, struct vmm_err *err);

/*
 * Copy the segments into guest RAM (mem, mem_size bytes at GPA 0) and
 * relocate them for a kernel window at base (crtos_kernel_base()).
 */
int vmm_image_load(struct vmm_image *img, uint8_t *mem, uint64_t mem_size, uint64_t base,
		   struct vmm_err *err);

/* "name+0xoff" for a runtime (relocated) addr, or NULL when no symbol covers it. */
const char *vmm_image_symbol(const struct vmm_image *img, uint64_t addr, uint64_t *off);

void vmm_image_close(struct vmm_image *img);

/* The kernel image next to the running binary (or $CRTOS_KERNEL). */
int vmm_default_kernel_path(char *buf, size_t len);

/* A file that ships with crtos (see image.c); $env overrides. 0 or -ENOENT. */
int vmm_find_tool(const char *name, const char *env, char *buf, size_t len);

/* ---- the cell (cell.c) ---- */

enum vmm_idle {
	VMM_IDLE_AUTO,		/* poll when RT throttling is off, else halt */
	VMM_IDLE_POLL,
	VMM_IDLE_HALT,
};

struct cell_config {
	const char *kernel_path;	/* NULL: vmm_default_kernel_path() */
	const char *kvm_path;		/* NULL: /dev/kvm */
	uint64_t mem_size;		/* bytes, multiple of 2 MiB; 0: 256 MiB */
	int cpu;			/* < 0: the last CPU this process may use */
	int prio;			/* SCHED_FIFO priority of the vCPU thread, 1-99; 0: 90 */
	enum vmm_idle idle;
	unsigned int idle_spin_us;	/* halt mode: spin this long first; 0: 200 */
	const char *cmdline;		/* kernel command line */
	uint64_t log_size;		/* bytes of kernel log ring, power of two; 0: 256 KiB */
	FILE *log_out;			/* kernel log goes here; NULL: discarded */
	FILE *msg_out;			/* the VMM's own reports; NULL: stderr */
	bool fix_rt_throttling;		/* set sched_rt_runtime_us = -1 while the cell runs */
	bool shield;			/* move Linux's tasks and IRQs off the CPU while it runs */
	bool no_rt;			/* no SCHED_FIFO, no memory locking (tests, non-root) */
	bool quiet;			/* no notes (advice); errors and reports still go to msg_out */
	uint64_t start_ns;		/* CLOCK_MONOTONIC when the user started us; 0: now */
};

enum cell_end {
	CELL_RUNNING = 0,
	CELL_EXITED,		/* orderly shutdown; status is the kernel's */
	CELL_PANICKED,		/* kernel panic, reported */
	CELL_FATAL,		/* unrecoverable CPU state (triple fault, nucleus fault, ...), reported */
	CELL_STOPPED,		/* the VMM stopped the vCPU (timeout, destroy) */
};

struct cell_times {
	double boot_ms;			/* start_ns -> kernel up (comm.tsc_ready) */
	double setup_ms;		/* start_ns -> vCPU entry */
	double kernel_ms;		/* kernel entry -> kernel up */
	double ram_ready_ms;		/* start_ns -> all RAM populated and locked */
	uint64_t boot_mem;		/* bytes populated before the vCPU started */
};

struct cell;

/* Check the host, build the VM and load the kernel. The vCPU does not run yet. */
int cell_create(struct cell **out, const struct cell_config *cfg, struct vmm_err *err);

/*
 * Start the vCPU thread (alone on the cell's CPU) and the helper threads
 * (on the other CPUs). The caller's own threads are its business: see
 * vmm_host_keep_thread_off_cpu().
 */
int cell_start(struct cell *c, struct vmm_err *err);

/*
 * Wait until the kernel has booted (state RUNNING: returns 0), stops (returns
 * -ECANCELED; see cell_end()), or timeout_ms passes (-ETIMEDOUT).
 */
int cell_wait_running(struct cell *c, int timeout_ms);

/* Wait until the cell stops: 0, or -ETIMEDOUT. timeout_ms < 0 waits forever. */
int cell_wait(struct cell *c, int timeout_ms);

/* Ask the kernel to shut down in order with exit status (0-254). */
void cell_request_shutdown(struct cell *c, int status);

/* Stop the vCPU now, whatever the kernel is doing; the cell ends CELL_STOPPED. */
void cell_stop(struct cell *c);

/* After the cell stopped: report why (what) and where the vCPU was, with registers. */
void cell_report_where(struct cell *c, const char *what);

/* How the cell ended, and the exit status (for CELL_EXITED). */
enum cell_end cell_end(const struct cell *c, int *status);

/* A shell-style exit status for the cell's end: its status, or 70 + reason. */
int cell_exit_code(const struct cell *c);

const struct cell_times *cell_times(struct cell *c);
const volatile struct crtos_comm *cell_comm(const struct cell *c);

/* Kernel log records dropped because the ring was full. */
uint64_t cell_log_dropped(const struct cell *c);

/* Release everything: threads, fds, memory. Stops the vCPU if it runs. */
void cell_destroy(struct cell *c);

/* The host CPU the cell runs on. */
int cell_cpu(const struct cell *c);

/* A description of the cell for the user ("CPU 1, SCHED_FIFO 90, 256 MiB, idle: poll"). */
void cell_describe(const struct cell *c, char *buf, size_t len);

/* ---- RT processes (proc.c) ---- */

struct crtos_channel;

/* An RT process as the VMM sees it: its channel and doorbell. */
struct cell_proc {
	unsigned int index;		/* the kernel's doorbell index */
	uint64_t channel_gpa;		/* where its channel is in guest memory */
	int doorbell_fd;		/* eventfd the kernel's doorbell store signals */
	bool assigned;
};

/* Ask the kernel for a new, empty RT process. The cell must be running. */
int cell_spawn(struct cell *c, struct cell_proc *p, struct vmm_err *err);

/* The process's channel, in guest memory (read-only for the VMM). */
const struct crtos_channel *cell_channel(const struct cell *c, const struct cell_proc *p);

/* The shadow is gone: free the process and its doorbell. */
int cell_reap(struct cell *c, struct cell_proc *p);

/*
 * A shared object to make a shared slot of (crtos/shm.h): a file, /dev/shm
 * object or memfd (the fd), or a SysV segment (its id).
 */
struct cell_shm_req {
	uint32_t kind;			/* enum crtos_shm_kind */
	uint32_t owner;			/* doorbell index of the process that maps it */
	uint64_t offset;		/* CRTOS_SHM_FILE: file offset, page aligned */
	uint64_t len;			/* CRTOS_SHM_FILE: bytes (at most CRTOS_SHM_SLOT_SPAN) */
	int64_t sysv_id;		/* CRTOS_SHM_SYSV */
	uint32_t readonly;		/* CRTOS_SHM_SYSV: attach read-only */
	uint32_t from_slot;		/* CRTOS_SHM_FILE: 1 + i: the object of shared slot i, in use
					 * (a mapping grown by mremap: no fd comes); 0: the fd given */
};

/*
 * Map the object (fd, or req->from_slot's) and register it as a shared
 * slot; *gpa is where the kernel finds it. 0 or -errno (-ENOMEM: no slot
 * free, or too large).
 * The caller keeps fd. Any thread.
 */
int cell_shm_attach(struct cell *c, const struct cell_shm_req *req, int fd, uint64_t *gpa);

/*
 * RT shared-memory regions: /dev/rtshm/NAME in the realm, the file
 * /dev/shm/crtos-cell<CPU>-NAME for Linux (owned by the cell's user, mode
 * 0600, the size fixed at creation), removed when the cell ends. Mapping
 * one, in either realm, maps that file: a shared slot in the realm.
 */
struct cell_shm_region_info {
	char name[32];
	char path[96];			/* the file Linux processes open */
	uint64_t size;
	uint32_t uid, mode;
	unsigned int slots;		/* shared slots mapping it in the realm now */
};

#define CELL_SHM_REGION_MAX_SIZE	(1ull << 30)	/* a shared slot's span */

/* Create region name of size bytes (page multiple). 0 or -errno (-EEXIST), *err says why. */
int cell_shm_region_create(struct cell *c, const char *name, uint64_t size, struct vmm_err *err);
/* Remove it (mappings keep their pages, as after unlink). 0 or -errno. */
int cell_shm_region_remove(struct cell *c, const char *name, struct vmm_err *err);
/* Call each for every region (stops at a nonzero return, which it returns). */
int cell_shm_region_list(struct cell *c, int (*each)(const struct cell_shm_region_info *, void *),
			 void *ctx);

/* What a shadow needs: the guest-memory memfd, and the eventfd that kicks the kernel. */
int cell_memfd(const struct cell *c);
int cell_kick_fd(const struct cell *c);

/*
 * ---- RT-FIFOs, the Linux side (fifo.c) ----
 *
 * The kernel's FIFO directory (crtos/rtfifo.h) seen from Linux: what the
 * FUSE mount and crtos fifo use. Linux openers of one FIFO are one party
 * for the kernel: these calls serialize them (they never block; waiting is
 * the caller's, on cell_fifo_event_fd() and its own wake-ups).
 */
struct cell_fifo_info {
	char name[32];
	unsigned int index;
	uint32_t gen;
	uint64_t size, fill;
	uint32_t writer_side, reader_side;	/* enum crtos_fifo_side */
	uint32_t rt_readers, rt_writers, linux_readers, linux_writers;
	uint64_t rt_full, linux_full;
	bool hup;			/* every writer closed: readers drain, then end of file */
};

/* A FIFO as one Linux opener holds it. */
struct cell_fifo_handle {
	unsigned int index;
	uint32_t gen;
	bool rd, wr;
};

/* Ask the kernel to create or remove a FIFO. 0 or -errno (-EEXIST, -EBUSY...), err filled. */
int cell_fifo_create(struct cell *c, const char *name, uint64_t size, struct vmm_err *err);
int cell_fifo_remove(struct cell *c, const char *name, struct vmm_err *err);
/* The FIFO in directory entry index (0 or -ENOENT), or called name. */
int cell_fifo_info(struct cell *c, unsigned int index, struct cell_fifo_info *out);
int cell_fifo_lookup(struct cell *c, const char *name, struct cell_fifo_info *out);
/* Open for Linux: 0, -ENOENT, or -EBUSY when the realm holds the reading or writing end. */
int cell_fifo_open(struct cell *c, unsigned int index, bool rd, bool wr, struct cell_fifo_handle *h);
void cell_fifo_close(struct cell *c, const struct cell_fifo_handle *h);
/* Bytes moved; read: 0 at end of file; -EAGAIN: nothing (room) yet; -ENOENT: removed. */
long cell_fifo_read(struct cell *c, const struct cell_fifo_handle *h, void *buf, size_t len);
long cell_fifo_write(struct cell *c, const struct cell_fifo_handle *h, const void *buf, size_t len);
/* POLLIN, POLLOUT, POLLHUP as ready now; POLLERR once removed. */
unsigned int cell_fifo_poll(struct cell *c, const struct cell_fifo_handle *h);
/* Linux waits on index (delta +1) or stops (-1): the kernel then rings cell_fifo_event_fd(). */
void cell_fifo_waiting(struct cell *c, unsigned int index, int delta);
int cell_fifo_event_fd(const struct cell *c);

/* ---- helpers shared inside libvmm ---- */

uint64_t vmm_now_ns(void);
void vmm_report_regs(FILE *out, const struct vmm_image *img, const struct crtos_regs *r);
void vmm_report_backtrace(FILE *out, const struct vmm_image *img, const uint64_t *frames,
			  unsigned int n);

#endif
