#!/usr/bin/env bash
# `satx export` checked against `satx predict`: for each architecture, trains a small EuroSAT
# model (64 px, one epoch per phase on a subset), scores 256 test tiles with satx predict,
# exports the model to ONNX and runs it in onnxruntime on the same tiles (scripts/onnx-check.py).
# Prints a table (docs/serve.md keeps the figures). Needs a python3 with onnxruntime, numpy and
# Pillow (pip: onnxruntime; Debian: python3-numpy python3-pil).
#
# usage: bench/onnx_parity.sh [path/to/satx]
# env:   SATX_BENCH_DATA   EuroSAT root with train/ valid/ test/ (default ../shared/data/eurosat)
#        SATX_BENCH_ARCHS  architectures (default "mobilenetv2 resnet50 xception")
#        SATX_BENCH_TILES  test tiles scored (default 256)
#        PYTHON            the python3 described above
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
satx="${1:-$root/build/satx}"
data="${SATX_BENCH_DATA:-$root/../shared/data/eurosat}"
archs="${SATX_BENCH_ARCHS:-mobilenetv2 resnet50 xception}"
tiles="${SATX_BENCH_TILES:-256}"
[[ -x "$satx" ]] || { echo "satx binary not found at $satx (pass its path)" >&2; exit 2; }
source "$here/lib.sh"
require_python "onnxruntime, numpy, PIL" "set PYTHON; pip install onnxruntime"
[[ -d "$data/train" && -d "$data/test" ]] || { echo "no EuroSAT at $data (set SATX_BENCH_DATA)" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/satx-onnx-XXXXXX")"
trap 'rm -rf "$work"' EXIT
# A training subset (40 tiles per class, 10 for validation) keeps each arch's run to minutes on a
# CPU; the comparison needs a trained head, not a good model.
for split in train valid; do
  per_class=$([[ $split == train ]] && echo 40 || echo 10)
  for class_dir in "$data/$split"/*/; do
    class="$(basename "$class_dir")"
    mkdir -p "$work/data/$split/$class"
    mapfile -t class_tiles < <(find "$class_dir" -maxdepth 1 -type f -name '*.jpg' | sort)
    for tile in "${class_tiles[@]:0:$per_class}"; do ln -s "$tile" "$work/data/$split/$class/"; done
  done
done
# Every class among the scored tiles: the first test tiles of each class.
per_test_class=$(( (tiles + 9) / 10 ))
test_tiles=()
for class_dir in "$data/test"/*/; do
  mapfile -t class_tiles < <(find "$class_dir" -maxdepth 1 -type f -name '*.jpg' | sort)
  test_tiles+=("${class_tiles[@]:0:$per_test_class}")
done
printf '%s\n' "${test_tiles[@]:0:$tiles}" > "$work/tiles.txt"

weights="$root/../shared/weights/mobilenet_v2_imagenet.safetensors"
printf '| arch | ImageNet start | parameters | ONNX MB | nodes | tiles | max abs diff | top-1 agreement | result |\n'
printf '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n'
status=0
for arch in $archs; do
  start=none
  [[ $arch == mobilenetv2 && -f "$weights" ]] && start="$weights"
  "$satx" train -model="$arch" -weights="$start" -train="$work/data/train" -valid="$work/data/valid" -input-size=64 \
    -head-epochs=1 -epochs=1 -batch=32 -out="$work/$arch" -threads=2 -quiet > "$work/$arch.train.log" 2>&1 ||
    { cat "$work/$arch.train.log" >&2; exit 1; }
  model="$work/$arch/best.safetensors"
  "$satx" predict -model="$model" -input="$work/tiles.txt" -output="$work/$arch.csv" -threads=2 -quiet
  "$satx" export -model="$model" -out="$work/$arch.onnx" 2> "$work/$arch.export.log"
  summary="$(cat "$work/$arch.export.log")"
  nodes="$(sed -n 's/.* \([0-9]*\) nodes.*/\1/p' <<< "$summary")"
  parameters="$(sed -n 's/.* \([0-9]*\) parameters.*/\1/p' <<< "$summary")"
  megabytes="$(sed -n 's/.* \([0-9.]*\) MB.*/\1/p' <<< "$summary")"
  if check="$("$python" "$root/scripts/onnx-check.py" "$work/$arch.onnx" "$work/$arch.csv")"; then result=OK; else result=FAIL; status=1; fi
  diff="$(sed -n 's/.*= \([0-9.e+-]*\) (tolerance.*/\1/p' <<< "$check")"
  agreement="$(sed -n 's/.*agreement \([0-9]*\/[0-9]*\).*/\1/p' <<< "$check")"
  count="$(sed -n 's/^\([0-9]*\) tiles.*/\1/p' <<< "$check")"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$arch" "$([[ $start == none ]] && echo no || echo yes)" \
    "$parameters" "$megabytes" "$nodes" "$count" "$diff" "$agreement" "$result"
done
"$python" -c "import onnxruntime; print('onnxruntime', onnxruntime.__version__)"
exit $status
