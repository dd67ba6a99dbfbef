// SPDX-License-Identifier: MIT
/*
 * panic: fill the comm page's panic record and stop the cell. The record is
 * written before anything else is attempted, so a second failure while
 * printing cannot hide the first. A panic inside a panic stops at once.
 */
#include <stdarg.h>
#include <kernel/arch.h>
#include <kernel/kernel.h>
#include <kernel/panic.h>
#include <kernel/printk.h>
#include <kernel/string.h>

static bool panic_in_progress;

static void panic_fill_record(struct crtos_panic_record *rec, const char *file, int line,
			      const struct crtos_regs *regs, const char *fmt, va_list ap)
{
	const char *slash = strrchr(file, '/');
	int n = 0;

	strlcpy(rec->file, slash ? slash + 1 : file, sizeof(rec->file));
	rec->line = (uint32_t)line;
	vsnprintf(rec->msg, sizeof(rec->msg), fmt, ap);
	if (regs) {
		rec->regs = *regs;
		rec->has_regs = 1;
		rec->frames[n++] = arch_regs_ip(regs);
		n += arch_backtrace(arch_regs_frame(regs), &rec->frames[n], CRTOS_PANIC_FRAMES - n);
	} else {
		rec->has_regs = 0;
		n = arch_backtrace(arch_current_frame(), rec->frames, CRTOS_PANIC_FRAMES);
	}
	rec->nr_frames = (uint32_t)n;
}

_Noreturn void panic_at(const char *file, int line, const struct crtos_regs *regs,
			const char *fmt, ...)
{
	struct crtos_comm *comm = kernel_comm();
	va_list ap;

	if (panic_in_progress)
		arch_panic_exit();
	panic_in_progress = true;

	va_start(ap, fmt);
	panic_fill_record(&comm->panic, file, line, regs, fmt, ap);
	va_end(ap);
	pr_emerg("panic: %s (%s:%d)\n", comm->panic.msg, comm->panic.file, line);
	__atomic_store_n(&comm->state, CRTOS_STATE_PANICKED, __ATOMIC_RELEASE);
	arch_panic_exit();
}
