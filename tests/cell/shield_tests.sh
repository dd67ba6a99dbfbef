# SPDX-License-Identifier: MIT
#
# The shield (crtos cell --shield): while a cell runs, Linux's movable tasks
# and interrupts stay off its CPU; after it ends, by exit or kill -9, every
# task's cgroups and affinity and every interrupt's affinity are as before.
# Other people's processes on this machine are moved too, and put back:
# every test puts the machine back on its way out, pass or fail (an EXIT
# trap that kills the cell and repairs any shield left).

SHIELD_STATE_DIR=/run/crtos

# shield_snapshot: one line per task (tid:start time, cgroups, allowed CPUs), per IRQ, and the
# default IRQ mask. The start time tells a task from a later one that reuses its id.
# Workqueue workers and rescuers (PF_WQ_WORKER) are left out: the kernel
# moves them between its pools' CPUs itself (seen: a rescuer on CPU 0 before,
# on 0-1 after, in the loaded test VM).
shield_snapshot() {
	local t stat flags start
	for t in /proc/[0-9]*/task/[0-9]*; do
		stat=$(sed 's/.*) //' "$t/stat" 2>/dev/null) || continue	# gone meanwhile
		read -r _ _ _ _ _ _ flags _ _ _ _ _ _ _ _ _ _ _ _ start _ <<<"$stat"
		((${flags:-0} & 0x20)) && continue	# PF_WQ_WORKER
		echo "${t##*/}:$start $(tr '\n' ' ' <"$t/cgroup" 2>/dev/null)" \
			"$(sed -n 's/^Cpus_allowed_list:\t//p' "$t/status" 2>/dev/null)"
	done | sort -k1,1
	for t in /proc/irq/*/smp_affinity_list; do echo "irq:$t $(cat "$t")"; done
	echo "irq:default $(cat /proc/irq/default_smp_affinity)"
}

# shield_compare BEFORE AFTER: the tasks in both, and every IRQ, must read the same.
shield_compare() {
	local diffs
	# Compare line by line on the key: what differs for a task present in both.
	diffs=$(awk 'NR == FNR { before[$1] = $0; next }
		($1 in before) && before[$1] != $0 { print "before: " before[$1]; print "after:  " $0 }' \
		"$1" "$2" | head -n 10)
	[[ -z $diffs ]] || fail "not restored: $diffs"
}

# shield_cell OPTIONS...: a held, shielded cell (pid CELL_PID, its output CELL_LOG, its CPU SHIELD_CPU).
shield_cell() {
	CELL_LOG=$(tmp)
	"$CRTOS" cell --hold --quiet --shield "${MEM[@]}" "$@" >"$CELL_LOG" 2>&1 &
	CELL_PID=$!
	for _ in $(seq 600); do grep -q "serves crtos run" "$CELL_LOG" && break; sleep 0.05; done
	grep -q "serves crtos run" "$CELL_LOG" || { cat "$CELL_LOG"; fail "the cell did not start"; }
	SHIELD_CPU=$(sed -n 's/^crtos: CPU \([0-9]*\) shielded.*/\1/p' "$CELL_LOG")
	[[ -n $SHIELD_CPU ]] || { cat "$CELL_LOG"; fail "no shield line"; }
	grep "shielded" "$CELL_LOG"
}

# On the way out, pass or fail: no cell, no shield, no sleeper of ours.
shield_cleanup() {
	[[ -z ${CELL_PID:-} ]] || kill -9 "$CELL_PID" 2>/dev/null || true
	[[ -z ${SLEEPER:-} ]] || kill "$SLEEPER" 2>/dev/null || true
	[[ -z ${NEWBORN:-} ]] || kill "$NEWBORN" 2>/dev/null || true
	shield_wait_gone 2>/dev/null || true
	"$CRTOS" doctor --fix=shield >/dev/null 2>&1 || true
}

# shield_wait_gone: the guardian has restored everything (its state file is gone), up to 30 s.
shield_wait_gone() {
	local f=$SHIELD_STATE_DIR/shield-cpu${SHIELD_CPU:-1}
	for _ in $(seq 600); do [[ -e $f ]] || return 0; sleep 0.05; done
	fail "the shield's state file $f is still there"
}

allowed_cpus() {	# allowed_cpus PID
	sed -n 's/^Cpus_allowed_list:\t//p' "/proc/$1/status"
}

cpu_in_list() {		# cpu_in_list CPU LIST: whether CPU is in "0-3,6"
	local a b r
	for r in ${2//,/ }; do
		a=${r%-*} b=${r#*-}
		((a <= $1 && $1 <= b)) && return 0
	done
	return 1
}

expect_shielded() {	# expect_shielded: tasks old and new keep off SHIELD_CPU
	local list
	list=$(allowed_cpus "$SLEEPER")
	! cpu_in_list "$SHIELD_CPU" "$list" || fail "sleep (started before) may still run on CPU $SHIELD_CPU: $list"
	list=$(bash -c 'sed -n "s/^Cpus_allowed_list:\t//p" /proc/self/status')
	! cpu_in_list "$SHIELD_CPU" "$list" || fail "a new process may run on CPU $SHIELD_CPU: $list"
	echo "pre-existing sleep and a new process: CPUs $list"
}

# The shield up: old and new processes off the CPU, doctor says so, a program
# still runs in the realm (cyclictest); after the cell's orderly end, every
# task's cgroups and affinity and every interrupt's affinity are as before.
# timeout: 180
test_shield_keeps_linux_off_the_cpu_and_restores_after_exit() {
	local before after out
	before=$(tmp) after=$(tmp) out=$(tmp)
	on_exit shield_cleanup
	sleep 1000 &
	SLEEPER=$!
	shield_snapshot >"$before"
	shield_cell
	expect_shielded
	sleep 1000 &	# born under the shield: must get the CPU back after it
	NEWBORN=$!
	run "$out" doctor
	expect_status 0	# this shell is under the shield: doctor checks the shielded CPU
	expect_text "$out" "shield: up on CPU $SHIELD_CPU"
	[[ -d /sys/fs/cgroup/cpuset ]] && expect_text "$out" "(cgroup v1)"
	command -v cyclictest >/dev/null || fail "cyclictest is not installed (rt-tests)"
	run "$out" run -- cyclictest -m -p 80 -i 1000 -l 200 -q
	expect_status 0
	expect_text "$out" "Max:"
	kill -TERM "$CELL_PID"
	wait "$CELL_PID" || true
	CELL_PID=
	expect_text "$CELL_LOG" "crtos: the cell shut down, exit status 0"
	[[ ! -e $SHIELD_STATE_DIR/shield-cpu$SHIELD_CPU ]] || fail "the state file outlived the cell"
	[[ ! -d /sys/fs/cgroup/cpuset/crtos.shield$SHIELD_CPU ]] || fail "the shield's cpuset outlived the cell"
	shield_snapshot >"$after"
	shield_compare "$before" "$after"
	cpu_in_list "$SHIELD_CPU" "$(allowed_cpus "$SLEEPER")" || fail "sleep did not get CPU $SHIELD_CPU back"
	cpu_in_list "$SHIELD_CPU" "$(allowed_cpus "$NEWBORN")" ||
		fail "a process born under the shield did not get CPU $SHIELD_CPU: $(allowed_cpus "$NEWBORN")"
	run "$out" doctor --cpu "$SHIELD_CPU"
	expect_text "$out" "shield: none"
}

# crtos shield -- COMMAND (no cell): the command may run on the shielded CPU
# (crtos bench runs native cyclictest there with taskset), a task started
# before may not, and everything is as before once the command has ended.
# timeout: 120
test_shield_command_runs_on_the_shielded_cpu() {
	local out before after lists
	out=$(tmp) before=$(tmp) after=$(tmp)
	on_exit shield_cleanup
	SHIELD_CPU=$(($(nproc --all) - 1))
	sleep 1000 &
	SLEEPER=$!
	shield_snapshot >"$before"
	status=0
	"$CRTOS" shield --cpu "$SHIELD_CPU" -- taskset -c "$SHIELD_CPU" sh -c \
		'sed -n "s/^Cpus_allowed_list:\t//p" /proc/self/status /proc/'"$SLEEPER"'/status' \
		>"$out" 2>&1 || status=$?
	cat "$out"
	expect_status 0
	lists=$(grep -v '^crtos:' "$out" | tr '\n' ' ')
	read -r mine theirs <<<"$lists"
	[[ $mine == "$SHIELD_CPU" ]] || fail "the command ran on CPUs '$mine', not on $SHIELD_CPU alone"
	[[ -n $theirs ]] && ! cpu_in_list "$SHIELD_CPU" "$theirs" ||
		fail "sleep (started before) may run on the shielded CPU: '$theirs'"
	shield_wait_gone
	shield_snapshot >"$after"
	shield_compare "$before" "$after"
}

# kill -9 of the cell's process: its guardian notices (the pipe closes) and
# puts everything back by itself.
# timeout: 120
test_shield_is_restored_after_the_cell_is_killed() {
	local before after
	before=$(tmp) after=$(tmp)
	on_exit shield_cleanup
	sleep 1000 &
	SLEEPER=$!
	shield_snapshot >"$before"
	shield_cell
	expect_shielded
	kill -9 "$CELL_PID"
	wait "$CELL_PID" || true
	CELL_PID=
	shield_wait_gone
	shield_snapshot >"$after"
	shield_compare "$before" "$after"
	cpu_in_list "$SHIELD_CPU" "$(allowed_cpus "$SLEEPER")" || fail "sleep did not get CPU $SHIELD_CPU back"
}

# A guardian killed too leaves a stale shield: crtos doctor reports it and
# --fix undoes it from the state file.
# timeout: 120
test_doctor_reports_and_repairs_a_stale_shield() {
	local before after out guardian
	before=$(tmp) after=$(tmp) out=$(tmp)
	on_exit shield_cleanup
	sleep 1000 &
	SLEEPER=$!
	shield_snapshot >"$before"
	shield_cell
	guardian=$(sed -n 's/.*(guardian pid \([0-9]*\)).*/\1/p' "$CELL_LOG")
	[[ -n $guardian ]] || fail "no guardian pid in the shield line"
	kill -9 "$guardian"
	kill -9 "$CELL_PID"
	wait "$CELL_PID" || true
	CELL_PID=
	run "$out" doctor --cpu "$SHIELD_CPU"
	expect_text "$out" "shield: a stale shield on CPU $SHIELD_CPU"
	expect_shielded
	run "$out" doctor --cpu "$SHIELD_CPU" --fix=shield
	expect_text "$out" "stale shield on CPU $SHIELD_CPU undone"
	shield_snapshot >"$after"
	shield_compare "$before" "$after"
	run "$out" doctor --cpu "$SHIELD_CPU"
	expect_text "$out" "shield: none"
}
