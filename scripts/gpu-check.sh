#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
# On a machine with an NVIDIA GPU and a CUDA PyTorch: builds the torch core and its tests against that PyTorch's
# LibTorch (ANUNET_CORE_ONLY: no ITK needed), runs the REQUIRES_GPU tests and the CPU core tests, and times ANU-Net
# L1..L4 on the GPU (batch 1 and 32, float32 and bfloat16). Needs cmake, a C++17 compiler, GoogleTest and
# nlohmann-json; ninja and ccache if present.
# Usage: scripts/gpu-check.sh [build-dir]   (PYTHON picks the Python whose torch is used; results go to
# $OUT/gpu-check when OUT is set, else to the build folder)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-gpu}
python=${PYTHON:-python3}
results=${OUT:+$OUT/gpu-check}
results=${results:-$build}
mkdir -p "$results"

if ! prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null); then
  echo "gpu-check: $python has no torch; set PYTHON to a Python with a CUDA PyTorch" >&2
  exit 1
fi
"$python" - <<'PY' | tee "$results/torch.txt"
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "cxx11 abi", torch.compiled_with_cxx11_abi())
if not torch.cuda.is_available():
    raise SystemExit("gpu-check: this PyTorch sees no usable CUDA device")
print("device", torch.cuda.get_device_name(0), "count", torch.cuda.device_count())
PY
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | tee "$results/gpu.txt" || true

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$here" -B "$build" "${generator[@]}" "${launcher[@]}" -DCMAKE_BUILD_TYPE=Release -DANUNET_CORE_ONLY=ON \
  -DCMAKE_PREFIX_PATH="$prefix" 2>&1 | tee "$results/configure.log"
cmake --build "$build" -j"$(nproc)" 2>&1 | tail -n 50 | tee "$results/build.log"
[ -x "$build/bin/ANUNetGpuTests" ] || [ -x "$build/test/gpu/ANUNetGpuTests" ] || {
  echo "gpu-check: no GPU tests were built: the LibTorch at $prefix is not a CUDA build" >&2
  exit 1
}

status=0
(cd "$build" && ctest -L REQUIRES_GPU --output-on-failure 2>&1) | tee "$results/gpu-tests.log" || status=1
(cd "$build" && ctest -L core -j"$(nproc)" --output-on-failure 2>&1) | tail -n 30 | tee "$results/core-tests.log" ||
  status=1
bench=$(find "$build" -name ANUNetGpuBench -type f -perm -u+x | head -n 1)
"$bench" cuda | tee "$results/gpu-bench.jsonl" || status=1
exit $status
