#!/usr/bin/env bash
# Downloads the upstream ImageNet weight files listed in models/*.json and checks each one's
# sha256 (the full digest, or the prefix upstream publishes in the file name).
#
# Usage: scripts/fetch-weights.sh [-d DIR] [-f] [ARCH|FILE ...]
#   -d DIR   where to put the files (default: $SATX_WEIGHTS, else ./weights; -weights=auto looks there)
#   -f       download again even when a verified copy is present
#   ARCH     only that backbone's files (xception, mobilenetv2, resnet50)
#   FILE     only the file of that name (e.g. resnet50-11ad3fa6.pth)
# Needs curl or wget, sha256sum or shasum, and jq or python3 to read the manifests.
# Then: satx weights import -arch=ARCH -weights=DIR/FILE   (or satx train -weights=DIR/FILE)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifests="${here}/../models"
dir="${SATX_WEIGHTS:-weights}"
force=0

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while getopts "d:fh" flag; do
  case "${flag}" in
    d) dir="${OPTARG}" ;;
    f) force=1 ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

# One line per downloadable file: arch, name, url, sha256 (may be empty), tab-separated.
list_files() {
  local manifest
  for manifest in "${manifests}"/*.json; do
    if command -v jq >/dev/null 2>&1; then
      jq -r '.arch as $a | .weights[] | select(.url != "") | [$a, .name, .url, (.sha256 // "")] | @tsv' "${manifest}"
    elif command -v python3 >/dev/null 2>&1; then
      python3 - "${manifest}" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for w in m.get("weights", []):
    if w.get("url"):
        print("\t".join([m["arch"], w["name"], w["url"], w.get("sha256") or ""]))
PY
    else
      echo "fetch-weights: need jq or python3 to read ${manifest}" >&2
      exit 1
    fi
  done
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

download() {
  local url="$1" out="$2"
  if command -v curl >/dev/null 2>&1; then
    curl -fL --retry 3 --retry-delay 2 -o "${out}" "${url}"
  elif command -v wget >/dev/null 2>&1; then
    wget --tries=3 -O "${out}" "${url}"
  else
    echo "fetch-weights: need curl or wget" >&2
    return 1
  fi
}

# verify FILE SHA256: 0 when the digest matches (or none is published), 1 otherwise.
verify() {
  local file="$1" expected="$2" actual
  actual="$(sha256_of "${file}")"
  if [[ -z "${expected}" ]]; then
    echo "  no published sha256; got ${actual}"
    return 0
  fi
  expected="$(printf '%s' "${expected}" | tr '[:upper:]' '[:lower:]')"
  if [[ "${actual}" == "${expected}"* ]]; then
    echo "  sha256 ok (${actual})"
    return 0
  fi
  echo "  sha256 MISMATCH: expected ${expected}..., got ${actual}" >&2
  return 1
}

wanted() {
  local arch="$1" name="$2" selector
  [[ $# -gt 2 ]] || return 0
  shift 2
  for selector in "$@"; do
    [[ "${selector}" == "${arch}" || "${selector}" == "${name}" ]] && return 0
  done
  return 1
}

entries="$(list_files)"
mkdir -p "${dir}"
failures=0
matched=0
while IFS=$'\t' read -r arch name url sha; do
  wanted "${arch}" "${name}" "$@" || continue
  matched=$((matched + 1))
  target="${dir}/${name}"
  echo "${arch}: ${name}"
  if [[ -f "${target}" && "${force}" -eq 0 ]] && verify "${target}" "${sha}"; then
    echo "  present: ${target}"
    continue
  fi
  partial="${target}.part"
  if ! download "${url}" "${partial}"; then
    echo "  download failed: ${url}" >&2
    rm -f "${partial}"
    failures=$((failures + 1))
    continue
  fi
  if verify "${partial}" "${sha}"; then
    mv -f "${partial}" "${target}"
    echo "  saved: ${target}"
  else
    rm -f "${partial}"
    failures=$((failures + 1))
  fi
done <<< "${entries}"

if [[ "${matched}" -eq 0 ]]; then
  echo "fetch-weights: nothing matches: $*" >&2
  exit 2
fi
if [[ "${failures}" -gt 0 ]]; then
  echo "fetch-weights: ${failures} file(s) failed" >&2
  exit 1
fi
