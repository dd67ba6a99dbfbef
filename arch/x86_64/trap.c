// SPDX-License-Identifier: MIT
/*
 * Reflected events, in C: x86_event_entry builds a struct crtos_regs on the
 * kernel stack and calls x86_event() masked. Interrupts are drained from the
 * pending bitmap the nucleus filled; exceptions in kernel code are either
 * expected (a probe's entry in __ex_table) or fatal.
 */
#include <kernel/arch.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <asm/internal.h>
#include <asm/x86.h>
#include <asm/signal.h>
#include <asm/siginfo.h>

struct x86_extable_entry {
	uint64_t insn;
	uint64_t fixup;
};

extern const struct x86_extable_entry __start___ex_table[], __stop___ex_table[];

static const char *const x86_exception_names[X86_NR_EXCEPTIONS] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range exceeded",
	"invalid opcode", "device not available", "double fault", "coprocessor overrun",
	"invalid TSS", "segment not present", "stack fault", "general protection fault",
	"page fault", "reserved 15", "x87 floating-point error", "alignment check",
	"machine check", "SIMD floating-point error", "virtualization exception",
	"control protection", "reserved 22", "reserved 23", "reserved 24", "reserved 25",
	"reserved 26", "reserved 27", "hypervisor injection", "VMM communication",
	"security exception", "reserved 31",
};

const char *x86_exception_name(unsigned int vector)
{
	return vector < X86_NR_EXCEPTIONS ? x86_exception_names[vector] : "interrupt";
}

/* The Linux signal, si_code and si_addr for an exception in user code, as Linux sends them. */
static int x86_exception_signal(const arch_regs_t *regs, int *code, uint64_t *addr)
{
	*addr = regs->rip;
	switch (regs->vector) {
	case X86_VEC_DE:
		*code = FPE_INTDIV;
		return SIGFPE;
	case 16:		/* x87 */
	case 19:		/* SIMD */
		*code = FPE_FLTINV;
		return SIGFPE;
	case X86_VEC_DB:
		*code = TRAP_BRKPT;
		return SIGTRAP;
	case X86_VEC_BP:
		*code = SI_KERNEL;
		*addr = 0;
		return SIGTRAP;
	case X86_VEC_UD:
		*code = ILL_ILLOPN;
		return SIGILL;
	case 12:		/* stack segment (a non-canonical stack address): Linux's do_error_trap */
		*code = SI_KERNEL;
		*addr = 0;
		return SIGBUS;
	case 17:		/* alignment check */
		*code = BUS_ADRALN;
		*addr = regs->cr2;
		return SIGBUS;
	case X86_VEC_PF:
		*code = regs->error_code & X86_PF_PRESENT ? SEGV_ACCERR : SEGV_MAPERR;
		*addr = regs->cr2;
		return SIGSEGV;
	default:		/* #GP and the rest */
		*code = SI_KERNEL;
		*addr = 0;
		return SIGSEGV;
	}
}

/*
 * Whether the event interrupted the kernel. In hardware mode the ring says
 * so (a kernel that jumped to a program's page is still the kernel); under
 * kvm_pvm both run at ring 3, and the kernel's code is in its window.
 */
static bool x86_from_kernel(const arch_regs_t *regs)
{
	if (x86_hardware_mode())
		return !(regs->cs & 3);
	return is_kernel_window_address(regs->rip);
}

/*
 * Say so when the nucleus found interrupts delivered inside its own code
 * with IF clear: no CPU does that, the test VM's emulated AMD-V does (see
 * nucleus.S), and a developer reading a failure there should know. Masked.
 */
static void x86_note_irq_in_nucleus(struct x86_percpu *c)
{
	uint64_t n = READ_ONCE(c->irq_in_nucleus);

	if (n == c->irq_in_nucleus_logged)
		return;
	pr_warn("nucleus: %lu interrupts so far arrived inside the nucleus with interrupts off "
		"(an emulated CPU delivered them twice); deferred\n", (unsigned long)n);
	c->irq_in_nucleus_logged = n;
}

/* Handle every deferred interrupt. Masked. */
static void x86_irq_drain(void)
{
	struct x86_percpu *c = this_cpu();

	x86_note_irq_in_nucleus(c);

	while (READ_ONCE(c->irq_pending_any)) {
		WRITE_ONCE(c->irq_pending_any, 0);
		for (unsigned int w = 0; w < ARRAY_SIZE(c->irq_pending); w++) {
			uint64_t bits = __atomic_exchange_n(&c->irq_pending[w], 0, __ATOMIC_RELAXED);

			while (bits) {
				unsigned int bit = (unsigned int)__builtin_ctzll(bits);

				bits &= bits - 1;
				if (w * 64 + bit == CRTOS_VEC_TIMER)
					x86_timer_fired();
				irq_dispatch(w * 64 + bit);
			}
		}
	}
}

/*
 * Called unmasked, by arch_irq_restore() or an event return, when interrupts
 * were deferred: handle them masked, then unmask.
 */
void x86_irq_replay(void)
{
	struct x86_percpu *c = this_cpu();

	do {
		WRITE_ONCE(c->irq_masked, 1);
		c->counters[X86_CNT_DEFERRED]++;
		x86_irq_drain();
		irq_exit();
		WRITE_ONCE(c->irq_masked, 0);
		__asm__ volatile("" : : : "memory");
	} while (READ_ONCE(c->irq_pending_any));
}

static const struct x86_extable_entry *x86_find_fixup(uint64_t rip)
{
	for (const struct x86_extable_entry *e = __start___ex_table; e < __stop___ex_table; e++)
		if (e->insn == rip)
			return e;
	return NULL;
}

static void x86_describe_fault(const arch_regs_t *regs, char *buf, size_t len)
{
	const char *name = x86_exception_name((unsigned int)regs->vector);

	if (regs->vector == X86_VEC_PF) {
		uint64_t err = regs->error_code;

		snprintf(buf, len, "page fault: %s %s page at %#lx",
			 err & X86_PF_INSTR ? "instruction fetch from" :
			 err & X86_PF_WRITE ? "write to" : "read from",
			 err & X86_PF_PRESENT ? "a protected" : "an unmapped",
			 (unsigned long)regs->cr2);
	} else if (regs->error_code) {
		snprintf(buf, len, "%s (error code %#lx)", name, (unsigned long)regs->error_code);
	} else {
		snprintf(buf, len, "%s", name);
	}
}

static void x86_exception(arch_regs_t *regs)
{
	const struct x86_extable_entry *fix;
	char what[128];

	if (x86_from_kernel(regs)) {
		/* #BP is a trap: rip is past the int3. */
		fix = x86_find_fixup(regs->vector == X86_VEC_BP ? regs->rip - 1 : regs->rip);
		if (fix) {
			struct x86_percpu *c = this_cpu();

			c->probe_vector = regs->vector;
			c->probe_error = regs->error_code;
			c->probe_cr2 = regs->cr2;
			regs->rip = fix->fixup;
			return;
		}
	}
	if (!x86_from_kernel(regs)) {
		int sig, code;
		uint64_t addr;

		sig = x86_exception_signal(regs, &code, &addr);
		user_exception(regs, sig, code, addr);
		return;
	}
	x86_describe_fault(regs, what, sizeof(what));
	panic_regs(regs, "%s in the kernel", what);
}

/* Called by x86_event_entry, masked, for every reflected event. */
void x86_event(arch_regs_t *regs)
{
	this_cpu()->counters[X86_CNT_EVENTS]++;
	if (regs->vector >= X86_NR_EXCEPTIONS) {
		x86_irq_drain();
		irq_exit();
	} else {
		x86_exception(regs);
	}
	if (!x86_from_kernel(regs))
		user_return(regs);
}

/* Decode the fault the last probe took (recorded by x86_exception) for portable code. */
static void x86_probe_report(struct arch_fault *fault)
{
	struct x86_percpu *c = this_cpu();

	if (!fault)
		return;
	*fault = (struct arch_fault){ .page_fault = c->probe_vector == X86_VEC_PF };
	if (!fault->page_fault)
		return;
	fault->present = c->probe_error & X86_PF_PRESENT;
	fault->write = c->probe_error & X86_PF_WRITE;
	fault->exec = c->probe_error & X86_PF_INSTR;
	fault->addr = c->probe_cr2;
}

int arch_probe_read(const void *addr, uint64_t *val, struct arch_fault *fault)
{
	int ret = x86_probe_read(addr, val);

	if (ret)
		x86_probe_report(fault);
	return ret;
}

int arch_probe_write(void *addr, uint64_t val, struct arch_fault *fault)
{
	int ret = x86_probe_write(addr, val);

	if (ret)
		x86_probe_report(fault);
	return ret;
}
