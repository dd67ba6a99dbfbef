/* SPDX-License-Identifier: MIT */
/*
 * The XSAVE area's layout, computed from CPUID leaf 0xD for a given XCR0.
 *
 * Pure: the CPUID source is a function the caller passes, so the kernel
 * (the CPUID instruction), the VMM and crtos doctor (KVM_GET_SUPPORTED_CPUID)
 * and the unit tests (recorded tables) share one computation. Freestanding:
 * no library calls.
 *
 * Leaf 0xD.0 EBX describes the XCR0 the *CPU* thinks is in force, which under
 * kvm_pvm is not the one ring 3 runs under; sub-leaves 2..62 (each component's
 * size, standard-format offset and 64-byte alignment flag) do not depend on
 * XCR0, so the layout is built from them alone.
 */
#ifndef ASM_XSTATE_H
#define ASM_XSTATE_H

#include <stdbool.h>
#include <stdint.h>

#define X86_XSTATE_LEGACY_SIZE	512	/* the FXSAVE image: x87 and SSE */
#define X86_XSTATE_HEADER_SIZE	64	/* XSTATE_BV, XCOMP_BV, reserved */
#define X86_XSTATE_BASE_SIZE	(X86_XSTATE_LEGACY_SIZE + X86_XSTATE_HEADER_SIZE)
#define X86_XSTATE_COMPONENTS	19	/* bits 0..18 of XCR0 are the ones defined for user state */
#define X86_XSTATE_MAX_SIZE	4096	/* larger areas (AMX tiles) are never enabled */

/* XCR0 bits. */
#define X86_XFEATURE_X87	(1ull << 0)
#define X86_XFEATURE_SSE	(1ull << 1)
#define X86_XFEATURE_AVX	(1ull << 2)
#define X86_XFEATURE_OPMASK	(1ull << 5)
#define X86_XFEATURE_ZMM_HI256	(1ull << 6)
#define X86_XFEATURE_HI16_ZMM	(1ull << 7)
#define X86_XFEATURE_PKRU	(1ull << 9)
#define X86_XFEATURES_LEGACY	(X86_XFEATURE_X87 | X86_XFEATURE_SSE)
#define X86_XFEATURES_AVX512	(X86_XFEATURE_OPMASK | X86_XFEATURE_ZMM_HI256 | X86_XFEATURE_HI16_ZMM)
/*
 * The user state crtos will enable where it owns XCR0: x87, SSE, AVX and
 * AVX-512. MPX (3, 4) is gone from Linux, AMX (17, 18) needs
 * arch_prctl(ARCH_REQ_XCOMP_PERM) and a 8 KiB area, PKRU (9) is usable only
 * with CR4.PKE, which crtos does not set (so the guest's CPUID has no OSPKE);
 * supervisor states live in IA32_XSS, never in XCR0.
 */
#define X86_XFEATURES_USER	(X86_XFEATURES_LEGACY | X86_XFEATURE_AVX | X86_XFEATURES_AVX512)

/* CPUID leaf 0xD.1 EAX. */
#define X86_XSAVE_XSAVEOPT	(1u << 0)
#define X86_XSAVE_XSAVEC	(1u << 1)
#define X86_XSAVE_XGETBV1	(1u << 2)
#define X86_XSAVE_XSAVES	(1u << 3)

struct x86_cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

/* Fills *r with CPUID (leaf, sub); a leaf it does not know reads as all zero. */
typedef void x86_cpuid_fn(uint32_t leaf, uint32_t sub, struct x86_cpuid_regs *r, void *ctx);

struct x86_xstate_layout {
	uint64_t xcr0;			/* the components the area holds */
	bool compacted;			/* XSAVEC/XSAVES format, else the standard (XSAVE) format */
	uint32_t size;			/* bytes of area (what CPUID 0xD.0 EBX says for this XCR0) */
	uint32_t offset[X86_XSTATE_COMPONENTS];	/* of each component in xcr0, in that format */
	uint32_t comp_size[X86_XSTATE_COMPONENTS];
};

/*
 * The layout of an area holding xcr0's components in the standard or the
 * compacted format. 0, or -EINVAL when xcr0 lacks x87 or SSE, names a
 * component CPUID does not describe (size 0) or one past the defined range,
 * when a standard-format component would overlap the legacy area or the
 * header, or when the area would exceed X86_XSTATE_MAX_SIZE.
 */
int x86_xstate_layout(uint64_t xcr0, bool compacted, x86_cpuid_fn *cpuid, void *ctx,
		      struct x86_xstate_layout *out);

/*
 * The XCR0 a guest may be given: the bits leaf 0xD.0 (EDX:EAX) offers,
 * restricted to X86_XFEATURES_USER and to what the layout can describe;
 * 0 when x87 and SSE are not both offered (then there is no usable XSAVE).
 * The AVX-512 bits are taken together or not at all, as the SDM requires.
 */
uint64_t x86_xstate_allowed_xcr0(x86_cpuid_fn *cpuid, void *ctx);

/* Space-separated names of xcr0's components ("x87 sse avx ..."), into buf. */
void x86_xstate_names(uint64_t xcr0, char *buf, uint32_t size);

#endif
