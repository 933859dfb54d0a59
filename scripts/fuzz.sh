#!/usr/bin/env bash
# Runs every Fuzz* target of the module for FUZZTIME (default 60s) each, and
# fails at the end if any target failed. A failing input is saved under the
# package's testdata/fuzz/ by go test, and then replays in every go test run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fuzztime="${FUZZTIME:-60s}"
failed=()
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "== $pkg $target ($fuzztime)"
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg" || failed+=("$pkg.$target")
	done
done
if ((${#failed[@]} > 0)); then
	echo "failed: ${failed[*]}" >&2
	exit 1
fi
