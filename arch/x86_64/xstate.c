// SPDX-License-Identifier: MIT
/*
 * XSAVE area layout from CPUID leaf 0xD (see asm/xstate.h). Used by the
 * kernel, the VMM and the unit tests alike, so it includes nothing but
 * freestanding and UAPI headers.
 *
 * Standard format (SDM vol. 1, 13.4): the legacy area, the 64-byte header,
 * then each component i >= 2 at the offset CPUID 0xD.i EBX gives. Compacted
 * format (13.4.3): components in xcr0 packed in index order after the
 * header, each aligned to 64 where CPUID 0xD.i ECX bit 1 says so.
 */
#include <linux/errno.h>
#include <asm/xstate.h>

#define CPUID_XSTATE_LEAF	0xd
#define CPUID_XSTATE_ALIGN64	(1u << 1)	/* 0xD.i ECX: aligned to 64 in the compacted format */

static uint32_t align64(uint32_t v)
{
	return (v + 63u) & ~63u;
}

static int xstate_component(uint32_t i, bool compacted, uint32_t *next, x86_cpuid_fn *cpuid,
			    void *ctx, struct x86_xstate_layout *out)
{
	struct x86_cpuid_regs r = { 0 };

	cpuid(CPUID_XSTATE_LEAF, i, &r, ctx);
	if (!r.eax)
		return -EINVAL;		/* CPUID does not describe it: it cannot be saved */
	out->comp_size[i] = r.eax;
	if (compacted) {
		if (r.ecx & CPUID_XSTATE_ALIGN64)
			*next = align64(*next);
		out->offset[i] = *next;
	} else {
		if (r.ebx < X86_XSTATE_BASE_SIZE)
			return -EINVAL;
		out->offset[i] = r.ebx;
	}
	if (out->offset[i] + r.eax > *next)
		*next = out->offset[i] + r.eax;
	return 0;
}

int x86_xstate_layout(uint64_t xcr0, bool compacted, x86_cpuid_fn *cpuid, void *ctx,
		      struct x86_xstate_layout *out)
{
	uint32_t end = X86_XSTATE_BASE_SIZE;

	*out = (struct x86_xstate_layout){ .xcr0 = xcr0, .compacted = compacted };
	if ((xcr0 & X86_XFEATURES_LEGACY) != X86_XFEATURES_LEGACY ||
	    xcr0 >> X86_XSTATE_COMPONENTS)
		return -EINVAL;
	out->comp_size[0] = 160;	/* x87: FCW..FOP, FIP, FDP and ST0-7 */
	out->offset[1] = 160;
	out->comp_size[1] = X86_XSTATE_LEGACY_SIZE - 160;	/* XMM0-15, MXCSR and the rest */
	for (uint32_t i = 2; i < X86_XSTATE_COMPONENTS; i++) {
		if (!(xcr0 & (1ull << i)))
			continue;
		if (xstate_component(i, compacted, &end, cpuid, ctx, out))
			return -EINVAL;
	}
	out->size = end;
	return out->size <= X86_XSTATE_MAX_SIZE ? 0 : -EINVAL;
}

uint64_t x86_xstate_allowed_xcr0(x86_cpuid_fn *cpuid, void *ctx)
{
	struct x86_cpuid_regs r = { 0 };
	struct x86_xstate_layout layout;
	uint64_t offered, xcr0 = X86_XFEATURES_LEGACY;

	cpuid(CPUID_XSTATE_LEAF, 0, &r, ctx);
	offered = ((uint64_t)r.edx << 32 | r.eax) & X86_XFEATURES_USER;
	if ((offered & X86_XFEATURES_LEGACY) != X86_XFEATURES_LEGACY)
		return 0;
	/* Lowest first: keep each component CPUID describes and the area can hold. */
	for (uint32_t i = 2; i < X86_XSTATE_COMPONENTS; i++) {
		uint64_t bit = 1ull << i;

		if ((offered & bit) && !x86_xstate_layout(xcr0 | bit, false, cpuid, ctx, &layout))
			xcr0 |= bit;
	}
	if ((xcr0 & X86_XFEATURES_AVX512) != X86_XFEATURES_AVX512 || !(xcr0 & X86_XFEATURE_AVX))
		xcr0 &= ~X86_XFEATURES_AVX512;
	return xcr0;
}

static const char *const xstate_names[X86_XSTATE_COMPONENTS] = {
	"x87", "sse", "avx", "bndregs", "bndcsr", "opmask", "zmm_hi256", "hi16_zmm",
	"pt", "pkru", "pasid", "cet_u", "cet_s", "hdc", "uintr", "lbr", "hwp",
	"amx_tilecfg", "amx_tiledata",
};

void x86_xstate_names(uint64_t xcr0, char *buf, uint32_t size)
{
	uint32_t n = 0;

	if (!size)
		return;
	buf[0] = '\0';
	for (uint32_t i = 0; i < X86_XSTATE_COMPONENTS; i++) {
		const char *s = xstate_names[i];

		if (!(xcr0 & (1ull << i)))
			continue;
		if (n && n + 1 < size)
			buf[n++] = ' ';
		while (*s && n + 1 < size)
			buf[n++] = *s++;
		buf[n] = '\0';
	}
}
