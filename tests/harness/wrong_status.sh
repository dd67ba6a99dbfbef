# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# A runner self-test fixture (runner_selftest): the cell tests' own helpers
# (tests/cell/cli_tests.sh) on a program that exits 3 where 0 is expected,
# with a check that passes after it. The test must fail.

CRTOS=/bin/sh
# shellcheck source=tests/cell/cli_tests.sh
source tests/cell/cli_tests.sh

test_program_exits_with_the_wrong_status() {
	local out
	out=$(tmp)
	run "$out" -c 'echo hello; exit 3'
	expect_status 0
	expect_text "$out" hello
}
