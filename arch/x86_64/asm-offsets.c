/* SPDX-License-Identifier: MIT */
/*
 * Structure offsets for assembly. Compiled to assembly only; the build turns
 * the "->NAME value" markers into build/include/asm-offsets.h.
 */
#include <stddef.h>
#include <asm/percpu.h>
#include <crtos/boot.h>
#include <crtos/comm.h>

#define DEFINE(sym, val) \
	__asm__ volatile("\n.ascii \"->" #sym " %c0\"" : : "i"((long)(val)))
#define PCPU(sym, field) DEFINE(PCPU_##sym, offsetof(struct x86_percpu, field))

void asm_offsets(void);

void asm_offsets(void)
{
	PCPU(IRQ_MASKED, irq_masked);
	PCPU(IRQ_PENDING_ANY, irq_pending_any);
	PCPU(SVC_ARMED, svc_armed);
	PCPU(EV_BUSY, ev_busy);
	PCPU(IRQ_PENDING, irq_pending);
	PCPU(EV_VECTOR, ev_vector);
	PCPU(EV_ERROR, ev_error);
	PCPU(EV_RIP, ev_rip);
	PCPU(EV_CS, ev_cs);
	PCPU(EV_RFLAGS, ev_rflags);
	PCPU(EV_RSP, ev_rsp);
	PCPU(EV_SS, ev_ss);
	PCPU(EV_CR2, ev_cr2);
	PCPU(EV_ENTRY, ev_entry);
	PCPU(EV_ENTRY_CS, ev_entry_cs);
	PCPU(EV_ENTRY_SS, ev_entry_ss);
	PCPU(KERNEL_RING0, kernel_ring0);
	PCPU(EV_STACK, ev_stack);
	PCPU(KSTACK_TOP, kstack_top);
	PCPU(KSTACK_SIZE, kstack_size);
	PCPU(PANIC_DOORBELL, panic_doorbell);
	PCPU(USER_RSP, user_rsp);
	PCPU(IRQ_IN_NUCLEUS, irq_in_nucleus);
	PCPU(TSS, tss);
	PCPU(GDT, gdt);
	DEFINE(REGS_SIZE, sizeof(struct crtos_regs));
	DEFINE(BOOT_CPU_MODE, offsetof(struct crtos_boot_params, cpu_mode));
	DEFINE(BOOT_MODE_HARDWARE, CRTOS_MODE_HARDWARE);
	DEFINE(REGS_RIP, offsetof(struct crtos_regs, rip));
	DEFINE(REGS_RCX, offsetof(struct crtos_regs, rcx));
	DEFINE(REGS_R11, offsetof(struct crtos_regs, r11));
	DEFINE(REGS_CS, offsetof(struct crtos_regs, cs));
	DEFINE(REGS_RFLAGS, offsetof(struct crtos_regs, rflags));
	DEFINE(REGS_SS, offsetof(struct crtos_regs, ss));
	DEFINE(X86_GDT_BYTES, sizeof(((struct x86_percpu *)0)->gdt));
}
