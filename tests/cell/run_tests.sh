# SPDX-License-Identifier: MIT
#
# crtos run: unmodified Linux programs in the RT realm, compared with the
# same programs run natively. Sourced by tests/run with cli_tests.sh's
# helpers (run, expect_status, expect_text, fail, tmp).

BUSYBOX=/bin/busybox

# shadow_of PID: the shadow of the crtos run whose pid is PID (its child), so
# that a test never picks another's on a shared machine. Fails if none yet.
shadow_of() {
	pgrep -P "$1" -x crtos-shadow
}

# native_vs_rt NAME CMD...: stdout, stderr and exit status must be identical.
# (A command's status is caught with ||: errexit is on in tests.)
native_vs_rt() {
	local name=$1 native rt rc
	shift
	native=$(tmp)
	rt=$(tmp)
	{ rc=0; "$@" || rc=$?; echo "exit status $rc"; } >"$native" 2>&1
	{ rc=0; "$CRTOS" run -- "$@" || rc=$?; echo "exit status $rc"; } >"$rt" 2>&1
	if ! cmp -s "$native" "$rt"; then
		diff "$native" "$rt" | head -20
		fail "$name: the RT realm's output differs from the native run"
	fi
}

test_run_busybox_matches_native() {
	local input
	input=$(tmp)
	seq 1 500 | sed 's/^/line /' >"$input"
	native_vs_rt echo $BUSYBOX echo hello world
	native_vs_rt cat $BUSYBOX cat /etc/services
	native_vs_rt wc $BUSYBOX wc /etc/services
	native_vs_rt sort $BUSYBOX sort -r "$input"
	native_vs_rt md5sum $BUSYBOX md5sum $BUSYBOX
	native_vs_rt sha256sum $BUSYBOX sha256sum /etc/services "$input"
	native_vs_rt seq $BUSYBOX seq 1 100000
	native_vs_rt head $BUSYBOX head -n 7 "$input"
	native_vs_rt printf $BUSYBOX printf '%s=%05d %x\n' a 42 255
	native_vs_rt pwd $BUSYBOX pwd
	native_vs_rt id $BUSYBOX id
	native_vs_rt uname $BUSYBOX uname -m
	native_vs_rt true $BUSYBOX true
	native_vs_rt false $BUSYBOX false
	# The program's environment is exactly crtos run's.
	[[ $(env -i A=1 B=two "$CRTOS" run -- $BUSYBOX env) == "$(printf 'A=1\nB=two')" ]] ||
		fail "env: the program's environment is not crtos run's"
	native_vs_rt sh $BUSYBOX sh -c 'x=6; echo $((x * 7)); for i in 1 2 3; do echo $i; done; test -d / && echo dir; exit 3'
	[[ $(echo Hello RT | "$CRTOS" run -- $BUSYBOX tr a-z A-Z) == "HELLO RT" ]] || fail "tr"
}

# A program may not touch the kernel's memory nor run privileged
# instructions: SIGSEGV (status 139) as natively, and the cell runs the next
# program. The kernel's text is at 0xffff800000200000 in hardware mode and
# at 0x7f0000200000 under kvm_pvm (crtos/abi.h); each is read in both modes.
# Under kvm_pvm the kernel runs at ring 3 and its pages are readable by
# programs (docs/architecture.md, "Two modes"): there that read is not checked.
test_run_kernel_memory_and_privileged_instructions_give_sigsegv() {
	local prog=$BUILD/programs/privileged-glibc hw=0xffff800000200000 pvm=0x7f0000200000 what rc
	for what in cli hlt "read 0x10" "read $hw" "read $pvm"; do
		rc=0
		$prog $what >/dev/null 2>&1 || rc=$?
		[[ $rc == 139 ]] || fail "natively, privileged $what: status $rc, not 139"
		[[ $what == "read $pvm" && -d /sys/module/kvm_pvm ]] && continue
		rc=0
		"$CRTOS" run -- $prog $what >/dev/null 2>&1 || rc=$?
		[[ $rc == 139 ]] || fail "in the realm, privileged $what: status $rc, not 139"
	done
	[[ $("$CRTOS" run -- $BUSYBOX echo alive) == alive ]] || fail "the next program does not run"
}

test_run_ls_la_root_matches_native() {
	local native rt
	native=$(tmp)
	rt=$(tmp)
	# /proc's link count is the number of processes: crtos run and the shadow add two.
	$BUSYBOX ls -la / | grep -v ' proc$' >"$native"
	"$CRTOS" run -- $BUSYBOX ls -la / | grep -v ' proc$' >"$rt"
	cmp -s "$native" "$rt" || { diff "$native" "$rt"; fail "ls -la / differs"; }
}

# program_matches_native PROG SUFFIX: tests/programs' PROG, with each C
# library, passes natively and prints the same in the realm. Its argument
# is a fresh directory of its own, with SUFFIX appended.
program_matches_native() {
	local prog=$1 suffix=$2 libc native rt d1 d2 rc
	for libc in musl glibc dyn; do
		d1=$(mktemp -d)
		d2=$(mktemp -d)
		native=$(tmp)
		rt=$(tmp)
		{ rc=0; "$BUILD/programs/$prog-$libc" "$d1$suffix" || rc=$?; echo "exit $rc"; } >"$native" 2>&1
		{ rc=0; "$CRTOS" run -- "$BUILD/programs/$prog-$libc" "$d2$suffix" || rc=$?; echo "exit $rc"; } \
			>"$rt" 2>&1
		rm -rf "$d1" "$d2"
		grep -q '^exit 0$' "$native" || { cat "$native"; fail "$prog-$libc fails natively"; }
		cmp -s "$native" <(without_watchdog "$rt") ||
			{ diff "$native" <(without_watchdog "$rt") | head -20; fail "$prog-$libc differs"; }
	done
}

# timeout: 300
test_run_test_programs_match_native_musl_and_glibc() {
	local prog
	for prog in fileops fdops memops errnos; do
		program_matches_native $prog /s
	done
}

# times, getrusage (the realm's CPU accounting) and sched_getattr/setattr,
# as natively (tests/programs/cputimes.c).
test_run_cpu_times_and_scheduling_attributes_like_native() {
	program_matches_native cputimes ""
}

# A timerfd (an RT fd in the realm) and a pipe (a Linux fd) in one poll,
# select, pselect6 or epoll set, as event loops use them (tests/programs/fdwait.c).
test_run_waits_on_timerfd_and_pipe_like_native() {
	program_matches_native fdwait ""
}

test_run_reads_stdin_from_a_pipe() {
	[[ $(echo hi | "$CRTOS" run -- $BUSYBOX cat) == hi ]] || fail "echo hi | crtos run -- busybox cat"
	[[ $(seq 1 3 | "$CRTOS" run -- $BUSYBOX wc -l) == 3 ]] || fail "wc -l from a pipe"
}

test_run_terminal_program_sees_its_tty() {
	local out native
	out=$(tmp)
	native=$(tmp)
	script -qc "$CRTOS run -- $BUSYBOX tty" /dev/null >"$out"
	grep -q '^/dev/pts/[0-9]' "$out" || fail "tty: $(cat "$out")"
	# The terminal's settings, read through ioctls on the tty, as natively.
	script -qc "$BUSYBOX stty -a" /dev/null >"$native"
	script -qc "$CRTOS run -- $BUSYBOX stty -a" /dev/null >"$out"
	cmp -s "$native" "$out" || { diff "$native" "$out"; fail "stty -a differs"; }
}

# 100 ms x CRTOS_TEST_TIME_SCALE (the test VM's 10: 156 ms was seen there).
test_run_sigint_ends_sleep_with_130_within_100ms() {
	local pid shadow start ms total limit
	set -m	# job control: background jobs do not start with SIGINT ignored
	"$CRTOS" run -- $BUSYBOX sleep 100 &
	pid=$!
	for _ in $(seq 100); do shadow=$(shadow_of $pid) && break; sleep 0.05; done
	sleep 0.2
	start=$(date +%s%N)
	kill -INT $pid
	while kill -0 "$shadow" 2>/dev/null; do :; done
	ms=$((($(date +%s%N) - start) / 1000000))
	status=0
	wait $pid || status=$?
	total=$((($(date +%s%N) - start) / 1000000))
	echo "the program ended $ms ms after SIGINT; crtos run exited after $total ms (cell teardown)"
	expect_status 130
	limit=$((100 * ${CRTOS_TEST_TIME_SCALE:-1}))
	((ms <= limit)) || fail "SIGINT took $ms ms to end the program (limit $limit ms)"
}

# crtos run --stats of a program that has to be killed: SIGKILL to the
# program (its shadow: crtos run reports) or to crtos run (the shadow
# reports, and ends). The calls so far are there: sleep's clock_nanosleep.
test_run_stats_reported_when_killed() {
	local out pid shadow victim
	for victim in program "crtos run"; do
		out=$(tmp)
		"$CRTOS" run --stats -- $BUSYBOX sleep 100 2>"$out" &
		pid=$!
		for _ in $(seq 100); do shadow=$(shadow_of $pid) && break; sleep 0.05; done
		# Until sleep sleeps: in the test VM it still read its ELF (5 pread64) after 0.3 s.
		sleep "$(awk -v s="${CRTOS_TEST_TIME_SCALE:-1}" 'BEGIN { print 0.3 * s }')"
		if [[ $victim == program ]]; then kill -KILL "$shadow"; else kill -KILL $pid; fi
		wait $pid 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$shadow" 2>/dev/null || break; sleep 0.05; done
		kill -0 "$shadow" 2>/dev/null && fail "SIGKILL to the $victim: the shadow is still there"
		grep -q "^crtos: the program has not ended (.*): its statistics so far" "$out" ||
			{ cat "$out"; fail "SIGKILL to the $victim: no statistics"; }
		grep -q "^crtos:   local by call:.* clock_nanosleep 1" "$out" ||
			{ cat "$out"; fail "SIGKILL to the $victim: the statistics lack sleep's clock_nanosleep"; }
	done
}

# --stats goes to the stderr crtos run was given, even if the program closed
# its own (Emacs closes its output streams at exit).
test_run_stats_survive_the_program_closing_stderr() {
	local out
	out=$(tmp)
	status=0
	"$CRTOS" run --stats -- $BUSYBOX sh -c 'exec 2>&-; exit 3' 2>"$out" || status=$?
	expect_status 3
	grep -q "^crtos: thread statistics" "$out" || { cat "$out"; fail "no statistics"; }
}

# Calls the realm answers without serving them fail as natively (the
# program's output is the same), and --stats names them: a number with no
# system call among the calls answered ENOSYS, seccomp (an ENOSYS route) and
# prctl(PR_SET_SECCOMP) (a handler's refusal) among the fallbacks, each with
# its reason; --stats=FILE has the same as records, for forked processes too.
test_run_stats_name_enosys_and_fallback_calls() {
	local prog out tsv
	prog=$(realpath "$BUILD/programs/unserved-musl")	# the TSV names the canonical path
	native_vs_rt unserved "$BUILD/programs/unserved-glibc"
	out=$(tmp)
	"$CRTOS" run --stats -- "$prog" >/dev/null 2>"$out"
	sed -n '/^crtos:   answered ENOSYS/,/^crtos:   fallbacks/p' "$out" |
		grep -qx 'crtos:     #511 1: no such system call' ||
		{ cat "$out"; fail "--stats does not name the unknown call among the ENOSYS answers"; }
	sed -n '/^crtos:   fallbacks/,$p' "$out" | grep -q '^crtos:     seccomp 1: would filter' ||
		{ cat "$out"; fail "--stats does not name seccomp among the fallbacks"; }
	sed -n '/^crtos:   fallbacks/,$p' "$out" | grep -q '^crtos:     prctl 1: options the realm' ||
		{ cat "$out"; fail "--stats does not name prctl among the fallbacks"; }
	grep -q '^crtos:   local by call:.* prctl 1' "$out" ||
		{ cat "$out"; fail "the fallback of a handler is not a local call"; }
	# A served call is neither: busybox true makes none the realm refuses.
	"$CRTOS" run --stats -- $BUSYBOX true 2>"$out"
	grep -qx 'crtos:   answered ENOSYS (calls the realm does not serve): none' "$out" ||
		{ cat "$out"; fail "--stats of busybox true names ENOSYS answers"; }
	tsv=$(tmp)
	"$CRTOS" run --stats="$tsv" -- $BUSYBOX sh -c "$prog; true" >/dev/null 2>"$out"
	[[ ! -s $out ]] || { cat "$out"; fail "--stats=FILE wrote to stderr"; }
	head -1 "$tsv" | grep -qx $'pid\tprogram\tkind\tcall\tcount\treason' ||
		{ cat "$tsv"; fail "--stats=FILE: no header line"; }
	grep -q $'\t'"$prog"$'\tenosys\t#511\t1\tno such system call$' "$tsv" ||
		{ cat "$tsv"; fail "--stats=FILE lacks the forked program's unknown call"; }
	grep -q $'\t'"$prog"$'\tfallback\tseccomp\t1\twould filter' "$tsv" ||
		{ cat "$tsv"; fail "--stats=FILE lacks the forked program's seccomp fallback"; }
	grep -q $'\t/usr/bin/busybox\tremote\twait4\t' "$tsv" ||
		{ cat "$tsv"; fail "--stats=FILE lacks the shell's own calls"; }
}

test_run_pid_is_the_shadows_and_kill_works() {
	local out fifo pid ppid
	out=$(tmp)
	fifo=$(mktemp -u)
	mkfifo "$fifo"
	# The shell's builtin read blocks on a fifo that nobody writes.
	"$CRTOS" run -- $BUSYBOX sh -c 'echo $$ $PPID; read x' <>"$fifo" >"$out" &
	for _ in $(seq 100); do [[ -s $out ]] && break; sleep 0.05; done
	read -r pid ppid <"$out"
	[[ $(cat /proc/"$pid"/comm) == crtos-shadow ]] || fail "pid $pid is not the shadow"
	[[ $ppid == "$!" && $(cat /proc/"$ppid"/comm) == crtos ]] || fail "ppid $ppid is not crtos run"
	kill "$pid"
	status=0
	wait $! || status=$?
	rm -f "$fifo"
	expect_status 143
}

# The program sleeps, and the shadow is awaited, CRTOS_TEST_TIME_SCALE times
# longer where a cell boots slower (the test VM: 5 s were not enough there).
test_run_ignored_signals_stay_ignored() {
	local pid scale=${CRTOS_TEST_TIME_SCALE:-1}
	set -m
	# As nohup does: the program starts with SIGHUP ignored and survives it.
	(trap '' HUP; exec "$CRTOS" run -- $BUSYBOX sleep "$scale") &
	pid=$!
	for _ in $(seq $((100 * scale))); do shadow_of $pid >/dev/null && break; sleep 0.05; done
	kill -HUP "$(shadow_of $pid)" "$pid"
	status=0
	wait $pid || status=$?
	expect_status 0
}

test_run_exit_statuses_are_a_shells() {
	run "$(tmp)" run -- $BUSYBOX sh -c 'exit 42'
	expect_status 42
	run "$(tmp)" run -- no-such-program-anywhere
	expect_status 127
	run "$(tmp)" run -- /etc
	expect_status 126
	run "$(tmp)" run -- /etc/hostname
	expect_status 126
}

# hold_cell FILE [OPTIONS...]: a serving cell in the background (this test's
# job %1), its output in FILE; returns once it serves crtos run.
hold_cell() {
	local out=$1
	shift
	"$CRTOS" cell --hold --quiet "$@" >"$out" 2>&1 &
	for _ in $(seq 100); do grep -q "serves crtos run" "$out" && break; sleep 0.05; done
}

test_run_killed_shadow_ends_the_program_and_the_cell_carries_on() {
	local cell out
	cell=$(tmp)
	out=$(tmp)
	hold_cell "$cell"
	"$CRTOS" run -- $BUSYBOX sleep 100 &
	for _ in $(seq 100); do shadow_of $! >/dev/null && break; sleep 0.05; done
	kill -KILL "$(shadow_of $!)"
	status=0
	wait $! || status=$?
	expect_status 137
	[[ $("$CRTOS" run -- $BUSYBOX echo next) == next ]] || fail "the cell did not carry on"
	kill -TERM %1
	wait %1
	cat "$cell"
	expect_text "$cell" "crtos: the cell shut down, exit status 0"
}

# A halted kernel whose wake-up interrupt is lost (fault=lost-wakeup disarms
# the timer at every idle halt behind the kernel's back, as the nested test
# VM does now and then on its own) is found by the VMM's watchdog, reported
# with the timer's state, and woken: the program's sleep ends and the cell
# shuts down in order. The kernel's log says how late it woke and that the
# interrupt never came (the test VM's cases tell the two kinds of loss
# apart this way).
test_lost_wakeup_is_reported_and_repaired_by_the_watchdog() {
	local cell log
	cell=$(tmp)
	log=$(tmp)
	hold_cell "$cell" --idle halt --cmdline fault=lost-wakeup --log "$log"
	"$CRTOS" run -- $BUSYBOX sleep 1
	kill -TERM %1
	wait %1
	cat "$cell"
	expect_text "$cell" "crtos: watchdog: the kernel halted until"
	expect_text "$cell" "TSC-deadline timer: disarmed"
	if [[ -d /sys/module/kvm_pvm ]]; then
		expect_text "$cell" "<x86_svc_halt"	# the nucleus's service call
	else
		expect_text "$cell" "<x86_halt_insn"	# hardware mode: the kernel's own hlt (x86_halt_direct)
	fi
	expect_text "$cell" "crtos: the cell shut down, exit status 0"
	cat "$log"
	expect_text "$log" "after the timer's deadline; its interrupt had not come"
}

test_run_corrupt_elfs_exit_126_and_the_next_program_runs() {
	local dir cell out
	dir=$(mktemp -d)
	cell=$(tmp)
	out=$(tmp)
	python3 - "$dir" <<'EOF'
import struct, sys
d = sys.argv[1]
data = bytearray(open('/bin/busybox', 'rb').read())
phoff = struct.unpack('<Q', data[0x20:0x28])[0]
def save(name, b):
    open(f'{d}/{name}', 'wb').write(b)
save('truncated', data[:100])
b = bytearray(data); b[0x20:0x28] = struct.pack('<Q', 0xffffffffffffffc0); save('bad_phoff', b)
b = bytearray(data); b[0x12:0x14] = struct.pack('<H', 3); save('wrong_machine', b)
b = bytearray(data); v = data[phoff + 16:phoff + 24]
b[phoff + 56 + 16:phoff + 56 + 24] = v; b[phoff + 56 + 8:phoff + 56 + 16] = bytes(8); save('overlapping', b)
b = bytearray(data); b[phoff + 3 * 56 + 40:phoff + 3 * 56 + 48] = struct.pack('<Q', 1 << 40); save('huge', b)
EOF
	chmod +x "$dir"/*
	"$CRTOS" cell --hold --quiet >"$cell" 2>&1 &
	for _ in $(seq 100); do grep -q "serves crtos run" "$cell" && break; sleep 0.05; done
	for f in truncated:"lie outside the file" bad_phoff:"lie outside the file" \
		wrong_machine:"for machine 3 (i386), not x86-64" overlapping:"overlap" huge:"too large"; do
		run "$out" run -- "$dir/${f%%:*}"
		expect_status 126
		expect_text "$out" "crtos: cannot execute $dir/${f%%:*}: "
		expect_text "$out" "${f#*:}"
		[[ $("$CRTOS" run -- $BUSYBOX echo still fine) == "still fine" ]] ||
			fail "the cell did not run the next program after ${f%%:*}"
	done
	# A dynamically linked program whose interpreter does not exist: 127, as a shell says.
	cp /bin/true "$dir/badinterp"
	python3 - "$dir/badinterp" <<'EOF'
import sys
f = sys.argv[1]
data = bytearray(open(f, 'rb').read())
i = data.index(b'/lib64/ld-linux-x86-64.so.2\0')
data[i:i + 28] = b'/nonexistent/ld-crtos.so.2\0\0'
open(f, 'wb').write(data)
EOF
	run "$out" run -- "$dir/badinterp"
	expect_status 127
	expect_text "$out" "cannot open its interpreter /nonexistent/ld-crtos.so.2"
	kill -TERM %1
	wait %1
	rm -rf "$dir"
}
