#!/usr/bin/env bash
# Installs everything satx needs to build and test, from Debian 12 packages only. Idempotent:
# when every package is already installed it changes nothing and does not touch the network.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libtiff-dev
  libcli11-dev libspdlog-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev
  libhdf5-dev
  libssl-dev
  libcpp-httplib-dev
  libonnx-dev libprotobuf-dev
  # Tests and bench/ use these as an independent reference; satx itself never runs Python.
  python3 python3-torch python3-torchvision python3-h5py python3-numpy python3-sklearn python3-onnx
  # The satx report test renders the HTML page in a real browser (headless).
  chromium
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
