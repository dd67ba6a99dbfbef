# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# A runner self-test fixture (runner_selftest): a shell test that never
# ends and ignores SIGTERM, with a job in a process group of its own. The
# runner must stop it at its time limit and leave none of its processes:
# each one's pid goes to $FIXTURE_PIDS for the self-test to check.

# timeout: 3
test_hangs() {
	set -m	# jobs in groups of their own, out of reach of a group kill
	sleep 1000 &
	echo $! >>"$FIXTURE_PIDS"
	trap '' TERM	# ignored here and, inherited, in what starts from now on
	echo $$ >>"$FIXTURE_PIDS"
	while :; do
		sleep 1000 &
		echo $! >>"$FIXTURE_PIDS"
		wait $! || true
	done
}
