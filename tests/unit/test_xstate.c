// SPDX-License-Identifier: MIT
/*
 * arch/x86_64/xstate.c on the host: the XSAVE area's size and layout for
 * recorded CPUID leaf-0xD tables, in the standard and compacted formats,
 * checked against what those CPUs' own CPUID says; the XCR0 a guest may be
 * given; and heap areas of every such size are 64-byte aligned.
 */
#include <stdlib.h>
#include <string.h>
#include <linux/errno.h>
#include <asm/xstate.h>
#include <kernel/kmem.h>
#include <kernel/pmm.h>
#include "harness.h"
#include "stub.h"

struct leaf_d {
	uint32_t sub, eax, ebx, ecx, edx;
};

#define END { ~0u, 0, 0, 0, 0 }

struct cpu_table {
	const char *name;
	const struct leaf_d *rows;
	uint64_t allowed;		/* expected x86_xstate_allowed_xcr0() */
	uint32_t standard_size;		/* expected standard-format size for `allowed` */
	uint32_t compacted_size;	/* expected compacted-format size for `allowed` */
};

/* AMD EPYC (Zen 4) with AVX-512, native CPUID on one of our hosts (2026-12-07). */
static const struct leaf_d zen4[] = {
	{ 0x0, 0x000000e7, 0x00000980, 0x00000980, 0 },
	{ 0x1, 0x0000000f, 0x000009a8, 0x00001800, 0 },
	{ 0x2, 0x00000100, 0x00000240, 0, 0 },
	{ 0x5, 0x00000040, 0x00000340, 0, 0 },
	{ 0x6, 0x00000200, 0x00000380, 0, 0 },
	{ 0x7, 0x00000400, 0x00000580, 0, 0 },
	{ 0xb, 0x00000010, 0, 0x00000001, 0 },	/* CET_U, supervisor (IA32_XSS) */
	{ 0xc, 0x00000018, 0, 0x00000001, 0 },	/* CET_S */
	END,
};

/* KVM_GET_SUPPORTED_CPUID in the QEMU test VM, -cpu max under TCG (2026-12-07): no AVX-512. */
static const struct leaf_d tcg_max[] = {
	{ 0x0, 0x00000207, 0x00000a88, 0x00000a88, 0 },
	{ 0x1, 0x00000003, 0x00000348, 0, 0 },
	{ 0x2, 0x00000100, 0x00000240, 0, 0 },
	{ 0x9, 0x00000008, 0x00000a80, 0, 0 },
	END,
};

/* Intel Haswell: AVX2, no AVX-512. */
static const struct leaf_d haswell[] = {
	{ 0x0, 0x00000007, 0x00000340, 0x00000340, 0 },
	{ 0x1, 0x00000001, 0, 0, 0 },
	{ 0x2, 0x00000100, 0x00000240, 0, 0 },
	END,
};

/* XSAVE with x87 and SSE only (no AVX): Intel Westmere-class. */
static const struct leaf_d no_avx[] = {
	{ 0x0, 0x00000003, 0x00000240, 0x00000240, 0 },
	END,
};

/* Intel Skylake-SP: MPX below AVX-512, PT (supervisor) and PKRU. */
static const struct leaf_d skylake_sp[] = {
	{ 0x0, 0x000002ff, 0x00000a88, 0x00000a88, 0 },
	{ 0x1, 0x0000000f, 0x00000a88, 0x00000100, 0 },
	{ 0x2, 0x00000100, 0x00000240, 0, 0 },
	{ 0x3, 0x00000040, 0x000003c0, 0, 0 },
	{ 0x4, 0x00000040, 0x00000400, 0, 0 },
	{ 0x5, 0x00000040, 0x00000440, 0, 0 },
	{ 0x6, 0x00000200, 0x00000480, 0, 0 },
	{ 0x7, 0x00000400, 0x00000680, 0, 0 },
	{ 0x8, 0x00000080, 0, 0x00000001, 0 },
	{ 0x9, 0x00000008, 0x00000a80, 0, 0 },
	END,
};

/* Intel Sapphire Rapids: AMX tiles (64-byte aligned when compacted, 8 KiB of data). */
static const struct leaf_d sapphire_rapids[] = {
	{ 0x0, 0x000602e7, 0x00002b00, 0x00002b00, 0 },
	{ 0x1, 0x0000001f, 0x00002b00, 0x00001900, 0 },
	{ 0x2, 0x00000100, 0x00000240, 0, 0 },
	{ 0x5, 0x00000040, 0x00000440, 0, 0 },
	{ 0x6, 0x00000200, 0x00000480, 0, 0 },
	{ 0x7, 0x00000400, 0x00000680, 0, 0 },
	{ 0x9, 0x00000008, 0x00000a80, 0, 0 },
	{ 0x11, 0x00000040, 0x00000ac0, 0x00000002, 0 },
	{ 0x12, 0x00002000, 0x00000b00, 0x00000006, 0 },
	END,
};

static const struct cpu_table tables[] = {
	{ "zen4", zen4, 0xe7, 2432, 2432 },
	{ "tcg_max", tcg_max, 0x7, 832, 832 },
	{ "haswell", haswell, 0x7, 832, 832 },
	{ "no_avx", no_avx, 0x3, 576, 576 },
	{ "skylake_sp", skylake_sp, 0xe7, 2688, 2432 },
	{ "sapphire_rapids", sapphire_rapids, 0xe7, 2688, 2432 },
};

static void cpuid_table(uint32_t leaf, uint32_t sub, struct x86_cpuid_regs *r, void *ctx)
{
	const struct leaf_d *row = ctx;

	*r = (struct x86_cpuid_regs){ 0 };
	if (leaf != 0xd)
		return;
	for (; row->sub != ~0u; row++) {
		if (row->sub == sub) {
			*r = (struct x86_cpuid_regs){ row->eax, row->ebx, row->ecx, row->edx };
			return;
		}
	}
}

static struct leaf_d row_of(const struct leaf_d *rows, uint32_t sub)
{
	struct x86_cpuid_regs r;

	cpuid_table(0xd, sub, &r, (void *)rows);
	return (struct leaf_d){ sub, r.eax, r.ebx, r.ecx, r.edx };
}

static void expect_components_disjoint(const struct x86_xstate_layout *l)
{
	uint32_t prev_end = X86_XSTATE_BASE_SIZE;

	for (uint32_t i = 2; i < X86_XSTATE_COMPONENTS; i++) {
		if (!(l->xcr0 & (1ull << i)))
			continue;
		EXPECT(l->offset[i] >= prev_end);
		EXPECT(l->comp_size[i] > 0);
		prev_end = l->offset[i] + l->comp_size[i];
		EXPECT(prev_end <= l->size);
	}
}

TEST(xstate_allowed_xcr0_is_the_user_state_each_cpu_describes)
{
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		uint64_t got = x86_xstate_allowed_xcr0(cpuid_table, (void *)tables[t].rows);

		if (got != tables[t].allowed)
			harness_fail(__FILE__, __LINE__, "%s: allowed XCR0 %#llx, want %#llx",
				     tables[t].name, (unsigned long long)got,
				     (unsigned long long)tables[t].allowed);
	}
}

TEST(xstate_standard_layout_matches_each_cpus_own_offsets_and_size)
{
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		const struct cpu_table *c = &tables[t];
		struct x86_xstate_layout l;

		EXPECT_EQ(x86_xstate_layout(c->allowed, false, cpuid_table, (void *)c->rows, &l), 0);
		if (l.size != c->standard_size)
			harness_fail(__FILE__, __LINE__, "%s: standard size %u, want %u", c->name,
				     l.size, c->standard_size);
		for (uint32_t i = 2; i < X86_XSTATE_COMPONENTS; i++)
			if (c->allowed & (1ull << i))
				EXPECT_EQ(l.offset[i], row_of(c->rows, i).ebx);
		expect_components_disjoint(&l);
		EXPECT(l.size <= X86_XSTATE_MAX_SIZE);
	}
}

/* Where the allowed XCR0 is all the CPU has, its own 0xD.0 ECX (the maximum) is the size. */
TEST(xstate_standard_size_equals_cpuid_when_nothing_is_left_out)
{
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		const struct cpu_table *c = &tables[t];
		struct leaf_d d0 = row_of(c->rows, 0);
		struct x86_xstate_layout l;

		if (d0.eax != c->allowed)
			continue;
		EXPECT_EQ(x86_xstate_layout(c->allowed, false, cpuid_table, (void *)c->rows, &l), 0);
		EXPECT_EQ(l.size, d0.ecx);
	}
}

TEST(xstate_compacted_layout_packs_components_in_order)
{
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		const struct cpu_table *c = &tables[t];
		struct x86_xstate_layout l;

		EXPECT_EQ(x86_xstate_layout(c->allowed, true, cpuid_table, (void *)c->rows, &l), 0);
		if (l.size != c->compacted_size)
			harness_fail(__FILE__, __LINE__, "%s: compacted size %u, want %u", c->name,
				     l.size, c->compacted_size);
		expect_components_disjoint(&l);
	}
}

/* XSAVES's size (CPUID 0xD.1 EBX) covers XCR0 | IA32_XSS: the same rule with supervisor state. */
TEST(xstate_compacted_size_with_supervisor_state_equals_cpuid_0xd_1_ebx)
{
	struct x86_xstate_layout l;

	EXPECT_EQ(x86_xstate_layout(0xe7 | 0x1800, true, cpuid_table, (void *)zen4, &l), 0);
	EXPECT_EQ(l.size, row_of(zen4, 1).ebx);
	EXPECT_EQ(x86_xstate_layout(0x2e7 | 0x100, true, cpuid_table, (void *)skylake_sp, &l), 0);
	EXPECT_EQ(l.offset[8], 576 + 256 + 64 + 512 + 1024);	/* PT right after Hi16_ZMM */
}

/* SDM 13.4.3: a component whose 0xD.i ECX bit 1 is set starts on a 64-byte boundary. */
TEST(xstate_compacted_layout_honours_the_64_byte_alignment_flag)
{
	static const struct leaf_d aligned[] = {	/* synthetic: PKRU (8 bytes) then an aligned one */
		{ 0x0, 0x00000607, 0, 0, 0 },
		{ 0x2, 0x00000100, 0x00000240, 0, 0 },
		{ 0x9, 0x00000008, 0x00000340, 0, 0 },
		{ 0xa, 0x00000008, 0x00000380, 0x00000002, 0 },
		END,
	};
	struct x86_xstate_layout l;

	EXPECT_EQ(x86_xstate_layout(0x607, true, cpuid_table, (void *)aligned, &l), 0);
	EXPECT_EQ(l.offset[9], 832);
	EXPECT_EQ(l.offset[10], 896);
	EXPECT_EQ(l.size, 904);
}

TEST(xstate_layout_refuses_what_it_cannot_describe)
{
	struct x86_xstate_layout l;

	EXPECT_EQ(x86_xstate_layout(0x5, false, cpuid_table, (void *)zen4, &l), -EINVAL);	/* no SSE */
	EXPECT_EQ(x86_xstate_layout(0x207, false, cpuid_table, (void *)haswell, &l), -EINVAL);
	EXPECT_EQ(x86_xstate_layout(0x602e7, false, cpuid_table, (void *)sapphire_rapids, &l),
		  -EINVAL);	/* AMX: past X86_XSTATE_MAX_SIZE */
	EXPECT_EQ(x86_xstate_layout(0xe7 | 0x800, false, cpuid_table, (void *)zen4, &l),
		  -EINVAL);	/* supervisor state has no standard-format offset */
	EXPECT_EQ(x86_xstate_layout(1ull << 40 | 3, false, cpuid_table, (void *)zen4, &l), -EINVAL);
}

TEST(xstate_avx512_is_offered_whole_or_not_at_all)
{
	static const struct leaf_d partial[] = {	/* opmask without the ZMM halves */
		{ 0x0, 0x00000027, 0, 0, 0 },
		{ 0x2, 0x00000100, 0x00000240, 0, 0 },
		{ 0x5, 0x00000040, 0x00000340, 0, 0 },
		END,
	};

	EXPECT_EQ(x86_xstate_allowed_xcr0(cpuid_table, (void *)partial), 0x7);
	EXPECT_EQ(x86_xstate_allowed_xcr0(cpuid_table, (void *)(const struct leaf_d[]){
		{ 0x0, 0x00000001, 0, 0, 0 }, END }), 0);	/* no SSE: no usable XSAVE */
}

TEST(xstate_names_list_the_components)
{
	char buf[128];

	x86_xstate_names(0x2e7, buf, sizeof(buf));
	EXPECT(!strcmp(buf, "x87 sse avx opmask zmm_hi256 hi16_zmm pkru"));
	x86_xstate_names(0x2e7, buf, 8);
	EXPECT(!strcmp(buf, "x87 sse"));
}

/* The kernel allocates FPU areas from its heap: each recorded size comes back 64-byte aligned. */
TEST(xstate_areas_from_the_heap_are_64_byte_aligned)
{
	void *live[64];
	int n = 0;

	stub_pmm_reset(32ul << 20, 0);
	kmem_init();
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		uint32_t sizes[] = { tables[t].standard_size, tables[t].compacted_size, 512 };

		for (int s = 0; s < 3; s++) {
			for (int k = 0; k < 3; k++) {	/* several per slab */
				void *p = kzalloc(sizes[s]);

				EXPECT(p != NULL);
				EXPECT_EQ((uintptr_t)p & 63, 0);
				live[n++] = p;
			}
		}
	}
	while (n)
		kfree(live[--n]);
	EXPECT_EQ(kmem_live_objects(), 0);
}
