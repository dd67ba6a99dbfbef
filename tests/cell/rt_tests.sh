# SPDX-License-Identifier: MIT
#
# The real-time core through unmodified programs (tests/programs/, musl and
# glibc): threads, scheduling, priority inheritance, futexes, signals and
# timers give the same answers in the realm as natively, and a cyclic loop
# stays in the realm. Sourced by tests/run after cli_tests.sh (which has
# run, tmp and fail).

RT_PROGRAMS="prio_inherit sched_order sync timers signals"

# Dynamically linked programs of Debian: the same output as natively.
test_debian_dynamic_programs_match_native() {
	local native rt cmd rc
	native=$(tmp)
	rt=$(tmp)
	for cmd in "/bin/ls -la /usr/lib" "/usr/bin/md5sum /etc/services" "/usr/bin/sort /etc/services" \
		"/usr/bin/printenv HOME PATH" "/bin/sh -c 'for i in 1 2 3; do echo \$i; done'"; do
		{ rc=0; eval "$cmd" || rc=$?; echo "exit $rc"; } >"$native" 2>&1
		{ rc=0; eval "\"\$CRTOS\" run -- $cmd" || rc=$?; echo "exit $rc"; } >"$rt" 2>&1
		cmp -s "$native" "$rt" || { diff "$native" "$rt" | head; fail "$cmd differs"; }
	done
	# A cleared environment reaches the program as it reaches crtos run (env(1)
	# itself would exec, which is issue 11's).
	[[ $(env -i A=1 "$CRTOS" run -- /usr/bin/printenv) == "A=1" ]] ||
		fail "env -i A=1 crtos run -- printenv does not print just A=1"
}

# Debian's own cyclictest, the same binary, in the realm: it runs its loop
# to the end, and its measurement thread's remote calls do not grow with
# the number of loops (none is in the loop).
test_debian_cyclictest_runs_in_the_realm() {
	local short long
	command -v cyclictest >/dev/null || fail "cyclictest is not installed (rt-tests)"
	short=$(tmp)
	long=$(tmp)
	run "$short" run --stats -- cyclictest -m -p 80 -i 1000 -l 100 -q
	expect_status 0
	run "$long" run --stats -- cyclictest -m -p 80 -i 1000 -l 2000 -q
	expect_status 0
	expect_text "$long" "C:   2000"
	# The second record is the measurement thread: local calls grow, remote ones do not.
	[[ $(awk '/^crtos: +tid policy/ { getline; getline; print $6; exit }' "$short") == \
	   $(awk '/^crtos: +tid policy/ { getline; getline; print $6; exit }' "$long") ]] ||
		fail "the measurement thread's remote calls grow with the loop"
	(($(by_call "$long" local clock_nanosleep) >= 2000)) || fail "clock_nanosleep was not local"
}

# cyclictest keeps its status in shared memory (/dev/shm/cyclictest<pid>,
# shm_open + MAP_SHARED); Debian's get_cyclictest_snapshot, a Linux python
# script, sends it SIGUSR2 (its handler writes the status there) and reads
# the file: the realm's writes reach Linux's view of the object. SIGINT ends
# it as natively (summary printed, the object unlinked, status 0).
# timeout: 90
test_debian_cyclictest_snapshot_through_its_shared_memory() {
	local out snap pid shm=""
	command -v get_cyclictest_snapshot >/dev/null || fail "get_cyclictest_snapshot is not installed (rt-tests)"
	out=$(tmp)
	snap=$(tmp)
	"$CRTOS" run -- cyclictest -m -p 80 -i 1000 -l 600000 -q >"$out" 2>&1 &
	# Its pid in the realm is its shadow's: the one in the object's name.
	for _ in $(seq 300); do
		pid=$(pgrep -f -n "^crtos-shadow .* -- [^ ]*cyclictest cyclictest -m -p 80 -i 1000 -l 600000") &&
			shm=/dev/shm/cyclictest$pid && [[ -e $shm ]] && break
		sleep 0.1
	done
	[[ -n $shm && -e $shm ]] || { cat "$out"; fail "no /dev/shm/cyclictest<pid> appeared"; }
	sleep 1
	get_cyclictest_snapshot -s "$pid" >/dev/null
	for _ in $(seq 100); do
		get_cyclictest_snapshot -p "$pid" >"$snap" 2>&1
		grep -q "^T: 0 (.*C: *[1-9]" "$snap" && break
		sleep 0.1
	done
	cat "$snap"
	grep -q "^T: 0 (.*C: *[1-9]" "$snap" || fail "the snapshot from shared memory has no thread status"
	kill -INT "$pid"
	status=0
	wait $! || status=$?
	cat "$out"
	expect_status 0
	grep -q "^T: 0 (" "$out" || fail "no summary after SIGINT"
	[[ ! -e $shm ]] || fail "$shm was not unlinked at exit"
}

# The program's output without its "# " measurement lines.
checks_only() {
	without_watchdog "$1" | grep -v '^# '
}

# checks_match_native NATIVE_OUT PROG [ARGS...]: run PROG natively (it must pass)
# and in the realm; the checks (not the "# " lines) must be the same.
checks_match_native() {	# NATIVE_OUT PROG [ARGS...]
	local native=$1 prog=$2 rt rc
	shift 2
	rt=$(tmp)
	{ rc=0; "$BUILD/programs/$prog" "$@" || rc=$?; echo "exit $rc"; } >"$native" 2>&1
	{ rc=0; "$CRTOS" run -- "$BUILD/programs/$prog" "$@" || rc=$?; echo "exit $rc"; } >"$rt" 2>&1
	grep -q '^exit 0$' "$native" || { cat "$native"; fail "$prog fails natively"; }
	cmp -s <(checks_only "$native") <(checks_only "$rt") || {
		diff <(checks_only "$native") <(checks_only "$rt") | head
		echo "in the realm, what is not ok:"
		grep -v ': ok$' "$rt" | head -n 20
		fail "$prog differs"
	}
}

# prio_inherit's medium thread spins for at most 50 ms while the main thread
# creates the high one: where everything is slower (the test VM, whose
# thread creation in the realm waits on Linux under TCG), 50 ms x the scale.
# timeout: 300
test_rt_programs_match_native() {
	local prog libc args
	for prog in $RT_PROGRAMS; do
		args=()
		[[ $prog == prio_inherit ]] && args=($((50 * ${CRTOS_TEST_TIME_SCALE:-1})))
		for libc in musl glibc dyn; do
			checks_match_native "$(tmp)" "$prog-$libc" "${args[@]}"
		done
	done
}

# Vector registers (SSE, AVX, AVX-512 where the realm has them) stay each
# thread's own across preemptions, yields, sleeps, signals and system calls
# (tests/programs/fpu.c): the same checks pass natively and in the realm,
# with the registers each side's CPUID and XCR0 offer. Under kvm_pvm ring 3
# runs under the host's XCR0 whatever the guest's CPUID says, so there the
# realm must also keep every register set the host has.
# Rounds: fpu's default 5000, fewer where everything runs slower (the test
# VM's TCG emulates AVX: 5000 rounds took 44 s a run there), never under 500.
test_fpu_registers_survive_preemption_signals_and_sleeps() {
	local libc native rt set rc rounds
	rounds=$((5000 / ${CRTOS_TEST_TIME_SCALE:-1}))
	((rounds >= 500)) || rounds=500
	native=$(tmp)
	for libc in musl glibc dyn; do
		checks_match_native "$native" "fpu-$libc" auto "$rounds"
	done
	[[ -d /sys/module/kvm_pvm ]] || return 0
	set=$(sed -n 's/^# registers: //p' "$native")
	rt=$(tmp)
	{ rc=0; "$CRTOS" run -- "$BUILD/programs/fpu-glibc" "$set" "$rounds" || rc=$?; echo "exit $rc"; } >"$rt" 2>&1
	grep -q '^exit 0$' "$rt" || { grep -v ': ok$' "$rt"; fail "fpu-glibc $set fails in the realm"; }
}

# A program's GS base is each thread's own, set by arch_prctl or wrgsbase
# (tests/programs/gsbase.c), in both modes: the kernel and the nucleus never
# use GS (docs/architecture.md, "Two modes"), so the checks are the native
# ones, and AT_HWCAP2 keeps Linux's HWCAP2_FSGSBASE (bit 1) where Linux
# gives it, so that the wrgsbase rounds run too.
test_gs_base_is_each_threads_own() {
	local libc out native realm
	out=$(tmp)
	LD_SHOW_AUXV=1 /bin/true >"$out"
	native=$(awk '$1 == "AT_HWCAP2:" { print $2 }' "$out")
	LD_SHOW_AUXV=1 "$CRTOS" run -- /bin/true >"$out" 2>&1
	realm=$(awk '$1 == "AT_HWCAP2:" { v = $2 } END { print v }' "$out")	# the last: crtos's own comes first
	[[ $realm == "$native" ]] || { cat "$out"; fail "AT_HWCAP2 is '$realm' in the realm, '$native' natively"; }
	for libc in musl glibc dyn; do
		checks_match_native "$(tmp)" "gsbase-$libc"
	done
}

# The stats line of the main thread (the first record) and the "by call" lists.
stats_remote_calls() {	# FILE: remote calls of the main thread
	awk '/^crtos: +tid policy/ { getline; print $6; exit }' "$1"
}

by_call() {	# FILE local|remote SYSCALL: its count, 0 if absent
	sed -n "s/^crtos:   $2 by call:.* $3 \([0-9]*\).*/\1/p" "$1" | head -n 1 | grep . || echo 0
}

# A 1 ms clock_nanosleep(TIMER_ABSTIME) loop, as cyclictest's, served in the
# realm: 10 000 periods make no more remote calls than 10 do, so none is in
# the loop; the loop's clock_gettime never enters the kernel (the vDSO).
test_cyclic_loop_never_leaves_the_realm() {
	local short long r1 r2
	short=$(tmp)
	long=$(tmp)
	run "$short" run --stats -- "$BUILD/programs/cyclic-glibc" 1000 10
	expect_status 0
	run "$long" run --stats -- "$BUILD/programs/cyclic-glibc" 1000 10000
	expect_status 0
	expect_text "$long" "all loops done: ok"
	expect_text "$long" "never early: ok"
	r1=$(stats_remote_calls "$short")
	r2=$(stats_remote_calls "$long")
	# Not one per loop: some more at most, from the end (glibc's qsort of 10000
	# samples asks sysinfo once and grows the heap, each growth mirrored in the
	# shadow with one call per physically contiguous run of its pages: 9 more
	# in the loaded test VM, where pages come from RAM arriving late); a remote
	# call in the loop would add 9990.
	[[ -n $r1 && -n $r2 ]] && ((r2 <= r1 + 100)) ||
		fail "remote calls: $r1 for 10 loops, $r2 for 10000"
	(($(by_call "$long" local clock_nanosleep) >= 10000)) ||
		fail "clock_nanosleep was not served in the realm 10000 times"
	[[ $(by_call "$long" local clock_gettime) == 0 && $(by_call "$long" remote clock_gettime) == 0 ]] ||
		fail "clock_gettime entered the kernel: the vDSO was not used"
}

# The same with musl, shorter: its clock_nanosleep and vDSO lookup differ.
test_cyclic_loop_musl_stays_local() {
	local short long r1 r2
	short=$(tmp)
	long=$(tmp)
	run "$short" run --stats -- "$BUILD/programs/cyclic-musl" 1000 10
	run "$long" run --stats -- "$BUILD/programs/cyclic-musl" 1000 1000
	expect_status 0
	# Some more at most, from the end (the sort of 1000 samples maps memory
	# that the shadow mirrors, one call per contiguous run, as above); one per
	# loop would add 990.
	r1=$(stats_remote_calls "$short")
	r2=$(stats_remote_calls "$long")
	[[ -n $r1 && -n $r2 ]] && ((r2 <= r1 + 100)) || fail "remote calls grow with the loop: $r1, then $r2"
	[[ $(by_call "$long" local clock_gettime) == 0 ]] || fail "clock_gettime entered the kernel"
}

# Threads have twins in the shadow: a thread's remote calls run on a Linux
# thread of the shadow process, and the realm's tids are those threads'.
test_threads_have_linux_twins() {
	local out tasks
	out=$(tmp)
	run "$out" run --stats -- "$BUILD/programs/sync-musl"
	expect_status 0
	expect_text "$out" "tids are the process's tasks: ok"
	# One stats record per thread the program ran, each with its own tid.
	tasks=$(awk '/^crtos: +tid policy/ { on = 1; next } on && /^crtos: +[0-9]/ { print $2 } /by call/ { on = 0 }' "$out" | sort -u | wc -l)
	((tasks >= 5)) || fail "only $tasks thread records"
}

# A program of many threads (waiting on a condition, sleeping, reading,
# spinning) whose shadow is killed, then one that is sent SIGTERM: each ends
# (the spinning thread too), a serving cell reaps it and runs the next
# program, and the kernel never complains.
test_killed_threaded_programs_leave_a_working_cell() {
	local cell out libc
	cell=$(tmp)
	out=$(tmp)
	"$CRTOS" cell --hold >"$cell" 2>&1 &
	for _ in $(seq 100); do grep -q "serves crtos run" "$cell" && break; sleep 0.05; done
	for libc in musl glibc; do
		sleep 100 | "$CRTOS" run -- "$BUILD/programs/busy-$libc" >"$out" 2>&1 &
		for _ in $(seq 100); do grep -q running "$out" && break; sleep 0.05; done
		grep -q running "$out" || fail "busy-$libc did not start"
		pkill -KILL -P $! -x crtos-shadow	# $!: this crtos run
		for _ in $(seq 100); do pgrep -f "run -- $BUILD/programs/busy" >/dev/null || break; sleep 0.05; done
		pgrep -f "run -- $BUILD/programs/busy" >/dev/null && fail "crtos run did not end"
		[[ $("$CRTOS" run -- $BUSYBOX echo next) == next ]] || fail "the cell did not carry on"

		sleep 100 | "$CRTOS" run -- "$BUILD/programs/busy-$libc" >"$out" 2>&1 &
		for _ in $(seq 100); do grep -q running "$out" && break; sleep 0.05; done
		pkill -TERM -P $! -x crtos-shadow
		for _ in $(seq 100); do pgrep -f "run -- $BUILD/programs/busy" >/dev/null || break; sleep 0.05; done
		pgrep -f "run -- $BUILD/programs/busy" >/dev/null && fail "SIGTERM did not end busy-$libc"
		run "$out" run -- "$BUILD/programs/sync-$libc"
		expect_status 0
	done
	pkill -f "^sleep 100$" || true
	kill -TERM %1
	wait %1 || true
	cat "$cell"
	expect_no_text "$cell" "panic"
	expect_text "$cell" "crtos: the cell shut down, exit status 0"
}

# Threads beyond the channel's 32 slots (slot pages on demand,
# docs/architecture.md "Threads and their twins"): 200 threads at once
# making remote and local calls give the native checksums, with each C
# library; --stats sums the threads past its records in one "others" line.
# timeout: 240
test_threads_two_hundred_at_once_match_native() {
	local libc out
	for libc in musl glibc dyn; do
		checks_match_native "$(tmp)" "threads-$libc" many
	done
	out=$(tmp)
	run "$out" run --stats -- "$BUILD/programs/threads-musl" many
	expect_status 0
	grep -q '^crtos: *others ' "$out" || fail "--stats has no line for the threads past its records"
	(($(by_call "$out" remote getppid) >= 2000)) || fail "the threads' getppid calls were not remote"
}

# 2000 threads in waves of 100, twice, in a held cell: the cell gets all
# its memory and heap objects back (kernel stacks, slot pages, the
# threads' records), and the program's fds are as many after as before.
# timeout: 300
test_threads_churn_of_2000_leaks_no_memory() {
	local cell log out before after
	cell=$(tmp)
	log=$(tmp)
	out=$(tmp)
	hold_cell "$cell" --cmdline loglevel=7 --log "$log"
	for _ in $(seq 100); do grep -q "all .* of RAM ready" "$log" && break; sleep 0.05; done
	# Counted at the reap of a separate program a (scaled) second later, when
	# everything of the churn is gone (in the test VM a count taken at once
	# was once 4 KiB short, then back).
	for _ in 1 2; do
		checks_match_native "$out" threads-glibc churn
		sleep "${CRTOS_TEST_TIME_SCALE:-1}"
		"$CRTOS" run -- $BUSYBOX true
	done
	kill -TERM %1
	wait %1
	before=$(procs_reap_counts "$log" 2)
	after=$(procs_reap_counts "$log" 4)
	echo "free memory and heap objects after 2000 threads: $before; after 2000 more: $after"
	[[ -n $before && $before == "$after" ]] || fail "the cell did not get its memory back"
}

# A clone past the realm's last slot fails with EAGAIN, as Linux's past its
# limits (pthread_create says so), and the process and cell go on: all the
# threads it had join, and a new one starts.
# timeout: 240
test_threads_past_the_limit_fail_with_eagain() {
	local out max
	out=$(tmp)
	max=$(sed -n 's/^#define CRTOS_MAX_THREADS[[:space:]]*\([0-9]*\).*/\1/p' include/crtos/channel.h)
	run "$out" run -- "$BUILD/programs/threads-musl" limit
	expect_status 0
	expect_text "$out" "threads started: $((max - 1))"
	expect_text "$out" "then: EAGAIN"
	expect_text "$out" "a thread after they ended: ok"
	[[ $("$CRTOS" run -- $BUSYBOX echo next) == next ]] || fail "the realm did not carry on"
}
