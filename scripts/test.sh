#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
# The test command of the README and of CI: builds (if needed) and runs the regression suite.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
[ -f "$build/build.ninja" ] || "$here/scripts/setup.sh" "$build"
cmake --build "$build" -j "$(nproc)"
cd "$build"
ctest -L regression --output-on-failure -j 2 --timeout 600
