#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
# Wall time per slice and peak resident memory of `anunet segment` at every pruning level.
# Usage: benchmarks/inference.sh MODEL IMAGE [THREADS]   (from the source folder, after scripts/setup.sh)
set -euo pipefail
model=$1 image=$2 threads=${3:-2}
here=$(cd "$(dirname "$0")/.." && pwd)
anunet=${ANUNET:-$here/build/bin/anunet}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
slices=$(/usr/bin/python3 -c "import nibabel, sys; print(nibabel.load(sys.argv[1]).shape[2])" "$image")
echo "| level | seconds (whole run) | ms per slice | peak RSS (MB) |"
echo "| --- | ---: | ---: | ---: |"
for level in 1 2 3 4; do
  /usr/bin/time -f "%e %M" -o "$out/time" "$anunet" segment --model "$model" --input "$image" \
    --output "$out/seg.nii.gz" --level "$level" --threads "$threads" >/dev/null 2>&1
  read -r seconds kilobytes <"$out/time"
  awk -v l="$level" -v s="$seconds" -v k="$kilobytes" -v n="$slices" \
    'BEGIN { printf "| L%d | %.2f | %.1f | %.0f |\n", l, s, 1000 * s / n, k / 1024 }'
done
