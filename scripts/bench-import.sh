#!/usr/bin/env bash
# Compares `atroz db import` with `promtool tsdb create-blocks-from
# openmetrics` on the same generated OpenMetrics file (scripts/genopenmetrics:
# ROUTES routes of latency histograms, request counters and a gauge, one
# sample every STEP over DURATION; 50, 1s and 2h make 6.12 M samples). ROUNDS
# rounds run the two in turn, alternating which goes first, each into an
# empty directory; each line gives samples/s (the file's samples over the
# process's wall time), the CPU seconds it used (user + system: the fairer
# figure on a machine others share) and peak RSS (max resident,
# /usr/bin/time). The last line gives the median ratio of samples/s.
#
# With -big it instead imports a file of BIG_DURATION (9h: about 2 GB,
# 27.5 M samples) once and prints atroz's peak RSS; the file lives in
# TMPDIR and is removed afterwards.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

routes="${ROUTES:-50}"
step="${STEP:-1s}"
duration="${DURATION:-2h}"
rounds="${ROUNDS:-3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/bench-import.XXXXXX")"
trap 'rm -rf "$work"' EXIT

go build -o "$work/atroz" ./cmd/atroz

# timed CMD... runs CMD and prints "samples/s cpu_seconds rss_mib" for the file.
timed() {
	/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >"$work/out" 2>&1 || {
		cat "$work/out" >&2
		return 1
	}
	read -r secs user sys kb <"$work/time"
	awk -v n="$samples" -v s="$secs" -v c="$user + $sys" -v kb="$kb" 'BEGIN { split(c, x, " + "); printf "%.0f %.1f %.0f\n", n / s, x[1] + x[2], kb / 1024 }'
}

run_atroz() {
	rm -rf "$work/data"
	timed "$work/atroz" db import -data-dir "$work/data" "$work/bench.om"
}

run_promtool() {
	rm -rf "$work/blocks"
	timed "$promtool" tsdb create-blocks-from openmetrics "$work/bench.om" "$work/blocks"
}

if [[ "${1:-}" == "-big" ]]; then
	go run ./scripts/genopenmetrics -routes "$routes" -step "$step" -duration "${BIG_DURATION:-9h}" -o "$work/bench.om"
	samples="$(grep -vc '^#' "$work/bench.om")"
	echo "file: $(du -h "$work/bench.om" | cut -f1), $samples samples"
	r="$(run_atroz)"
	read -r rate cpu rss <<<"$r"
	echo "atroz db import: $rate samples/s, $cpu CPU s, peak RSS $rss MiB"
	exit 0
fi

promtool="$(command -v promtool)" || {
	echo "bench-import: promtool not found (Debian: apt-get install prometheus)" >&2
	exit 1
}
go run ./scripts/genopenmetrics -routes "$routes" -step "$step" -duration "$duration" -o "$work/bench.om"
samples="$(grep -vc '^#' "$work/bench.om")"
echo "file: $(du -h "$work/bench.om" | cut -f1), $samples samples; $("$promtool" --version 2>&1 | head -1)"
ratios=()
for round in $(seq "$rounds"); do
	if ((round % 2)); then
		ra="$(run_atroz)"
		rp="$(run_promtool)"
	else
		rp="$(run_promtool)"
		ra="$(run_atroz)"
	fi
	read -r a acpu arss <<<"$ra"
	read -r p pcpu prss <<<"$rp"
	ratio="$(awk -v a="$a" -v p="$p" 'BEGIN { printf "%.2f", a / p }')"
	ratios+=("$ratio")
	printf 'round %d: atroz %8d samples/s, %5.1f CPU s, peak RSS %4d MiB   promtool %8d samples/s, %5.1f CPU s, peak RSS %4d MiB   ratio %s\n' \
		"$round" "$a" "$acpu" "$arss" "$p" "$pcpu" "$prss" "$ratio"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ r[NR] = $1 } END { printf "median ratio atroz/promtool: %s\n", r[int((NR + 1) / 2)] }'
