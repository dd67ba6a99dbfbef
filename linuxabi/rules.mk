# SPDX-License-Identifier: MIT
#
# The Linux personality's generated pieces: the syscall list, read from the
# Linux UAPI header (never retyped), and docs/syscalls.md, printed from the
# routing table linuxabi/syscalls.def.
#
#   make docs         regenerate docs/syscalls.md (commit it)
#   make check-docs   fail if docs/syscalls.md is out of date

SYSCALL_LIST	:= $(BUILD)/include/linux_syscalls.h
SYSCALLS_DOC	:= $(BUILD)/tools/syscalls_doc
SYSCALLS_MD	:= $(BUILD)/docs/syscalls.md

SYSCALLS_DOC_CFLAGS := -std=gnu11 -O2 -g $(WARN) -Ilinuxabi/include -I$(BUILD)/include

# $(wildcard): a missing header is reported by the script, which says what to install.
$(SYSCALL_LIST): scripts/gen-syscall-list $(UAPI)/.stamp \
		$(wildcard /usr/include/x86_64-linux-gnu/asm/unistd_64.h)
	@echo "  GEN     $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)scripts/gen-syscall-list $(UAPI)/asm/unistd_64.h > $@.tmp
	$(Q)mv $@.tmp $@

# Kernel objects of the Linux personality may include <linux_syscalls.h>.
$(filter $(BUILD)/k/linuxabi/%,$(KERNEL_OBJS)): $(SYSCALL_LIST)

$(SYSCALLS_DOC): tools/gen/syscalls_doc.c linuxabi/syscall_routes.c linuxabi/syscalls.def \
		linuxabi/include/linuxabi/syscall_class.h linuxabi/include/linuxabi/handlers.def \
		$(SYSCALL_LIST)
	@echo "  CC      $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(SYSCALLS_DOC_CFLAGS) -o $@ tools/gen/syscalls_doc.c linuxabi/syscall_routes.c

$(SYSCALLS_MD): $(SYSCALLS_DOC)
	@echo "  GEN     $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(SYSCALLS_DOC) > $@.tmp
	$(Q)mv $@.tmp $@

docs: $(SYSCALLS_MD)
	@echo "  GEN     docs/syscalls.md"
	$(Q)cp $(SYSCALLS_MD) docs/syscalls.md

check-docs: $(SYSCALLS_MD)
	$(Q)if ! cmp -s $(SYSCALLS_MD) docs/syscalls.md; then \
		echo "docs/syscalls.md is out of date with linuxabi/syscalls.def:" \
		     "run 'make docs' and commit the result" >&2; \
		diff -u docs/syscalls.md $(SYSCALLS_MD) 2>&1 | head -n 30 >&2; \
		exit 1; \
	fi

.PHONY: docs check-docs
