#!/usr/bin/env bash
# satx tune on EuroSAT against the default recipe: a time-budgeted search (TPE + ASHA) over
# bench/tune_space_eurosat.json at the default recipe's length (MobileNetV2 from the ImageNet
# weights, 96 px, 3 head + 3 full epochs), then the default recipe and the search's best
# configuration, each trained once more with -test. Prints two tables: test accuracy of both,
# and the search's compute: spent, spent until its best trial ended, and what running every
# trial to completion would have cost (its unfinished trials' remaining epochs timed by the
# finished trials' epochs). Run it on an otherwise idle machine: the budget is wall time.
#
# usage: bench/tune_eurosat.sh
# env:   SATX              the satx binary (default build/satx; copied, so rebuilding is safe)
#        SATX_EUROSAT      folder with train/ valid/ test/ (default ../shared/data/eurosat)
#        SATX_WEIGHTS_FILE ImageNet MobileNetV2 weights (default ../shared/weights/mobilenet_v2_imagenet.safetensors)
#        SATX_TUNE_BUDGET  the search's wall-time budget (default 60m)
#        SATX_RUNS         where run folders go (default a temporary folder, removed at exit)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
eurosat_inputs
budget="${SATX_TUNE_BUDGET:-60m}"
command -v jq >/dev/null || { echo "jq is needed to read tune.json (apt-get install jq)" >&2; exit 2; }
runs_folder tune-bench
cp "$satx" "$runs/satx"
satx="$runs/satx"
recipe=(-model=mobilenetv2 "-weights=$weights" -input-size=96 -epochs=3)
split_args=("-train=$data/train" "-valid=$data/valid")

echo "search: budget $budget, log $runs/tune.log" >&2
start=$(date +%s)
"$satx" tune "-space=$here/tune_space_eurosat.json" "${split_args[@]}" "${recipe[@]}" -trials=200 \
  "-budget=$budget" -min-epochs=4 -eta=3 -seed=42 "-out=$runs/tune" 2>"$runs/tune.log" >"$runs/tune.out"
search_seconds=$(( $(date +%s) - start ))
summary="$runs/tune/tune.json"

# train_once NAME ARGS...: a run with -test; prints "wall_s val_acc test_acc"
train_once() {
  local name="$1"; shift
  local t0=$(date +%s)
  "$satx" train "$@" "-test=$data/test" "-out=$runs/$name" -quiet >"$runs/$name.out" 2>"$runs/$name.log"
  local wall=$(( $(date +%s) - t0 ))
  local val test
  val=$(jq -s '[.[] | select(.val_accuracy != null) | .val_accuracy] | max' "$runs/$name/metrics.jsonl")
  test=$(jq '.accuracy // .test_accuracy' "$runs/$name/test-metrics.json")
  echo "$wall $val $test"
}

read -r d_wall d_val d_test < <(train_once default "${split_args[@]}" "${recipe[@]}")
# The best trial's own command line, with its sampled options.
mapfile -t best_args < <(jq -r '.best.command' "$summary" | tr ' ' '\n' | tail -n +3)
read -r b_wall b_val b_test < <(train_once best "${best_args[@]}")

params=$(jq -r '.best.params | to_entries | map("\(.key)=\(.value)") | join(" ")' "$summary")
echo
echo "EuroSAT, MobileNetV2 from ImageNet, 96 px, 3 head + 3 full epochs, seed 42 ($(nproc) cores, $(date -u +%F))"
echo
echo "| run | options | wall s | best val acc | test acc |"
echo "| --- | --- | ---: | ---: | ---: |"
printf "| default recipe | - | %s | %.4f | %.4f |\n" "$d_wall" "$d_val" "$d_test"
printf "| tune's best, retrained | %s | %s | %.4f | %.4f |\n" "$params" "$b_wall" "$b_val" "$b_test"
echo
jq -r --arg s "$search_seconds" '
  "| search (budget wall \($s) s) | trials | epochs | hours |",
  "| --- | ---: | ---: | ---: |",
  "| ASHA as run (\(.trials.finished) finished, \(.trials.stopped) stopped, \(.trials.failed) failed) | \(.trials.finished + .trials.stopped + .trials.failed) | \(.compute.epochs_run) | \(.compute.seconds_run / 3600 * 100 | round / 100) |",
  "| ASHA until its best trial (\(.best.trial)) ended | \(.best.trial + 1) | \(.compute.epochs_to_best) | \(.compute.seconds_to_best / 3600 * 100 | round / 100) |",
  "| every trial to completion (estimated) | \(.trials.finished + .trials.stopped + .trials.failed) | \(.compute.epochs_if_every_trial_completed) | \(.compute.seconds_if_every_trial_completed / 3600 * 100 | round / 100) |",
  "",
  "until the best / every trial to completion: \(.compute.seconds_to_best / .compute.seconds_if_every_trial_completed * 1000 | round / 1000) of the time, \(.compute.epochs_to_best / .compute.epochs_if_every_trial_completed * 1000 | round / 1000) of the epochs"
' "$summary"
echo
echo "leaderboard (top 10):"
head -11 "$runs/tune/leaderboard.csv"
