// SPDX-License-Identifier: MIT
/* The vector -> handler table. Unhandled vectors are counted and ignored. */
#include <kernel/arch.h>
#include <kernel/irq.h>
#include <kernel/thread.h>

#define IRQ_VECTORS	256

static struct {
	irq_handler_t handler;
	void *arg;
	uint64_t count;
} irq_table[IRQ_VECTORS];

int irq_register(unsigned int vector, irq_handler_t handler, void *arg)
{
	unsigned long flags;
	int ret = 0;

	if (vector >= IRQ_VECTORS || !handler)
		return -EINVAL;
	flags = arch_irq_save();
	if (irq_table[vector].handler) {
		ret = -EBUSY;
	} else {
		irq_table[vector].arg = arg;
		irq_table[vector].handler = handler;
	}
	arch_irq_restore(flags);
	return ret;
}

void irq_unregister(unsigned int vector)
{
	unsigned long flags = arch_irq_save();

	if (vector < IRQ_VECTORS)
		irq_table[vector].handler = NULL;
	arch_irq_restore(flags);
}

void irq_dispatch(unsigned int vector)
{
	if (vector >= IRQ_VECTORS)
		return;
	irq_table[vector].count++;
	if (irq_table[vector].handler)
		irq_table[vector].handler(vector, irq_table[vector].arg);
}

void irq_exit(void)
{
	if (sched_need_resched())
		sched_preempt();
}

uint64_t irq_count(unsigned int vector)
{
	return vector < IRQ_VECTORS ? irq_table[vector].count : 0;
}
