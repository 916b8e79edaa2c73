#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
# The paper's comparison on the CPU budget: every architecture trained with the liver recipe's data, seed and
# optimiser for the same number of steps, then its validation Dice on the input grids.
# Usage: benchmarks/baselines.sh OUT_DIR [EPOCHS [ITERATIONS_PER_EPOCH [ARCHITECTURES...]]]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
anunet=${ANUNET:-$here/build/bin/anunet}
out=$1 epochs=${2:-10} iterations=${3:-80}
shift $(( $# < 3 ? $# : 3 ))
architectures=("${@:-anunet unetpp unet attunet r2unet r2attunet}")
config=$here/data/configs/chaos-t2-liver.yaml
mkdir -p "$out"
for architecture in ${architectures[*]}; do
  run=$out/$architecture
  /usr/bin/time -f "$architecture: %e s" -a -o "$out/times.txt" "$anunet" train --config "$config" --out "$run" \
    --architecture "$architecture" --epochs "$epochs" --iterations-per-epoch "$iterations" ${DATA_ROOT:+--data-root "$DATA_ROOT"} \
    >"$run.log" 2>&1
  /usr/bin/python3 "$here/test/accuracy/check_training.py" "$run" 0 --anunet "$anunet" --config "$config" \
    --data-root "${DATA_ROOT:-$here/build/ExternalData/data}" | grep -v '^segment' | tee -a "$out/summary.txt"
done
