# SPDX-License-Identifier: MIT
#
# Ordinary static Linux test programs, each built against musl and glibc.
# They know nothing of crtos: tests run them natively and in a cell and
# compare the output byte for byte. check.c/check.h are their shared helpers.

PROGRAMS_NAMES := fileops fdops memops errnos
PROGRAMS_CFLAGS := -static -O1 -Wall -Wextra -Werror
PROGRAMS_DEPS := tests/programs/check.c tests/programs/check.h tests/programs/rules.mk

TEST_PROGRAMS := $(foreach p,$(PROGRAMS_NAMES),$(BUILD)/programs/$(p)-musl $(BUILD)/programs/$(p)-glibc)

$(BUILD)/programs/%-musl: tests/programs/%.c $(PROGRAMS_DEPS)
	@echo "  CC      $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)musl-gcc $(PROGRAMS_CFLAGS) -o $@ $< tests/programs/check.c

$(BUILD)/programs/%-glibc: tests/programs/%.c $(PROGRAMS_DEPS)
	@echo "  CC      $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(PROGRAMS_CFLAGS) -o $@ $< tests/programs/check.c

programs: $(TEST_PROGRAMS)

.PHONY: programs
