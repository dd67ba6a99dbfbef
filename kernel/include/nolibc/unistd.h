/* SPDX-License-Identifier: MIT */
/*
 * Empty on purpose: the UAPI <linux/shm.h> includes <unistd.h> for C
 * library users; the kernel has no C library and needs nothing from it.
 */
