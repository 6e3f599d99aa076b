# Shared by the bench/ scripts: source it, then call require_python.

# require_python MODULES HINT: sets $python to $PYTHON, or else to the first of python3 and
# /usr/bin/python3 that imports MODULES ("torch, torchvision"); exits 2 naming the modules and
# HINT when none does (a pyenv shim first on PATH may lack the system's packages).
require_python() {
  local modules="$1" hint="$2" candidate
  python="${PYTHON:-}"
  if [[ -z "$python" ]]; then
    for candidate in python3 /usr/bin/python3; do
      if "$candidate" -c "import $modules" 2>/dev/null; then python="$candidate"; break; fi
    done
  fi
  [[ -n "$python" ]] || { echo "no python3 that imports $modules ($hint)" >&2; exit 2; }
}

# eurosat_inputs: sets $satx, $data and $weights from SATX, SATX_EUROSAT and SATX_WEIGHTS_FILE
# (defaults: $root/build/satx, ../shared/data/eurosat with train/ valid/ test/, and
# ../shared/weights/mobilenet_v2_imagenet.safetensors); exits 2 naming what is missing.
eurosat_inputs() {
  satx="${SATX:-$root/build/satx}"
  data="${SATX_EUROSAT:-$root/../shared/data/eurosat}"
  weights="${SATX_WEIGHTS_FILE:-$root/../shared/weights/mobilenet_v2_imagenet.safetensors}"
  [[ -x "$satx" ]] || { echo "satx binary not found at $satx (set SATX)" >&2; exit 2; }
  local split
  for split in train valid test; do
    [[ -d "$data/$split" ]] || { echo "no $data/$split (set SATX_EUROSAT)" >&2; exit 2; }
  done
  [[ -f "$weights" ]] || { echo "no weights at $weights (set SATX_WEIGHTS_FILE)" >&2; exit 2; }
}

# runs_folder NAME: sets $runs to $SATX_RUNS (created when missing) or to a new temporary
# folder satx-NAME-XXXXXX that is removed at exit.
runs_folder() {
  if [[ -n "${SATX_RUNS:-}" ]]; then
    runs="$SATX_RUNS"
    mkdir -p "$runs"
  else
    runs="$(mktemp -d "${TMPDIR:-/tmp}/satx-$1-XXXXXX")"
    trap 'rm -rf "$runs"' EXIT
  fi
}
