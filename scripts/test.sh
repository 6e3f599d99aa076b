#!/usr/bin/env bash
# The README's test command: installs dependencies, builds satx and its tests, runs them all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd "${SATX_BUILD_DIR:-build}"
# Tests that load LibTorch are CPU-heavy; two at a time suits the 2-core CI machine.
ctest --output-on-failure --timeout 600 -j "${SATX_TEST_JOBS:-2}"
