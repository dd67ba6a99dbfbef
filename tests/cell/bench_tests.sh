# SPDX-License-Identifier: MIT
#
# crtos bench, as a structure test: a short run writes a complete report.
# It checks what the report holds (every series measured, natively and in
# the realm, numbers in each, valid plots that the Markdown links), never
# how fast anything was: the figures themselves belong in docs/benchmarks.md.
# Sourced by tests/run after cli_tests.sh (which has run, tmp and fail).

# A series of the run: its tab-separated line in series.tsv (bench/crtos-bench's columns).
bench_series() {	# bench_series DIR ID
	awk -F'\t' -v id="$2" '$2 == id' "$1/data/series.tsv"
}

# bench_png_size FILE: "WIDTH HEIGHT" from a PNG's signature and IHDR chunk, or nothing.
bench_png_size() {
	local head
	head=$(od -An -tx1 -N24 "$1" | tr -d ' \n')
	[[ ${head:0:16} == 89504e470d0a1a0a && ${head:24:8} == 49484452 ]] || return 0
	echo "$((16#${head:32:8})) $((16#${head:40:8}))"
}

# Under TCG (the test VM) every sample costs more: the sizes stay the smallest that
# still give each statistic, and the time limit is scaled by tests/run.
# timeout: 400
test_bench_quick_writes_a_complete_report() {
	local dir out id line v png
	dir=$(mktemp -d "${TMPDIR:-/tmp}/crtos-bench.XXXXXX")
	out=$(tmp)
	trap 'rm -rf "$dir"' RETURN
	run "$out" bench --quick --loops 300 --samples 1000 --out "$dir"
	expect_status 0
	for f in report.md report.json data/series.tsv plots/timer-idle.png plots/timer-load.png plots/scope.png; do
		[[ -s $dir/$f ]] || fail "the report has no $f"
	done
	# Every series, natively and in the realm, with a number in each statistic it has.
	for id in timer-{idle,load}-{native-linux-cpu,native-rt-cpu,realm} \
		timer-load-{native-rt-cpu,realm}-shielded \
		syscall-{getppid,gettid}-{native,realm} \
		syscall-{read1byte,write1byte,open+close}-{native,realm,realm-rt} \
		event-{idle,load}-{native-pipe,native-eventfd,rtfifo} \
		costs-boot costs-boot-ram costs-start-{native,held,oneshot} \
		costs-{fork,vfork}-{native,realm} \
		scope-{idle,load}-{native,realm}; do
		line=$(bench_series "$dir" "$id")
		[[ -n $line ]] || fail "series $id is missing from the report"
		for v in $(cut -f7,9,10,11,13 <<<"$line"); do	# n min median p99 max
			[[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "series $id has '$v' for a number: $line"
		done
	done
	# The host, the mode, and whether it ran under TCG, at the top.
	expect_text "$dir/report.md" "| KVM mode | "
	expect_text "$dir/report.md" "| in the test VM (TCG) | "
	if [[ ${CRTOS_IN_TEST_VM:-} == 1 ]]; then
		expect_text "$dir/report.md" "Measured under TCG"
	fi
	expect_text "$dir/report.md" "## Goals"
	# Each plot: a PNG of the size the report makes, linked from the Markdown.
	for png in timer-idle timer-load scope; do
		[[ $(bench_png_size "$dir/plots/$png.png") == "1000 800" ]] ||
			fail "plots/$png.png is not a 1000x800 PNG: $(bench_png_size "$dir/plots/$png.png")"
		expect_text "$dir/report.md" "](plots/$png.png)"
	done
	# The JSON: the same series, the host and the goals (jq where it is installed).
	if command -v jq >/dev/null; then
		[[ $(jq '.series | length' "$dir/report.json") == $(wc -l <"$dir/data/series.tsv") ]] ||
			fail "report.json does not hold every series"
		[[ $(jq -r '.host.kvm_mode' "$dir/report.json") =~ ^(hardware|kvm_pvm)$ ]] ||
			fail "report.json names no KVM mode"
		[[ $(jq '[.goals[] | select(.met == null)] | length' "$dir/report.json") == 0 ]] ||
			fail "a goal in report.json has no verdict"
	fi
	expect_text "$dir/report.md" "shielded"
	# Nothing left behind: no load, no held cell, no shield.
	! pgrep -x stress-ng >/dev/null || fail "stress-ng is still running after crtos bench"
	! ls /run/crtos/shield-cpu* 2>/dev/null || fail "a shield outlived crtos bench"
}

test_bench_rejects_bad_options() {
	local out
	out=$(tmp)
	run "$out" bench --loops 10
	expect_status 64
	expect_text "$out" "--loops needs a number"
	run "$out" bench --only nothing
	expect_status 64
	run "$out" bench --help
	expect_status 0
	expect_text "$out" "cyclictest"
}
