# SPDX-License-Identifier: MIT
#
# Examples: ordinary Linux programs that show what the realm is for, built
# as any Linux program is (dynamically linked glibc) and run unmodified
# natively or in the realm (crtos run -- build/examples/NAME).
#
# scope: a SCHED_FIFO sampler and its X11 view (plain Xlib: libx11-dev).

EXAMPLES_CFLAGS := -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -pthread
SCOPE_SRCS := examples/scope/scope.c examples/scope/sample.c examples/scope/view.c
EXAMPLES := $(BUILD)/examples/scope

$(BUILD)/examples/scope: $(SCOPE_SRCS) examples/scope/scope.h examples/rules.mk
	@echo "  CC      $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(EXAMPLES_CFLAGS) -o $@ $(SCOPE_SRCS) -lX11 -lm

examples: $(EXAMPLES)

.PHONY: examples
