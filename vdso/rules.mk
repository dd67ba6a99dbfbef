# SPDX-License-Identifier: MIT
#
# The RT realm's vDSO (vdso/vdso.c): a shared object laid out like Linux's
# x86-64 vDSO, which the kernel maps into every RT process with the clock
# page one page below it.
#
#   make vdso   $(BUILD)/vdso/vdso.so, the image (stripped, padded to whole
#               pages, checked by vdso/check-image), and
#               $(BUILD)/vdso/vdso_image.o, the image as kernel rodata between
#               the hidden symbols vdso_image_start and vdso_image_end
#
# $(BUILD)/vdso/vdso.so.dbg is the same code with its symbols, for debugging.

# Not the default goal, wherever this file is included.
VDSO_SAVED_GOAL := $(.DEFAULT_GOAL)

OBJCOPY	?= objcopy

VDSO_SO		:= $(BUILD)/vdso/vdso.so
VDSO_DBG	:= $(BUILD)/vdso/vdso.so.dbg
VDSO_OBJ	:= $(BUILD)/vdso/vdso.o
VDSO_IMAGE_O	:= $(BUILD)/vdso/vdso_image.o

# Freestanding like the kernel (GCC's and Linux's UAPI headers only), but
# position-independent user code; unwind tables kept, as Linux keeps them, so
# that debuggers and profilers can walk through it.
VDSO_CFLAGS := -std=gnu11 -O2 -g $(WARN) \
	-ffreestanding -fno-builtin -nostdinc -isystem $(GCCINC) -isystem $(UAPI) -Iinclude \
	-fPIC -fno-plt -fno-stack-protector -mgeneral-regs-only \
	-fno-omit-frame-pointer -fasynchronous-unwind-tables

VDSO_LDFLAGS := -shared -nostdlib -T vdso/vdso.lds --version-script=vdso/vdso.map \
	-soname=linux-vdso.so.1 --hash-style=both --build-id=sha1 --eh-frame-hdr \
	-Bsymbolic -z now -z noexecstack -z max-page-size=4096 --no-undefined

$(VDSO_OBJ): vdso/vdso.c vdso/rules.mk $(UAPI)/.stamp $(wildcard include/crtos/*.h)
	@echo "  CC      $<"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(VDSO_CFLAGS) -MMD -MP -c -o $@ $<

$(VDSO_DBG): $(VDSO_OBJ) vdso/vdso.lds vdso/vdso.map
	@echo "  LD      $@"
	$(Q)$(LD) $(VDSO_LDFLAGS) -o $@ $(VDSO_OBJ)

# The kernel maps whole pages, from the file's first byte: pad the stripped
# image to a page boundary (section headers stay, as in Linux's image).
$(VDSO_SO): $(VDSO_DBG) vdso/check-image
	@echo "  GEN     $@"
	$(Q)$(OBJCOPY) --strip-all $< $@.tmp
	$(Q)truncate -s %4096 $@.tmp
	$(Q)vdso/check-image $@.tmp
	$(Q)mv $@.tmp $@

$(VDSO_IMAGE_O): vdso/vdso_image.S $(VDSO_SO)
	@echo "  AS      $<"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(KERNEL_ASFLAGS) -DVDSO_SO='"$(VDSO_SO)"' -c -o $@ $<
	$(Q)if readelf -rW $@ | grep -q '^Relocation section'; then \
		echo "$@: the vDSO image must need no relocations" >&2; rm -f $@; exit 1; \
	fi

# The unit test reads the image at run time.
$(BUILD)/tests/unit/test_vdso: $(VDSO_SO)

vdso: $(VDSO_SO) $(VDSO_IMAGE_O)

.PHONY: vdso

.DEFAULT_GOAL := $(VDSO_SAVED_GOAL)
