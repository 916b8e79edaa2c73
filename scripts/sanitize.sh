#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
# The sanitizer run: builds the libraries, the example pipeline and the tests with AddressSanitizer and
# UndefinedBehaviorSanitizer (g++), then runs the torch-core and ITK-layer suites (labels core and itk). Any
# report fails it. Left out: the command-line tool and everything that runs it (its ITK-layer tests compile
# out, and the tool's own tests), the Python module and its tests (an uninstrumented interpreter cannot load
# an ASan library without LD_PRELOAD tricks). The tool's sources are the slowest to compile under the
# sanitizers (ITK and CLI11 headers, about 80 s each here).
#
#   scripts/sanitize.sh [BUILD_DIR]      (default build-sanitize/)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-sanitize}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=$here
# UndefinedBehaviorSanitizer stays recoverable so that its suppressions (scripts/ubsan.supp: defects in ITK's
# headers) apply; UBSAN_OPTIONS=halt_on_error makes every other report fatal.
flags="-fsanitize=address,undefined -fno-omit-frame-pointer"
cmake -S "$here" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" \
  -DANUNET_BUILD_APPS=OFF -DANUNET_BUILD_PYTHON=OFF \
  -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
# Each LibTorch translation unit needs ~1.3 GB of compiler memory, more with the sanitizers.
jobs=$(( $(nproc) < 4 ? $(nproc) : 4 ))
cmake --build "$build" -j "$jobs"
# halt_on_error: the first report fails the test. Leak checking stays on: the suites must not leak either.
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$here/scripts/ubsan.supp
cd "$build"
ctest -L "core|itk" --output-on-failure -j 2 --timeout 1800
