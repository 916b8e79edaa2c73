#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
# The sanitizer run: builds the libraries, the example pipeline, the tests and the libFuzzer targets (fuzz/)
# with clang 14's AddressSanitizer and UndefinedBehaviorSanitizer, then runs the torch-core, ITK-layer and
# workflow-layer suites (labels core, itk, workflow) and each fuzzer once over its committed inputs (label fuzz).
# Any report fails it. One build serves both: the libraries carry libFuzzer's coverage instrumentation
# (-fsanitize=fuzzer-no-link), which the test executables ignore, so that scripts/fuzz.sh reuses this build.
# Left out: the command-line tool as a program and everything that runs it (the ITK-layer tests that run it
# compile out, and the tool's own suite), the Python module and its tests (an uninstrumented interpreter cannot
# load an ASan library without LD_PRELOAD tricks), the Slurm and quality suites. The tool's option parsing and
# its manifest reader are in the fuzz label instead.
#
#   scripts/sanitize.sh [--build-only] [BUILD_DIR]      (default build-sanitize/)
#   ANUNET_FUZZ_TOOL=OFF scripts/sanitize.sh            without the command-line fuzzer, which compiles the whole
#                                                       tool (as CI runs it: docs/building.md §5)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build_only=0
if [ "${1:-}" = --build-only ]; then
  build_only=1
  shift
fi
build=${1:-$here/build-sanitize}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=$here
for tool in clang-14 clang++-14; do
  command -v "$tool" >/dev/null || { echo "sanitize: $tool not found (scripts/setup.sh installs it)" >&2; exit 1; }
done
# UndefinedBehaviorSanitizer stays recoverable so that its suppressions (scripts/ubsan.supp: defects in ITK's
# headers) apply; UBSAN_OPTIONS=halt_on_error makes every other report fatal.
flags="-fsanitize=address,undefined -fno-omit-frame-pointer"
# Debian's ITK 5.2 headers accept only g++ (fuzz/include/ClangITKCompilerDetection.h says why this is enough).
cxx_only="-include $here/fuzz/include/ClangITKCompilerDetection.h"
# libFuzzer's coverage instrumentation only where fuzzers run: on the ITK-layer tests' large template
# instantiations it made the compiler three times slower (SegmentationMetricsTest.cxx: 757 s with it, 268 s
# without).
mkdir -p "$build"
printf 'src:%s/test/*\nsrc:%s/examples/*\n' "$here" "$here" >"$build/coverage-ignorelist.txt"
compile="$flags -fsanitize=fuzzer-no-link -fsanitize-coverage-ignorelist=$build/coverage-ignorelist.txt"
# A build folder configured for another compiler (g++, as this script once used) cannot be reconfigured.
if [ -f "$build/CMakeCache.txt" ] && ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++-14' "$build/CMakeCache.txt"; then
  echo "sanitize: $build was configured with another compiler; remove it or give another folder" >&2
  exit 1
fi
cmake -S "$here" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
  -DCMAKE_C_FLAGS="$compile" -DCMAKE_CXX_FLAGS="$compile $cxx_only" \
  -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" \
  -DANUNET_BUILD_APPS=OFF -DANUNET_BUILD_PYTHON=OFF -DANUNET_BUILD_FUZZERS=ON -DANUNET_FUZZ_TOOL="${ANUNET_FUZZ_TOOL:-ON}" \
  -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
# Each LibTorch translation unit needs ~1.3 GB of compiler memory, more with the sanitizers.
jobs=$(( $(nproc) < 4 ? $(nproc) : 4 ))
cmake --build "$build" -j "${ANUNET_BUILD_JOBS:-$jobs}"
((build_only)) && exit 0
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-14/bin/llvm-symbolizer}
# halt_on_error: the first report fails the test. Leak checking stays on: the suites must not leak either.
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$here/scripts/ubsan.supp
cd "$build"
ctest -L "core|itk|workflow|fuzz" --output-on-failure -j 2 --timeout 1800
