# SPDX-License-Identifier: MIT
#
# Tests: host unit tests (the real kernel sources against tests/unit/stub,
# under ASan and UBSan), the cell tests' helper program, the runner's
# self-test's fixture, and the runner.

UNIT_CFLAGS := -std=gnu11 -O1 -g $(WARN) -Wno-missing-prototypes $(ASAN_FLAGS) -DUNIT_TEST \
	-Itests/unit/stub -Itests/lib -Ikernel/include -Iarch/x86_64/include $(SHARED_INC) -Ilinuxabi/include
UNIT_COMMON := tests/lib/harness.c tests/unit/stub/arch_stub.c kernel/lib/strlcpy.c kernel/mm/pmm.c

# test name -> kernel sources it compiles
UNIT_SRCS_pmm :=
UNIT_SRCS_kmem := kernel/mm/kmem.c
UNIT_SRCS_aspace := kernel/mm/aspace.c
UNIT_SRCS_logring :=
UNIT_SRCS_clock := kernel/clock.c
UNIT_SRCS_fmt :=
UNIT_SRCS_cmdline := kernel/cmdline.c
UNIT_SRCS_elf := linuxabi/elf.c
UNIT_SRCS_stack := linuxabi/stack.c linuxabi/elf.c
UNIT_SRCS_vdso :=
UNIT_SRCS_xstate := arch/x86_64/xstate.c kernel/mm/kmem.c
UNIT_SRCS_sched := kernel/sched.c kernel/timer.c kernel/pi.c kernel/irq.c kernel/mm/kmem.c \
	tests/unit/stub/world.c
UNIT_SRCS_timer := kernel/timer.c
UNIT_SRCS_pi := kernel/pi.c kernel/sched.c kernel/timer.c kernel/irq.c kernel/mm/kmem.c \
	tests/unit/stub/world.c

UNIT_TESTS := pmm kmem aspace logring clock fmt cmdline elf stack vdso sched timer pi xstate
UNIT_BINS := $(patsubst %,$(BUILD)/tests/unit/test_%,$(UNIT_TESTS))

$(BUILD)/tests/unit/fmt_renamed.o: kernel/lib/fmt.c
	@echo "  CC      $< (unit)"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(UNIT_CFLAGS) -Dvsnprintf=kfmt_vsnprintf -Dsnprintf=kfmt_snprintf -c -o $@ $<

$(BUILD)/tests/unit/test_fmt: $(BUILD)/tests/unit/fmt_renamed.o

.SECONDEXPANSION:
$(BUILD)/tests/unit/test_%: tests/unit/test_%.c $$(UNIT_SRCS_$$*) $(UNIT_COMMON) $(wildcard kernel/include/kernel/*.h include/crtos/*.h include/arch/x86_64/crtos/*.h linuxabi/include/linuxabi/* tests/unit/stub/*.h tests/unit/stub/asm/*.h)
	@echo "  CC      $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(UNIT_CFLAGS) -pthread -o $@ $< $(UNIT_SRCS_$*) $(UNIT_COMMON) \
		$(filter %.o,$^)

# The runner's self-test (tests/harness/runner_selftest) runs this harness
# program, built as the unit tests are, and expects it to crash when told.
HARNESS_FIXTURE := $(BUILD)/tests/harness/crash_after_pass
$(HARNESS_FIXTURE): tests/harness/crash_after_pass.c tests/lib/harness.c tests/lib/harness.h
	@echo "  CC      $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(UNIT_CFLAGS) -o $@ $< tests/lib/harness.c

unit: $(UNIT_BINS) $(HARNESS_FIXTURE)
	$(Q)for t in $(UNIT_BINS); do $$t || exit 1; done

# The cell tests' C part: libvmm driven directly (100 boots in one process, ...).
CELL_PROG := $(BUILD)/tests/cell/cell_lifecycle
$(CELL_PROG): tests/cell/cell_lifecycle.c $(patsubst %,$(BUILD)/t/%.o,$(VMM_SRCS)) tests/lib/harness.c
	@echo "  LD      $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(TOOLS_CFLAGS) -Itests/lib -o $@ $< $(patsubst %,$(BUILD)/t/%.o,$(VMM_SRCS)) \
		tests/lib/harness.c

test-build: all $(ASAN_CLI) $(UNIT_BINS) $(HARNESS_FIXTURE) $(CELL_PROG) programs $(SYSCALLS_MD)

# The README's test command: install what is missing, build, run everything.
test: deps
	$(Q)$(MAKE) --no-print-directory -j$(shell nproc) test-build
	$(Q)tests/run all

# The cell tests in the test VM (tests/vm/run: QEMU TCG with an emulated
# AMD-V CPU), where there is no /dev/kvm or to try ordinary KVM: the runner's
# own checks first, then tests/run cell in the VM. Slow; not part of make test.
test-vm:
	$(Q)scripts/install-deps --vm
	$(Q)$(MAKE) --no-print-directory -j$(shell nproc) test-build
	$(Q)tests/vm/selftest
	$(Q)CRTOS_TEST_VM=1 tests/run cell

# The X11 screenshot tests (Xvfb), the heavy desktop programs' too (Emacs):
# in the test VM where there is no /dev/kvm, as tests/run cell does.
test-x11:
	$(Q)scripts/install-deps --x11
	$(Q)$(MAKE) --no-print-directory -j$(shell nproc) test-build
	$(Q)tests/run x11

.PHONY: unit test test-build test-vm test-x11
