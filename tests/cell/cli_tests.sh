# SPDX-License-Identifier: MIT
#
# Cell tests through the crtos command, one function per behaviour. Sourced
# by tests/lib/shell_test, which tests/run starts for each test_* function,
# as root with /dev/kvm, with errexit in force: a test fails at its first
# command that fails (outside if, && and ||), and its last line of output
# says why. A test's time limit is 120 s unless a "# timeout: SECONDS"
# line right above it says more. The tool runs under ASan/UBSan (build/asan/crtos), so
# a memory error or leak in it fails the test too.

CRTOS=${CRTOS:-$BUILD/asan/crtos}
KERNEL=$BUILD/crtos-kernel.elf
RT_RUNTIME=/proc/sys/kernel/sched_rt_runtime_us
MEM=(--mem 32M)
# The ABI version both sides speak, from the shared header (never retyped here).
ABI=$(sed -n 's/^#define CRTOS_ABI_VERSION[[:space:]]*\([0-9]*\).*/\1/p' include/crtos/abi.h)

fail() {
	echo "$*"
	return 1
}

# run OUTFILE ARGS...: run crtos with ARGS, output to OUTFILE; sets $status.
run() {
	local out=$1
	shift
	status=0
	"$CRTOS" "$@" >"$out" 2>&1 || status=$?
	cat "$out"
}

expect_status() {
	[[ $status == "$1" ]] || fail "exit status $status, expected $1"
}

expect_text() {	# expect_text FILE TEXT
	grep -qF -- "$2" "$1" || fail "missing from the output: $2"
}

expect_no_text() {
	! grep -qF -- "$2" "$1" || fail "unexpected in the output: $2"
}

tmp() {
	mktemp "${TMPDIR:-/tmp}/crtos-test.XXXXXX"
}

# without_watchdog FILE: FILE without the VMM's halt-watchdog reports (a
# "crtos: watchdog:" line and its indented details). The watchdog repairs a
# lost wake-up interrupt (seen in the test VM's nested, emulated AMD-V) and
# says so on crtos run's stderr; a test comparing a program's output with
# native ignores that report, and tests/run counts the repairs in its note.
without_watchdog() {
	awk '/^crtos: watchdog:/ { skip = 1; next }
	     skip && /^(crtos:   |  )/ { next }
	     { skip = 0; print }' "$1"
}

with_rt_runtime() {	# with_rt_runtime VALUE: set it for this test, restore at exit
	saved_rt_runtime=$(cat $RT_RUNTIME)
	on_exit 'echo "$saved_rt_runtime" > $RT_RUNTIME'
	echo "$1" >$RT_RUNTIME
}

test_help_texts_describe_every_command() {
	local out
	out=$(tmp)
	run "$out" --help
	expect_status 0
	expect_text "$out" "cell"
	expect_text "$out" "doctor"
	run "$out" cell --help
	expect_status 0
	for opt in --cpu --prio --mem --idle --selftest --hold --cmdline --log --kernel --kvm \
		--fix-rt-throttling --shield "Exit status"; do
		expect_text "$out" "$opt"
	done
	run "$out" help doctor
	expect_status 0
	expect_text "$out" "--fix"
	expect_text "$out" "shield"
	run "$out" shield --help
	expect_status 0
	for opt in --cpu COMMAND "Exit status"; do
		expect_text "$out" "$opt"
	done
	expect_text <("$CRTOS" run --help) "--shield"
	expect_text <("$CRTOS" --help) "shield"
	expect_text <("$CRTOS" --help) "shm"
	run "$out" shm --help
	expect_status 0
	for opt in create list show rm --size --cpu /dev/rtshm/NAME /dev/shm "Exit status"; do
		expect_text "$out" "$opt"
	done
	run "$out" version
	expect_text "$out" "kernel ABI $ABI"
}

test_bad_usage_exits_64() {
	local out
	out=$(tmp)
	run "$out" frobnicate
	expect_status 64
	expect_text "$out" "unknown command 'frobnicate'"
	run "$out" cell --mem 3M
	expect_status 64
	expect_text "$out" "--mem needs a multiple of 2 MiB"
	run "$out" cell --prio 100
	expect_status 64
	run "$out" cell --idle sometimes
	expect_status 64
	run "$out" shm create x
	expect_status 64
	expect_text "$out" "create needs --size"
	run "$out" shm create x --size 1000
	expect_status 64
	run "$out" shm show
	expect_status 64
	expect_text "$out" "which region?"
}

test_boot_shows_banner_boot_time_and_shuts_down() {
	local out
	out=$(tmp)
	run "$out" cell "${MEM[@]}"
	expect_status 0
	expect_text "$out" "crtos 0.1.0 (ABI $ABI): real-time kernel"
	expect_text "$out" "memory: 32 MiB RAM"
	grep -qE "crtos: booted in [0-9]+\.[0-9] ms" "$out" || fail "no boot time"
	expect_text "$out" "idle: "
	expect_text "$out" "shutdown: exit status 0"
	expect_text "$out" "crtos: the cell shut down, exit status 0"
}

test_exit_status_is_the_kernels() {
	local out code
	out=$(tmp)
	for code in 0 3 42 255; do
		run "$out" cell "${MEM[@]}" --quiet --cmdline "exit=$code"
		expect_status "$code"
	done
}

# The whole run (start, boot, the fault, the report, the exit) within a few
# seconds: the report comes at once, not after some timeout (the boot
# timeout is 10 s). 1 s was the limit until a machine busy with two test
# VMs took 1.3 s.
test_panic_report_has_registers_and_backtrace_within_3s() {
	local out start ms limit
	out=$(tmp)
	start=$(date +%s%N)
	run "$out" cell "${MEM[@]}" --cmdline "fault=unmapped"
	ms=$((($(date +%s%N) - start) / 1000000))
	echo "panic reported after $ms ms"
	expect_status 70
	# The last page of the kernel window, which is mode-dependent (crtos/abi.h).
	# The page fault's user bit (0x4) says the kernel's ring: 3 under kvm_pvm, 0 in hardware mode.
	if grep -q "; hardware mode" "$out"; then
		expect_text "$out" "crtos: kernel panic: page fault: read from an unmapped page at 0xffff80fffffff000 in the kernel"
		expect_text "$out" "cr2 ffff80fffffff000"
		expect_text "$out" "vector 14  error code 0  cr2"
	else
		expect_text "$out" "crtos: kernel panic: page fault: read from an unmapped page at 0x7ffffffff000 in the kernel"
		expect_text "$out" "cr2 00007ffffffff000"
		expect_text "$out" "vector 14  error code 0x4"
	fi
	expect_text "$out" "<fault_inject+"
	expect_text "$out" "crtos: backtrace:"
	expect_text "$out" "<kmain+"
	limit=$(awk -v s="${CRTOS_TEST_TIME_SCALE:-1}" 'BEGIN { printf "%d", 3000 * s }')
	((ms <= limit)) || fail "the report took $ms ms (limit $limit)"
}

test_panic_report_names_the_source_line() {
	local out
	out=$(tmp)
	run "$out" cell "${MEM[@]}" --cmdline "fault=panic"
	expect_status 70
	expect_text "$out" "crtos: kernel panic: panic requested on the command line"
	grep -qE "crtos:   at selftest.c:[0-9]+" "$out" || fail "no source location"
	run "$out" cell "${MEM[@]}" --cmdline "fault=write-text"
	expect_status 70
	expect_text "$out" "write to a protected page"
}

test_fault_in_ring0_is_reported_by_the_vmm() {
	local out
	out=$(tmp)
	run "$out" cell "${MEM[@]}" --cmdline "fault=ring0"
	expect_status 71
	expect_text "$out" "crtos: kernel fatal: exception 13 in ring 0"
	expect_text "$out" "<x86_svc_wrmsr+"
	expect_text "$out" "<fault_inject+"
}

# SMEP (hardware mode, where KVM offers it): kernel code that jumps to a
# program's page faults instead of running it. Without SMEP (kvm_pvm, whose
# kernel runs at ring 3) the call runs the page's `ret`.
test_kernel_cannot_run_program_code_with_smep() {
	local out
	out=$(tmp)
	run "$out" cell "${MEM[@]}" --cmdline "fault=exec-user"
	if grep -q "SMEP on" "$out"; then
		expect_status 70
		expect_text "$out" "crtos: kernel panic: page fault: instruction fetch from a protected page at 0x10000 in the kernel"
		expect_text "$out" "<arch_inject_fault+"
	else
		expect_status 0
		expect_text "$out" "(SMEP off)"
		expect_text "$out" "the kernel ran a program page's code"
	fi
}

# The kernel reads a program's page through arch_copy_user in every mode;
# directly only where SMAP is off (kvm_pvm, or KVM without it): with SMAP
# the direct read is a kernel page fault, reported with its source.
test_kernel_reads_program_memory_only_through_its_copy_routines_with_smap() {
	local out
	out=$(tmp)
	run "$out" cell "${MEM[@]}" --cmdline "fault=read-user"
	expect_text "$out" "read-user: arch_copy_user read the program page"
	if grep -q "(SMAP on)" "$out"; then
		expect_status 70
		expect_text "$out" "crtos: kernel panic: page fault: read from a protected page at 0x10000 in the kernel"
		expect_text "$out" "<x86_inject_read_user+"
	else
		expect_status 0
		expect_text "$out" "the kernel read a program page directly: 0x5a5a5a5a5a5a5a5a"
	fi
}

# An exception whose delivery faults again (here: no usable stack) becomes a
# double fault, which in hardware mode has a stack of its own (IST) and is
# reported like any kernel fault instead of resetting the CPU. Under kvm_pvm
# the kernel's exceptions come from ring 3 and switch stacks anyway.
test_double_fault_has_its_own_stack_and_is_reported() {
	local out
	out=$(tmp)
	run "$out" cell "${MEM[@]}" --cmdline "fault=bad-stack"
	expect_status 70
	if grep -q "; hardware mode" "$out"; then
		expect_text "$out" "crtos: kernel panic: double fault"
	else
		expect_text "$out" "crtos: kernel panic: invalid opcode in the kernel"
	fi
	expect_text "$out" "<x86_inject_bad_stack"
}

test_hung_kernel_is_stopped_and_located() {
	local out
	out=$(tmp)
	run "$out" cell "${MEM[@]}" --boot-timeout 300 --cmdline "fault=hang"
	expect_status 72
	expect_text "$out" "did not finish booting within 300 ms"
	expect_text "$out" "<fault_inject+"
}

# The log's reader is made to fall behind for sure: its output is a pipe
# that nobody reads for the first 2 s, so it blocks once 64 KiB are in it
# while the kernel writes 20 000 messages into a 4 KiB ring. (Left to race,
# a quiet machine's reader kept up with all 20 000.)
test_log_ring_overflow_is_counted_not_silent() {
	local out printed dropped gaps rc
	out=$(tmp)
	{ rc=0; "$CRTOS" cell "${MEM[@]}" --log-size 4K --cmdline "logflood=20000" 2>&1 || rc=$?
	  echo "crtos exit status $rc"; } | { sleep 2; cat; } >"$out"
	status=$(sed -n 's/^crtos exit status //p' "$out")
	expect_status 0
	printed=$(grep -c "logflood: message" "$out" || true)
	dropped=$(sed -n 's/^crtos: \([0-9]*\) kernel log messages were dropped.*/\1/p' "$out")
	gaps=$(sed -n 's/.*\[ \.\.\. \([0-9]*\) kernel messages dropped.*/\1/p' "$out" |
		awk '{ n += $1 } END { print n + 0 }')
	echo "printed $printed, dropped $dropped, gaps add up to $gaps"
	[[ -n $dropped ]] && ((dropped > 0)) || fail "no drop count reported"
	((printed + dropped >= 20000)) || fail "$printed printed + $dropped dropped < 20000"
	((gaps == dropped)) || fail "the gaps in the log ($gaps) differ from the count ($dropped)"
}

test_kernel_log_goes_to_a_file() {
	local out log
	out=$(tmp)
	log=$(tmp)
	run "$out" cell "${MEM[@]}" --log "$log"
	expect_status 0
	expect_no_text "$out" "real-time kernel, vCPU"
	expect_text "$log" "real-time kernel, vCPU"
	expect_text "$out" "crtos: booted in"
}

test_error_kvm_missing() {
	local out
	out=$(tmp)
	run "$out" cell "${MEM[@]}" --kvm /nonexistent/kvm
	expect_status 69
	expect_text "$out" "/nonexistent/kvm does not exist: this machine offers no KVM"
	expect_text "$out" "modprobe"
}

test_error_kvm_not_accessible() {
	local out bin
	out=$(tmp)
	# The unprivileged user needs to reach the binaries.
	bin=$(mktemp -d)
	cp "$BUILD/crtos" "$KERNEL" "$bin/"
	chmod 755 "$bin" "$bin"/*
	status=0
	setpriv --reuid=65534 --regid=65534 --clear-groups "$bin/crtos" cell --no-rt "${MEM[@]}" \
		>"$out" 2>&1 || status=$?
	cat "$out"
	rm -rf "$bin"
	expect_status 69
	expect_text "$out" "/dev/kvm: permission denied. Run crtos as root, or give your user access"
}

test_error_cpu_does_not_exist() {
	local out
	out=$(tmp)
	run "$out" cell "${MEM[@]}" --cpu 4000
	expect_status 69
	expect_text "$out" "CPU 4000 does not exist on this machine"
}

test_error_cpu_is_the_only_one() {
	local out
	out=$(tmp)
	status=0
	taskset -c 1 "$CRTOS" cell "${MEM[@]}" >"$out" 2>&1 || status=$?
	cat "$out"
	expect_status 69
	expect_text "$out" "CPU 1 is the only CPU this process may run on"
}

test_error_cpu_not_available_to_the_process() {
	local out
	out=$(tmp)
	status=0
	taskset -c 0 "$CRTOS" cell "${MEM[@]}" --cpu 1 >"$out" 2>&1 || status=$?
	cat "$out"
	expect_status 69
	expect_text "$out" "CPU 1 is not available to this process (allowed CPUs: 0)"
}

test_busy_cpu_is_refused_and_sigterm_shuts_down_in_order() {
	local out first pid
	out=$(tmp)
	first=$(tmp)
	"$CRTOS" cell "${MEM[@]}" --cpu 1 --hold >"$first" 2>&1 &
	pid=$!
	for _ in $(seq 100); do grep -q "booted in" "$first" && break; sleep 0.1; done
	run "$out" cell "${MEM[@]}" --cpu 1
	kill -TERM $pid
	status=0
	wait $pid || status=$?
	cat "$first"
	expect_text "$out" "CPU 1 already runs a crtos cell (pid $pid)"
	expect_status 0
	expect_text "$first" "Terminated: shutting the cell down"
	expect_text "$first" "crtos: the cell shut down, exit status 0"
}

test_corrupt_kernel_images_are_refused() {
	local out bad
	out=$(tmp)
	bad=$(tmp)
	run "$out" cell "${MEM[@]}" --kernel /etc/hostname
	expect_status 69
	expect_text "$out" "not an ELF file"
	run "$out" cell "${MEM[@]}" --kernel /bin/true
	expect_status 69
	expect_text "$out" "not an x86-64 ELF executable"
	head -c 3000 "$KERNEL" >"$bad"
	run "$out" cell "${MEM[@]}" --kernel "$bad"
	expect_status 69
	expect_text "$out" "kernel image $bad:"
	run "$out" cell "${MEM[@]}" --kernel /nonexistent
	expect_status 69
	expect_text "$out" "No such file or directory (build it with make, or pass --kernel)"
}

# The VMM relocates the kernel for its mode and accepts nothing but
# R_X86_64_RELATIVE entries that patch data: here the first one says type 1
# (R_X86_64_64), then it points into the text.
test_kernel_relocations_are_checked() {
	local out img rela
	out=$(tmp)
	img=$(tmp)
	rela=$(tmp)
	objcopy --dump-section .rela.dyn="$rela" "$KERNEL"
	printf '\x01' | dd of="$rela" bs=1 seek=8 conv=notrunc status=none
	objcopy --update-section .rela.dyn="$rela" "$KERNEL" "$img"
	run "$out" cell "${MEM[@]}" --kernel "$img"
	expect_status 69
	expect_text "$out" "relocation 0 has type 1; only R_X86_64_RELATIVE is supported"
	objcopy --dump-section .rela.dyn="$rela" "$KERNEL"
	printf '\x00\x00\x20\x00\x00\x00\x00\x00' | dd of="$rela" bs=1 conv=notrunc status=none
	objcopy --update-section .rela.dyn="$rela" "$KERNEL" "$img"
	run "$out" cell "${MEM[@]}" --kernel "$img"
	expect_status 69
	expect_text "$out" "relocation 0 at 0x200000 is outside the image's data"
}

test_kernel_of_another_abi_is_refused() {
	local out img hdr
	out=$(tmp)
	img=$(tmp)
	hdr=$(tmp)
	objcopy --dump-section .crtos.header="$hdr" "$KERNEL"
	printf '\x63\x00\x00\x00' | dd of="$hdr" bs=1 seek=8 conv=notrunc status=none
	objcopy --update-section .crtos.header="$hdr" "$KERNEL" "$img"
	run "$out" cell "${MEM[@]}" --kernel "$img"
	expect_status 69
	expect_text "$out" "was built for crtos ABI 99, this crtos speaks ABI $ABI: rebuild both"
}

test_rt_throttling_is_explained_and_the_cell_halts() {
	local out
	out=$(tmp)
	with_rt_runtime 950000
	run "$out" cell "${MEM[@]}"
	expect_status 0
	expect_text "$out" "Linux throttles real-time threads (sched_rt_runtime_us = 950000)"
	expect_text "$out" "crtos doctor --fix"
	expect_text "$out" "idle: spin then halt"
}

test_fix_rt_throttling_flag_is_undone_at_exit() {
	local out during
	out=$(tmp)
	with_rt_runtime 950000
	"$CRTOS" cell "${MEM[@]}" --fix-rt-throttling --hold=1500 >"$out" 2>&1 &
	for _ in $(seq 100); do grep -q "booted in" "$out" && break; sleep 0.1; done
	during=$(cat $RT_RUNTIME)
	wait $!
	cat "$out"
	[[ $during == -1 ]] || fail "sched_rt_runtime_us was $during while the cell ran"
	[[ $(cat $RT_RUNTIME) == 950000 ]] || fail "not restored: $(cat $RT_RUNTIME)"
	expect_no_text "$out" "throttles"
}

# Whether this Linux has a fair server (6.12+) that may run its tasks on the
# cell's CPU (the last one) over SCHED_FIFO: then cells halt when idle.
fair_server_applies() {
	local cpu release
	cpu=$(($(nproc --all) - 1))
	release=$(uname -r)
	IFS=. read -r major minor _ <<<"$release"
	((major > 6 || (major == 6 && minor >= 12))) || return 1
	! grep -qw "$cpu" /sys/devices/system/cpu/isolated 2>/dev/null
}

test_cell_polls_when_linux_does_not_throttle() {
	local out
	out=$(tmp)
	with_rt_runtime -1
	run "$out" cell "${MEM[@]}"
	expect_status 0
	expect_no_text "$out" "throttles"
	if fair_server_applies; then
		expect_text "$out" "gives its own tasks up to 50 ms per second"
		expect_text "$out" "idle: spin then halt, awake again before each timer"
	else
		expect_text "$out" "idle: polling"
	fi
	# Asked to poll, it polls.
	run "$out" cell "${MEM[@]}" --idle poll
	expect_status 0
	expect_text "$out" "idle: polling"
}

test_doctor_explains_and_fix_changes_only_when_asked() {
	local out
	out=$(tmp)
	with_rt_runtime 950000
	run "$out" doctor
	expect_status 0
	expect_text "$out" "KVM: /dev/kvm is usable"
	expect_text "$out" "RT throttling is on"
	expect_text "$out" "CPU isolation"
	expect_text "$out" "SMT"
	[[ $(cat $RT_RUNTIME) == 950000 ]] || fail "doctor without --fix changed the host"
	# Only this fix: the others would change the test machine for good.
	run "$out" doctor --fix=rt-throttling
	expect_status 0
	expect_text "$out" "RT throttling turned off"
	[[ $(cat $RT_RUNTIME) == -1 ]] || fail "doctor --fix did not turn throttling off"
}
