#!/usr/bin/env bash
# Benchmarks AtroZ against its peers, VictoriaMetrics, vmagent and
# Prometheus, in one run on one machine, and prints a Markdown table per
# part with each figure's ratio to VictoriaMetrics' (vmagent's when
# forwarding). It installs nothing: it needs victoria-metrics, vmagent,
# promtool and prometheus on the PATH (Debian: apt-get install
# victoria-metrics prometheus), curl and jq.
#
# Import: the same generated OpenMetrics file (scripts/genopenmetrics:
# ROUTES routes of latency histograms, request counters and a gauge, one
# sample every STEP over DURATION; 50, 1s and 2h make 6.13 M samples) goes
# into an empty directory by VictoriaMetrics (POST to
# /api/v1/import/prometheus, then /internal/force_flush; its process's CPU
# and VmHWM over the import), promtool tsdb create-blocks-from openmetrics,
# and atroz db import then db compact. samples/s is the file's samples over
# the import's wall time, bytes/sample everything in the directory (du -sb,
# after VictoriaMetrics stopped and after atroz's compaction) over the
# samples, peak RSS the process's maximum resident set.
#
# Live: each server runs alone on loopback on an empty directory while
# `atroz load -kind remote-write` sends it SENDERS closed-loop senders of
# BATCH-sample remote-write requests over SERIES series for LIVE_DURATION:
# samples/s acknowledged, p99 latency of a request, the server's CPU seconds
# (utime + stime from /proc) per million samples, its peak RSS (VmHWM), and
# its directory's bytes per sample after it stopped (for AtroZ also after
# db compact; Prometheus' is its WAL).
#
# Paced: the same, but at PACED_RATE samples/s (20,000) in an open model
# (`atroz load -rate`, requests due on a schedule whether or not earlier
# ones were answered): the latency a steady sender sees.
#
# Forward: AtroZ in front of VictoriaMetrics (REMOTE_WRITE_URL, its
# outbox on) against vmagent (its file-based queue in -remoteWrite.tmpDataPath)
# in front of the same VictoriaMetrics, under the live load: samples/s
# acknowledged, p99, the forwarder's CPU seconds per million samples and peak
# RSS, and the drain: the seconds from the load's end until VictoriaMetrics
# has inserted as many rows as the forwarder acknowledged (AtroZ also
# forwards its own metrics, a few hundred rows a second, which count too).
#
# ROUNDS rounds (3) interleave the tools, each round in a different order;
# the tables give medians. PARTS ("import live paced forward") picks the parts to
# run. DURATION=10m LIVE_DURATION=5s ROUNDS=1 is a quick smoke run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

routes="${ROUTES:-50}"
step="${STEP:-1s}"
duration="${DURATION:-2h}"
rounds="${ROUNDS:-3}"
live_duration="${LIVE_DURATION:-30s}"
series="${SERIES:-10000}"
batch="${BATCH:-2000}"
senders="${SENDERS:-4}"
paced_rate="${PACED_RATE:-20000}"
parts="${PARTS:-import live paced forward}"
# mode names the part running ("import", "live" or "paced"), its rows' file in
# $work; load_flags are what its load generator is given.
mode=live
load_flags=(-senders "$senders")
port="${PORT_BASE:-18400}"

need() {
	command -v "$1" >/dev/null || {
		echo "bench-peers: $1 is not on the PATH; this benchmark installs nothing (Debian: apt-get install $2)" >&2
		exit 1
	}
}
need victoria-metrics victoria-metrics
need vmagent victoria-metrics
need promtool prometheus
need prometheus prometheus
need curl curl
need jq jq

work="$(mktemp -d "${TMPDIR:-/tmp}/bench-peers.XXXXXX")"
server=""
dest=""
cleanup() {
	if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; fi
	if [[ -n "$dest" ]]; then kill "$dest" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
tck="$(getconf CLK_TCK)"

go build -o "$work/atroz" ./cmd/atroz

# cpu PID prints the process's user + system CPU seconds so far.
cpu() { awk -v t="$tck" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / t }' "/proc/$1/stat"; }

# hwm_mib PID prints the process's peak resident set in MiB.
hwm_mib() { awk '/^VmHWM:/ { printf "%.0f\n", $2 / 1024 }' "/proc/$1/status"; }

# now prints the time in seconds with nanoseconds.
now() { date +%s.%N; }

# start LOG URL CMD... starts a server in the background as $server and
# waits until URL answers 200.
start() {
	local log="$1" url="$2"
	shift 2
	"$@" >"$log" 2>&1 &
	server=$!
	for _ in $(seq 300); do
		if curl -sf -o /dev/null "$url"; then return 0; fi
		if ! kill -0 "$server" 2>/dev/null; then break; fi
		sleep 0.1
	done
	echo "bench-peers: $* did not come up at $url:" >&2
	tail -20 "$log" >&2
	exit 1
}

# stop ends $server with SIGTERM and waits for it.
stop() {
	kill "$server"
	wait "$server" || true
	server=""
}

# timed CMD... runs CMD and prints "seconds cpu_seconds rss_mib".
timed() {
	/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >"$work/out" 2>&1 || {
		cat "$work/out" >&2
		return 1
	}
	awk '{ printf "%s %.2f %.0f\n", $1, $2 + $3, $4 / 1024 }' "$work/time"
}

# Import rows: tool samples/s cpu_s bytes/sample rss_mib, into $work/import.
import_row() {
	awk -v tool="$1" -v n="$samples" -v s="$2" -v c="$3" -v b="$4" -v r="$5" \
		'BEGIN { printf "%s %.0f %.2f %.3f %d\n", tool, n / s, c, b / n, r }' >>"$work/import"
}

# vm_rows URL prints how many rows the VictoriaMetrics at URL has inserted.
vm_rows() { curl -sf "$1/metrics" | awk '/^vm_rows_inserted_total\{/ { n += $2 } END { printf "%.0f\n", n }'; }

import_vm() {
	local dir="$work/vm" url="http://127.0.0.1:$((port + 28))"
	rm -rf "$dir"
	start "$work/vm.log" "$url/health" victoria-metrics -storageDataPath="$dir" -httpListenAddr="127.0.0.1:$((port + 28))" -retentionPeriod=100y
	local c0 t0 t1 c1 rss inserted
	c0="$(cpu "$server")"
	t0="$(now)"
	curl -sf --data-binary @"$work/bench.om" "$url/api/v1/import/prometheus"
	curl -sf "$url/internal/force_flush"
	t1="$(now)"
	c1="$(cpu "$server")"
	rss="$(hwm_mib "$server")"
	inserted="$(vm_rows "$url")"
	stop
	if [[ "$inserted" != "$samples" ]]; then
		echo "bench-peers: VictoriaMetrics took $inserted of $samples samples" >&2
		exit 1
	fi
	import_row victoria-metrics "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		"$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" "$(du -sb "$dir" | cut -f1)" "$rss"
}

import_promtool() {
	local dir="$work/blocks" secs cpus rss
	rm -rf "$dir"
	read -r secs cpus rss < <(timed promtool tsdb create-blocks-from openmetrics "$work/bench.om" "$dir")
	import_row promtool "$secs" "$cpus" "$(du -sb "$dir" | cut -f1)" "$rss"
}

import_atroz() {
	local dir="$work/data" secs cpus rss
	rm -rf "$dir"
	read -r secs cpus rss < <(timed "$work/atroz" db import -data-dir "$dir" "$work/bench.om")
	"$work/atroz" db compact -data-dir "$dir" >"$work/out" 2>&1 || {
		cat "$work/out" >&2
		exit 1
	}
	import_row atroz "$secs" "$cpus" "$(du -sb "$dir" | cut -f1)" "$rss"
}

# live NAME URL TOKEN reads the server $server's figures around a
# remote-write load and appends "tool samples/s p99_ms cpu_s_per_M rss_mib
# bytes/sample" to $work/live, with the directory's size measured later.
live_load() {
	local name="$1" url="$2" token="$3" c0 c1 rss
	c0="$(cpu "$server")"
	ATROZ_TOKEN="$token" "$work/atroz" load -target "$url" -kind remote-write "${load_flags[@]}" -series "$series" \
		-batch "$batch" -duration "$live_duration" -verify=false -json >"$work/load.json" 2>"$work/load.log" || {
		cat "$work/load.log" "$work/load.json" >&2
		exit 1
	}
	c1="$(cpu "$server")"
	rss="$(hwm_mib "$server")"
	jq -r --arg tool "$name" --arg c "$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" --arg rss "$rss" \
		'"\($tool) \(.accepted_items / .seconds) \(.latency_ms.p99) \(($c | tonumber) / (.accepted_items / 1e6)) \($rss) \(.accepted_items) \(.rejected)"' \
		"$work/load.json" >"$work/live.row"
}

# live_row BYTES [COMPACTED] finishes the row live_load began.
live_row() {
	local tool sps p99 cpm rss accepted rejected
	read -r tool sps p99 cpm rss accepted rejected <"$work/live.row"
	if ((rejected > 0)); then
		echo "bench-peers: $tool refused $rejected remote-write requests; see $work/load.json" >&2
	fi
	awk -v t="$tool" -v s="$sps" -v p="$p99" -v c="$cpm" -v r="$rss" -v n="$accepted" -v b="$1" -v k="${2:-0}" \
		'BEGIN { printf "%s %.0f %.1f %.2f %d %.2f %.2f\n", t, s, p, c, r, b / n, k / n }' >>"$work/$mode"
}

live_vm() {
	local dir="$work/vm" url="http://127.0.0.1:$((port + 28))"
	rm -rf "$dir"
	start "$work/vm.log" "$url/health" victoria-metrics -storageDataPath="$dir" -httpListenAddr="127.0.0.1:$((port + 28))" -retentionPeriod=100y
	live_load victoria-metrics "$url" ""
	stop
	live_row "$(du -sb "$dir" | cut -f1)"
}

live_prometheus() {
	local dir="$work/prom" url="http://127.0.0.1:$((port + 90))"
	rm -rf "$dir"
	printf 'global:\n  scrape_interval: 1h\n' >"$work/prometheus.yml"
	start "$work/prom.log" "$url/-/ready" prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$dir" \
		--web.listen-address="127.0.0.1:$((port + 90))" --web.enable-remote-write-receiver
	live_load prometheus "$url" ""
	stop
	live_row "$(du -sb "$dir" | cut -f1)"
}

live_atroz() {
	local dir="$work/data" url="http://127.0.0.1:$((port + 80))" token bytes
	rm -rf "$dir"
	token="$(DATA_DIR="$dir" "$work/atroz" token create -scope ingest bench 2>/dev/null)"
	start "$work/atroz.log" "$url/health" env DATA_DIR="$dir" LISTEN_ADDR="127.0.0.1:$((port + 80))" ENVIRONMENT=development \
		RATE_LIMIT_INGEST_TOKEN_PER_MINUTE=100000000 RATE_LIMIT_INGEST_PER_MINUTE=100000000 "$work/atroz" serve
	live_load atroz "$url" "$token"
	stop
	bytes="$(du -sb "$dir" | cut -f1)"
	"$work/atroz" db compact -data-dir "$dir" >"$work/out" 2>&1 || {
		cat "$work/out" >&2
		exit 1
	}
	live_row "$bytes" "$(du -sb "$dir" | cut -f1)"
}

# forward_dest starts the VictoriaMetrics the forwarders write to, as $dest,
# on an empty directory.
forward_dest() {
	local dir="$work/vm-dest"
	dest_url="http://127.0.0.1:$((port + 38))"
	rm -rf "$dir"
	start "$work/vm-dest.log" "$dest_url/health" victoria-metrics -storageDataPath="$dir" -httpListenAddr="127.0.0.1:$((port + 38))" -retentionPeriod=100y
	dest="$server" server=""
}

# forward_row NAME TOKEN runs the live load against the forwarder $server
# at URL $2's port, waits for the destination to hold what it acknowledged,
# and appends "tool samples/s p99_ms cpu_s_per_M rss_mib drain_s" to
# $work/forward.
forward_row() {
	local name="$1" url="$2" token="$3" base got tool sps p99 cpm rss accepted rejected t0 t1
	base="$(vm_rows "$dest_url")"
	live_load "$name" "$url" "$token"
	t0="$(now)"
	read -r tool sps p99 cpm rss accepted rejected <"$work/live.row"
	for _ in $(seq 1200); do
		got=$(($(vm_rows "$dest_url") - base))
		if ((got >= accepted)); then break; fi
		sleep 0.1
	done
	t1="$(now)"
	if ((got < accepted)); then
		echo "bench-peers: $name forwarded $got of $accepted samples in 120 s" >&2
		exit 1
	fi
	stop
	awk -v t="$tool" -v s="$sps" -v p="$p99" -v c="$cpm" -v r="$rss" -v a="$t0" -v b="$t1" \
		'BEGIN { printf "%s %.0f %.1f %.2f %d %.2f\n", t, s, p, c, r, b - a }' >>"$work/forward"
}

forward_vmagent() {
	local url="http://127.0.0.1:$((port + 39))"
	rm -rf "$work/vmagent"
	start "$work/vmagent.log" "$url/health" vmagent -httpListenAddr="127.0.0.1:$((port + 39))" \
		-remoteWrite.url="$dest_url/api/v1/write" -remoteWrite.tmpDataPath="$work/vmagent"
	forward_row vmagent "$url" ""
}

forward_atroz() {
	local dir="$work/data-fwd" url="http://127.0.0.1:$((port + 81))" token
	rm -rf "$dir"
	token="$(DATA_DIR="$dir" "$work/atroz" token create -scope ingest bench 2>/dev/null)"
	start "$work/atroz-fwd.log" "$url/health" env DATA_DIR="$dir" LISTEN_ADDR="127.0.0.1:$((port + 81))" ENVIRONMENT=development \
		RATE_LIMIT_INGEST_TOKEN_PER_MINUTE=100000000 RATE_LIMIT_INGEST_PER_MINUTE=100000000 \
		REMOTE_WRITE_URL="$dest_url/api/v1/write" "$work/atroz" serve
	forward_row atroz "$url" "$token"
}

# table FILE HEADER COLUMNS... prints FILE's medians per tool as a Markdown
# table; a column given as name:x also gets its ratio to the base tool's,
# $base (VictoriaMetrics unless set).
table() {
	local file="$1" header="$2"
	shift 2
	echo "$header"
	awk -v cols="$*" -v base_tool="${base:-victoria-metrics}" '
		function median(tool, c,   n, i, j, v, t) {
			n = 0
			for (i = 1; i <= rows[tool]; i++) v[++n] = val[tool, i, c]
			for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
			return v[int((n + 1) / 2)]
		}
		{ rows[$1]++; for (c = 2; c <= NF; c++) val[$1, rows[$1], c] = $c }
		END {
			ncol = split(cols, col, " ")
			no = split("victoria-metrics vmagent promtool prometheus atroz", order, " ")
			for (o = 1; o <= no; o++) {
				tool = order[o]
				if (!(tool in rows)) continue
				line = "| " tool
				for (c = 1; c <= ncol; c++) {
					m = median(tool, c + 1)
					if (col[c] == "compacted" && m == 0) m = "–"
					line = line " | " m
					if (col[c] ~ /:x$/) {
						base = median(base_tool, c + 1)
						line = line sprintf(" (%.2f×)", base == 0 ? 0 : m / base)
					}
				}
				print line " |"
			}
		}' "$file"
}

echo "$(dpkg-query -W -f 'victoria-metrics ${Version}' victoria-metrics 2>/dev/null || echo victoria-metrics); $(promtool --version 2>&1 | head -1)"
if [[ " $parts " == *" import "* ]]; then
	go run ./scripts/genopenmetrics -routes "$routes" -step "$step" -duration "$duration" -o "$work/bench.om"
	samples="$(grep -vc '^#' "$work/bench.om")"
	echo "file: $(du -h "$work/bench.om" | cut -f1), $samples samples"
fi
# run_rounds PREFIX TOOLS... runs the two or three steps of a part ROUNDS
# times, each round in another order: TOOLS name them without their
# part's prefix.
run_rounds() {
	local prefix="$1" a="$2" b="$3" c="${4:-}"
	orders=("$a $b $c" "$c $a $b" "$b $c $a")
	for round in $(seq "$rounds"); do
		for tool in ${orders[$(((round - 1) % 3))]}; do
			"${prefix}_$tool"
		done
		echo "$mode round $round done" >&2
	done
}

# live_table TITLE prints the rows of $work/$mode.
live_table() {
	echo
	echo "$1, medians of $rounds rounds (ratio to VictoriaMetrics):"
	echo
	table "$work/$mode" "| | samples/s | p99 ms | CPU s per 1 M samples | peak RSS MiB | bytes/sample after the run | after db compact |
|---|---|---|---|---|---|---|" "samples:x" "p99:x" "cpu:x" "rss:x" "bytes:x" "compacted"
}

for part in $parts; do
	case "$part" in
	import)
		mode=import
		run_rounds import vm promtool atroz
		echo
		echo "Import of $samples samples, medians of $rounds rounds (ratio to VictoriaMetrics):"
		echo
		table "$work/import" "| | samples/s | CPU s | bytes/sample on disk | peak RSS MiB |
|---|---|---|---|---|" "samples:x" "cpu:x" "bytes:x" "rss:x"
		;;
	live)
		mode=live load_flags=(-senders "$senders")
		run_rounds live vm prometheus atroz
		live_table "Live remote write, $series series, $batch-sample requests, $senders senders, $live_duration"
		;;
	paced)
		mode=paced load_flags=(-rate "$((paced_rate / batch))")
		run_rounds live vm prometheus atroz
		live_table "Paced remote write, $paced_rate samples/s in $batch-sample requests over $series series, $live_duration"
		;;
	forward)
		mode=forward load_flags=(-senders "$senders")
		forward_dest
		run_rounds forward vmagent atroz
		kill "$dest" && wait "$dest" || true
		dest=""
		echo
		echo "Forwarding to VictoriaMetrics, $series series, $batch-sample requests, $senders senders, $live_duration, medians of $rounds rounds (ratio to vmagent):"
		echo
		base=vmagent table "$work/forward" "| | samples/s | p99 ms | CPU s per 1 M samples | peak RSS MiB | drain s |
|---|---|---|---|---|---|" "samples:x" "p99:x" "cpu:x" "rss:x" "drain:x"
		;;
	*)
		echo "bench-peers: unknown part $part in PARTS (import, live, paced, forward)" >&2
		exit 2
		;;
	esac
done
