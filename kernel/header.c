// SPDX-License-Identifier: MIT
/* The image header the VMM checks before it loads the kernel (crtos/boot.h). */
#include <crtos/boot.h>

const struct crtos_image_header crtos_image_header
	__attribute__((used, section(".crtos.header"))) = {
	.magic = CRTOS_IMAGE_MAGIC,
	.abi_version = CRTOS_ABI_VERSION,
	.header_size = sizeof(struct crtos_image_header),
	.link_base = 0,
	.load_gpa = CRTOS_GPA_KERNEL,
	.min_mem = CRTOS_MIN_MEM,
};
