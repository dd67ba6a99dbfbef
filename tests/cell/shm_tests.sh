# SPDX-License-Identifier: MIT
#
# Shared memory across realms: MAP_SHARED of files, /dev/shm, memfds,
# shared anonymous memory and SysV segments in the RT realm, compared with
# the same program natively, shared with Linux processes both ways, and a
# cell that gets its memory and its shared slots back. Sourced by tests/run
# with cli_tests.sh's, run_tests.sh's and procs_tests.sh's helpers.

# timeout: 300
test_shm_program_matches_native_musl_and_glibc() {
	program_matches_native shm ""
}

# Wait up to 10 s (scaled) for FILE to start with TEXT.
shm_wait_file() {
	local i
	for i in $(seq $((200 * ${CRTOS_TEST_TIME_SCALE:-1}))); do
		[[ $(head -c ${#2} "$1" 2>/dev/null) == "$2" ]] && return 0
		sleep 0.05
	done
	return 1
}

# The RT program's stores reach Linux's page cache (read() here sees them),
# and a Linux write() reaches the program's mapping, while both run.
# timeout: 60
test_shm_file_shared_with_a_linux_process_both_ways() {
	local file out
	file=$(tmp)
	out=$(tmp)
	head -c 4096 /dev/zero >"$file"
	"$CRTOS" run -- "$BUILD/programs/shm-musl" peer "$file" >"$out" 2>&1 &
	shm_wait_file "$file" "rt:hello" || fail "Linux never saw the RT program's bytes"
	printf 'linux:reply\0' | dd of="$file" bs=1 seek=64 conv=notrunc status=none
	status=0
	wait $! || status=$?
	cat "$out"
	expect_status 0
	expect_text "$out" "peer: the other process's reply: ok"
}

# A SysV segment made in the realm has Linux's id: a Linux process attaches it.
# timeout: 60
test_shm_sysv_segment_shared_with_a_linux_process() {
	local out id i
	out=$(tmp)
	"$CRTOS" run -- "$BUILD/programs/shm-glibc" sysv-peer >"$out" 2>&1 &
	for i in $(seq $((200 * ${CRTOS_TEST_TIME_SCALE:-1}))); do
		id=$(sed -n 's/^# id //p' "$out")
		[[ -n $id ]] && break
		sleep 0.05
	done
	[[ -n $id ]] || { cat "$out"; fail "the RT program made no segment"; }
	"$BUILD/programs/shm-glibc" sysv-answer "$id" || fail "the Linux process did not see the RT bytes"
	status=0
	wait $! || status=$?
	cat "$out"
	expect_status 0
	expect_text "$out" "sysv peer: the other process's reply: ok"
}

# A serving cell (shared slots through its socket) gets every page, heap
# object and shared slot back after a program that maps, forks and unmaps.
# timeout: 120
test_shm_serving_cell_gets_memory_and_slots_back() {
	local cell log out before after
	cell=$(tmp)
	log=$(tmp)
	out=$(tmp)
	hold_cell "$cell" --cmdline loglevel=7 --log "$log"
	for _ in $(seq 100); do grep -q "all .* of RAM ready" "$log" && break; sleep 0.05; done
	# The first run fills the kernel's caches (heap slabs, page tables): count from the second.
	for _ in 1 2; do
		"$CRTOS" run -- "$BUILD/programs/shm-dyn" >"$out" 2>&1 || { cat "$out"; fail "shm failed"; }
		"$CRTOS" run -- $BUSYBOX true
	done
	kill -TERM %1
	wait %1
	before=$(procs_reap_counts "$log" 2)
	after=$(procs_reap_counts "$log" 4)
	echo "free memory, heap objects and shared slots after a program: $before"
	echo "the same after the shared-memory program: $after"
	[[ $before == *"0 shared slots" ]] || fail "no shared-slot count in the reap line"
	[[ -n $before && $before == "$after" ]] || fail "the cell did not get its memory back"
}
