// SPDX-License-Identifier: MIT
/*
 * kmain: checks what the VMM handed over, brings the subsystems up in order,
 * runs the self-tests or test hooks the command line asks for, and enters
 * the idle loop. Until the log ring works, errors go to the VMM through
 * arch_early_puts() and end the cell with CRTOS_EXIT_BOOT.
 */
#include <kernel/arch.h>
#include <kernel/clock.h>
#include <kernel/cmdline.h>
#include <kernel/kernel.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <kernel/printk.h>
#include <kernel/selftest.h>
#include <kernel/personality.h>
#include <kernel/thread.h>
#include <kernel/timer.h>
#include <kernel/trace.h>
#include <crtos/mmio.h>

/* Exit status when the boot parameters are unusable (the VMM explains it). */
#define CRTOS_EXIT_BOOT	125

static struct crtos_comm *comm;
static const struct crtos_boot_params *boot_params;

struct crtos_comm *kernel_comm(void)
{
	return comm;
}

const struct crtos_boot_params *kernel_boot_params(void)
{
	return boot_params;
}

static const char *boot_params_problem(const struct crtos_boot_params *bp)
{
	if (bp->magic != CRTOS_BOOT_MAGIC)
		return "crtos kernel: the boot parameters have a bad magic number\n";
	if (bp->abi_version != CRTOS_ABI_VERSION || bp->size != sizeof(*bp))
		return "crtos kernel: the VMM speaks another crtos ABI version: rebuild both\n";
	if (bp->mem_size < CRTOS_MIN_MEM)
		return "crtos kernel: less than 16 MiB of RAM\n";
	return NULL;
}

_Noreturn void kernel_exit(int status)
{
	pr_info("shutdown: exit status %d\n", status);
	WRITE_ONCE(comm->exit_status, status);
	__atomic_store_n(&comm->state, CRTOS_STATE_EXITED, __ATOMIC_RELEASE);
	arch_exit(status);
}

static void boot_banner(const struct crtos_boot_params *bp)
{
	uint64_t khz = clock_tsc_khz();

	pr_info("crtos %s (ABI %u): real-time kernel, vCPU on host CPU %u\n", CRTOS_VERSION,
		CRTOS_ABI_VERSION, bp->host_cpu);
	pr_info("TSC %lu.%03lu MHz (KVM_GET_TSC_KHZ, in the VMM's clock page); command line: %s\n", (unsigned long)(khz / 1000),
		(unsigned long)(khz % 1000), bp->cmdline);
	pr_info("clock: CLOCK_MONOTONIC %lu ns, CLOCK_REALTIME %ld ns\n",
		(unsigned long)clock_monotonic_ns(), (long)clock_realtime_ns());
}

static void boot_memory_report(const struct crtos_boot_params *bp)
{
	pr_info("memory: %lu MiB RAM, %lu MiB ready at boot, %lu KiB free\n",
		(unsigned long)(bp->mem_size >> 20),
		(unsigned long)((pmm_total_pages() * PAGE_SIZE) >> 20),
		(unsigned long)((pmm_free_pages() * PAGE_SIZE) >> 10));
}

/* Test hook "logflood=N": N messages as fast as possible, to overflow the log ring. */
static void boot_logflood(void)
{
	uint64_t n = cmdline_u64("logflood", 0);

	for (uint64_t i = 1; i <= n; i++)
		pr_info("logflood: message %lu of %lu\n", (unsigned long)i, (unsigned long)n);
}

/* Everything is initialised: tell the VMM, which times the boot up to here. */
static void boot_complete(void)
{
	WRITE_ONCE(comm->tsc_ready, arch_read_tsc());
	__atomic_store_n(&comm->state, CRTOS_STATE_RUNNING, __ATOMIC_RELEASE);
	pr_info("boot complete\n");
}

_Noreturn void kmain(const struct crtos_boot_params *bp)
{
	const char *problem = boot_params_problem(bp);
	int err;

	comm = arch_phys_to_virt(CRTOS_GPA_COMM);
	if (problem) {
		arch_early_puts(problem);
		arch_exit(CRTOS_EXIT_BOOT);
	}
	boot_params = bp;
	comm->tsc_entry = arch_boot_tsc();
	comm->abi_version = CRTOS_ABI_VERSION;
	comm->magic = CRTOS_COMM_MAGIC;
	__atomic_store_n(&comm->state, CRTOS_STATE_BOOTING, __ATOMIC_RELEASE);
	if (printk_init(bp)) {
		arch_early_puts("crtos kernel: the log ring is not set up\n");
		arch_exit(CRTOS_EXIT_BOOT);
	}
	if (cmdline_parse(bp->cmdline, sizeof(bp->cmdline)) < 0)
		pr_warn("command line: more than %d words, the rest is ignored\n", CMDLINE_MAX_WORDS);
	printk_set_level((int)cmdline_u64("loglevel", LOG_INFO));
	trace_init();
	if (clock_init(arch_phys_to_virt(CRTOS_GPA_CLOCK)))
		panic("the clock page is not valid");
	boot_banner(bp);

	err = mm_init(bp);
	if (err)
		panic("memory setup failed: %d", err);
	sched_init();
	sched_set_quantum(clock_ns_to_cycles(cmdline_u64("rr_quantum_ms",
					 SCHED_QUANTUM_DEFAULT_NS / NSEC_PER_MSEC) * NSEC_PER_MSEC));
	boot_memory_report(bp);
	err = arch_init();
	if (err)
		panic("CPU setup failed: %d", err);
	timer_init();
	err = personality_init();
	if (err)
		panic("personality setup failed: %d", err);
	boot_logflood();
	if (cmdline_has("fault"))
		fault_inject(cmdline_get("fault"));
	boot_complete();
	if (cmdline_has("exit"))
		kernel_exit((int)cmdline_u64("exit", 0));
	if (cmdline_has("selftest")) {
		/* The tests exercise all of memory: let the VMM finish populating it. */
		if (!mm_wait_all_ram(30 * NSEC_PER_SEC))
			pr_warn("selftest: not all RAM arrived within 30 s; testing with what there is\n");
		kernel_exit(selftest_run(cmdline_get("selftest")) ? 1 : 0);
	}
	idle_loop();
}
