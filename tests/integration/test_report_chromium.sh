#!/usr/bin/env bash
# adx report of a small real audit, opened in headless Chromium (Debian's chromium).
#   1. audit 8 Fashion-MNIST test images in ad, fill:zero and fill:mean (cheap explainer settings);
#   2. adx report -o a nested folder (created where asked); the page is loaded in headless Chromium with a
#      small checker script appended to a copy (the shipped page has no script): every <img> must load
#      (naturalWidth > 0), the headline table must have one row per mode, and the browser log must hold no
#      console message; a negative control (a copy with one broken picture) must be caught;
#   3. a screenshot of the page goes to build/test-out/report/report.png (look at it);
#   4. scripts/check_report.py recomputes every headline number from the results file with h5py, and
#      checks that `adx summary` prints the same cells;
#   5. an unfinished file (a copy whose done flags are 0 after the third image, finished = 0): the page
#      and the terminal say "unfinished: 3 of 8 images done" and their numbers cover those 3 images;
#   5b. a real run: reported while it is still writing, and again after SIGKILL (banner and numbers);
#   6. adx show writes a panel; bad input (missing, non-HDF5 or non-adx file, an output folder below a
#      file, an image out of range, an unknown mode) exits 2 with one line naming the culprit.
# Installs chromium with scripts/install-deps.sh --with-report-test when it is missing. If that is
# impossible it fails with the reason under make check or in CI, and elsewhere prints "SKIP: ..." and exits
# 0 (lib.sh cannot_run); the numbers alone are checked without a browser by test_report_numbers.sh.
# About a minute on 2 cores.
# shellcheck disable=SC2015 # `check && ok ... || bad ...`: ok always succeeds
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
ADX=${ADX:-$ROOT/bin/adx}
case "$ADX" in /*) ;; *) ADX=$ROOT/$ADX ;; esac
DATA=${ADX_TEST_DATA:-$ROOT/tests/data}
MODEL=$DATA/fashion_resnet.onnx
IMAGES=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
OUT=$ROOT/build/test-out/report
PY=/usr/bin/python3
export OMP_WAIT_POLICY=passive OMP_NUM_THREADS=1

# ---------------------------------------------------------------- prerequisites
if [ ! -x "$ADX" ] || ! "$ADX" report --help >/dev/null 2>&1; then
  cannot_run "adx report not built or its --help fails ($ADX; run make)"
fi
if ! command -v chromium >/dev/null 2>&1; then
  echo "chromium not installed: running scripts/install-deps.sh --with-report-test"
  if ! scripts/install-deps.sh --with-report-test >/tmp/adx-install-chromium.log 2>&1 ||
    ! command -v chromium >/dev/null 2>&1; then
    cannot_run "chromium is not installed and could not be installed (see /tmp/adx-install-chromium.log)"
  fi
fi
for f in "$MODEL" "$IMAGES"; do
  if [ ! -f "$f" ]; then
    echo "missing input $f (make fixtures; scripts/install-deps.sh)"
    exit 1
  fi
done
rm -rf "$OUT"
mkdir -p "$OUT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Load PAGE in headless Chromium with the checker appended; prints the checker's verdict line, and leaves
# the browser log in $tmp/chromium.log.
browse() {
  local page=$1 check
  check=$(dirname "$page")/adx-check.html
  {
    sed 's|</body>||; s|</html>||' "$page"
    cat <<'EOF'
<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  var rows = document.querySelectorAll('#headline tbody tr');
  var modes = Array.prototype.map.call(rows, function (r) { return r.getAttribute('data-mode'); });
  var v = document.createElement('pre');
  v.id = 'adx-verdict';
  v.textContent = 'ADX-VERDICT images=' + imgs.length + ' broken=' + broken.length + ' rows=' + rows.length +
    ' modes=' + modes.join(',') + ' broken_src=' + broken.map(function (i) { return i.getAttribute('src'); }).join(',');
  document.body.appendChild(v);
});
</script>
</body>
</html>
EOF
  } >"$check"
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --disable-background-networking --no-first-run --virtual-time-budget=10000 \
    --enable-logging=stderr --v=0 --dump-dom "file://$check" >"$tmp/dom.html" 2>"$tmp/chromium.log"
  rm -f "$check"
  grep -o 'id="adx-verdict">ADX-VERDICT[^<]*' "$tmp/dom.html" | sed 's/^id="adx-verdict">//'
}

field() { # field NAME VERDICT
  echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# ---------------------------------------------------------------- 1. a small audit
R=$OUT/results.h5
if "$ADX" explain --model "$MODEL" --data "$IMAGES" --scale 1/255 --mean 0.2860 --std 0.3530 --limit 8 \
  --modes ad,fill:zero,fill:mean --iters 10 --backgrounds 20 --k-colour 10 --k-context 10 --progress off \
  --force -o "$R" >"$tmp/explain.log" 2>&1; then
  ok "audit of 8 images"
else
  bad "adx explain failed: $(tail -3 "$tmp/explain.log")"
  exit 1
fi

# ---------------------------------------------------------------- 2. report, browser
HTML=$OUT/html/nested
if "$ADX" report "$R" -o "$HTML" >"$tmp/report.log" 2>&1 && [ -f "$HTML/index.html" ]; then
  ok "adx report wrote $HTML/index.html (nested folder created)"
else
  bad "adx report: $(cat "$tmp/report.log")"
  exit 1
fi
v=$(browse "$HTML/index.html")
echo "     $v"
nimg=$(field images "$v")
[ -n "$v" ] && [ "${nimg:-0}" -gt 20 ] && ok "Chromium loaded the page ($nimg pictures)" ||
  bad "no verdict from Chromium (log: $(grep -v dbus "$tmp/chromium.log" | tail -3))"
[ "$(field broken "$v")" = 0 ] && ok "every picture loads (naturalWidth > 0)" ||
  bad "broken pictures: $(field broken_src "$v")"
[ "$(field rows "$v")" = 3 ] && [ "$(field modes "$v")" = "ad,fill:zero,fill:mean" ] &&
  ok "headline table: one row per mode" || bad "headline rows: $v"
if grep -q ':CONSOLE' "$tmp/chromium.log"; then
  bad "console messages: $(grep ':CONSOLE' "$tmp/chromium.log" | head -3)"
else
  ok "no console message"
fi
cp "$HTML/index.html" "$tmp/control.html"
mkdir -p "$tmp/img"
cp "$HTML"/img/*.png "$tmp/img/"
rm -f "$tmp/img/colorbar.png"
v=$(browse "$tmp/control.html")
[ "$(field broken "$v")" = 1 ] && ok "negative control: a missing picture is caught" ||
  bad "negative control not caught: $v"
grep -Eq '(src|href)="(/|[a-z]+:)' "$HTML/index.html" && bad "absolute or external link in the page" ||
  ok "only relative links"
# every picture name is made of numbers (never of a mode name)
ls "$HTML/img" | grep -Evq '^(colorbar|r[0-9]+_(image|m[0-9]+_(heat|expl)))\.png$' &&
  bad "unexpected file names: $(ls "$HTML/img" | grep -Ev '^(colorbar|r[0-9]+_)' | head -3)" ||
  ok "picture names: colorbar.png and r<row>_..."

# ---------------------------------------------------------------- 3. screenshot
timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-background-networking \
  --no-first-run --hide-scrollbars --virtual-time-budget=10000 --window-size=1400,7000 \
  --screenshot="$OUT/report.png" "file://$HTML/index.html" >/dev/null 2>&1
[ -s "$OUT/report.png" ] && ok "screenshot $OUT/report.png" || bad "no screenshot"

# ---------------------------------------------------------------- 4. numbers, against h5py
"$ADX" summary "$R" >"$OUT/summary.txt" 2>&1
if "$PY" scripts/check_report.py "$R" "$HTML/index.html" "$OUT/summary.txt" >"$tmp/check.log" 2>&1; then
  ok "$(cat "$tmp/check.log")"
else
  bad "headline numbers: $(cat "$tmp/check.log")"
fi

# ---------------------------------------------------------------- 5. unfinished file
P=$OUT/partial.h5
cp "$R" "$P"
"$PY" - "$P" <<'EOF'
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    d = f["images/done"]
    d[3:] = 0
    f.attrs.modify("finished", np.int32(0))
    f.attrs.modify("wall_seconds", np.nan)  # as a killed run leaves them: no finish ran
    f.attrs.modify("finished_at", np.bytes_(b""))
EOF
if "$ADX" report "$P" -o "$OUT/html/partial" >/dev/null 2>&1 &&
  grep -q "unfinished: 3 of 8 images done" "$OUT/html/partial/index.html"; then
  ok "unfinished file: the page says 'unfinished: 3 of 8 images done'"
else
  bad "unfinished file: no banner"
fi
"$ADX" summary "$P" >"$OUT/summary-partial.txt" 2>&1
if "$PY" scripts/check_report.py "$P" "$OUT/html/partial/index.html" "$OUT/summary-partial.txt" \
  >"$tmp/check.log" 2>&1; then
  ok "unfinished file: $(cat "$tmp/check.log")"
else
  bad "unfinished file numbers: $(cat "$tmp/check.log")"
fi
grep -q 'wall time</th><td>unknown (the run has not finished)' "$OUT/html/partial/index.html" &&
  ok "unfinished file: wall time unknown" || bad "unfinished file: wall time not 'unknown'"
grep -q 'wall time</th><td>[0-9.]* s (the session that finished the file' "$HTML/index.html" &&
  ok "finished file: wall time recorded" || bad "finished file: no wall time"
grep -Eq 'img/r[3-7]_' "$OUT/html/partial/index.html" && bad "a gallery shows an image not done" ||
  ok "unfinished file: galleries hold only images done"
v=$(browse "$OUT/html/partial/index.html")
[ "$(field broken "$v")" = 0 ] && [ "$(field rows "$v")" = 3 ] && ok "unfinished file: page loads in Chromium" ||
  bad "unfinished page: $v"

# ---------------------------------------------------------------- 5b. a run still going, then killed
# A real run: report on its file while it is being written, then SIGKILL it and report again. Each time
# the page must say "unfinished: D of 40" with D the done flags h5py counts in the file at that moment.
L=$OUT/live.h5
"$ADX" explain --model "$MODEL" --data "$IMAGES" --scale 1/255 --mean 0.2860 --std 0.3530 --limit 40 \
  --modes ad,fill:zero --iters 4 --backgrounds 4 --k-colour 4 --k-context 4 --progress off --force \
  -o "$L" >"$tmp/live.log" 2>&1 &
live=$!
ndone() { "$PY" -c 'import sys, h5py; print(int(h5py.File(sys.argv[1], "r")["images/done"][:].sum()))' "$1" 2>/dev/null; }
for _ in $(seq 1 600); do # up to 60 s for the first images
  d=$(ndone "$L")
  [ "${d:-0}" -ge 2 ] && break
  sleep 0.1
done
kill -STOP "$live" 2>/dev/null # hold it still, so that the count checked is the count reported
d=$(ndone "$L")
if "$ADX" report "$L" -o "$OUT/html/live" >/dev/null 2>&1 &&
  grep -q "unfinished: $d of 40 images done" "$OUT/html/live/index.html" && [ "${d:-0}" -lt 40 ]; then
  ok "run still going: the page says 'unfinished: $d of 40 images done'"
else
  bad "run still going: no matching banner (h5py counts ${d:-?} done)"
fi
kill -CONT "$live" 2>/dev/null
sleep 1
kill -KILL "$live" 2>/dev/null
wait "$live" 2>/dev/null
d=$(ndone "$L")
if "$ADX" report "$L" -o "$OUT/html/killed" >/dev/null 2>&1 &&
  grep -q "unfinished: $d of 40 images done" "$OUT/html/killed/index.html"; then
  ok "killed run: the page says 'unfinished: $d of 40 images done'"
else
  bad "killed run: no matching banner (h5py counts ${d:-?} done)"
fi
"$ADX" summary "$L" >"$OUT/summary-killed.txt" 2>&1
if "$PY" scripts/check_report.py "$L" "$OUT/html/killed/index.html" "$OUT/summary-killed.txt" \
  >"$tmp/check.log" 2>&1; then
  ok "killed run: $(cat "$tmp/check.log")"
else
  bad "killed run numbers: $(cat "$tmp/check.log")"
fi

# ---------------------------------------------------------------- 6. show, bad input
"$ADX" show "$R" --image 2 -o "$OUT/panel.png" >"$tmp/show.log" 2>&1 && [ -s "$OUT/panel.png" ] &&
  ok "adx show: $(head -c 120 "$tmp/show.log")..." || bad "adx show: $(cat "$tmp/show.log")"
"$ADX" show "$R" --image 2 --mode fill:zero -o "$OUT/panel-zero.png" >/dev/null 2>&1 && ok "adx show --mode" ||
  bad "adx show --mode fill:zero"
echo "not hdf5" >"$tmp/junk.h5"
"$PY" -c "import h5py; h5py.File('$tmp/other.h5', 'w').attrs['x'] = 1"
expect2() { # expect2 WHAT WORD CMD...: exit 2, one line on stderr containing WORD
  local what=$1 word=$2
  shift 2
  "$@" >/dev/null 2>"$tmp/err"
  local rc=$?
  if [ "$rc" = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -qF -- "$word" "$tmp/err"; then
    ok "$what: exit 2, $(cat "$tmp/err")"
  else
    bad "$what: exit $rc, $(cat "$tmp/err")"
  fi
}
expect2 "missing file" "nope.h5" "$ADX" report "$tmp/nope.h5" -o "$tmp/o1"
expect2 "not HDF5" "junk.h5" "$ADX" report "$tmp/junk.h5" -o "$tmp/o2"
expect2 "not an adx file" "other.h5" "$ADX" summary "$tmp/other.h5"
expect2 "output below a file" "junk.h5" "$ADX" report "$R" -o "$tmp/junk.h5/sub"
expect2 "image out of range" "--image 8" "$ADX" show "$R" --image 8 -o "$tmp/x.png"
expect2 "unknown mode" "fill:nope" "$ADX" show "$R" --image 0 --mode fill:nope -o "$tmp/x.png"
expect2 "show missing file" "nope.h5" "$ADX" show "$tmp/nope.h5" --image 0 -o "$tmp/x.png"
[ ! -e "$tmp/o1" ] && [ ! -e "$tmp/o2" ] && ok "no output folder made for bad input" || bad "output made for bad input"

finish "(screenshot: $OUT/report.png)"
