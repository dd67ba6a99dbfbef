# SPDX-License-Identifier: MIT
#
# Job control and deaths across realms: programs stopped and continued
# (SIGSTOP, SIGTSTP, SIGCONT) as their parents and shells see them, crashes
# that end only their process with the shell's status, and kill -9 of a
# shadow, of crtos run and of the VMM, after which nothing is left and the
# cell (or a new one) runs the next program with all its memory. Sourced by
# tests/run with the other shell tests' helpers (run_tests.sh, procs_tests.sh).

# wait_state PID STATE: until Linux has PID stopped (STATE "stopped") or
# not ("running"); 2 s at most, scaled; fails if never. No command
# substitution: under job control, bash's reading of one may be cut short
# when a job stops.
wait_state() {
	local l i now
	for ((i = 0; i < 40 * ${CRTOS_TEST_TIME_SCALE:-1}; i++)); do
		read -r l <"/proc/$1/stat" || l=
		case $l in *") T "*) now=stopped ;; *) now=running ;; esac
		[[ $now == "$2" ]] && return 0
		sleep 0.05
	done
	fail "process $1 is not $2"
}

# wait_gone PID...: until each PID has ended (a zombie has: its parent may
# be init, which reaps when it will); 2 s at most, scaled. Fails if not.
wait_gone() {
	local p l i
	for p in "$@"; do
		for ((i = 0; i < 40 * ${CRTOS_TEST_TIME_SCALE:-1}; i++)); do
			read -r l 2>/dev/null <"/proc/$p/stat" || break
			case $l in *") Z "*) break ;; esac
			sleep 0.05
		done
		((i < 40 * ${CRTOS_TEST_TIME_SCALE:-1})) || fail "process $p is left: $l"
	done
}

# timeout: 120
test_jobctl_stopped_children_as_their_parent_sees_them_match_native() {
	program_matches_native jobctl ""
}

# A background job's reads and writes of its terminal (tests/programs/ttyjob.c
# makes a pty and a session of its own): stopped by SIGTTIN, and by SIGTTOU
# with TOSTOP or for tcsetattr, EIO when SIGTTIN is ignored or blocked, an
# EINTR after a handler, the call going through once the job is in the
# foreground and continued; as natively.
# timeout: 120
test_jobctl_background_terminal_io_stops_with_sigttin_and_sigttou_like_native() {
	program_matches_native ttyjob ""
}

# (The tests' sessions have no terminal, so the shell's process group is
# orphaned: Linux discards its SIGTSTP, and so must the realm.)
test_jobctl_busybox_shell_stops_and_continues_jobs_like_native() {
	local script
	script=$(tmp)
	cat >"$script" <<'EOF'
state() { read -r l < /proc/$1/stat; case $l in *") T "*) echo stopped;; *) echo running;; esac; }
sleep 1 & p=$!
kill -STOP $p; sleep 0.2; echo "after STOP: $(state $p)"
kill -CONT $p; sleep 0.1; echo "after CONT: $(state $p)"
wait $p; echo "sleep ended: $?"
sleep 1 & p=$!
kill -TSTP $p; sleep 0.2; echo "after TSTP: $(state $p)"
kill -CONT $p; wait $p; echo "sleep ended: $?"
trap 'echo the shell handled TSTP' TSTP; kill -TSTP $$; echo "the shell goes on"
EOF
	native_vs_rt "busybox sh job control" $BUSYBOX sh "$script"
}

# A shell's job table (bash, job control on): `kill -TSTP %1` (crtos run
# relays it, as the terminal's Ctrl-Z reaches the shadow itself) stops the
# program, its shadow and crtos run; kill -STOP and -CONT of the program's
# pid stop and continue crtos run with it; the job ends as natively. The
# job control runs in a bash of its own: in the test's own bash, builtins
# in progress were cut short when the job stopped.
test_jobctl_shell_job_table_follows_the_program() {
	local script out
	script=$(tmp)
	out=$(tmp)
	cat >"$script" <<'END'
set -m
state() { ps -o stat= -p "$1" | cut -c1; }
# Wait (up to 2 s, scaled) until crtos run and its shadow are in states $1 and $2.
await() {
	for _ in $(seq $((40 * SCALE))); do
		[[ $(state $pid) == "$1" && $(state $shadow) == "$2" ]] && return
		sleep 0.05
	done
}
"$CRTOS" run -- /bin/busybox sleep $((3 * SCALE)) &
pid=$!
for _ in $(seq $((100 * SCALE))); do shadow=$(pgrep -P $pid -x crtos-shadow) && break; sleep 0.05; done
sleep 0.3
kill -TSTP %1
await T T
echo "after kill -TSTP %1: crtos run $(state $pid), its shadow $(state $shadow)"
jobs
kill -CONT %1
await S S
echo "after kill -CONT %1: crtos run $(state $pid), its shadow $(state $shadow)"
kill -STOP $shadow
await T T
echo "after kill -STOP of the program: crtos run $(state $pid), its shadow $(state $shadow)"
kill -CONT $shadow
await S S
echo "after kill -CONT of the program: crtos run $(state $pid), its shadow $(state $shadow)"
wait $pid
echo "the job ended: $?"
END
	CRTOS=$CRTOS SCALE=${CRTOS_TEST_TIME_SCALE:-1} bash "$script" >"$out" 2>&1 || true
	cat "$out"
	expect_text "$out" "after kill -TSTP %1: crtos run T, its shadow T"
	grep -q "^\[1\]+ *Stopped" "$out" || fail "the shell's job table does not say Stopped"
	expect_text "$out" "after kill -CONT %1: crtos run S, its shadow S"
	expect_text "$out" "after kill -STOP of the program: crtos run T, its shadow T"
	expect_text "$out" "after kill -CONT of the program: crtos run S, its shadow S"
	expect_text "$out" "the job ended: 0"
}

# interactive_bash OUT: an interactive bash on a pty (script) typed the
# lines of stdin as they come, its output in OUT (20 s at most, scaled);
# shows the output's last 20 lines.
interactive_bash() {
	timeout $((20 * ${CRTOS_TEST_TIME_SCALE:-1})) script -qfec "bash --norc --noprofile -i" /dev/null \
		>"$1" 2>&1 || true
	tr -d '\r' <"$1" | grep -v '^$' | tail -20
}

# jobctl_ctrl_z_then_fg AFTER RUN-OPTION JOB-SECONDS: in an interactive shell
# on a pty, crtos run (with RUN-OPTION, if any) of a job that sleeps
# JOB-SECONDS, Ctrl-Z AFTER seconds after the command, then `jobs; fg`: the
# shell must say the job stopped, and the job must end normally.
jobctl_ctrl_z_then_fg() {
	local out scale=${CRTOS_TEST_TIME_SCALE:-1}
	out=$(tmp)
	{
		sleep 1
		echo "$CRTOS run $2 -- $BUSYBOX sh -c 'sleep $3; echo the job ended'"
		sleep "$1"
		printf '\032'
		sleep $((3 * scale))
		echo 'jobs; fg'
		sleep $((($3 + 1) * scale))
		echo 'exit'
	} | interactive_bash "$out"
	grep -q "Stopped" "$out" || fail "Ctrl-Z after $1 s: the shell does not say the job stopped"
	grep -q "the job ended" "$out" || fail "fg: the job did not end normally"
}

# Ctrl-Z on a terminal while the job runs: the shell says it stopped, fg
# brings it back, and it ends normally.
test_jobctl_ctrl_z_in_an_interactive_shell() {
	jobctl_ctrl_z_then_fg 1.5 "" 3
}

# Ctrl-Z typed while crtos run still boots its cell (0.1 s after the
# command): the terminal's SIGTSTP reached crtos run alone, as the shadow did
# not exist yet, and must still stop the job as it would a native program.
test_jobctl_ctrl_z_while_the_cell_boots() {
	jobctl_ctrl_z_then_fg 0.1 --new-cell 1
}

# A background job of an interactive shell (a pty driven by script) that
# reads the terminal stops with SIGTTIN, as the shell's job table says;
# fg gives it the terminal and it reads the line typed then.
test_jobctl_background_read_of_the_terminal_stops_the_job() {
	local out
	out=$(tmp)
	{
		sleep 1
		echo "$CRTOS run -- $BUSYBOX sed -n '1{s/^/the job read: /p;q}' &"
		sleep $((3 * ${CRTOS_TEST_TIME_SCALE:-1}))
		echo 'jobs; fg'
		sleep ${CRTOS_TEST_TIME_SCALE:-1}
		echo 'a typed line'
		# Until the job has read its line and quit: typed earlier, the exit
		# went to the job's read (205 s in the test VM, to the pty's limit).
		sleep $((2 * ${CRTOS_TEST_TIME_SCALE:-1}))
		echo 'exit'
	} | interactive_bash "$out"
	grep -q "\[1\]+ *Stopped" "$out" || fail "the shell's job table does not say Stopped"
	grep -q "the job read: a typed line" "$out" || fail "fg: the job did not read the line"
}

# hold_cell_counting CELL LOG: a held cell (job %1, its output in CELL)
# that logs each reap with its free memory (loglevel=7) to LOG, once it has
# all its RAM and has run one program: memory_back_after's starting point.
hold_cell_counting() {
	hold_cell "$1" --cmdline loglevel=7 --log "$2"
	for _ in $(seq 100); do grep -q "all .* of RAM ready" "$2" && break; sleep 0.05; done
	"$CRTOS" run -- $BUSYBOX true
}

# memory_back_after LOG WHAT: run one more program in the held cell (job
# %1, its log LOG with loglevel=7), stop the cell, and check that the cell's
# free memory and heap objects after it are those after the first program.
memory_back_after() {
	local first last
	"$CRTOS" run -- $BUSYBOX true
	kill -TERM %1
	wait %1
	first=$(procs_reap_counts "$1" 1)
	last=$(grep -c 'process 0 reaped:' "$1")
	last=$(procs_reap_counts "$1" "$last")
	echo "free memory and heap objects after the first program: $first; after the $2: $last"
	[[ -n $first && $first == "$last" ]] || fail "the cell did not get its memory back after the $2"
}

# Each crash (tests/programs/crash.c) ends with the shell's status, natively
# and in the realm, and the cell carries on with all its memory.
# timeout: 120
test_deaths_crashes_end_only_their_process_with_the_shells_status() {
	local cell log how libc n rt prog want
	cell=$(tmp)
	log=$(tmp)
	hold_cell_counting "$cell" "$log"
	for how in null:139 ill:132 fpe:136 bus:135 abort:134; do
		want=${how#*:}
		how=${how%:*}
		for libc in musl glibc dyn; do
			prog=$BUILD/programs/crash-$libc
			n=0
			(exec "$prog" "$how") 2>/dev/null || n=$?
			rt=0
			"$CRTOS" run -- "$prog" "$how" 2>/dev/null || rt=$?
			echo "crash $how ($libc): native $n, in the realm $rt"
			# A stack pointer made non-canonical is #SS on a CPU (SIGBUS), but
			# the test VM's TCG does not raise #SS for it (SIGSEGV natively too).
			[[ $how == bus && $n == 139 && ${CRTOS_IN_TEST_VM:-} == 1 ]] &&
				echo "  (this CPU reports the bad stack as #GP, not #SS: SIGSEGV natively too)" && want=139
			[[ $n == "$want" && $rt == "$want" ]] || fail "crash $how ($libc): status $rt, natively $n, not $want"
		done
	done
	memory_back_after "$log" crashes
	expect_text "$cell" "crtos: the cell shut down, exit status 0"
}

# kill -9 of the shadow, of crtos run, and of a stopped program's shadow in
# the middle of a run: no shadow is left, crtos run's status is Linux's, and
# the cell has all its memory back.
# timeout: 120
test_deaths_kill_9_of_a_shadow_or_crtos_run_frees_the_process() {
	local cell log pid shadow forked
	cell=$(tmp)
	log=$(tmp)
	hold_cell_counting "$cell" "$log"
	for victim in shadow crtos stopped; do
		"$CRTOS" run -- $BUSYBOX sh -c 'sleep 100 & sleep 100' &
		pid=$!
		for _ in $(seq 100); do shadow=$(shadow_of $pid) && break; sleep 0.05; done
		sleep 0.3
		forked=$(pgrep -x crtos-shadow -P "$shadow" | tr '\n' ' ')
		case $victim in
		shadow) kill -KILL "$shadow" ;;
		crtos) kill -KILL "$pid" ;;
		stopped) kill -STOP "$shadow"; wait_state "$shadow" stopped; kill -KILL "$shadow" ;;
		esac
		status=0
		wait $pid || status=$?
		echo "kill -9 of the $victim: crtos run's status $status"
		[[ $status == 137 ]] || fail "kill -9 of the $victim: status $status, not 137"
		echo "kill -9 of the $victim: the shadows $shadow $forked must end"
		wait_gone $shadow $forked
	done
	memory_back_after "$log" kills
}

# kill -9 of the VMM (a held cell) ends every program it ran: no shadow
# and no crtos run is left, and the next crtos run boots a new cell.
test_deaths_kill_9_of_the_vmm_leaves_nothing_behind() {
	local cell pid shadow forked cellpid
	cell=$(tmp)
	hold_cell "$cell"
	cellpid=$(jobs -p %1)
	"$CRTOS" run -- $BUSYBOX sh -c 'sleep 100 & sleep 100' &
	pid=$!
	for _ in $(seq 100); do shadow=$(shadow_of $pid) && break; sleep 0.05; done
	sleep 0.3
	forked=$(pgrep -x crtos-shadow -P "$shadow" | tr '\n' ' ')
	kill -KILL "$cellpid"
	status=0
	wait $pid || status=$?
	echo "crtos run ended with status $status when its cell was killed"
	echo "the shadows $shadow $forked and crtos run $pid must end"
	wait_gone $shadow $forked $pid
	[[ $("$CRTOS" run -- $BUSYBOX echo next) == next ]] || fail "the next crtos run did not run"
}
