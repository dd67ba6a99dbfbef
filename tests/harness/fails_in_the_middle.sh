# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# A runner self-test fixture (runner_selftest): a check in the middle of a
# shell test fails, the checks after it pass. The test must fail.

test_fails_in_the_middle() {
	grep -q "a line that is not there" /dev/null
	echo "the checks after the failed one pass"
	true
}
