#!/usr/bin/env bash
# The README's first command: installs dependencies, builds satx, then runs the main job end to
# end on a small synthetic dataset that satx generates itself: train, eval, predict.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
satx=${SATX_BUILD_DIR:-build}/satx
work=${SATX_QUICKSTART_DIR:-quickstart}
rm -rf "$work"

echo "== 1. a sample dataset (3 classes, synthetic 64x64 tiles)"
"$satx" sample-data -out="$work/data"
"$satx" data check -data="$work/data"

echo "== 2. train (MobileNetV2 from random initialization: no download needed; BatchNorm trains, so no phase 1)"
"$satx" train -model=mobilenetv2 -weights=none -train="$work/data/train" -valid="$work/data/valid" \
  -input-size=64 -batch=16 -epochs=10 -lr=2e-3 -out="$work/run"
"$satx" info "$work/run/best.safetensors"

echo "== 3. evaluate on the held-out test split (gate: accuracy >= 0.8)"
"$satx" eval -model="$work/run/best.safetensors" -data="$work/data/test" -json="$work/run/test-metrics.json" \
  -fail-under accuracy=0.8

echo "== 4. predict: score every test tile into a CSV"
"$satx" predict -model="$work/run/best.safetensors" -input="$work/data/test" -output="$work/predictions.csv"
head -5 "$work/predictions.csv"

echo "== 5. export: the model as ONNX for onnxruntime or TensorRT (docs/serve.md)"
"$satx" export -model="$work/run/best.safetensors" -out="$work/model.onnx"
echo "quickstart: done; outputs in $work/"
