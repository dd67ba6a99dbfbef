// SPDX-License-Identifier: MIT
/*
 * User memory from the kernel. The kernel and the program share privilege
 * level and address space (docs/architecture.md), so access is direct; what
 * these add is the range check (never the kernel window) and surviving a
 * fault (-EFAULT) through the arch's fault-tolerant copies.
 */
#include <linuxabi/linux.h>

bool user_range_ok(uint64_t addr, size_t len)
{
	return addr < LX_USER_TOP && len <= LX_USER_TOP - addr;
}

int copy_from_user(void *dst, uint64_t src, size_t n)
{
	if (!user_range_ok(src, n))
		return -EFAULT;
	return arch_copy_user(dst, (const void *)src, n) ? -EFAULT : 0;
}

int copy_to_user(uint64_t dst, const void *src, size_t n)
{
	if (!user_range_ok(dst, n))
		return -EFAULT;
	return arch_copy_user((void *)dst, src, n) ? -EFAULT : 0;
}

/*
 * Copy a NUL-terminated string of at most max - 1 characters. Returns its
 * length, -ENAMETOOLONG if it does not fit, or -EFAULT.
 */
long strncpy_from_user(char *dst, uint64_t src, size_t max)
{
	long len;

	if (!max || src >= LX_USER_TOP)
		return -EFAULT;
	if (max > LX_USER_TOP - src)
		max = LX_USER_TOP - src;
	len = arch_strnlen_user((const char *)src, max);
	if (len < 0)
		return -EFAULT;
	if ((size_t)len >= max)
		return -ENAMETOOLONG;
	if (arch_copy_user(dst, (const void *)src, (size_t)len + 1))
		return -EFAULT;
	return len;
}

int user_word(uint64_t uaddr, bool write, uint32_t **word)
{
	struct lx_thread *lt = lx_current();
	unsigned int flags;
	paddr_t pa;

	if (uaddr & 3)
		return -EINVAL;
	if (!user_range_ok(uaddr, sizeof(uint32_t)) ||
	    aspace_query(lt->t->as, uaddr, &pa, &flags) || !(flags & MAP_USER) ||
	    (write && !(flags & MAP_WRITE)))
		return -EFAULT;
	*word = arch_phys_to_virt(pa);
	return 0;
}
