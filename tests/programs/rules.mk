# SPDX-License-Identifier: MIT
#
# Ordinary Linux test programs, each built three ways: static with musl
# (-musl), static with glibc (-glibc), and dynamically linked with glibc
# (-dyn: a PIE that starts in ld.so and loads libc.so, as most programs do).
# They know nothing of crtos: tests run them natively and in a cell and
# compare the output byte for byte, except lines starting with "# ", which
# carry measurements. check.c/check.h are their shared helpers.
# The real-time programs also link rt.c (pinning, thread priorities) and
# the thread library; run the scheduling ones as root on one CPU
# (taskset -c 1), since their priorities order threads on one CPU only.

PROGRAMS_NAMES := fileops fdops memops errnos privileged procs shm crash fdwait unserved cputimes \
	ttyjob
PROGRAMS_RT_NAMES := prio_inherit sched_order sync timers signals cyclic busy fpu gsbase rtfifo jobctl threads
PROGRAMS_CFLAGS := -O1 -Wall -Wextra -Werror
PROGRAMS_LIBCS := musl glibc dyn
PROGRAMS_DEPS := $(UAPI)/.stamp tests/programs/check.c tests/programs/check.h tests/programs/rules.mk \
	tests/programs/rt.c tests/programs/rt.h

TEST_PROGRAMS := $(foreach p,$(PROGRAMS_NAMES) $(PROGRAMS_RT_NAMES), \
	$(foreach l,$(PROGRAMS_LIBCS),$(BUILD)/programs/$(p)-$(l)))

# Extra sources and libraries, for the real-time programs only.
$(foreach p,$(PROGRAMS_RT_NAMES),$(foreach l,$(PROGRAMS_LIBCS),$(BUILD)/programs/$(p)-$(l))): \
	PROGRAMS_EXTRA := tests/programs/rt.c -pthread -lm

$(BUILD)/programs/%-musl: tests/programs/%.c $(PROGRAMS_DEPS)
	@echo "  CC      $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)musl-gcc -static $(PROGRAMS_CFLAGS) -idirafter $(UAPI) -o $@ $< tests/programs/check.c \
		$(PROGRAMS_EXTRA)

$(BUILD)/programs/%-glibc: tests/programs/%.c $(PROGRAMS_DEPS)
	@echo "  CC      $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -static $(PROGRAMS_CFLAGS) -o $@ $< tests/programs/check.c $(PROGRAMS_EXTRA)

$(BUILD)/programs/%-dyn: tests/programs/%.c $(PROGRAMS_DEPS)
	@echo "  CC      $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(PROGRAMS_CFLAGS) -o $@ $< tests/programs/check.c $(PROGRAMS_EXTRA)

programs: $(TEST_PROGRAMS)

.PHONY: programs
