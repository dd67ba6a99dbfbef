/* SPDX-License-Identifier: MIT */
/*
 * Included first in every kernel file (-include): the kernel is one static
 * image, so every symbol binds locally. Hidden visibility lets the compiler
 * reach any symbol RIP-relatively (the image is linked above 4 GiB, where a
 * GOT-free absolute reference would not fit).
 */
#pragma GCC visibility push(hidden)
