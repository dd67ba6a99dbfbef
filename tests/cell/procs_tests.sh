# SPDX-License-Identifier: MIT
#
# Processes in the RT realm: fork, vfork, execve (and `#!` scripts),
# wait4/waitid, SIGCHLD, process groups, compared with the same programs run
# natively; and the memory a cell gets back after many of them. Sourced by
# tests/run with cli_tests.sh's and run_tests.sh's helpers (native_vs_rt).

# A shell script with what shells do: loops, command substitution,
# subshells, pipelines, background jobs and wait, traps, exec of applets.
procs_shell_script() {
	cat <<'EOF'
total=0
for i in 1 2 3 4 5; do total=$((total + i)); done
echo "total $total"
echo "words $(echo one two three | wc -w)"
echo "$(echo "$(echo inner) outer")"
(cd /; echo "subshell in $(pwd)"; exit 3); echo "subshell status $?"
ls / | sort | head -n 3
sleep 0.2 & a=$!
(sleep 0.1; echo "background job done") & b=$!
wait $b; echo "waited b: $?"
wait $a; echo "waited a: $?"
(exit 7) & wait $!; echo "background status $?"
trap 'echo "trap USR1"' USR1
kill -USR1 $$
i=0; while [ $i -lt 3 ]; do i=$((i + 1)); done; echo "while $i"
/nonexistent/program 2>/dev/null; echo "not found: $?"
echo "#!/bin/busybox sh" >"$1/s.sh"; echo 'echo "script $0 $#: $*"; exit 9' >>"$1/s.sh"
chmod +x "$1/s.sh"; "$1/s.sh" a "b c" >/dev/null; echo "script status $?"
trap 'echo "exit trap"' EXIT
exit 4
EOF
}

test_procs_shell_pipelines_and_scripts_match_native() {
	local script dir
	script=$(tmp)
	dir=$(mktemp -d)
	procs_shell_script >"$script"
	native_vs_rt pipeline $BUSYBOX sh -c 'ls / | sort | wc -l'
	native_vs_rt "shell script" $BUSYBOX sh "$script" "$dir"
	rm -rf "$dir"
}

# crtos run takes a `#!` script as Linux's execve does: the interpreter
# gets the script's path and the arguments.
test_procs_crtos_run_runs_a_script() {
	local script out
	script=$(mktemp)
	out=$(tmp)
	printf '#!%s sh\necho "args: $*"\nexit 5\n' "$BUSYBOX" >"$script"
	chmod +x "$script"
	status=0
	"$CRTOS" run -- "$script" one "two three" >"$out" 2>&1 || status=$?
	rm -f "$script"
	cat "$out"
	expect_status 5
	expect_text "$out" "args: one two three"
}

# timeout: 300
test_procs_program_matches_native_musl_and_glibc() {
	program_matches_native procs ""
}

# python's subprocess: vfork (or posix_spawn), pipes for the output, exec.
test_procs_python_subprocess_captures_output() {
	local out
	command -v python3 >/dev/null || { echo "SKIP: no python3"; return 0; }
	out=$(tmp)
	"$CRTOS" run -- python3 -c \
		'import subprocess; print(subprocess.run(["echo", "hi"], capture_output=True).stdout)' \
		>"$out" 2>&1
	cat "$out"
	[[ $(cat "$out") == "b'hi\\n'" ]] || fail "python's subprocess did not capture b'hi\\n'"
}

test_procs_make_builds_like_native() {
	local native rt out
	command -v make >/dev/null || { echo "SKIP: no make"; return 0; }
	native=$(mktemp -d)
	rt=$(mktemp -d)
	for d in "$native" "$rt"; do
		printf 'all: upper.txt count.txt\n\t@echo built\n' >"$d/Makefile"
		printf 'upper.txt: in.txt\n\ttr a-z A-Z <in.txt >upper.txt\n' >>"$d/Makefile"
		printf 'count.txt: in.txt upper.txt\n\tcat in.txt upper.txt | wc -l >count.txt\n' >>"$d/Makefile"
		printf 'hello\nworld\n' >"$d/in.txt"
	done
	out=$(tmp)
	make -s -C "$native" >"$out.native" 2>&1
	status=0
	"$CRTOS" run -- make -s -C "$rt" >"$out" 2>&1 || status=$?
	cat "$out"
	expect_status 0
	cmp -s "$out.native" "$out" || fail "make's output differs"
	cmp -s "$native/upper.txt" "$rt/upper.txt" && cmp -s "$native/count.txt" "$rt/count.txt" ||
		fail "make built different files"
	rm -rf "$native" "$rt" "$out.native"
}

# free KiB and heap objects at the reap of the Nth process 0 in a cell log.
procs_reap_counts() {
	grep 'process 0 reaped:' "$1" | sed -n "${2}p" | sed 's/.*reaped: //'
}

# timeout: 120
test_procs_fork_exit_cycles_leak_no_memory() {
	local cell log before after
	cell=$(tmp)
	log=$(tmp)
	hold_cell "$cell" --cmdline loglevel=7 --log "$log"
	# Every page of the cell is ready before counting (the late RAM grows the free count).
	for _ in $(seq 100); do grep -q "all .* of RAM ready" "$log" && break; sleep 0.05; done
	# The workload runs twice, counted after each: its first run may raise
	# the kernel's high-water marks (in hardware mode, in the test VM, the
	# cell kept 4 KiB more after it than after a single program, not yet
	# explained: a page-table or slab page kept for reuse would do it); a
	# leak loses memory on every run.
	# Each count is taken at the reap of a last, separate program, a second
	# (scaled) after the workload: its own processes are all reaped by then
	# (in the test VM, one still going away once showed 2 heap objects more).
	for _ in 1 2; do
		"$CRTOS" run -- $BUSYBOX sh -c \
			'i=0; while [ $i -lt 200 ]; do (exit 0); i=$((i + 1)); done
			 for i in 1 2 3 4 5 6 7 8 9 10; do '"$BUSYBOX"' true | cat; done; echo cycles $i'
		sleep "${CRTOS_TEST_TIME_SCALE:-1}"
		"$CRTOS" run -- $BUSYBOX true
	done
	kill -TERM %1
	wait %1
	before=$(procs_reap_counts "$log" 2)
	after=$(procs_reap_counts "$log" 4)
	echo "free memory and heap objects after 200 fork+exit cycles and 10 pipelines: $before"
	echo "the same after doing it all again: $after"
	[[ $(grep -c 'reaped:' "$log") -ge 444 ]] || fail "fewer processes were reaped than forked"
	# A leak loses memory on every cycle: a page per fork would be 800 KiB
	# a round. The second count may show at most 16 KiB less free memory
	# than the first, and no more heap objects or shared slots. (In hardware
	# mode in the test VM the free count moved by 4 KiB between rounds,
	# either way, with the same heap objects: not explained yet.)
	[[ -n $before && -n $after ]] || fail "no reap counts in the cell's log"
	procs_counts_not_worse "$before" "$after" 16 || fail "the cell did not get its memory back"
}

# procs_counts_not_worse BEFORE AFTER SLACK: reap counts ("N KiB free, N
# heap objects, N shared slots"); true when AFTER has at most SLACK KiB
# less free memory, and at most the heap objects and shared slots, of BEFORE.
procs_counts_not_worse() {
	local -a b a
	read -r -a b <<<"${1//[^0-9 ]/}"
	read -r -a a <<<"${2//[^0-9 ]/}"
	((${#b[@]} == 3 && ${#a[@]} == 3)) || return 1
	((a[0] + $3 >= b[0] && a[1] <= b[1] && a[2] <= b[2]))
}

# In a serving cell each forked process has a connection of its own: more
# processes, one after the other, than the cell serves connections at once.
# timeout: 120
test_procs_fork_in_a_serving_cell() {
	local cell out
	cell=$(tmp)
	out=$(tmp)
	hold_cell "$cell"
	"$CRTOS" run -- $BUSYBOX sh -c \
		'i=0; while [ $i -lt 80 ]; do (exit 0); i=$((i + 1)); done; echo "$(echo $i) | $(ls / | wc -l)"' \
		>"$out" 2>&1
	cat "$out"
	[[ $(cat "$out") == "80 | $(ls / | wc -l)" ]] || fail "forks in a serving cell"
	[[ $("$CRTOS" run -- $BUSYBOX echo next) == next ]] || fail "the cell did not carry on"
	kill -TERM %1
	wait %1
	cat "$cell"
	expect_text "$cell" "crtos: the cell shut down, exit status 0"
}
