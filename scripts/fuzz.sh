#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
# Fuzzes each libFuzzer target of fuzz/ for a bounded time, starting from its committed corpus (fuzz/corpus/) and
# its past findings (fuzz/regressions/). Any finding (a crash, a sanitizer report, an exception the parser must
# not throw, an input slower than the timeout, a run over the memory limit) fails it; libFuzzer writes the input
# to the artifact folder, and fuzz/README.md says how to turn it into a regression test. Builds what it needs
# with scripts/sanitize.sh --build-only (clang 14, AddressSanitizer and UndefinedBehaviorSanitizer).
#
#   scripts/fuzz.sh [SECONDS [BUILD_DIR]]    (default 60 s per target, build-sanitize/)
#   ANUNET_FUZZ_TARGETS="cli manifest" scripts/fuzz.sh      only these targets
#   ANUNET_FUZZ_TOOL=OFF scripts/fuzz.sh                  without cli (scripts/sanitize.sh)
#   ANUNET_FUZZ_ARTIFACTS=DIR                               where findings go (default BUILD_DIR/fuzz/findings)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build=${2:-$here/build-sanitize}
targets=${ANUNET_FUZZ_TARGETS:-training_config checkpoint_metadata model_file manifest cli}
"$here/scripts/sanitize.sh" --build-only "$build"

artifacts=${ANUNET_FUZZ_ARTIFACTS:-$build/fuzz/findings}
mkdir -p "$artifacts"
# Reports are fatal and LeakSanitizer runs after every input that leaves memory behind (-detect_leaks below).
# Reports name functions (and fuzz/lsan.supp matches them) only through llvm-symbolizer.
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-14/bin/llvm-symbolizer}
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$here/scripts/ubsan.supp
status=0
summary=()
for target in $targets; do
  exe=$build/fuzz/fuzz_$target
  if [ ! -x "$exe" ]; then
    # cli with ANUNET_FUZZ_TOOL=OFF.
    echo "fuzz: $target not built in $build; left out"
    summary+=("$target: not built, left out")
    continue
  fi
  # The inputs libFuzzer finds go to a scratch corpus (the first folder); the committed ones are only read.
  scratch=$(mktemp -d)
  dict=()
  [ -f "$here/fuzz/$target.dict" ] && dict=(-dict="$here/fuzz/$target.dict")
  mkdir -p "$here/fuzz/regressions/$target"
  log=$artifacts/$target.log
  options=()
  if [ "$target" = model_file ]; then
    # LibTorch leaks on some corrupt archives (fuzz/lsan.supp). Suppressing exactly that stack needs full malloc
    # stacks (LibTorch has no frame pointers), which cost 15 times the runs; so this target fuzzes without leak
    # checks and then runs every input it kept once more with them.
    options=(-detect_leaks=0)
  fi
  files=$(mktemp -d)
  echo "fuzz: $target for $seconds s"
  set +e
  # -timeout: seconds per input (a hang is a finding); -rss_limit_mb: the process (and any single allocation).
  TMPDIR=$files "$exe" "${dict[@]}" "${options[@]}" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$target-" \
    "$scratch" "$here/fuzz/corpus/$target" "$here/fuzz/regressions/$target" >"$log" 2>&1
  rc=$?
  if [ "$rc" -eq 0 ] && [ "$target" = model_file ] && [ -n "$(ls -A "$scratch")" ]; then
    echo "fuzz: $target: leak check of the $(ls "$scratch" | wc -l) inputs it kept"
    TMPDIR=$files ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_malloc=0 LSAN_OPTIONS=suppressions=$here/fuzz/lsan.supp \
      "$exe" -timeout=30 -rss_limit_mb=4096 "$scratch"/* >>"$log" 2>&1
    rc=$?
    # The inputs that leak are among those; keep them for a look.
    [ "$rc" -eq 0 ] || cp -r "$scratch" "$artifacts/$target-kept-inputs"
  fi
  set -e
  rm -rf "$scratch" "$files"
  # The last status line ("#N DONE cov: C ft: F corp: ... exec/s: E") and the run's totals.
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  summary+=("$target: ${runs:-?} runs in $seconds s; ${last:-no status line}")
  if [ "$rc" -ne 0 ]; then
    echo "fuzz: $target FAILED (exit status $rc); its log: $log" >&2
    grep -E -A40 '^==[0-9]+==ERROR|^SUMMARY|runtime error|deadly signal|Test unit written|out-of-memory|timeout' "$log" | head -80 >&2 || true
    status=1
  fi
done
printf 'fuzz: %s\n' "${summary[@]}"
exit $status
