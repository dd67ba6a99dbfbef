# SPDX-License-Identifier: MIT
#
# crtos build. Plain GNU make; everything goes to $(BUILD).
#
#   make            kernel image, the crtos tool and the examples (examples/)
#   make test       install what is missing, build, run every test
#   make asan       the Linux-side tools under ASan/UBSan (build/asan/)
#   make unit       host unit tests only
#   make test-vm    the cell tests in the test VM (QEMU TCG; no /dev/kvm needed)
#   make test-x11   the X11 screenshot tests, heavy desktop programs too
#   make bench      crtos bench: the full report (BENCH_ARGS=--quick for a short one)
#   make compat     docs/compat.md: the calls the programs we run made that the realm
#                   answered with ENOSYS or a fallback (scripts/gen-compat; boots cells)
#   make clean
#
# V=1 shows the commands.

BUILD	?= build
CC	?= gcc
LD	?= ld
Q	:= $(if $(V),,@)

WARN	:= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes

# The shared ABI: include/crtos/, and the arch's part of it
# (include/arch/x86_64/crtos/, the register dump in crtos/comm.h).
SHARED_INC := -Iinclude -Iinclude/arch/x86_64

# Linux UAPI headers only (errno values, later syscall numbers and structures):
# the kernel never sees the C library's headers.
UAPI	:= $(BUILD)/uapi
GCCINC	:= $(shell $(CC) -print-file-name=include)

KERNEL_CFLAGS := -std=gnu11 -O2 -g $(WARN) \
	-ffreestanding -fno-builtin-malloc -fno-stack-protector -fpie \
	-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
	-mno-red-zone -mgeneral-regs-only -fno-asynchronous-unwind-tables \
	-nostdinc -isystem $(GCCINC) -isystem $(UAPI) -isystem kernel/include/nolibc \
	$(SHARED_INC) -Ikernel/include -Ilinuxabi/include -Iarch/x86_64/include -I$(BUILD)/include
KERNEL_ASFLAGS := $(KERNEL_CFLAGS) -D__ASSEMBLER__
KERNEL_CFLAGS += -include kernel/include/kernel/visibility.h

# The vDSO image the kernel maps into every process (needs the flags above).
include vdso/rules.mk

KERNEL_SRCS := \
	kernel/main.c kernel/header.c kernel/printk.c kernel/panic.c kernel/clock.c \
	kernel/cmdline.c kernel/irq.c kernel/idle.c kernel/selftest.c kernel/sched.c kernel/timer.c \
	kernel/pi.c kernel/trace.c \
	kernel/mm/pmm.c kernel/mm/kmem.c kernel/mm/aspace.c kernel/mm/mm.c \
	kernel/lib/string.c kernel/lib/strlcpy.c kernel/lib/fmt.c \
	kernel/selftest/mm_selftest.c kernel/selftest/core_selftest.c kernel/selftest/sched_selftest.c \
	arch/x86_64/boot.c arch/x86_64/trap.c arch/x86_64/apic.c arch/x86_64/cpu.c \
	arch/x86_64/hcall.c arch/x86_64/backtrace.c arch/x86_64/selftest.c arch/x86_64/thread.c \
	arch/x86_64/syscall.c arch/x86_64/fpu.c arch/x86_64/xstate.c \
	linuxabi/personality.c linuxabi/process.c linuxabi/rcall.c linuxabi/mm.c linuxabi/exec.c \
	linuxabi/syscall.c linuxabi/syscall_routes.c linuxabi/uaccess.c linuxabi/elf.c linuxabi/stack.c \
	linuxabi/sys_mm.c linuxabi/sys_proc.c linuxabi/sys_signal.c linuxabi/sys_time.c \
	linuxabi/thread.c linuxabi/signal.c linuxabi/futex.c linuxabi/timers.c linuxabi/sys_sched.c \
	linuxabi/sys_wait.c linuxabi/rtfd.c linuxabi/rtfd_wait.c linuxabi/rtfd_timerfd.c linuxabi/rtfifo.c \
	linuxabi/shm.c linuxabi/fork.c \
	arch/x86_64/entry.S arch/x86_64/nucleus.S arch/x86_64/faults.S arch/x86_64/switch.S

KERNEL_OBJS := $(patsubst %,$(BUILD)/k/%.o,$(KERNEL_SRCS))
KERNEL	:= $(BUILD)/crtos-kernel.elf

# The VMM shares self-contained pieces of the arch layer (asm/xstate.h); no
# file there has the name of a UAPI <asm/...> header the tools include. (-I,
# not -idirafter: headers found through -idirafter are system headers, which
# -MMD leaves out of the dependencies.)
TOOLS_CFLAGS := -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -pthread $(SHARED_INC) -Itools \
	-Iarch/x86_64/include -I/usr/include/fuse3 -I$(BUILD)/include
# The FUSE view of RT-FIFOs (tools/cli/fifofs.c): libfuse3 (Debian's libfuse3-dev).
TOOLS_LIBS := -lfuse3
TOOLS_SRCS := \
	tools/vmm/kvm.c tools/vmm/cpu.c arch/x86_64/xstate.c tools/vmm/mem.c tools/vmm/image.c \
	tools/vmm/boot.c tools/vmm/clock.c \
	tools/vmm/cell.c tools/vmm/log.c tools/vmm/host.c tools/vmm/report.c tools/vmm/err.c \
	tools/vmm/proc.c tools/vmm/fifo.c tools/vmm/watchdog.c tools/vmm/shm.c tools/vmm/shield.c \
	tools/cli/main.c tools/cli/cmd_cell.c tools/cli/cmd_doctor.c tools/cli/cmd_run.c \
	tools/cli/options.c tools/cli/cellsock.c tools/cli/fifofs.c tools/cli/cmd_fifo.c tools/cli/cmd_shm.c tools/cli/cmd_shield.c \
	tools/cli/run_procs.c tools/cli/cmd_bench.c tools/shadow/stats.c linuxabi/syscall_routes.c
VMM_SRCS := $(filter tools/vmm/% arch/%,$(TOOLS_SRCS))
CLI	:= $(BUILD)/crtos

ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_CLI := $(BUILD)/asan/crtos

# The shadow: a static PIE on musl, which Linux loads at the top of user
# space (in the kernel window, with randomization off) and which never
# grows a brk heap, so that all of it stays out of the addresses programs in
# the realm use. glibc's static start-up would put a heap at 0x555555555000.
SHADOW	:= $(BUILD)/crtos-shadow
# Debian's musl-tools puts musl here.
MUSL_LIB ?= /usr/lib/x86_64-linux-musl/

.PHONY: all kernel tools asan unit test deps clean bench compat
all: $(KERNEL) $(CLI) $(SHADOW) examples
kernel: $(KERNEL)
tools: $(CLI)
asan: $(ASAN_CLI)

$(UAPI)/.stamp:
	$(Q)mkdir -p $(UAPI)
	$(Q)ln -sfn /usr/include/linux $(UAPI)/linux
	$(Q)ln -sfn /usr/include/asm-generic $(UAPI)/asm-generic
	$(Q)ln -sfn /usr/include/x86_64-linux-gnu/asm $(UAPI)/asm
	$(Q)touch $@

# Structure offsets for assembly, generated from C (arch/x86_64/asm-offsets.c).
$(BUILD)/include/asm-offsets.h: arch/x86_64/asm-offsets.c $(UAPI)/.stamp $(wildcard arch/x86_64/include/asm/*.h include/crtos/*.h include/arch/x86_64/crtos/*.h)
	@echo "  GEN     $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(KERNEL_CFLAGS) -S -o $@.s $<
	$(Q)(echo "/* Generated from arch/x86_64/asm-offsets.c: do not edit. */"; \
	     sed -n 's/.*"->\([A-Za-z0-9_]*\) \([-0-9]*\)".*/#define \1 \2/p' $@.s) > $@.tmp
	$(Q)mv $@.tmp $@

$(BUILD)/k/%.c.o: %.c Makefile $(UAPI)/.stamp $(BUILD)/include/asm-offsets.h
	@echo "  CC      $<"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(KERNEL_CFLAGS) $(if $(findstring lib/string.c,$<),-fno-builtin) -MMD -MP -c -o $@ $<

$(BUILD)/k/%.S.o: %.S Makefile $(UAPI)/.stamp $(BUILD)/include/asm-offsets.h
	@echo "  AS      $<"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(KERNEL_ASFLAGS) -MMD -MP -c -o $@ $<

$(KERNEL): $(KERNEL_OBJS) $(VDSO_IMAGE_O) arch/x86_64/kernel.ld
	@echo "  LD      $@"
	$(Q)$(LD) -T arch/x86_64/kernel.ld -pie -z notext -nostdlib --build-id=none -z noexecstack \
		-z max-page-size=4096 --no-dynamic-linker -o $@ $(KERNEL_OBJS) $(VDSO_IMAGE_O) \
		$(shell $(CC) -print-libgcc-file-name)
	$(Q)nm -n $@ > $(BUILD)/crtos-kernel.sym

$(BUILD)/t/%.c.o: %.c
	@echo "  CC      $<"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(TOOLS_CFLAGS) $(ROUTES_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/asan/t/%.c.o: %.c
	@echo "  CC      $< (asan)"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(TOOLS_CFLAGS) $(ROUTES_CFLAGS) $(ASAN_FLAGS) -MMD -MP -c -o $@ $<

# The --stats report (tools/shadow/stats.c) names system calls and gives the
# reasons of fallbacks from the kernel's routing table, linked in as data (as
# tools/gen/syscalls_doc does): only these two objects see linuxabi/include.
ROUTES_OBJS := $(foreach d,t asan/t s,$(BUILD)/$(d)/tools/shadow/stats.c.o \
				       $(BUILD)/$(d)/linuxabi/syscall_routes.c.o)
$(ROUTES_OBJS): $(BUILD)/include/linux_syscalls.h $(UAPI)/.stamp linuxabi/syscalls.def \
		linuxabi/include/linuxabi/syscall_class.h
$(ROUTES_OBJS): ROUTES_CFLAGS := -Ilinuxabi/include

$(CLI): $(patsubst %,$(BUILD)/t/%.o,$(TOOLS_SRCS))
	@echo "  LD      $@"
	$(Q)$(CC) $(TOOLS_CFLAGS) -o $@ $^ $(TOOLS_LIBS)

SHADOW_SRCS := tools/shadow/shadow.c tools/shadow/exec.c tools/shadow/fork.c tools/shadow/shm.c \
	tools/shadow/stats.c linuxabi/syscall_routes.c
SHADOW_OBJS := $(patsubst %,$(BUILD)/s/%.o,$(SHADOW_SRCS))

$(BUILD)/s/%.c.o: %.c $(wildcard include/crtos/*.h tools/shadow/*.h) $(BUILD)/include/linux_syscalls.h $(UAPI)/.stamp
	@echo "  CC      $< (musl)"
	$(Q)mkdir -p $(dir $@)
	$(Q)musl-gcc -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -Iinclude -Itools -I$(BUILD)/include $(ROUTES_CFLAGS) \
		-idirafter $(UAPI) -fpie -c -o $@ $<

$(SHADOW): $(SHADOW_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) -nostdlib -static-pie -Wl,--no-dynamic-linker -o $@ $(MUSL_LIB)rcrt1.o \
		$(MUSL_LIB)crti.o $(SHADOW_OBJS) $(MUSL_LIB)libc.a $(shell $(CC) -print-libgcc-file-name) \
		$(MUSL_LIB)crtn.o

$(ASAN_CLI): $(patsubst %,$(BUILD)/asan/t/%.o,$(TOOLS_SRCS))
	@echo "  LD      $@"
	$(Q)$(CC) $(TOOLS_CFLAGS) $(ASAN_FLAGS) -o $@ $^ $(TOOLS_LIBS)

include linuxabi/rules.mk
include tests/programs/rules.mk
include tests/rules.mk
include examples/rules.mk

# make test's packages, crtos bench's among them (tests/cell/bench_tests.sh runs a short one).
deps:
	$(Q)scripts/install-deps --bench

# crtos bench (tools/cli/cmd_bench.c, bench/crtos-bench): one run, natively and in the
# realm, a report directory with plots. It boots cells: nothing else on the RT CPU meanwhile.
bench: all programs
	$(Q)scripts/install-deps --bench
	$(Q)$(CLI) bench $(BENCH_ARGS)

# Boots cells: run it under the cell lock (flock /tmp/crtos-cell.lock make compat).
compat: all programs
	$(Q)scripts/gen-compat docs/compat.md

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
