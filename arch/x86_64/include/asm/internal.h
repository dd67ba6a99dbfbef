/* SPDX-License-Identifier: MIT */
/* Functions shared inside the x86-64 layer; never included by kernel/. */
#ifndef ASM_INTERNAL_H
#define ASM_INTERNAL_H

#include <kernel/arch.h>

extern uint64_t x86_tsc_entry;		/* TSC at _start */
extern uint64_t x86_mmio_base;		/* VA of the hypercall window */

/* boot.c */
_Noreturn void x86_start(const struct crtos_boot_params *bp);

/* trap.c */
void x86_event(arch_regs_t *regs);
const char *x86_exception_name(unsigned int vector);

/* syscall.c */
void x86_syscall_init(void);

extern const struct crtos_boot_params *x86_boot_params;

/* boot.c: the kernel runs at ring 0 (VT-x/AMD-V), not at ring 3 under kvm_pvm. */
bool x86_hardware_mode(void);
extern bool x86_smap;

/* fpu.c: decided once (x86_fpu_init, from boot_params.xcr0 at ring 0), then per thread. */
int x86_fpu_init(uint64_t boot_xcr0);
uint32_t x86_fpu_state_size(void);
int x86_fpu_thread_init(struct arch_thread *at);
void x86_fpu_switch(struct arch_thread *prev, struct arch_thread *next);

/* syscall.c */
uint64_t x86_user_rflags(uint64_t rflags);

/* apic.c */
int x86_apic_init(void);
void x86_timer_fired(void);
void x86_timer_check_oversleep(void);

/* entry.S: a load or store that returns -EFAULT instead of faulting. */
int x86_probe_read(const void *addr, uint64_t *val);
int x86_probe_write(void *addr, uint64_t val);

/* faults.S: instructions that fault on purpose (0, or -EFAULT if they faulted). */
int x86_test_ud(void);
int x86_test_int3(void);
int x86_test_cli(void);
int x86_test_hlt(void);
int x86_test_div0(void);

#endif
