#!/usr/bin/env bash
# CI: a real browser renders the run reports. Installs Debian's chromium when
# missing, writes run reports (HTML) with `sim run --format json -o` and
# `sim report`, renders each headless to a PNG and fails on a blank page
# (cmd/pngcheck counts the PNG's colours) or a console error.
# With --pictures, copies the screenshots and the timeline SVG to
# docs/outputs/ (docs/outputs.md shows them).
set -euo pipefail
cd "$(dirname "$0")/.."
pictures=false
[ "${1:-}" = "--pictures" ] && pictures=true

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
	apt-get update -qq && apt-get install -y -qq chromium >/dev/null
	browser=$(command -v chromium)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/sim" ./cmd/sim
go build -o "$work/pngcheck" ./cmd/pngcheck

passed=0 failed=0
check() { # name, page
	local name=$1 page=$2 shot="$work/$1.png" log="$work/$1.log"
	timeout 60 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--enable-logging=stderr --v=0 --window-size=1280,2400 \
		--screenshot="$shot" "file://$page" >"$log" 2>&1 || true
	if ! "$work/pngcheck" "$shot"; then
		echo "FAIL $name: blank or missing screenshot"; failed=$((failed + 1)); return
	fi
	if grep -E "Uncaught|ERROR:CONSOLE|Not allowed to load|net::ERR_FILE_NOT_FOUND" "$log"; then
		echo "FAIL $name: console error"; failed=$((failed + 1)); return
	fi
	echo "ok   $name"; passed=$((passed + 1))
	if $pictures; then
		mkdir -p docs/outputs
		cp "$shot" "docs/outputs/$name.png"
	fi
}

# The default scenario with its timeline (192 micro-batches, 16 stages).
"$work/sim" run --timeline --format json -o "$work/default.json"
"$work/sim" report "$work/default.json" --format html -o "$work/default" >/dev/null
check run-default "$work/default/report.html"

# A small interleaved pipeline: 4 stages, 2 chunks each, 8 micro-batches.
"$work/sim" run --timeline --format json -o "$work/interleaved.json" \
	--set parallelism.pp=4 --set parallelism.schedule=interleaved --set parallelism.virtual_stages=2 \
	--set parallelism.zero=1 --set training.global_batch=256 --set parallelism.dp=32
"$work/sim" report "$work/interleaved.json" --format html -o "$work/interleaved" >/dev/null
check run-interleaved "$work/interleaved/report.html"

# A run report without a timeline (the plain `sim run --format json`).
"$work/sim" run --format json -o "$work/plain.json"
"$work/sim" report "$work/plain.json" --format html -o "$work/plain" >/dev/null
check run-plain "$work/plain/report.html"

if $pictures; then
	cp "$work/interleaved/timeline.png" docs/outputs/timeline-interleaved.png
	cp "$work/interleaved/timeline.svg" docs/outputs/timeline-interleaved.svg
	cp "$work/default/stages.png" docs/outputs/stages-default.png
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
