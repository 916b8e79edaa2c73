#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
#
# Before/after check of a change that must keep the speed: per-slice time of `anunet segment` (ANU-Net L4 at
# 256 x 256, batch 1 and 8, 2 threads, on CHAOS case 33, including reading and writing) and of a training step
# (benchmarks/training-step.yaml, 60 steps). Minimum over REPEATS runs.
# Usage: benchmarks/speed-check.sh MODEL [REPEATS]   (MODEL: a full-width checkpoint at 256 x 256)
#        ANUNET=/path/to/anunet overrides the tool; DATA_ROOT the image folder.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
anunet=${ANUNET:-$here/build/bin/anunet}
data=${DATA_ROOT:-$here/build/ExternalData/data}
model=$1 repeats=${2:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
image=$data/chaos-mr-t2/case33_t2.nii.gz
slices=$(/usr/bin/python3 -c "import nibabel, sys; print(nibabel.load(sys.argv[1]).shape[2])" "$image")
best() { sort -n | head -1; }
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); tool: $anunet"
for batch in 1 8; do
  for _ in $(seq "$repeats"); do
    /usr/bin/time -f %e -o "$out/t" "$anunet" segment --model "$model" --input "$image" --output "$out/s.nii.gz" \
      --level 4 --batch "$batch" --threads 2 >/dev/null 2>&1
    cat "$out/t"
  done | best | awk -v b="$batch" -v n="$slices" '{ printf "segment L4 256x256 batch %d: %.1f ms/slice (%d slices, %.2f s)\n", b, 1000 * $1 / n, n, $1 }'
done
for _ in $(seq "$repeats"); do
  /usr/bin/time -f %e -o "$out/t" "$anunet" train --config "$here/benchmarks/training-step.yaml" --data-root "$data" \
    --out "$out/train" >/dev/null 2>&1
  rm -rf "$out/train"
  cat "$out/t"
done | best | awk '{ printf "train 60 steps (incl. reading 3 cases): %.1f s, %.3f s/step\n", $1, $1 / 60 }'
