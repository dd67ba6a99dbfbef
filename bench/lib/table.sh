# SPDX-License-Identifier: MIT
#
# Sourced by bench/*/run: bench_table NATIVE RT turns two runs of a
# benchmark program (lines "NAME n=N min=.. median=.. p90=.. p99=.. max=..",
# nanoseconds) into a markdown table in microseconds, native and RT side by
# side with the median ratio.

bench_field() {	# bench_field LINE KEY
	sed -n "s/.* $2=\([0-9]*\).*/\1/p" <<<"$1"
}

bench_us() {
	awk -v ns="$1" 'BEGIN { printf "%.0f", ns / 1000 }'
}

bench_table() {	# bench_table NATIVE_OUTPUT RT_OUTPUT [HEADER]
	local native=$1 rt=$2 nline rline name nm rm where line ratio
	echo "| ${3:-cycle} | where | median (us) | p90 (us) | p99 (us) | max (us) | median ratio |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
	while IFS= read -r nline; do
		name=${nline%% n=*}
		name=${name%"${name##*[![:space:]]}"}
		rline=$(grep -F "$name " <<<"$rt")
		nm=$(bench_field "$nline" median)
		rm=$(bench_field "$rline" median)
		for where in native RT; do
			line=$nline
			[[ $where == RT ]] && line=$rline
			ratio=""
			[[ $where == RT ]] && ratio=$(awk -v a="$rm" -v b="$nm" 'BEGIN { printf "%.0fx", a / b }')
			echo "| $name | $where | $(bench_us "$(bench_field "$line" median)") |" \
			     "$(bench_us "$(bench_field "$line" p90)") |" \
			     "$(bench_us "$(bench_field "$line" p99)") |" \
			     "$(bench_us "$(bench_field "$line" max)") | $ratio |"
		done
	done <<<"$native"
}
