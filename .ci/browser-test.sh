#!/usr/bin/env bash
# .ci/browser-test.sh: a real browser renders the reports of `sim report`.
#
# Installs Debian's chromium when missing (apt-get, as root), writes the HTML
# reports of three runs (the default with its pipeline timeline, a small
# interleaved pipeline, a run without a timeline) and of a sweep
# (sweep/testdata/example.toml, 54 points), renders each headless to a PNG
# and its DOM, and fails on
#   - a blank page: cmd/pngcheck finds too few colours in the screenshot;
#   - a console error, an uncaught exception or a resource that did not load
#     (an image of the report missing): a probe script injected at the top of
#     a copy of the page records them into an element of the DOM, which
#     --dump-dom prints; chromium's own log is searched too;
#   - a figure that did not decode (an <img> with naturalWidth 0).
# Before that it checks that the checks can fail: a page with a console error
# and a missing image must be caught, and a white page must be found blank.
#
# With --pictures it also writes the pictures docs/outputs.md shows to
# docs/outputs/ (screenshots of the two reports, the charts' PNGs and the
# timeline's SVG). Prints "N passed, N failed"; exits 1 on any failure.
# Takes about a minute on 2 cores once chromium is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
pictures=false
[ "${1:-}" = "--pictures" ] && pictures=true
say() { printf 'browser-test: %s\n' "$*"; }

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
	[ "$(id -u)" = 0 ] || {
		say "error: chromium is missing and installing it needs root"
		exit 1
	}
	say "apt-get install chromium"
	export DEBIAN_FRONTEND=noninteractive
	timeout 300 apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed; trying the lists there are"
	if ! timeout 600 apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/tmp/browser-test-apt.log 2>&1; then
		tail -n 5 /tmp/browser-test-apt.log
		say "error: apt-get install chromium failed"
		exit 1
	fi
	browser=$(command -v chromium)
	say "installed $("$browser" --version 2>/dev/null | head -n 1) in $((SECONDS - START)) s"
fi

work=$(mktemp -d /tmp/trainsim-browser.XXXXXX)
trap 'rm -rf "$work"' EXIT
go build -o "$work/sim" ./cmd/sim
go build -o "$work/pngcheck" ./cmd/pngcheck

# The probe: records console.error, uncaught errors, unhandled rejections and
# resources that fail to load, and after load every image that did not
# decode, into <pre id="browsercheck"> (created on the first problem).
cat >"$work/probe.html" <<'EOF'
<script>(function () {
  var errs = [];
  function rec(m) {
    errs.push(String(m));
    var d = document.getElementById("browsercheck");
    if (!d && document.body) { d = document.createElement("pre"); d.id = "browsercheck"; document.body.appendChild(d); }
    if (d) d.textContent = errs.join("\n");
  }
  var ce = console.error;
  console.error = function () { rec("console.error: " + Array.prototype.join.call(arguments, " ")); ce.apply(console, arguments); };
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) rec("failed to load " + (t.src || t.href));
    else rec("uncaught: " + e.message);
  }, true);
  window.addEventListener("unhandledrejection", function (e) { rec("unhandled rejection: " + e.reason); });
  window.addEventListener("load", function () {
    if (errs.length) rec("");
    var imgs = document.images;
    for (var i = 0; i < imgs.length; i++) if (!imgs[i].complete || imgs[i].naturalWidth === 0) rec("image did not decode: " + imgs[i].getAttribute("src"));
  });
})();</script>
EOF

passed=0 failed=0
# render PAGE SHOT [WIDTH HEIGHT]: screenshot and DOM of PAGE with the probe
# first in its <head>, in a copy beside it (so that its relative images
# resolve; before <!DOCTYPE> it would put the page in quirks mode).
render() {
	local page=$1 shot=$2 w=${3:-1280} h=${4:-2400}
	local probed
	probed="$(dirname "$page")/.probed-$(basename "$page")"
	grep -q '<head>' "$page" || {
		echo "no <head> in $page"
		return 1
	}
	sed "0,/<head>/{/<head>/r $work/probe.html
}" "$page" >"$probed"
	timeout 90 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
		--user-data-dir="$work/profile" --enable-logging=stderr --v=0 --virtual-time-budget=10000 \
		--window-size="$w,$h" --screenshot="$shot" --dump-dom "file://$probed" \
		>"$shot.dom" 2>"$shot.log" || true
	rm -f "$probed"
}
# problems SHOT: what the probe and chromium's log recorded, if anything.
problems() {
	local shot=$1
	sed -n '/<pre id="browsercheck">/,/<\/pre>/p' "$shot.dom"
	grep -E 'Uncaught|:CONSOLE\(|ERROR:CONSOLE|net::ERR_FILE_NOT_FOUND|Not allowed to load' "$shot.log" || true
	[ -s "$shot.dom" ] || echo "no DOM came back (chromium failed?): $(tail -n 3 "$shot.log")"
}
check() { # name page
	local name=$1 page=$2 shot="$work/$1.png"
	render "$page" "$shot"
	if ! "$work/pngcheck" "$shot" >"$shot.check" 2>&1; then
		say "FAIL  $name: blank or missing screenshot: $(cat "$shot.check")"
		failed=$((failed + 1))
		return
	fi
	local p
	p=$(problems "$shot")
	if [ -n "$p" ]; then
		say "FAIL  $name: $p"
		failed=$((failed + 1))
		return
	fi
	say "ok    $name ($(cat "$shot.check"))"
	passed=$((passed + 1))
}

# The checks must be able to fail.
mkdir -p "$work/neg"
printf '<!DOCTYPE html>\n<html>\n<head>\n</head>\n<body><h1>x</h1><img src="missing.png"><script>console.error("boom")</script></body></html>\n' >"$work/neg/bad.html"
render "$work/neg/bad.html" "$work/neg/bad.png" 400 300
p=$(problems "$work/neg/bad.png")
if [[ $p == *boom* && $p == *missing.png* ]]; then
	say "ok    a console error and a missing image are caught"
	passed=$((passed + 1))
else
	say "FAIL  the probe missed a console error or a missing image: ${p:-nothing recorded}"
	failed=$((failed + 1))
fi
printf '<!DOCTYPE html>\n<html>\n<head>\n</head>\n<body></body></html>\n' >"$work/neg/blank.html"
render "$work/neg/blank.html" "$work/neg/blank.png" 400 300
if [ -s "$work/neg/blank.png" ] && ! "$work/pngcheck" "$work/neg/blank.png" >/dev/null 2>&1; then
	say "ok    a blank page is found blank"
	passed=$((passed + 1))
else
	say "FAIL  a blank page was not found blank (or no screenshot was written)"
	failed=$((failed + 1))
fi

sim=$work/sim
# The default scenario with its timeline (192 micro-batches, 16 stages).
"$sim" run --timeline --format json -o "$work/default.json"
"$sim" report "$work/default.json" --format html -o "$work/default" >/dev/null
check run-default "$work/default/report.html"
grep -q 'src="timeline.png"' "$work/default/report.html" || {
	say "FAIL  the default's report has no pipeline timeline"
	failed=$((failed + 1))
}

# A small interleaved pipeline: 4 stages of 2 chunks, 8 micro-batches.
"$sim" run cmd/sim/testdata/tiny-interleaved.toml --timeline --format json -o "$work/interleaved.json"
"$sim" report "$work/interleaved.json" --format html -o "$work/interleaved" >/dev/null
check run-interleaved "$work/interleaved/report.html"

# A run report without a timeline (the plain `sim run --format json`).
"$sim" run --format json --set parallelism.pp=8 --set parallelism.dp=16 -o "$work/plain.json"
"$sim" report "$work/plain.json" --format html -o "$work/plain" >/dev/null
check run-plain "$work/plain/report.html"

# A sweep: 54 layouts of GPT-3 13B (tp × pp × nodes × recompute).
"$sim" sweep sweep/testdata/example.toml --out "$work/sweep" --workers 2 >/dev/null 2>&1
"$sim" report "$work/sweep" --format html -o "$work/sweep-report" >/dev/null
check sweep "$work/sweep-report/report.html"

# The charts docs/outputs.md shows are drawn by gonum/plot, byte for byte the
# same for the same results: say (without failing: a change to the model
# legitimately moves them) when they no longer match, so that they are
# regenerated with --pictures.
stale=""
for pair in timeline-default.png:default/timeline.png stages-default.png:default/stages.png \
	timeline-interleaved.svg:interleaved/timeline.svg sweep-tp-pp.png:sweep-report/tp-pp.png; do
	doc=docs/outputs/${pair%%:*} new=$work/${pair#*:}
	[ -f "$doc" ] && cmp -s "$doc" "$new" || stale="$stale ${pair%%:*}"
done
[ -z "$stale" ] || say "note: docs/outputs is stale ($stale ); run bash .ci/browser-test.sh --pictures"

if $pictures; then
	out=docs/outputs
	mkdir -p "$out"
	# Screenshots of the tops of the pages, at a width that reads on GitHub.
	render "$work/default/report.html" "$out/report-run.png" 1000 1400
	render "$work/sweep-report/report.html" "$out/report-sweep.png" 1000 1400
	rm -f "$out"/*.dom "$out"/*.log
	cp "$work/default/timeline.png" "$out/timeline-default.png"
	cp "$work/default/stages.png" "$out/stages-default.png"
	cp "$work/default/step.png" "$out/step-default.png"
	cp "$work/interleaved/timeline.png" "$out/timeline-interleaved.png"
	cp "$work/interleaved/timeline.svg" "$out/timeline-interleaved.svg"
	for f in step-vs-gpus scaling scaling-efficiency tp-pp best-parallelism-tp pareto; do
		cp "$work/sweep-report/$f.png" "$out/sweep-$f.png"
	done
	say "pictures written to $out: $(du -sh "$out" | cut -f1)"
fi

say "took $((SECONDS - START)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
