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
		[[ $(head -c ${#2} "$1" 2>/dev/null | tr -d '\0') == "$2" ]] && return 0
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

# /dev/rtshm: a region crtos shm creates in a held cell, written by an RT
# program and read by python from its file, and the reverse; the RT side
# reaches the bytes with no remote call (--stats: no read of any kind); rm,
# errors, and the region's end with the cell.
# timeout: 90
test_shm_rtshm_region_shared_with_python_and_crtos_shm_commands() {
	local cell out region remote
	command -v python3 >/dev/null || { echo "SKIP: no python3"; return 0; }
	cell=$(tmp)
	out=$(tmp)
	hold_cell "$cell"
	region=/dev/shm/crtos-cell$(sed -n 's/.*serves crtos run on CPU \([0-9]*\).*/\1/p' "$cell")-demo
	"$CRTOS" shm create demo --size 8K || fail "crtos shm create failed"
	status=0
	"$CRTOS" shm create demo --size 8K 2>"$out" || status=$?
	expect_status 1
	"$CRTOS" shm create bad/name --size 8K 2>/dev/null && fail "a bad name was accepted"
	[[ $(stat -c '%a %s %u' "$region") == "600 8192 $(id -u)" ]] ||
		fail "the region file is not 0600, 8192 bytes, the cell's user's: $(stat -c '%a %s %u' "$region")"
	"$CRTOS" run --stats -- "$BUILD/programs/shm-glibc" peer /dev/rtshm/demo >"$out" 2>&1 &
	shm_wait_file "$region" "rt:hello" || fail "Linux never saw the RT program's bytes"
	"$CRTOS" shm show demo | tee -a "$out" | grep -q "mapped by 1 shared slot" ||
		fail "crtos shm show does not count the realm's mapping"
	python3 -c '
import mmap, sys
with open(sys.argv[1], "r+b") as f:
    m = mmap.mmap(f.fileno(), 8192)
    assert m[:9] == b"rt:hello\0", m[:9]
    m[64:76] = b"linux:reply\0"
' "$region" || fail "python did not see the RT bytes"
	status=0
	wait %2 || status=$?
	cat "$out"
	expect_status 0
	expect_text "$out" "peer: the other process's reply: ok"
	# It polled the region once a millisecond until python answered: had any
	# poll gone through Linux, the remote calls (exec's and printf's) would grow with them.
	remote=$(awk '/crtos: +[0-9]+ OTHER/ { print $6 }' "$out")
	[[ -n $remote && $remote -lt 60 ]] ||
		fail "the RT program reached the region through Linux"
	"$CRTOS" shm list | grep -q '^demo ' || fail "crtos shm list does not show the region"
	"$CRTOS" shm rm demo || fail "crtos shm rm failed"
	[[ ! -e $region ]] || fail "rm left the file"
	status=0
	"$CRTOS" run -- "$BUILD/programs/shm-glibc" peer /dev/rtshm/demo >"$out" 2>&1 || status=$?
	expect_text "$out" "open: ENOENT"
	"$CRTOS" shm create left --size 4K
	kill -TERM %1
	wait %1
	[[ ! -e ${region%demo}left ]] || fail "the region outlived its cell"
	status=0
	"$CRTOS" shm list 2>"$out" || status=$?
	expect_status 69
}

# Linux truncates a file below a page the realm has mapped shared, and the
# program touches that page (tests/programs/shm.c, "truncate"): SIGBUS
# (BUS_ADRERR), as natively, once the VMM has seen the file shrink (about
# 100 ms: the touch waits until then); the file extended again, the page is
# back (zeros). Output as natively with each C library, in a held cell that
# gets its memory and slots back.
# timeout: 120
test_shm_truncated_under_a_mapping_is_sigbus_like_native() {
	local cell log native rt file libc rc
	cell=$(tmp)
	log=$(tmp)
	native=$(tmp)
	rt=$(tmp)
	file=$(tmp)
	hold_cell_counting "$cell" "$log"
	for libc in musl glibc dyn; do
		{ rc=0; "$BUILD/programs/shm-$libc" truncate "$file" || rc=$?; echo "exit $rc"; } >"$native" 2>&1
		grep -q '^exit 0$' "$native" || { cat "$native"; fail "shm-$libc truncate fails natively"; }
		{ rc=0; timeout $((20 * ${CRTOS_TEST_TIME_SCALE:-1})) "$CRTOS" run -- \
			"$BUILD/programs/shm-$libc" truncate "$file" || rc=$?; echo "exit $rc"; } >"$rt" 2>&1
		cmp -s "$native" <(without_watchdog "$rt") ||
			{ diff "$native" <(without_watchdog "$rt") | head -20; fail "shm-$libc truncate differs"; }
	done
	cat "$rt"
	memory_back_after "$log" "truncated mappings"
	expect_text "$cell" "crtos: the cell shut down, exit status 0"
}
