/* SPDX-License-Identifier: MIT */
/*
 * The one contract between the portable kernel and the CPU layer.
 *
 * Portable code (kernel/) reaches the CPU only through this header. The
 * x86-64 layer implements it in arch/x86_64/; the host unit tests implement
 * it in tests/unit/stub/. Inline hooks (TSC, pause, the soft interrupt mask,
 * the page-table entry format) come from <asm/arch_inline.h>.
 *
 * Execution model: the kernel runs at whatever privilege level the platform
 * makes fast (guest ring 3 under kvm_pvm, see docs/architecture.md); only
 * the arch layer knows which. Interrupts are masked in software: a masked
 * CPU defers interrupts and replays them when unmasked, so a hook that says
 * "masked" means "between arch_irq_save() and arch_irq_restore()".
 */
#ifndef KERNEL_ARCH_H
#define KERNEL_ARCH_H

#include <kernel/types.h>
#include <crtos/boot.h>
#include <crtos/comm.h>
#include <asm/arch_inline.h>

/*
 * Inline hooks provided by <asm/arch_inline.h>:
 *   uint64_t arch_read_tsc(void)        TSC, serialised against earlier loads
 *   void arch_cpu_relax(void)            spin-wait hint
 *   unsigned long arch_irq_save(void)    mask, return previous state
 *   void arch_irq_restore(unsigned long) restore; replays deferred interrupts
 *   bool arch_irqs_masked(void)
 *   void *arch_phys_to_virt(paddr_t)     direct map
 *   paddr_t arch_virt_to_phys(const void *)
 *   page-table format: ARCH_PT_LEVELS, ARCH_PT_ENTRIES, arch_pte_t and
 *   arch_pte_*() (see asm/pte.h)
 *   register dumps (arch_regs_t), read without knowing the registers:
 *     uint64_t arch_regs_ip(const arch_regs_t *)     instruction pointer
 *     uint64_t arch_regs_sp(const arch_regs_t *)     stack pointer
 *     uintptr_t arch_regs_frame(const arch_regs_t *) frame pointer, for arch_backtrace()
 */

struct arch_thread;

/*
 * Register state at an exception or interrupt (struct crtos_regs, the arch's
 * part of the shared ABI: include/arch/<arch>/crtos/arch_regs.h). Portable
 * code reads it only through the arch_regs_*() hooks; the Linux personality
 * also reads and writes the registers its platform's Linux ABI names
 * (system call arguments, signal contexts).
 */
typedef struct crtos_regs arch_regs_t;

/* Contract: called once, by the arch boot code, with the boot params. */
_Noreturn void kmain(const struct crtos_boot_params *bp);

/* TSC value at the kernel's first instruction. */
uint64_t arch_boot_tsc(void);

/*
 * Test hook (cmdline "fault=KIND"): provoke an arch-specific fault of the
 * given kind. Returns false if the arch does not know the kind, true if it
 * does and the fault did not stop the kernel (it may not, in some modes).
 */
bool arch_inject_fault(const char *kind);

/*
 * Test hooks for the self-test that a user thread's FPU/vector state
 * survives context switches: put val in an FPU/vector register that kernel
 * code never touches, and read that register back. User threads only.
 */
void arch_selftest_fpu_put(uint64_t val);
uint64_t arch_selftest_fpu_get(void);

/*
 * Second-stage CPU setup: interrupt controller, timer, per-CPU state that
 * needs the page allocator. Called once by kmain after mm init. May fail
 * with -errno; kmain panics then.
 */
int arch_init(void);

/*
 * Stop the cell: the VMM returns status as its exit status. The caller has
 * flushed what it wants flushed. Never returns.
 */
_Noreturn void arch_exit(int status);

/* The panic record in the comm page is complete: stop the cell. */
_Noreturn void arch_panic_exit(void);

/* Print a string through the VMM directly; for use before the log ring works. */
void arch_early_puts(const char *s);

/* Tell the VMM the log ring has new records. Any context; ~3 us. */
void arch_log_notify(void);

/*
 * Arm the per-CPU timer to interrupt at TSC value deadline (in the past:
 * at once); 0 disarms it. Any context.
 */
void arch_timer_set_deadline(uint64_t deadline);

/*
 * Fault injection (fault=lost-wakeup): disarm the timer in hardware while
 * the kernel still counts on its deadline, as a lost interrupt leaves it.
 * Masked.
 */
void arch_timer_lose_interrupt(void);

/*
 * Wait for an interrupt. Called masked, after the caller checked that it
 * has nothing to do; returns masked, with the interrupt (if any) deferred,
 * so the caller sees it when it unmasks. Spurious returns are allowed.
 */
void arch_idle_wait(void);

/* The CPU's physical-address width in bits: a page table may point below 1 << it only. */
unsigned int arch_phys_addr_bits(void);

/* Make the page table rooted at root current. Masked or not. */
void arch_aspace_activate(paddr_t root);

/* Drop stale TLB entries for one page or for everything non-global. */
void arch_tlb_flush_page(vaddr_t va);
void arch_tlb_flush_all(void);

/*
 * A fault, as much of it as portable code may know: the arch layer decodes
 * its exception state into this. Only page_fault is meaningful when it is
 * false.
 */
struct arch_fault {
	bool page_fault;	/* the MMU refused the access; the rest describe it */
	bool present;		/* the page was mapped: a protection fault, not a missing page */
	bool write;		/* the access was a write */
	bool exec;		/* the access was an instruction fetch */
	uint64_t addr;		/* the address the access went to */
};

/*
 * Read 8 bytes at addr, surviving a fault. Returns 0 with *val set, or
 * -EFAULT with *fault (if not NULL) describing the fault taken.
 */
int arch_probe_read(const void *addr, uint64_t *val, struct arch_fault *fault);

/* Same for a write of val. */
int arch_probe_write(void *addr, uint64_t val, struct arch_fault *fault);

/*
 * Walk the frame-pointer chain from frame pointer fp, storing up to max
 * return addresses. Stops at the first frame outside the kernel. Returns
 * the number stored. Never faults.
 */
int arch_backtrace(uintptr_t fp, uint64_t *frames, int max);

/*
 * Copy n bytes between kernel and user memory in the current address space,
 * surviving faults. Returns the number of bytes NOT copied. The caller
 * checked that the user range is below the kernel window.
 */
size_t arch_copy_user(void *dst, const void *src, size_t n);

/* Length of the string at s if < max, max if no NUL in max bytes, -1 on a fault. */
long arch_strnlen_user(const char *s, size_t max);

/*
 * Leave the kernel for user code at ip with stack pointer sp, all other
 * registers zero, as a new Linux process starts. Never returns.
 */
_Noreturn void arch_enter_user(uint64_t ip, uint64_t sp);

/* Leave the kernel for user code with all registers as in regs. Never returns. */
_Noreturn void arch_enter_user_regs(const arch_regs_t *regs);

/* Called by the arch layer for every system call from user code; regs in/out. */
void syscall_entry(arch_regs_t *regs);

/*
 * Called by the arch layer, masked, on every return to user code (after a
 * system call, an interrupt or an exception that came from user code): the
 * place to deliver signals. May not return (the thread exits).
 */
void user_return(arch_regs_t *regs);

/*
 * Called by the arch layer, masked, when user code faults: sig is the Linux
 * signal the fault maps to (SIGSEGV for a page fault, ...), code its
 * si_code and addr its si_addr, as Linux reports them. The signal is
 * delivered on the way back to user code (user_return), or kills.
 */
void user_exception(arch_regs_t *regs, int sig, int code, uint64_t addr);

/* Frame pointer of the caller, for arch_backtrace(). */
#define arch_current_frame()	((uintptr_t)__builtin_frame_address(0))

/*
 * Threads. struct arch_thread (from <asm/thread.h>) is the CPU state a
 * context switch saves beyond the kernel stack.
 *
 * arch_thread_init: prepare at so that the first switch to it runs
 * entry() on the stack [kstack, kstack + size), masked. With user true the
 * thread also gets FPU/vector state (user threads own it; the kernel never
 * touches it). Returns 0 or -ENOMEM.
 */
int arch_thread_init(struct arch_thread *at, void *kstack, size_t size, void (*entry)(void),
		     bool user);
void arch_thread_free(struct arch_thread *at);

/* Give at (a new user thread) a copy of the running thread's FPU/vector state. */
void arch_thread_copy_fpu(struct arch_thread *at);

/*
 * Signal frames: the running thread's FPU/vector state in the format the
 * platform's Linux signal frame uses. arch_fpu_frame_size(): bytes needed
 * (arch_fpu_frame_align() aligned). arch_fpu_save_frame(): store it at the
 * user address uaddr, then give the thread its initial FPU state (as a
 * signal handler starts); 0 or -EFAULT. arch_fpu_restore_frame(): load it
 * back from uaddr, checked so that bad contents cannot fault the kernel;
 * 0, -EFAULT or -EINVAL (then the state is the initial one).
 */
size_t arch_fpu_frame_size(void);
size_t arch_fpu_frame_align(void);
int arch_fpu_save_frame(uint64_t uaddr);
int arch_fpu_restore_frame(uint64_t uaddr);

/* The running (boot) context becomes a thread: at describes its current stack. */
void arch_thread_adopt(struct arch_thread *at);

/* The thread's TLS pointer (FS base on x86-64); current: at is the running thread. */
void arch_thread_set_tls(struct arch_thread *at, uint64_t tls, bool current);
uint64_t arch_thread_get_tls(struct arch_thread *at, bool current);
/*
 * The other segment base a program may set (x86: GS, arch_prctl ARCH_SET_GS),
 * the program's own: the kernel never uses it. Kept per thread, inherited
 * by clone and fork, 0 after exec, as on Linux.
 */
void arch_thread_set_gs(struct arch_thread *at, uint64_t gs, bool current);
uint64_t arch_thread_get_gs(struct arch_thread *at, bool current);

/*
 * Switch from prev to next: save prev's callee-saved registers, stack, FS
 * base and FPU state, load next's. Masked; returns when prev runs again.
 * The address space is the caller's business (arch_aspace_activate).
 */
void arch_thread_switch(struct arch_thread *prev, struct arch_thread *next);

/* Called by the arch layer for each interrupt vector that fired (masked). */
void irq_dispatch(unsigned int vector);

/*
 * Called by the arch layer after a batch of interrupts was dispatched,
 * masked, on the interrupted thread's stack: the preemption point. May
 * switch threads; returns when the interrupted thread runs again.
 */
void irq_exit(void);

#endif
