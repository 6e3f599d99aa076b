#!/usr/bin/env bash
# satx's default training recipe on several data sets, each against a plain PyTorch peer
# (bench/recipes_peer.py) with the same epochs, in one invocation. The sets are built from
# EuroSAT as folders of symlinks (bench/recipe_sets.py):
#   eurosat    the 10 classes, 96 px, 3 epochs (the quick recipe of bench/train_eurosat.sh)
#   highway3   Highway vs the rest, Highway subsampled to 3% of each split, 96 px
#   permcrop3  PermanentCrop vs the rest, likewise at 3%, 96 px
#   fewshot20  20 training tiles per class, all 10 classes, full validation and test, 96 px
#   upscaled   EuroSAT at 160 px (as aerial tiles would be), 3 epochs
# satx gets only -train -valid -test, -input-size (and -epochs where the set says so): the
# recipe is whatever satx picks for the data. Prints a table: wall time, the phase-1 best and
# the final best of the monitored validation metric, test accuracy and macro F1 and, for the
# two-class sets, average precision and the positive class's F1 at the decision threshold
# satx stored (the peer decides by argmax). docs/train.md keeps the figures.
#
# usage: bench/recipes.sh [SET...]   (default: all five)
# env:   SATX              the satx binary (default build/satx)
#        SATX_EUROSAT      EuroSAT with train/ valid/ test/ (default ../shared/data/eurosat)
#        SATX_WEIGHTS_DIR  folder with mobilenet_v2_imagenet.safetensors and .pth (default ../shared/weights)
#        SATX_RUNS         where data sets and runs go (default a temporary folder, removed at exit)
#        SATX_PEER         0 skips the PyTorch peer (default 1)
#        SATX_EXTRA        more satx train options, for trying a recipe change (default none)
#        PYTHON            a python3 with torch and torchvision (default: the first that has them)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
satx="${SATX:-$root/build/satx}"
eurosat="${SATX_EUROSAT:-$root/../shared/data/eurosat}"
weights_dir="${SATX_WEIGHTS_DIR:-$root/../shared/weights}"
peer="${SATX_PEER:-1}"
extra="${SATX_EXTRA:-}"
[[ -x "$satx" ]] || { echo "satx binary not found at $satx (set SATX)" >&2; exit 2; }
source "$here/lib.sh"
require_python "torch, torchvision" "set PYTHON"
[[ -d "$eurosat/train" ]] || { echo "no EuroSAT at $eurosat (set SATX_EUROSAT)" >&2; exit 2; }
[[ -f "$weights_dir/mobilenet_v2_imagenet.safetensors" ]] || { echo "no weights in $weights_dir" >&2; exit 2; }

if [[ -n "${SATX_RUNS:-}" ]]; then
  runs="$SATX_RUNS"
  mkdir -p "$runs"
else
  runs="$(mktemp -d "${TMPDIR:-/tmp}/satx-recipes-XXXXXX")"
  trap 'rm -rf "$runs"' EXIT
fi

# set -> "data-set-folder input-size epochs" (epochs "" = satx's default)
set_args() {
  case "$1" in
    eurosat) echo "eurosat 96 3" ;;
    highway3) echo "highway3 96 -" ;;
    permcrop3) echo "permcrop3 96 -" ;;
    fewshot20) echo "fewshot20 96 -" ;;
    upscaled) echo "eurosat 160 3" ;;
    *) echo "unknown set '$1' (eurosat, highway3, permcrop3, fewshot20, upscaled)" >&2; return 2 ;;
  esac
}

sets=("$@")
[[ ${#sets[@]} -gt 0 ]] || sets=(eurosat highway3 permcrop3 fewshot20 upscaled)
rows=()
for name in "${sets[@]}"; do
  read -r folder size epochs <<< "$(set_args "$name")"
  "$python" "$here/recipe_sets.py" "$eurosat" "$runs/data" "$folder" >&2
  data="$runs/data/$folder"
  epoch_args=()
  [[ "$epochs" == "-" ]] || epoch_args=(-epochs="$epochs")
  out="$runs/satx-$name"
  rm -rf "$out"
  echo "== $name: satx train -input-size=$size ${epoch_args[*]} $extra" >&2
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$satx" train -weights="$weights_dir/mobilenet_v2_imagenet.safetensors" -train="$data/train" -valid="$data/valid" \
    -test="$data/test" -input-size="$size" "${epoch_args[@]}" $extra -out="$out" -log-every=1000 2> "$runs/$name.log"
  end=$(date +%s.%N)
  satx_row=$("$python" - "$out" "$start" "$end" <<'PY'
import json, sys
out, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
lines = [json.loads(l) for l in open(out + "/metrics.jsonl") if l.strip()]
config = json.load(open(out + "/config.json"))
monitor = config["options"]["monitor"]
maximize = monitor != "val_loss"
pick = max if maximize else min
epochs = [l for l in lines if l.get("phase") in ("head", "full")]
head = [l[monitor] for l in epochs if l["phase"] == "head" and monitor in l]
final = [l[monitor] for l in epochs if monitor in l]
test = [l for l in lines if l.get("phase") == "test"][-1]
def fmt(value):
    return "-" if value is None else "%.4f" % value
print("|".join([monitor, "%.0f" % (end - start), fmt(pick(head) if head else None), fmt(pick(final) if final else None),
                fmt(test.get("test_accuracy")), fmt(test.get("test_macro_f1")), fmt(test.get("test_ap")),
                fmt(test.get("test_positive_f1")), str(config["options"]["head_epochs"]), str(config["options"]["epochs"])]))
PY
)
  # the peer trains as many epochs per phase as satx did
  peer_epochs=${satx_row##*|}
  satx_row=${satx_row%|*}
  peer_head_epochs=${satx_row##*|}
  satx_row=${satx_row%|*}
  rows+=("$name|satx|$satx_row")
  if [[ "$peer" != 0 ]]; then
    echo "== $name: PyTorch peer" >&2
    peer_json=$("$python" "$here/recipes_peer.py" --data "$data" --weights "$weights_dir/mobilenet_v2_imagenet.pth" \
      --input-size "$size" --head-epochs "$peer_head_epochs" --epochs "$peer_epochs" 2> "$runs/$name-peer.log")
    peer_row=$("$python" -c '
import json, sys
r = json.loads(sys.argv[1])
f = lambda v: "-" if v is None else "%.4f" % v
print("|".join(["val_accuracy", "%.0f" % r["seconds"], f(r["phase1_best_val_accuracy"]), f(r["best_val_accuracy"]),
                f(r.get("test_accuracy")), f(r.get("test_macro_f1")), f(r.get("test_ap")), f(r.get("test_positive_f1"))]))
' "$peer_json")
    rows+=("$name|peer|$peer_row")
  fi
done

printf '\n%-10s %-5s %-13s %7s %9s %9s %9s %9s %9s %9s\n' set who monitor "wall s" "phase 1" final "test acc" \
  "macro F1" "test AP" "pos F1"
for row in "${rows[@]}"; do
  IFS='|' read -r name who monitor wall head final acc f1 ap pos <<< "$row"
  printf '%-10s %-5s %-13s %7s %9s %9s %9s %9s %9s %9s\n' "$name" "$who" "$monitor" "$wall" "$head" "$final" "$acc" "$f1" \
    "$ap" "$pos"
done
