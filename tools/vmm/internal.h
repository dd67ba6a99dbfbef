/* SPDX-License-Identifier: MIT */
/* libvmm internals: the cell object and the helpers its files share. */
#ifndef VMM_INTERNAL_H
#define VMM_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>
#include <linux/kvm.h>
#include <asm/xstate.h>
#include <crtos/clock.h>
#include <crtos/logring.h>
#include <crtos/shm.h>
#include "vmm.h"

/* For C libraries older than the kernels we run on (mem.c, shm.c). */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

#define MiB	(1ull << 20)
#define GiB	(1ull << 30)

/* The VMM's side of a shared slot (shm.c): its entry in the kernel's table says the rest. */
struct cell_shm {
	void *host;			/* our mapping of the object, or NULL */
	uint64_t size;			/* bytes mapped and registered */
	uint64_t valid;			/* bytes the object had */
	uint32_t kind;			/* enum crtos_shm_kind */
	bool writable;
	bool registered;		/* the KVM slot exists */
	dev_t dev;			/* a file's, for crtos shm show */
	ino_t ino;
	bool has_fd;			/* a file's: fd is our own fd of it, for a mapping that
					 * grows (cell_shm_req.from_slot) and for shm_watch() */
	int fd;
	uint64_t offset;		/* a file's offset at the slot's start */
	uint64_t valid_now;		/* what we published in the slot's valid_now */
};

struct cell {
	struct cell_config cfg;
	struct vmm_image img;
	FILE *msg;			/* where the VMM's reports go */
	int cpu;
	int prio;
	enum vmm_idle idle;		/* resolved: POLL or HALT */
	bool restore_rt_runtime;	/* we changed sched_rt_runtime_us */
	long saved_rt_runtime;
	int cpu_lock_fd;		/* flock on the RT CPU */
	bool cpu_locked;		/* we hold it: the CPU's regions (shm.c) are ours */
	struct vmm_shield *shield;	/* cfg.shield: Linux's tasks and IRQs kept off the CPU */

	/* KVM */
	int kvm_fd, vm_fd, vcpu_fd;
	struct vmm_guest_cpu guest;	/* what KVM offers, decided once (cpu.c) */
	struct kvm_run *run;
	size_t run_size;
	int log_efd;			/* ioeventfd: the log doorbell */
	int kick_efd;			/* irqfd: MSI CRTOS_VEC_KICK into the guest */
	int stop_efd;			/* wakes our helper threads for shutdown */
	int fifo_efd;			/* ioeventfd: an RT-FIFO that Linux waits on changed */

	/* Guest memory and its layout. */
	int mem_fd;
	uint8_t *mem;
	uint64_t mem_size;
	uint64_t boot_mem;		/* populated before the vCPU runs */
	uint64_t log_gpa, log_bytes, mmio_gpa;
	struct crtos_boot_params *bp;
	struct crtos_comm *comm;
	struct crtos_clock *clock;
	struct crtos_log_ring *log;

	/* Threads. */
	pthread_t vcpu_thread, log_thread, pop_thread;
	bool vcpu_started, log_started, pop_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* signalled when end or ram_ready changes */
	pthread_mutex_t ctl_lock;	/* one control request at a time */
	pthread_mutex_t fifo_lock;	/* serializes the Linux side of RT-FIFOs (fifo.c) */
	pthread_mutex_t shm_lock;	/* serializes shared-slot changes (shm.c) */
	struct cell_shm shm[CRTOS_SHM_SLOTS];	/* by shared slot */
	uint64_t shm_watched_ns;	/* when shm_watch() last looked (the log thread's) */
	bool shm_full_said;		/* shm.c, under shm_lock: "all slots in use" printed */
	volatile bool stopping;		/* helpers and the vCPU loop must finish */
	bool vcpu_exited;		/* vCPU thread, atomic: it has left its loop */

	/* Outcome (under lock). */
	enum cell_end end;
	int status;
	struct cell_times times;
	uint64_t ram_done_ns;

	/* The halt watchdog (watchdog.c). */
	bool watchdog_asked;		/* log thread -> vCPU thread, atomic: look at the vCPU */
	uint64_t watchdog_promise;	/* log thread: the halted_until_tsc last acted on */
	uint64_t watchdog_seen_ns;	/* log thread: when it last looked */
	uint64_t watchdog_resumed_ns;	/* log thread: when it looked after a long gap */
	unsigned int watchdog_wakes;	/* vCPU thread: lost wake-ups repaired */

	/* Log consumer state (log thread, then cell_destroy). */
	struct crtos_log_reader reader;
	uint64_t next_seq;
	uint64_t dropped_reported;
	bool log_corrupt;
};

/* kvm.c */
int kvm_create_vm(struct cell *c, struct vmm_err *err);
int kvm_create_vcpu(struct cell *c, struct vmm_err *err);
int kvm_setup_events(struct cell *c, struct vmm_err *err);
int kvm_get_regs(struct cell *c, struct crtos_regs *r);

/* mem.c */
int mem_create(struct cell *c, struct vmm_err *err);
int mem_start_population(struct cell *c, struct vmm_err *err);
void mem_destroy(struct cell *c);

/* shm.c: free the slots the kernel released; free them all (the VM is gone). */
void shm_sweep(struct cell *c);
void shm_destroy(struct cell *c);
/* shm.c: tell the kernel of files that shrank or grew back under their slots (crtos/shm.h). */
void shm_watch(struct cell *c);

/* boot.c */
int boot_setup(struct cell *c, struct vmm_err *err);

/* clock.c */
int clock_setup(struct cell *c, struct vmm_err *err);
double clock_tsc_to_ms_since(const struct cell *c, uint64_t tsc, uint64_t since_ns);

/* log.c */
int log_start(struct cell *c, struct vmm_err *err);
void log_drain(struct cell *c);
void log_stop(struct cell *c);

/* host.c */
int host_lock_cpu(struct cell *c, struct vmm_err *err);
int host_start_helper(pthread_t *t, int cpu, void *(*fn)(void *), void *arg);
int host_evict_kvm_workers(int cpu, pid_t vcpu_tid);

/* report.c */
void report_panic(struct cell *c);
void report_nucleus_fault(struct cell *c, const struct crtos_regs *regs, const uint64_t *frame);
void report_vcpu_state(struct cell *c, const char *what);
void report_triple_fault(struct cell *c);

/* proc.c */
int ctl_request(struct cell *c, uint32_t op, uint64_t arg, const char *name, uint64_t out[4]);

/* cell.c */
void cell_set_end(struct cell *c, enum cell_end end, int status);
void cell_interrupt_vcpu(struct cell *c);

/* watchdog.c */
void watchdog_poll(struct cell *c);
void watchdog_check_vcpu(struct cell *c);

/*
 * A structure of size bytes the kernel published at guest-physical gpa (a
 * comm-page field it writes), or NULL while gpa is 0 or when the structure
 * would not lie wholly in RAM. The caller still checks its magic.
 */
static inline void *cell_guest_struct(const struct cell *c, uint64_t gpa, uint64_t size)
{
	if (!gpa || gpa > c->mem_size || c->mem_size - gpa < size)
		return NULL;
	return c->mem + gpa;
}

/*
 * The guest-physical address behind len bytes at kernel-window address va
 * (a pointer the kernel handed us), or false when they are not in RAM.
 */
static inline bool cell_kernel_gpa(const struct cell *c, uint64_t va, uint64_t len, uint64_t *gpa)
{
	uint64_t off = va - c->img.base;

	if (off >= c->mem_size || len > c->mem_size - off)
		return false;
	*gpa = off;
	return true;
}

#endif
