# SPDX-License-Identifier: MIT
#
# RT-FIFOs (linuxabi/rtfifo.c, tools/vmm/fifo.c, tools/cli/fifofs.c): RT
# programs (tests/programs/rtfifo.c) open /dev/rtf/NAME while Linux
# processes use the same FIFO as a file of the held cell's FUSE mount.
# Sourced by tests/run after cli_tests.sh (run, tmp, fail, expect_*).

FIFO_PROG=$BUILD/programs/rtfifo-glibc

# hold_fifo_cell: a held cell of this test's (killed at its end); sets CELL_LOG and FIFOS.
# (Not hold_cell: run_tests.sh has that one, and every tests/cell file is sourced together.)
hold_fifo_cell() {
	CELL_LOG=$(tmp)
	"$CRTOS" cell --hold --quiet >"$CELL_LOG" 2>&1 &
	CELL_PID=$!
	for _ in $(seq 200); do grep -q "serves crtos run" "$CELL_LOG" && break; sleep 0.05; done
	grep -q "serves crtos run" "$CELL_LOG" || { cat "$CELL_LOG"; fail "the cell did not start"; }
	FIFOS=$(sed -n 's/^crtos: RT-FIFOs .* are files in //p' "$CELL_LOG")
	[[ -n $FIFOS ]] || { cat "$CELL_LOG"; fail "the cell has no FIFO mount (FUSE)"; }
}

end_cell() {
	kill -TERM "$CELL_PID"
	wait "$CELL_PID" || true
	grep -q "crtos: the cell shut down, exit status 0" "$CELL_LOG" ||
		{ cat "$CELL_LOG"; fail "the cell did not shut down in order"; }
}

release_cell() {
	end_cell
	[[ ! -e $FIFOS/samples ]] || fail "the FIFO mount is still there after the cell ended"
}

wait_for_text() {	# wait_for_text FILE TEXT: up to 10 s
	for _ in $(seq 200); do grep -qF -- "$2" "$1" && return 0; sleep 0.05; done
	cat "$1"
	fail "no '$2' in $1"
}

by_call() {	# FILE local|remote SYSCALL: its count, 0 if absent
	sed -n "s/^crtos:   $2 by call:.* $3 \([0-9]*\).*/\1/p" "$1" | head -n 1 | grep . || echo 0
}

# The acceptance test: an RT program writes a sample every millisecond,
# 10 000 of them, while cat reads the FUSE file with plain read()s and
# stress-ng loads Linux's CPUs (where installed; scripts/install-deps installs
# it); nothing is lost or reordered, and the RT side never asked Linux (its
# writes are local). The FIFO (64 KiB) holds the whole run (48 894 bytes), so a reader
# that Linux's load holds back costs nothing.
# timeout: 90
test_fifo_rt_samples_reach_a_linux_reader_in_order() {
	local got out n=10000 load="" stress_dir
	got=$(tmp)
	out=$(tmp)
	hold_fifo_cell
	"$CRTOS" fifo create samples --size 64K
	[[ $(stat -c '%U %a %F' "$FIFOS/samples") == "$(id -un) 600 regular empty file" ]] ||
		fail "the FIFO's file: $(stat -c '%U %a %F' "$FIFOS/samples"), not the user's, 0600"
	if command -v stress-ng >/dev/null; then
		stress_dir=$(mktemp -d "${TMPDIR:-/tmp}/crtos-test-stress.XXXXXX")
		taskset -c "0-$(($(nproc --all) - 2))" stress-ng --cpu 1 --temp-path "$stress_dir" \
			--quiet --timeout 120 &
		load=$!
	else
		echo "note: no stress-ng, Linux unloaded (scripts/install-deps installs it)"
	fi
	timeout 60 cat "$FIFOS/samples" >"$got" &
	local cat_pid=$!
	run "$out" run --stats -- "$FIFO_PROG" samples $n
	[[ -n $load ]] && { kill "$load"; wait "$load" 2>/dev/null; rm -rf "$stress_dir"; }
	expect_status 0
	wait $cat_pid || fail "cat of the FIFO did not end with the writer (end of file)"
	cmp -s <(seq 1 $n) "$got" || { diff <(seq 1 $n) "$got" | head; fail "samples lost or reordered"; }
	(($(by_call "$out" local write) >= n)) || fail "the RT program's writes were not local"
	(($(by_call "$out" remote write) <= 1)) || fail "the RT program's writes went to Linux"
	release_cell
}

# seq | FIFO -> an RT program that echoes -> FIFO | cat: the same lines.
test_fifo_shell_pipeline_through_an_rt_echo() {
	local got out echo_pid cat_pid
	got=$(tmp)
	out=$(tmp)
	hold_fifo_cell
	"$CRTOS" run -- "$FIFO_PROG" echo in out >"$out" 2>&1 &
	echo_pid=$!
	for _ in $(seq 200); do [[ -e $FIFOS/in && -e $FIFOS/out ]] && break; sleep 0.05; done
	# The realm reads "in": a Linux reader is refused, and the cell says why.
	! cat "$FIFOS/in" 2>"$got" || fail "a Linux reader of a FIFO the realm reads was not refused"
	grep -q "Device or resource busy" "$got" || fail "not EBUSY: $(cat "$got")"
	expect_text "$CELL_LOG" "crtos: FIFO in: a Linux open for reading was refused (EBUSY)"
	timeout 20 cat "$FIFOS/out" >"$got" &
	cat_pid=$!
	seq 1 1000 >"$FIFOS/in"
	wait $cat_pid || fail "cat of out did not end: $(cat "$out")"
	wait $echo_pid || fail "the RT echo failed: $(cat "$out")"
	cmp -s <(seq 1 1000) "$got" || { diff <(seq 1 1000) "$got" | head; fail "the echo differs"; }
	# python's open() and poll() on a FIFO file.
	"$CRTOS" run -- "$FIFO_PROG" echo in2 out2 >"$out" 2>&1 &
	echo_pid=$!
	for _ in $(seq 200); do [[ -e $FIFOS/in2 && -e $FIFOS/out2 ]] && break; sleep 0.05; done
	timeout 20 python3 - "$FIFOS" <<'EOF' || fail "python's view of the FIFOs"
import select, sys
d = sys.argv[1]
r = open(f'{d}/out2', 'rb', buffering=0)
p = select.poll()
p.register(r, select.POLLIN)
assert p.poll(200) == [], 'out2 readable before anything was written'
with open(f'{d}/in2', 'w') as w:
    w.write('hello from python\n')
assert p.poll(5000), 'poll did not wake for the echo'
data = b''
while True:
    b = r.read(4096)
    if not b:
        break
    data += b
assert data == b'hello from python\n', data
EOF
	wait $echo_pid || fail "the second RT echo failed: $(cat "$out")"
	release_cell
}

# poll() in the realm on an RT-FIFO and a Linux fd (a pipe) wakes on either.
test_fifo_poll_on_rt_fifo_and_linux_fd_wakes_on_either() {
	local out pipe pid
	out=$(tmp)
	pipe=$(mktemp -u)
	mkfifo "$pipe"
	hold_fifo_cell
	"$CRTOS" run -- "$FIFO_PROG" pollmix pin <"$pipe" >"$out" 2>&1 &
	pid=$!
	exec 7>"$pipe"
	wait_for_text "$out" "polling"
	sleep 0.2
	echo fifo-first >"$FIFOS/pin"
	wait_for_text "$out" "fifo woke poll: fifo-first"
	sleep 0.2
	echo then-linux >&7
	wait_for_text "$out" "stdin woke poll: then-linux"
	exec 7>&-
	wait $pid || fail "pollmix failed: $(cat "$out")"
	rm -f "$pipe"
	release_cell
}

# The same with a Unix socket as the Linux fd (one end of a socketpair as the
# program's stdin, python writing the other), this time the socket first.
test_fifo_poll_on_rt_fifo_and_a_unix_socket_wakes_on_either() {
	local out
	command -v python3 >/dev/null || fail "python3 is needed (Debian: python3)"
	out=$(tmp)
	hold_fifo_cell
	python3 - "$CRTOS" "$FIFO_PROG" "$out" "$FIFOS/pin" <<'PY' || fail "pollmix over a socket failed: $(cat "$out")"
import socket, subprocess, sys, time
crtos, prog, out, fifo = sys.argv[1:5]

def wait_for(text):
    for _ in range(400):
        if text in open(out).read():
            return
        time.sleep(0.05)
    sys.exit("no '%s' in the output" % text)

ours, its = socket.socketpair()
with open(out, "w") as f:
    p = subprocess.Popen([crtos, "run", "--", prog, "pollmix", "pin"], stdin=its, stdout=f,
                         stderr=subprocess.STDOUT)
its.close()
wait_for("polling")
time.sleep(0.2)
ours.sendall(b"socket-first\n")
wait_for("stdin woke poll: socket-first")
time.sleep(0.2)
with open(fifo, "w") as w:
    w.write("then-fifo\n")
wait_for("fifo woke poll: then-fifo")
sys.exit(p.wait(timeout=30))
PY
	release_cell
}

# A full FIFO says EAGAIN to a non-blocking writer; a killed Linux reader
# and an unmounted FUSE view leave the RT writer running; the cell goes on.
# timeout: 60
test_fifo_full_dead_reader_and_unmount_leave_the_rt_program_running() {
	local out cat_pid pid
	out=$(tmp)
	hold_fifo_cell
	"$CRTOS" fifo create small --size 4K
	run "$out" run -- "$FIFO_PROG" full small
	expect_status 0
	# A reader killed while the RT program writes: the writer fills the FIFO and counts EAGAINs.
	"$CRTOS" fifo create samples --size 4K
	cat "$FIFOS/samples" >/dev/null &
	cat_pid=$!
	sleep 0.2
	"$CRTOS" run -- "$FIFO_PROG" samples 1500 nonblock >"$out" 2>&1 &
	pid=$!
	sleep 0.3
	kill -KILL $cat_pid
	wait $pid || fail "the RT writer failed after its reader was killed: $(cat "$out")"
	grep -q '^# full [1-9]' "$out" || fail "the writer never found the FIFO full: $(cat "$out")"
	"$CRTOS" fifo show samples | grep -q "found full:  [1-9]" || fail "crtos fifo show: no full count"
	# The FUSE view unmounted under a writer and a blocked Linux reader.
	"$CRTOS" fifo rm samples
	"$CRTOS" fifo create samples --size 4K
	cat "$FIFOS/samples" >/dev/null 2>&1 &
	cat_pid=$!
	"$CRTOS" run -- "$FIFO_PROG" samples 1000 nonblock >"$out" 2>&1 &
	pid=$!
	sleep 0.3
	umount -l "$FIFOS"
	wait $pid || fail "the RT writer failed after the unmount: $(cat "$out")"
	wait $cat_pid || true
	[[ $("$CRTOS" run -- /bin/busybox echo still serving) == "still serving" ]] ||
		fail "the cell did not carry on"
	end_cell
}

# FIFOs without a held cell (crtos run boots its own; no FUSE view): one
# program writes, reads through a dup, and reads end of file.
test_fifo_rt_only_in_a_cell_of_its_own() {
	local out
	out=$(tmp)
	run "$out" run -- "$BUILD/programs/rtfifo-musl" local
	expect_status 0
	expect_text "$out" "end of file once every writer closed: 0"
	expect_no_text "$out" FAILED
}

# FIFO ends across fork and execve (tests/programs/rtfifo.c, fork): the
# child's are the parent's, O_CLOEXEC ones end at the exec, and a process
# that ends gives its ends back (end of file once the last writer is gone).
test_fifo_ends_across_fork_and_exec() {
	local out
	out=$(tmp)
	run "$out" run -- "$BUILD/programs/rtfifo-glibc" fork
	expect_status 0
	expect_text "$out" "end of file: the children's copies went with them: 0"
	expect_no_text "$out" FAILED
}

test_fifo_command_creates_lists_shows_and_removes() {
	local out
	out=$(tmp)
	run "$out" --help
	expect_text "$out" "fifo "
	run "$out" fifo --help
	expect_status 0
	for w in create list show rm --size --cpu /dev/rtf/NAME "Exit status"; do
		expect_text "$out" "$w"
	done
	run "$out" fifo list --cpu 1
	expect_status 69
	expect_text "$out" "crtos cell --hold"
	run "$out" fifo create
	expect_status 64
	run "$out" fifo create x --size 3000
	expect_status 64
	hold_fifo_cell
	run "$out" fifo create alpha --size 8K
	expect_status 0
	run "$out" fifo create alpha
	expect_status 1
	expect_text "$out" "exists already"
	run "$out" fifo create 'bad name'
	expect_status 1
	expect_text "$out" "a name is 1-31 of"
	echo abc >"$FIFOS/alpha"
	run "$out" fifo list
	expect_status 0
	grep -Eq '^alpha +8192 +4 ' "$out" || fail "list does not show alpha with 4 bytes waiting"
	run "$out" fifo show alpha
	expect_text "$out" "waiting:     4 bytes"
	touch "$FIFOS/beta"
	"$CRTOS" fifo list | grep -q '^beta ' || fail "creating the file did not create a FIFO"
	run "$out" fifo rm alpha
	expect_status 0
	rm "$FIFOS/beta"
	run "$out" fifo show alpha
	expect_status 1
	expect_text "$out" "no FIFO called alpha"
	[[ -z $(ls "$FIFOS") ]] || fail "FIFOs left: $(ls "$FIFOS")"
	run "$out" fifo rm alpha
	expect_status 1
	release_cell
}
