#!/usr/bin/env bash
# Crash test for `satx predict -resume` (docs/predict.md, "Fault tolerance").
#
# Scores a folder of tiles three ways and compares:
#   reference: one uninterrupted run;
#   crashed:   a run SIGKILLed a third of the way, resumed and SIGKILLed again two thirds of
#              the way, then resumed to the end.
# Passes when every tile appears exactly once, every line is a complete record, the rows equal
# the reference run's byte for byte, and exactly the corrupt tiles mixed in are listed, once
# each, in <output>.errors.
#
# usage: bench/predict_crash_test.sh [path/to/satx]
# env:   SATX_CRASH_TILES   tiles to score (default 20000; CI can use e.g. 2000)
#        SATX_CRASH_CORRUPT corrupt files mixed in (default 20)
#        SATX_CRASH_SOURCE  folder of tiles to replicate (default ../shared/data/eurosat/test,
#                           else random PNGs are generated)
#        PYTHON             a python3 with torch and torchvision (for the model file)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
satx="${1:-$root/build/satx}"
tiles_wanted="${SATX_CRASH_TILES:-20000}"
corrupt_wanted="${SATX_CRASH_CORRUPT:-20}"
source_dir="${SATX_CRASH_SOURCE:-$root/../shared/data/eurosat/test}"
[[ -x "$satx" ]] || { echo "satx binary not found at $satx (pass its path)" >&2; exit 2; }
source "$here/lib.sh"
require_python "torch, torchvision" "set PYTHON"

work="$(mktemp -d "${TMPDIR:-/tmp}/satx-crash-XXXXXX")"
trap 'rm -rf "$work"' EXIT
tiles="$work/tiles"

# Tiles: links to real tiles when a source folder exists (cheap), else generated PNGs.
"$python" - "$tiles" "$tiles_wanted" "$corrupt_wanted" "$source_dir" "$work/corrupt.txt" <<'PY'
import os, random, sys
tiles, wanted, corrupt, source, corrupt_list = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
files = []
if os.path.isdir(source):
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(source) for f in fs if f.lower().endswith((".jpg", ".png", ".tif")))
if files:
    for i in range(wanted):
        folder = os.path.join(tiles, "d%03d" % (i % 100))
        os.makedirs(folder, exist_ok=True)
        src = files[i % len(files)]
        os.symlink(os.path.abspath(src), os.path.join(folder, "t%06d%s" % (i, os.path.splitext(src)[1])))
else:
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(1)
    for i in range(wanted):
        folder = os.path.join(tiles, "d%03d" % (i % 100))
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(os.path.join(folder, "t%06d.png" % i))
random.seed(2)
good = next(os.path.join(d, f) for d, _, fs in os.walk(tiles) for f in sorted(fs))
data = open(good, "rb").read()
with open(corrupt_list, "w") as out:
    for i in range(corrupt):
        path = os.path.join(tiles, "d%03d" % (i * 7 % 100), "corrupt%02d.jpg" % i)
        kind = i % 3
        with open(path, "wb") as f:
            if kind == 1: f.write(b"not an image at all")
            if kind == 2: f.write(data[: len(data) // 3])
        out.write(path + "\n")
PY
classes="AnnualCrop,Forest,HerbaceousVegetation,Highway,Industrial,Pasture,PermanentCrop,Residential,River,SeaLake"
"$python" "$here/predict_make_model.py" "$work/model.safetensors" --classes "$classes" --input-size 64

total=$((tiles_wanted + corrupt_wanted))
common=(predict "-model=$work/model.safetensors" "-input=$tiles" -flush-every=500 -quiet)
echo "crash test: $tiles_wanted tiles + $corrupt_wanted corrupt files, satx at $satx" >&2

start=$(date +%s.%N)
"$satx" "${common[@]}" "-output=$work/reference.csv"
reference_seconds=$(echo "$(date +%s.%N) - $start" | bc)

lines() { if [[ -f "$1" ]]; then wc -l < "$1"; else echo 0; fi; }
# Starts satx in the background and SIGKILLs it once the output holds $1 lines.
kill_at() {
  local at="$1"; shift
  "$satx" "$@" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null && (( $(lines "$work/run.csv") < at )); do sleep 0.05; done
  if ! kill -9 "$pid" 2>/dev/null; then echo "FAIL: the run ended before it could be killed" >&2; exit 1; fi
  wait "$pid" 2>/dev/null || true
  echo "  killed at $(lines "$work/run.csv") lines (bytes: $(stat -c %s "$work/run.csv"), last byte newline: $([[ "$(tail -c1 "$work/run.csv" | od -An -c | tr -d ' ')" == '\n' ]] && echo yes || echo no))" >&2
}
kill_at $((tiles_wanted / 3)) "${common[@]}" "-output=$work/run.csv"
kill_at $((2 * tiles_wanted / 3)) "${common[@]}" "-output=$work/run.csv" -resume
"$satx" "${common[@]}" "-output=$work/run.csv" -resume

# Checks.
status=0
check() { if eval "$2"; then printf '  %-58s ok\n' "$1"; else printf '  %-58s FAILED\n' "$1"; status=1; fi; }
rows=$(( $(lines "$work/run.csv") - 1 ))
duplicates=$(tail -n +2 "$work/run.csv" | cut -d, -f1 | sort | uniq -d | wc -l)
field_counts=$(awk -F, '{print NF}' "$work/run.csv" | sort -u | wc -l)
listed=$(cut -f1 "$work/run.csv.errors" | sort)
expected_errors=$(sort "$work/corrupt.txt")
echo "results:"
check "rows = tiles ($rows = $tiles_wanted)" "[[ $rows -eq $tiles_wanted ]]"
check "no tile scored twice ($duplicates duplicates)" "[[ $duplicates -eq 0 ]]"
check "every line has the header's field count" "[[ $field_counts -eq 1 ]]"
check "file ends with a complete line" "[[ \"\$(tail -c1 '$work/run.csv' | od -An -c | tr -d ' ')\" == '\\n' ]]"
check "rows equal the uninterrupted run's (sorted, byte for byte)" "cmp -s <(sort '$work/reference.csv') <(sort '$work/run.csv')"
check "errors file lists exactly the $corrupt_wanted corrupt tiles once" "[[ \"\$listed\" == \"\$expected_errors\" ]]"
check "reference run listed the same errors" "[[ \"\$(cut -f1 '$work/reference.csv.errors' | sort)\" == \"\$expected_errors\" ]]"
printf '  reference run: %d inputs in %.1f s\n' "$total" "$reference_seconds"
exit $status
