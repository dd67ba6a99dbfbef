/* SPDX-License-Identifier: MIT */
/*
 * The personality the kernel runs its programs with: the Linux ABI
 * (linuxabi/). The core calls these few hooks; the personality calls the
 * core as it likes. Besides these, the arch layer calls syscall_entry()
 * and user_return() (kernel/arch.h), which the personality implements.
 */
#ifndef KERNEL_PERSONALITY_H
#define KERNEL_PERSONALITY_H

#include <kernel/types.h>

/* Set up; called once by kmain after the core is up. */
int personality_init(void);

/*
 * Act on what arrived through shared memory (requests from the VMM and the
 * shadows, completed remote calls). Called by the idle loop, masked or
 * not. Returns true if it did something.
 */
bool personality_poll(void);

/*
 * The CPU was kicked (a remote call completed, a signal arrived): take
 * what is cheap to take, so that a thread it wakes can preempt the running
 * one now. Interrupt context, masked; never blocks or allocates much.
 */
void personality_interrupt(void);

/*
 * The idle loop polls (personality_poll() at native speed, until
 * personality_stop_polling()): what would interrupt the CPU to be seen
 * may leave it to the polling instead. Masked or not.
 */
void personality_start_polling(void);

/*
 * The idle loop stops polling, because it halts or because a thread will
 * run: ask everything that will complete later to interrupt the CPU.
 * Masked; may wake threads.
 */
void personality_stop_polling(void);

#endif
