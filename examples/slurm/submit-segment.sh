#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
# Queues `anunet segment --manifest` as a job array of SHARDS tasks (segment-array.sbatch) and `anunet summarize`
# as a job that starts once every task has ended, failed ones included, so that the summary names them:
#
#   examples/slurm/submit-segment.sh SHARDS MODEL MANIFEST OUTPUT_DIR [segment options, e.g. --level 3]
#
# Prints the two job ids. Job logs go to OUTPUT_DIR/logs. ANUNET names the tool (default: anunet on the PATH);
# ANUNET_SBATCH_OPTIONS adds sbatch options to both jobs (e.g. "--partition=short --account=lab").
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 SHARDS MODEL MANIFEST OUTPUT_DIR [segment options]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
shards=$1 model=$2 manifest=$3 out=$4
shift 4
case $shards in
  '' | *[!0-9]* | 0) echo "$0: SHARDS must be a whole number >= 1, not '$shards'" >&2; exit 2 ;;
esac
read -r -a extra <<<"${ANUNET_SBATCH_OPTIONS:-}"
mkdir -p "$out/logs"
segment=$(sbatch --parsable "${extra[@]}" --array="0-$((shards - 1))" --output="$out/logs/segment-%A_%a.out" \
  "$here/segment-array.sbatch" "$model" "$manifest" "$out" "$@")
segment=${segment%%;*} # "id;cluster" on multi-cluster sites
summarize=$(sbatch --parsable "${extra[@]}" --dependency="afterany:$segment" --job-name=anunet-summarize \
  --cpus-per-task=1 --mem=1G --output="$out/logs/summarize-%j.out" \
  --wrap="$(printf '%q summarize %q' "${ANUNET:-anunet}" "$out")")
echo "$segment ${summarize%%;*}"
