# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# A runner self-test fixture (runner_selftest): a good shell test, using the
# cell tests' helpers, that must pass (so the self-test can tell a runner
# that fails everything). It declares a time limit, as a slow test would.

CRTOS=/bin/sh
# shellcheck source=tests/cell/cli_tests.sh
source tests/cell/cli_tests.sh

# timeout: 30
test_passes() {
	local out
	out=$(tmp)
	run "$out" -c 'echo hello; exit 3'
	expect_status 3
	expect_text "$out" hello
	# A failure tested by || is not a failed check.
	false || true
	[[ $TMPDIR != /tmp ]] || fail "the runner gave the test no TMPDIR of its own"
	# Tests send SIGINT to what they start: it must not start ignored.
	(((0x$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/$BASHPID/status) & 0x6) == 0)) ||
		fail "the test starts with SIGINT or SIGQUIT ignored"
}
