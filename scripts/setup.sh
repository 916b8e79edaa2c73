#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
# Installs the Debian 12 packages ITKANUNet needs (idempotent, non-interactive), then configures and
# builds the project in ./build. Usage: scripts/setup.sh [build-dir]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}

packages=(
  cmake ninja-build g++ ccache pkg-config
  libinsighttoolkit5-dev libgdcm-dev libgdcm-tools
  libtorch-dev libgloo-dev python3-torch libopenblas0-pthread
  libeigen3-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libgtest-dev pybind11-dev python3-dev
  python3-numpy python3-scipy python3-nibabel python3-yaml python3-matplotlib python3-pytest
  slurm-wlm munge
  # The sanitizer and fuzzing build (scripts/sanitize.sh, scripts/fuzz.sh): clang, its sanitizer and libFuzzer
  # runtimes (libclang-rt, which holds what libfuzzer-14-dev would add for -fsanitize=fuzzer), llvm-symbolizer.
  clang-14 libclang-rt-14-dev llvm-14
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install packages" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  avail_kb=$(df -Pk /var/cache/apt | awk 'NR==2 {print $4}')
  if [ "${avail_kb:-0}" -lt 3000000 ]; then
    echo "setup: less than 3 GB free under /var/cache/apt; the packages need about 1.5 GB. Free some space first." >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! { "${sudo_cmd[@]}" apt-get update -q && "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; }; then
    echo "setup: apt-get could not install ${missing[*]}. This project needs Debian 12 (bookworm) with its" >&2
    echo "       main repository reachable; check /etc/apt/sources.list and the network, then rerun scripts/setup.sh." >&2
    exit 1
  fi
else
  echo "setup: all Debian packages present"
fi

mkdir -p "$build"
build_free_kb=$(df -Pk "$build" | awk 'NR==2 {print $4}')
if [ "${build_free_kb:-0}" -lt 1000000 ]; then
  echo "setup: less than 1 GB free for the build in $build (the build and its compiler cache take about 0.5 GB). Free some" >&2
  echo "       space or pass another build folder: scripts/setup.sh /path/with/space/build" >&2
  exit 1
fi

# ccache makes rebuilds of the LibTorch translation units (~24 s each) nearly free.
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Paths relative to the repository, so that other build trees (scripts/check-itk-module.sh) share the entries.
export CCACHE_BASEDIR=$here
cmake -S "$here" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
  -DPython3_EXECUTABLE=/usr/bin/python3
# Each LibTorch translation unit needs ~1.3 GB of compiler memory.
jobs=$(( $(nproc) < 4 ? $(nproc) : 4 ))
cmake --build "$build" -j "$jobs"
