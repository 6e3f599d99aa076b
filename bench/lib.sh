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
