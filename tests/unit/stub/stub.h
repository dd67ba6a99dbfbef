/* SPDX-License-Identifier: MIT */
/* Helpers the unit tests share with the stub arch (tests/unit/stub/arch_stub.c). */
#ifndef STUB_STUB_H
#define STUB_STUB_H

#include <kernel/arch.h>

/* Fresh guest RAM of size bytes (aligned to 4 MiB), zeroed. */
void stub_ram_reset(size_t size);

/* Set up the page allocator over stub RAM: every page but [0, reserved) free. */
void stub_pmm_reset(size_t size, size_t reserved);

extern long stub_tlb_flushes;

#endif
