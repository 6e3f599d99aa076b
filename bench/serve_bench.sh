#!/usr/bin/env bash
# `satx serve` under load on loopback, against itself without batching (-max-batch=1) and a
# plain Python server (bench/serve_peer.py: Flask + torch) on the same model file: MobileNetV2
# at 64 px, one EuroSAT tile POSTed by wrk over SATX_BENCH_CONNECTIONS connections. Prints a
# table: requests per second, median and 99th-percentile latency, errors (docs/performance.md
# keeps the figures). Run it on an otherwise idle machine.
#
# usage: bench/serve_bench.sh [path/to/satx]
# env:   SATX_BENCH_CONNECTIONS  concurrent connections (default 64)
#        SATX_BENCH_SECONDS      seconds per measured run (default 20, after a 5 s warm-up)
#        SATX_BENCH_TILE         the image every request sends (default the first tile of
#                                ../shared/data/eurosat/test, else a satx sample-data tile)
#        PYTHON                  a python3 with torch, torchvision, PIL and flask
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
satx="${1:-$root/build/satx}"
connections="${SATX_BENCH_CONNECTIONS:-64}"
seconds="${SATX_BENCH_SECONDS:-20}"
[[ -x "$satx" ]] || { echo "satx binary not found at $satx (pass its path)" >&2; exit 2; }
source "$here/lib.sh"
require_python "torch, torchvision, PIL, flask" "apt install python3-flask"
command -v wrk > /dev/null || { echo "wrk not found (apt install wrk)" >&2; exit 2; }
command -v curl > /dev/null || { echo "curl not found (apt install curl)" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/satx-serve-bench-XXXXXX")"
server=""
cleanup() {
  [[ -n "$server" ]] && kill "$server" 2> /dev/null && wait "$server" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT

tile="${SATX_BENCH_TILE:-}"
if [[ -z "$tile" ]]; then
  tile=$(find "$root/../shared/data/eurosat/test" -name '*.jpg' 2> /dev/null | sort | head -1 || true)
  if [[ -z "$tile" ]]; then
    "$satx" sample-data -out="$work/sample" > /dev/null 2>&1
    tile=$(find "$work/sample" -name '*.jpg' | sort | head -1)
  fi
fi
case "${tile,,}" in
  *.png) tile_type=image/png ;;
  *.tif | *.tiff) tile_type=image/tiff ;;
  *) tile_type=image/jpeg ;;
esac
classes="AnnualCrop,Forest,HerbaceousVegetation,Highway,Industrial,Pasture,PermanentCrop,Residential,River,SeaLake"
backbone=()
weights="$root/../shared/weights/mobilenet_v2_imagenet.safetensors"
[[ -f "$weights" ]] && backbone=(--backbone "$weights")
"$python" "$here/predict_make_model.py" "$work/model.safetensors" --classes "$classes" --input-size 64 "${backbone[@]}"

port=18090
# Starts a server in the background and waits until it answers a request.
start() {
  "${@//PORT/$port}" > "$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do
    if curl -sf -H "Content-Type: $tile_type" --data-binary @"$tile" "http://127.0.0.1:$port/v1/predict" > "$work/answer.json"; then
      return 0
    fi
    kill -0 "$server" 2> /dev/null || { cat "$work/server.log" >&2; echo "the server exited" >&2; exit 1; }
    sleep 0.1
  done
  echo "the server did not answer within 60 s" >&2
  exit 1
}
stop() {
  kill "$server"
  wait "$server" 2> /dev/null || true
  server=""
}
load() {
  SATX_TILE="$tile" SATX_TILE_TYPE="$tile_type" wrk -t2 -c"$connections" -d"$1"s --timeout 10s -s "$here/serve_post.lua" \
    "http://127.0.0.1:$port/v1/predict" | grep '^RESULT'
}

rows=()
labels=()
measure() {
  local name="$1"
  shift
  port=$((port + 1))  # a fresh port each: the last server's closed connections may still hold its own
  echo "== $name" >&2
  start "$@"
  labels+=("$name: $("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["label"])' "$work/answer.json")")
  load 5 > /dev/null
  local result
  result=$(load "$seconds")
  stop
  rows+=("$name|$result")
}

measure "satx serve" "$satx" serve -model="$work/model.safetensors" -port=PORT
measure "satx serve -max-batch=1" "$satx" serve -model="$work/model.safetensors" -port=PORT -max-batch=1
measure "Flask + torch" "$python" "$here/serve_peer.py" --model "$work/model.safetensors" --port PORT

printf '\n%d connections, %d s per run, %s (%s)\n' "$connections" "$seconds" "$(basename "$tile")" "$tile_type"
printf '%-26s %10s %9s %9s %8s %8s\n' server "requests/s" "p50 ms" "p99 ms" "bad" errors
peer_rate=""
satx_rate=""
for row in "${rows[@]}"; do
  name="${row%%|*}"
  eval "$(echo "${row#*|}" | sed 's/^RESULT //')"
  rate=$(awk -v r="$requests" -v s="$seconds" 'BEGIN { printf "%.1f", r / s }')
  [[ "$name" == "satx serve" ]] && satx_rate=$rate
  [[ "$name" == "Flask + torch" ]] && peer_rate=$rate
  printf '%-26s %10s %9s %9s %8s %8s\n' "$name" "$rate" "$p50_ms" "$p99_ms" "$bad_status" "$socket_errors"
done
awk -v a="$satx_rate" -v b="$peer_rate" 'BEGIN { if (b > 0) printf "satx serve / Flask + torch throughput: %.2fx\n", a / b }'
printf 'label of the tile: %s\n' "$(IFS=';'; echo "${labels[*]}")"
