/* SPDX-License-Identifier: MIT */
/*
 * Kernel messages. printk() formats into the log ring that the VMM drains
 * to the terminal or a log file (crtos/logring.h). It never blocks: when the
 * ring is full the message is dropped and counted. Callable from any
 * context, masked or not; it masks interrupts while it appends.
 */
#ifndef KERNEL_PRINTK_H
#define KERNEL_PRINTK_H

#include <stdarg.h>
#include <kernel/types.h>

struct crtos_boot_params;

/* Linux's log levels. */
#define LOG_EMERG	0
#define LOG_ERR		3
#define LOG_WARNING	4
#define LOG_INFO	6
#define LOG_DEBUG	7

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) __printf(3, 0);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

/* Set up the log ring described by the boot params. Returns -errno if it is unusable. */
int printk_init(const struct crtos_boot_params *bp);

/* Only messages with a level <= this are recorded (cmdline "loglevel="). */
void printk_set_level(int level);

/* Append a message; returns the number of characters, or -ENOSPC if dropped. */
int printk(int level, const char *fmt, ...) __printf(2, 3);
int vprintk(int level, const char *fmt, va_list ap) __printf(2, 0);

#define pr_emerg(...)	printk(LOG_EMERG, __VA_ARGS__)
#define pr_err(...)	printk(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)	printk(LOG_WARNING, __VA_ARGS__)
#define pr_info(...)	printk(LOG_INFO, __VA_ARGS__)
#define pr_debug(...)	printk(LOG_DEBUG, __VA_ARGS__)

#endif
