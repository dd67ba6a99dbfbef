// SPDX-License-Identifier: MIT
/*
 * printk into the shared log ring. The kernel is the ring's only producer:
 * appends are serialised by masking interrupts (one CPU per cell), so an
 * interrupt handler's message never interleaves with the one it interrupted.
 */
#include <kernel/arch.h>
#include <kernel/printk.h>
#include <crtos/logring.h>

#define PRINTK_MAX	512	/* longest message; longer ones are truncated */

static struct crtos_log_ring *printk_ring;
static int printk_level = LOG_INFO;

int printk_init(const struct crtos_boot_params *bp)
{
	struct crtos_log_ring *r = arch_phys_to_virt(bp->log_gpa);

	if (r->magic != CRTOS_LOG_MAGIC || r->abi_version != CRTOS_ABI_VERSION)
		return -EINVAL;
	if (r->data_size < 256 || (r->data_size & (r->data_size - 1)) ||
	    sizeof(*r) + r->data_size > bp->log_size)
		return -EINVAL;
	printk_ring = r;
	return 0;
}

void printk_set_level(int level)
{
	printk_level = level;
}

int vprintk(int level, const char *fmt, va_list ap)
{
	char buf[PRINTK_MAX];
	unsigned long flags;
	bool written;
	int len;

	if (level > printk_level)
		return 0;
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (len >= (int)sizeof(buf))
		len = sizeof(buf) - 1;
	if (!printk_ring) {
		arch_early_puts(buf);
		return len;
	}
	flags = arch_irq_save();
	written = crtos_log_write(printk_ring, (uint8_t)level, arch_read_tsc(), buf, (uint32_t)len);
	arch_irq_restore(flags);
	arch_log_notify();
	return written ? len : -ENOSPC;
}

int printk(int level, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintk(level, fmt, ap);
	va_end(ap);
	return n;
}
