#!/usr/bin/env bash
# Checks that `satx eval` agrees exactly with an independent count over `satx predict`'s CSV:
# accuracy and every confusion-matrix cell, the true class taken from each tile's folder name.
# Prints both figures and exits 1 on any difference.
#
# usage: bench/eval_agreement.sh MODEL.safetensors DATA_DIR [path/to/satx]
set -euo pipefail

model="${1:?usage: eval_agreement.sh MODEL DATA_DIR [satx]}"
data="${2:?usage: eval_agreement.sh MODEL DATA_DIR [satx]}"
here="$(cd "$(dirname "$0")" && pwd)"
satx="${3:-$(dirname "$here")/build/satx}"
work="$(mktemp -d "${TMPDIR:-/tmp}/satx-agree-XXXXXX")"
trap 'rm -rf "$work"' EXIT

"$satx" eval -model="$model" -data="$data" -json="$work/eval.json" -q > /dev/null
"$satx" predict -model="$model" -input="$data" -output="$work/predictions.csv" -q

python3 - "$work/eval.json" "$work/predictions.csv" <<'PY'
import csv, json, os, sys
report = json.load(open(sys.argv[1]))
classes = report["classes"]
index = {c: i for i, c in enumerate(classes)}
confusion = [[0] * len(classes) for _ in classes]
rows = correct = 0
with open(sys.argv[2], newline="") as f:
    for row in csv.DictReader(f):
        truth = os.path.basename(os.path.dirname(row["path"]))
        confusion[index[truth]][index[row["label"]]] += 1
        correct += truth == row["label"]
        rows += 1
accuracy = correct / rows
print(f"predict CSV: {rows} rows, {correct} correct, accuracy {accuracy:.6f}")
print(f"satx eval:   {report['samples']} tiles, accuracy {report['accuracy']:.6f}")
same = rows == report["samples"] and accuracy == report["accuracy"] and confusion == report["confusion"]
print("confusion matrices " + ("equal" if confusion == report["confusion"] else "DIFFER"))
print("AGREE" if same else "DISAGREE")
sys.exit(0 if same else 1)
PY
