#!/usr/bin/env bash
# EuroSAT transfer-learning recipes, timed end to end on this machine: wall time of
# `satx train`, the epoch at which validation accuracy first reached the target, best validation
# accuracy, and test accuracy of best.safetensors scored by `satx eval`: plain, with the 8-view
# test-time augmentation (`-tta`), and with those views at two sizes (`-tta -tta-scales=1,1.125`,
# timed: the long recipe's 30-minute budget includes it). Prints a table
# (docs/train.md keeps the figures). Run it on an otherwise idle machine: it is a timing.
#
# usage: bench/train_eurosat.sh [RECIPE...] (default: quick random)
#   quick    MobileNetV2 from ImageNet weights, 96 px, 3 full epochs (the 6-minute recipe)
#   random   the same command with -weights=none (what transfer learning buys)
#   long     MobileNetV2 from ImageNet weights, 128 px, 8 full epochs, weight average, calibrated
#            BatchNorm training (the 30-minute recipe)
#   default  MobileNetV2 from ImageNet weights with every default but -input-size=64
# env:   SATX             the satx binary (default build/satx)
#        SATX_EUROSAT     folder with train/ valid/ test/ (default ../shared/data/eurosat)
#        SATX_WEIGHTS_FILE ImageNet MobileNetV2 weights (default ../shared/weights/mobilenet_v2_imagenet.safetensors)
#        SATX_TARGET      validation accuracy whose first crossing is timed (default 0.97)
#        SATX_RUNS        where run directories go (default a temporary folder, removed at exit)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
eurosat_inputs
target="${SATX_TARGET:-0.97}"
runs_folder train-bench

recipe_args() {
  case "$1" in
    quick) echo "-model=mobilenetv2 -weights=$weights -input-size=96 -epochs=3" ;;
    random) echo "-model=mobilenetv2 -weights=none -input-size=96 -epochs=3" ;;
    long) echo "-model=mobilenetv2 -weights=$weights -input-size=128 -epochs=8 -ema=0.998 -train-bn" ;;
    default) echo "-model=mobilenetv2 -weights=$weights -input-size=64" ;;
    *) echo "unknown recipe '$1' (quick, random, long, default)" >&2; return 2 ;;
  esac
}

recipes=("$@")
[[ ${#recipes[@]} -gt 0 ]] || recipes=(quick random)
rows=()
for recipe in "${recipes[@]}"; do
  args=$(recipe_args "$recipe")
  out="$runs/$recipe"
  rm -rf "$out"
  echo "== $recipe: satx train $args -train=... -valid=..." >&2
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$satx" train $args -train="$data/train" -valid="$data/valid" -out="$out" -log-every=1000 2> "$runs/$recipe.log"
  end=$(date +%s.%N)
  "$satx" eval -model="$out/best.safetensors" -data="$data/test" -json="$out/test.json" -q > /dev/null
  "$satx" eval -model="$out/best.safetensors" -data="$data/test" -json="$out/test-tta.json" -tta -q > /dev/null
  "$satx" eval -model="$out/best.safetensors" -data="$data/test" -json="$out/test-ms.json" -tta -tta-scales=1,1.125 -q \
    > /dev/null
  # metrics.jsonl: one line per epoch with "seconds"; the crossing time adds the epochs' times
  # to the set-up before the first one (feature caching, loading), taken from the wall time.
  row=$(python3 - "$out/metrics.jsonl" "$out/test.json" "$start" "$end" "$target" "$out/test-tta.json" \
          "$out/test-ms.json" <<'PY'
import json, sys
metrics, test, start, end, target, tta = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
multiscale = json.load(open(sys.argv[7]))
lines = [json.loads(l) for l in open(metrics) if l.strip()]
epochs = [l for l in lines if l.get("phase") in ("head", "full")]
wall = end - start
setup = wall - sum(l["seconds"] for l in epochs)
best = max(l["val_accuracy"] for l in epochs)
elapsed, crossed = setup, "never"
for l in epochs:
    elapsed += l["seconds"]
    if l["val_accuracy"] >= target:
        crossed = "%s %d/%d at %.0fs" % (l["phase"], l["epoch"], l["epochs"], elapsed)
        break
acc = json.load(open(test))["accuracy"]
acc_tta = json.load(open(tta))["accuracy"]
print("%.0f|%.4f|%s|%.4f|%.4f|%.4f|%.0f" % (wall, best, crossed, acc, acc_tta, multiscale["accuracy"], multiscale["seconds"]))
PY
)
  rows+=("$recipe|$row")
done

printf '\n%-8s %8s %9s  %-28s %9s %9s %12s %8s\n' recipe "wall s" "best val" "val >= $target first" "test acc" \
  "test tta" "tta 2 sizes" "its s"
for row in "${rows[@]}"; do
  IFS='|' read -r recipe wall best crossed acc acc_tta acc_ms ms_seconds <<< "$row"
  printf '%-8s %8s %9s  %-28s %9s %9s %12s %8s\n' "$recipe" "$wall" "$best" "$crossed" "$acc" "$acc_tta" "$acc_ms" \
    "$ms_seconds"
done
