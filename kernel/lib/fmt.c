// SPDX-License-Identifier: MIT
/*
 * vsnprintf for the kernel: the C99 conversions d i u x X o c s p % with
 * flags (- 0 + space #), width and precision (also *), and the length
 * modifiers hh h l ll z t j. No floating point (the kernel never uses the
 * FPU). Output is always NUL-terminated when size > 0; the return value is
 * the length the full output would have, as in C.
 */
#include <stdarg.h>
#include <kernel/printk.h>
#include <kernel/string.h>

struct fmt_out {
	char *buf;
	size_t size;
	size_t len;		/* characters produced so far, written or not */
};

struct fmt_spec {
	bool left, zero, plus, space, alt;
	int width;
	int precision;		/* -1: none */
	char conv;
};

static void fmt_putc(struct fmt_out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void fmt_pad(struct fmt_out *o, char c, int n)
{
	while (n-- > 0)
		fmt_putc(o, c);
}

static void fmt_string(struct fmt_out *o, const struct fmt_spec *sp, const char *s)
{
	int len;

	if (!s)
		s = "(null)";
	len = (int)strnlen(s, sp->precision >= 0 ? (size_t)sp->precision : (size_t)-1);
	if (!sp->left)
		fmt_pad(o, ' ', sp->width - len);
	for (int i = 0; i < len; i++)
		fmt_putc(o, s[i]);
	if (sp->left)
		fmt_pad(o, ' ', sp->width - len);
}

/* Digits of v in base, least significant first; returns their count. */
static int fmt_digits(char *out, unsigned long long v, unsigned int base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0;

	do {
		out[n++] = digits[v % base];
		v /= base;
	} while (v);
	return n;
}

static void fmt_number(struct fmt_out *o, const struct fmt_spec *sp, unsigned long long v,
		       bool negative, unsigned int base)
{
	char digits[24];
	const char *prefix = "";
	int ndigits, nzeros, len;

	ndigits = fmt_digits(digits, v, base, sp->conv == 'X');
	if (sp->precision == 0 && v == 0)
		ndigits = 0;
	if (negative)
		prefix = "-";
	else if (sp->plus && (sp->conv == 'd' || sp->conv == 'i'))
		prefix = "+";
	else if (sp->space && (sp->conv == 'd' || sp->conv == 'i'))
		prefix = " ";
	else if (sp->alt && v && base == 16)
		prefix = sp->conv == 'X' ? "0X" : "0x";
	else if (sp->alt && base == 8 && sp->precision <= ndigits && (v || !ndigits))
		prefix = "0";	/* '#' with o: the first digit must be a zero */

	nzeros = sp->precision > ndigits ? sp->precision - ndigits : 0;
	len = (int)strlen(prefix) + nzeros + ndigits;
	if (sp->zero && !sp->left && sp->precision < 0 && sp->width > len) {
		nzeros += sp->width - len;
		len = sp->width;
	}
	if (!sp->left)
		fmt_pad(o, ' ', sp->width - len);
	for (const char *p = prefix; *p; p++)
		fmt_putc(o, *p);
	fmt_pad(o, '0', nzeros);
	while (ndigits--)
		fmt_putc(o, digits[ndigits]);
	if (sp->left)
		fmt_pad(o, ' ', sp->width - len);
}

static const char *fmt_parse_spec(const char *f, struct fmt_spec *sp, va_list *ap)
{
	*sp = (struct fmt_spec){ .precision = -1 };
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->zero = true;
		else if (*f == '+')
			sp->plus = true;
		else if (*f == ' ')
			sp->space = true;
		else if (*f == '#')
			sp->alt = true;
		else
			break;
	}
	if (*f == '*') {
		sp->width = va_arg(*ap, int);
		if (sp->width < 0) {
			sp->left = true;
			sp->width = -sp->width;
		}
		f++;
	} else {
		while (*f >= '0' && *f <= '9')
			sp->width = sp->width * 10 + (*f++ - '0');
	}
	if (*f == '.') {
		f++;
		sp->precision = 0;
		if (*f == '*') {
			sp->precision = va_arg(*ap, int);
			if (sp->precision < 0)
				sp->precision = -1;
			f++;
		} else {
			while (*f >= '0' && *f <= '9')
				sp->precision = sp->precision * 10 + (*f++ - '0');
		}
	}
	return f;
}

/* Length modifier: returns the size in bytes of the argument, 0 for int. */
static const char *fmt_parse_length(const char *f, int *size)
{
	*size = 0;
	if (f[0] == 'h' && f[1] == 'h')
		return *size = 1, f + 2;
	if (f[0] == 'h')
		return *size = 2, f + 1;
	if (f[0] == 'l' && f[1] == 'l')
		return *size = 8, f + 2;
	if (f[0] == 'l' || f[0] == 'z' || f[0] == 't' || f[0] == 'j')
		return *size = 8, f + 1;
	return f;
}

static unsigned long long fmt_arg_unsigned(va_list *ap, int size)
{
	switch (size) {
	case 1: return (unsigned char)va_arg(*ap, unsigned int);
	case 2: return (unsigned short)va_arg(*ap, unsigned int);
	case 8: return va_arg(*ap, unsigned long long);
	default: return va_arg(*ap, unsigned int);
	}
}

static long long fmt_arg_signed(va_list *ap, int size)
{
	switch (size) {
	case 1: return (signed char)va_arg(*ap, int);
	case 2: return (short)va_arg(*ap, int);
	case 8: return va_arg(*ap, long long);
	default: return va_arg(*ap, int);
	}
}

static void fmt_conversion(struct fmt_out *o, struct fmt_spec *sp, int size, va_list *ap)
{
	char c;

	switch (sp->conv) {
	case 'd':
	case 'i': {
		long long v = fmt_arg_signed(ap, size);
		unsigned long long mag = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

		fmt_number(o, sp, mag, v < 0, 10);
		break;
	}
	case 'u':
		fmt_number(o, sp, fmt_arg_unsigned(ap, size), false, 10);
		break;
	case 'x':
	case 'X':
		fmt_number(o, sp, fmt_arg_unsigned(ap, size), false, 16);
		break;
	case 'o':
		fmt_number(o, sp, fmt_arg_unsigned(ap, size), false, 8);
		break;
	case 'p':
		sp->alt = true;
		sp->conv = 'x';
		fmt_number(o, sp, (uintptr_t)va_arg(*ap, void *), false, 16);
		break;
	case 'c':
		c = (char)va_arg(*ap, int);
		if (!sp->left)
			fmt_pad(o, ' ', sp->width - 1);
		fmt_putc(o, c);
		if (sp->left)
			fmt_pad(o, ' ', sp->width - 1);
		break;
	case 's':
		fmt_string(o, sp, va_arg(*ap, const char *));
		break;
	case '%':
		fmt_putc(o, '%');
		break;
	default:
		/* Unknown conversion: print it literally so the mistake shows. */
		fmt_putc(o, '%');
		fmt_putc(o, sp->conv);
		break;
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fmt_out o = { .buf = buf, .size = size };
	struct fmt_spec sp;
	va_list args;
	int argsize;

	va_copy(args, ap);
	while (*fmt) {
		if (*fmt != '%') {
			fmt_putc(&o, *fmt++);
			continue;
		}
		fmt = fmt_parse_spec(fmt + 1, &sp, &args);
		fmt = fmt_parse_length(fmt, &argsize);
		if (!*fmt)
			break;
		sp.conv = *fmt++;
		fmt_conversion(&o, &sp, argsize, &args);
	}
	va_end(args);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
