/* SPDX-License-Identifier: MIT */
/*
 * Interrupt handlers. The arch layer calls irq_dispatch() masked for every
 * vector that fired; handlers run masked, must be short and must not block.
 */
#ifndef KERNEL_IRQ_H
#define KERNEL_IRQ_H

#include <kernel/types.h>

typedef void (*irq_handler_t)(unsigned int vector, void *arg);

/* Install handler for vector. -EBUSY if the vector has one, -EINVAL if out of range. */
int irq_register(unsigned int vector, irq_handler_t handler, void *arg);

/* Remove the handler of vector. */
void irq_unregister(unsigned int vector);

/* Interrupts taken per vector since boot. */
uint64_t irq_count(unsigned int vector);

#endif
