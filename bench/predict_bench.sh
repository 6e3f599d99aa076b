#!/usr/bin/env bash
# `satx predict` against a plain PyTorch script (bench/predict_peer.py) on the same model and
# tiles, plus peak memory over a 100,000-tile run. Prints a table (docs/predict.md keeps the
# figures).
#
# usage: bench/predict_bench.sh [path/to/satx]
# env:   SATX_BENCH_DATA   tiles to score (default ../shared/data/eurosat/test: 4,050 64x64 JPEGs)
#        SATX_BENCH_BIG    tiles in the memory run (default 100000; 0 skips it)
#        SATX_BENCH_ROUNDS timed rounds per program, interleaved (default 3; the median is shown)
#        SATX_BENCH_BATCH  batch size for both programs (default 128)
#        PYTHON            a python3 with torch, torchvision and PIL
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
satx="${1:-$root/build/satx}"
data="${SATX_BENCH_DATA:-$root/../shared/data/eurosat/test}"
big="${SATX_BENCH_BIG:-100000}"
rounds="${SATX_BENCH_ROUNDS:-3}"
batch="${SATX_BENCH_BATCH:-128}"
[[ -x "$satx" ]] || { echo "satx binary not found at $satx (pass its path)" >&2; exit 2; }
source "$here/lib.sh"
require_python "torch, torchvision, PIL" "set PYTHON"
[[ -d "$data" ]] || { echo "no tiles at $data (set SATX_BENCH_DATA)" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/satx-bench-XXXXXX")"
trap 'rm -rf "$work"' EXIT
classes=$(find "$data" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort | paste -sd, -)
[[ -n "$classes" ]] || classes="a,b"
backbone=()
weights="$root/../shared/weights/mobilenet_v2_imagenet.safetensors"
[[ -f "$weights" ]] && backbone=(--backbone "$weights")
"$python" "$here/predict_make_model.py" "$work/model.safetensors" --classes "$classes" --input-size 64 "${backbone[@]}"
tiles=$(find "$data" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' -o -iname '*.tif' \) | wc -l)
find "$data" -type f -exec cat {} + > /dev/null  # warm the page cache for both programs

# Runs a command under /usr/bin/time; sets wall (s) and rss (MiB) from its report.
timed() {
  /usr/bin/time -v -o "$work/time.txt" "$@"
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$work/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$work/time.txt")
}
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

echo "tiles: $tiles from $data; $(nproc) cores; batch $batch; $rounds rounds each, interleaved" >&2
: > "$work/satx.txt"; : > "$work/peer.txt"
for round in $(seq "$rounds"); do
  timed "$satx" predict "-model=$work/model.safetensors" "-input=$data" "-output=$work/satx.csv" "-batch=$batch" 2> "$work/satx.log"
  rate=$(grep -o '([0-9.]* tiles/s)' "$work/satx.log" | tr -dc '0-9.')
  echo "$wall $rss $rate" >> "$work/satx.txt"
  timed "$python" "$here/predict_peer.py" --model "$work/model.safetensors" --input "$data" --output "$work/peer.csv" --batch "$batch" > "$work/peer.json"
  rate=$("$python" -c "import json,sys; print(round(json.load(open(sys.argv[1]))['tiles_per_s'], 1))" "$work/peer.json")
  echo "$wall $rss $rate" >> "$work/peer.txt"
  echo "  round $round: satx $(tail -1 "$work/satx.txt"), peer $(tail -1 "$work/peer.txt")  (wall s, RSS MiB, tiles/s)" >&2
done

# Both compute the same function: their labels should agree (float rounding may flip near-ties).
agreement=$("$python" - "$work/satx.csv" "$work/peer.csv" <<'PY'
import csv, sys
def labels(path):
    with open(path, newline="") as f:
        return {row["path"]: row["label"] for row in csv.DictReader(f)}
a, b = labels(sys.argv[1]), labels(sys.argv[2])
same = sum(a[p] == b.get(p) for p in a)
print(f"{same}/{len(a)}")
PY
)

col() { awk -v c="$1" '{print $c}' "$2" | median; }
satx_wall=$(col 1 "$work/satx.txt"); peer_wall=$(col 1 "$work/peer.txt")
satx_rate=$(col 3 "$work/satx.txt"); peer_rate=$(col 3 "$work/peer.txt")
satx_rss=$(col 2 "$work/satx.txt"); peer_rss=$(col 2 "$work/peer.txt")
satx_e2e=$(echo "$tiles / $satx_wall" | bc -l); peer_e2e=$(echo "$tiles / $peer_wall" | bc -l)

echo
echo "MobileNetV2 at 64 px, $tiles tiles, $(nproc) cores (median of $rounds)"
printf '| %-28s | %12s | %12s | %8s |\n' "" "satx predict" "PyTorch peer" "ratio"
printf '|%s|%s|%s|%s|\n' "------------------------------" "--------------" "--------------" "----------"
printf '| %-28s | %12.0f | %12.0f | %7.2fx |\n' "tiles/s, scoring loop" "$satx_rate" "$peer_rate" "$(echo "$satx_rate / $peer_rate" | bc -l)"
printf '| %-28s | %12.0f | %12.0f | %7.2fx |\n' "tiles/s, end to end (wall)" "$satx_e2e" "$peer_e2e" "$(echo "$satx_e2e / $peer_e2e" | bc -l)"
printf '| %-28s | %12.2f | %12.2f | %8s |\n' "wall seconds" "$satx_wall" "$peer_wall" ""
printf '| %-28s | %12s | %12s | %8s |\n' "max RSS MiB (main process)" "$satx_rss" "$peer_rss" ""
echo "labels agreeing: $agreement"

if (( big > 0 )); then
  "$python" - "$data" "$work/big" "$big" <<'PY'
import os, sys
source, target, wanted = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(source) for f in fs)
for i in range(wanted):
    folder = os.path.join(target, "%03d" % (i % 500))
    os.makedirs(folder, exist_ok=True)
    src = files[i % len(files)]
    os.symlink(os.path.abspath(src), os.path.join(folder, "t%07d%s" % (i, os.path.splitext(src)[1])))
PY
  timed "$satx" predict "-model=$work/model.safetensors" "-input=$work/big" "-output=$work/big.csv" "-batch=$batch" 2> "$work/big.log"
  rate=$(grep -o '([0-9.]* tiles/s)' "$work/big.log" | tr -dc '0-9.')
  rows=$(( $(wc -l < "$work/big.csv") - 1 ))
  echo
  printf 'memory run: %d tiles (links to the tiles above), %d rows written, %.0f tiles/s, wall %.1f s, max RSS %s MiB (limit 1024)\n' \
    "$big" "$rows" "$rate" "$wall" "$rss"
  (( rss < 1024 )) || { echo "FAIL: max RSS above 1 GiB" >&2; exit 1; }
fi
