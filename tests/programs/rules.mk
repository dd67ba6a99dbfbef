# SPDX-License-Identifier: MIT
#
# Ordinary static Linux test programs, each built against musl and glibc.
# They know nothing of crtos: tests run them natively and in a cell and
# compare the output byte for byte, except lines starting with "# ", which
# carry measurements. check.c/check.h are their shared helpers.
# The real-time programs also link rt.c (pinning, thread priorities) and
# the thread library; run the scheduling ones as root on one CPU
# (taskset -c 1), since their priorities order threads on one CPU only.

PROGRAMS_NAMES := fileops fdops memops errnos
PROGRAMS_RT_NAMES := prio_inherit sched_order sync timers signals cyclic busy
PROGRAMS_CFLAGS := -static -O1 -Wall -Wextra -Werror
PROGRAMS_DEPS := $(UAPI)/.stamp tests/programs/check.c tests/programs/check.h tests/programs/rules.mk \
	tests/programs/rt.c tests/programs/rt.h

TEST_PROGRAMS := $(foreach p,$(PROGRAMS_NAMES) $(PROGRAMS_RT_NAMES), \
	$(BUILD)/programs/$(p)-musl $(BUILD)/programs/$(p)-glibc)

# Extra sources and libraries, for the real-time programs only.
$(foreach p,$(PROGRAMS_RT_NAMES),$(BUILD)/programs/$(p)-musl $(BUILD)/programs/$(p)-glibc): \
	PROGRAMS_EXTRA := tests/programs/rt.c -pthread -lm

$(BUILD)/programs/%-musl: tests/programs/%.c $(PROGRAMS_DEPS)
	@echo "  CC      $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)musl-gcc $(PROGRAMS_CFLAGS) -idirafter $(UAPI) -o $@ $< tests/programs/check.c $(PROGRAMS_EXTRA)

$(BUILD)/programs/%-glibc: tests/programs/%.c $(PROGRAMS_DEPS)
	@echo "  CC      $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(PROGRAMS_CFLAGS) -o $@ $< tests/programs/check.c $(PROGRAMS_EXTRA)

programs: $(TEST_PROGRAMS)

.PHONY: programs
