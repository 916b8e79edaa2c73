#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
# Batch segmentation on a real Slurm: starts a one-node cluster on localhost (munged with a new key, slurmctld,
# slurmd) in a temporary folder, submits examples/slurm/submit-segment.sh (a 3-task job array of
# `anunet segment --manifest` over three CHAOS MR T2 cases, then `anunet summarize` after it), waits, checks that
# every task completed and that summary.csv has every case with status ok and a plausible Dice, and always stops
# the cluster again.
#
#   test/slurm/run-slurm-test.sh ANUNET MODEL DATA_ROOT
#
# Needs root (slurmd runs jobs as their users) and Debian's slurm-wlm and munge; exits 77 (CTest: skipped) without
# them. KEEP_SLURM_STATE=1 keeps the temporary folder (logs, outputs) for a look afterwards.
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 ANUNET MODEL DATA_ROOT" >&2
  exit 2
fi
anunet=$(realpath "$1")
model=$(realpath "$2")
data=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
python=/usr/bin/python3
[ -x "$python" ] || python=python3
start_time=$SECONDS

# CI sets ANUNET_NO_SKIP: there, a test that cannot run is a failure, not a skip.
skip() {
  echo "SKIP: $*"
  [ -z "${ANUNET_NO_SKIP:-}" ] || { echo "ANUNET_NO_SKIP is set: failing instead" >&2; exit 1; }
  exit 77
}
if [ "$(id -u)" -ne 0 ]; then
  skip "the Slurm test starts slurmd, which needs root"
fi
for tool in munged slurmctld slurmd sbatch scontrol squeue scancel sinfo; do
  if ! command -v "$tool" >/dev/null; then
    skip "$tool not found; install Debian's slurm-wlm and munge (scripts/setup.sh does)"
  fi
done

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# A short path: the MUNGE socket's name must fit a Unix socket address (108 bytes).
state=$(mktemp -d /tmp/anunet-slurm.XXXXXX)
chmod 755 "$state"
export SLURM_CONF=$state/slurm.conf
unset SLURM_JOB_ID SLURM_JOBID SLURM_ARRAY_JOB_ID # when run inside another Slurm job

stop_cluster() {
  local status=$?
  set +e
  if [ -f "$state/slurmctld.pid" ]; then
    # Jobs first, so that no anunet is left running once slurmd is gone.
    scancel --full --quiet --user="$(id -un)" 2>/dev/null
    for _ in $(seq 1 20); do
      [ -z "$(squeue --noheader 2>/dev/null)" ] && break
      sleep 1
    done
  fi
  local pids=()
  for pidfile in slurmd.pid slurmctld.pid munge/munged.pid; do
    if [ -f "$state/$pidfile" ]; then
      pids+=("$(cat "$state/$pidfile")")
      kill "${pids[-1]}" 2>/dev/null
    fi
  done
  # The daemons save their state as they go: remove the folder only once they are gone.
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  done
  if [ "$status" -ne 0 ]; then
    for log in "$state"/slurmctld.log "$state"/slurmd.log "$state"/work/out/logs/*.out; do
      [ -f "$log" ] && { echo "---- $log (last lines)"; tail -n 25 "$log"; }
    done
  fi
  if [ "${KEEP_SLURM_STATE:-0}" = 1 ]; then
    echo "kept $state"
  else
    rm -rf "$state"
  fi
  echo "slurm test: $((SECONDS - start_time)) s, exit status $status"
  exit "$status"
}
trap stop_cluster EXIT
trap 'exit 130' INT TERM

# MUNGE signs the cluster's messages; a fresh key makes this cluster trust no other.
mkdir -p "$state/munge" "$state/slurmctld" "$state/slurmd" "$state/work"
chmod 700 "$state/munge"
dd if=/dev/urandom of="$state/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$state/munge/munge.key"
munged --force --key-file="$state/munge/munge.key" --socket="$state/munge/socket" \
  --pid-file="$state/munge/munged.pid" --log-file="$state/munge/munged.log" --seed-file="$state/munge/seed" ||
  fail "munged did not start (log: $state/munge/munged.log)"

# Free ports, so that a Slurm of the machine (or another run of this test) is not disturbed.
read -r ctld_port slurmd_port < <("$python" -c '
import socket
sockets = [socket.socket() for _ in range(2)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))')
# The node as slurmd sees it, a little memory kept back: a node that reports less than configured is drained.
hardware=$(slurmd -C | head -n 1)
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$hardware")
memory=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hardware")
memory=$((memory * 9 / 10))
sed -e "s|@CONTROL_HOST@|$(hostname -s)|" -e "s|@SLURMCTLD_PORT@|$ctld_port|" -e "s|@SLURMD_PORT@|$slurmd_port|" \
  -e "s|@MUNGE_SOCKET@|$state/munge/socket|" -e "s|@STATE@|$state|g" -e "s|@CPUS@|$cpus|" \
  -e "s|@MEMORY_MB@|$memory|" "$here/slurm.conf.in" >"$SLURM_CONF"

slurmctld || fail "slurmctld did not start"
slurmd -N localhost || fail "slurmd did not start"
for _ in $(seq 1 60); do
  [ "$(sinfo --noheader --format=%t 2>/dev/null)" = idle ] && break
  sleep 1
done
[ "$(sinfo --noheader --format=%t)" = idle ] || fail "the node did not become idle: $(sinfo --noheader 2>&1)"
echo "slurm test: cluster up ($cpus CPUs, $memory MB, ports $ctld_port/$slurmd_port) after $((SECONDS - start_time)) s"

cd "$state/work"
{
  echo "case,image,truth"
  for c in 31 32 33; do
    echo "case$c,$data/chaos-mr-t2/case${c}_t2.nii.gz,$data/chaos-mr-t2/case${c}_labels.nii.gz"
  done
} >cases.csv
# One CPU per task: two shards run at once on two cores, the third after them.
read -r segment_job summarize_job < <(ANUNET=$anunet ANUNET_SBATCH_OPTIONS="--cpus-per-task=1 --mem=2G" \
  "$source_dir/examples/slurm/submit-segment.sh" 3 "$model" cases.csv out)
[ -n "$summarize_job" ] || fail "submit-segment.sh did not print two job ids"
echo "slurm test: segmentation array $segment_job, summary job $summarize_job"

# Waits at most $2 s until every job (or array task) of job id $1 has ended; prints "id[_task] STATE EXITCODE" of each.
wait_for() {
  local deadline=$((SECONDS + $2)) states
  while ((SECONDS < deadline)); do
    states=$(scontrol show job --oneliner "$1" 2>/dev/null | awk '{
      id = task = state = code = ""
      for (i = 1; i <= NF; i++) {
        split($i, kv, "=")
        if (kv[1] == "JobId") id = kv[2]; else if (kv[1] == "ArrayTaskId") task = "_" kv[2]
        else if (kv[1] == "JobState") state = kv[2]; else if (kv[1] == "ExitCode") code = kv[2]
      }
      print id task, state, code }')
    if [ -n "$states" ] && ! grep -qE ' (PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUED|RESIZING) ' \
      <<<"$states "; then
      echo "$states"
      return 0
    fi
    sleep 2
  done
  fail "job $1 had not ended after $2 s: $(scontrol show job --oneliner "$1" 2>&1 | grep -o 'JobState=[A-Z_]*' | sort | uniq -c | tr '\n' ' ')"
}

array_states=$(wait_for "$segment_job" 240)
echo "$array_states" | sed 's/^/slurm test: array task /'
[ "$(grep -c . <<<"$array_states")" -eq 3 ] || fail "expected 3 array tasks, found: $array_states"
if grep -vq ' COMPLETED 0:0$' <<<"$array_states"; then
  fail "an array task did not complete with exit status 0"
fi
summary_state=$(wait_for "$summarize_job" 60)
echo "slurm test: summary job $summary_state"
grep -q ' COMPLETED 0:0$' <<<"$summary_state" || fail "the summary job did not complete with exit status 0"

echo "---- out/summary.csv"
cat out/summary.csv
"$python" - out <<'EOF' || fail "the summary is not what three finished shards give"
import csv, json, pathlib, sys
out = pathlib.Path(sys.argv[1])
rows = list(csv.DictReader(open(out / "summary.csv", newline="")))
cases = [r for r in rows if r["status"] != "mean"]
assert [r["case"] for r in cases] == ["case31", "case32", "case33"], f"cases {[r['case'] for r in cases]}"
for r in cases:
    assert r["status"] == "ok", f"{r['case']}: status {r['status']} {r['message']}"
    assert 0.8 < float(r["dice"]) <= 1.0, f"{r['case']}: implausible Dice {r['dice']}"
assert rows[-1]["status"] == "mean" and 0.8 < float(rows[-1]["dice"]) <= 1.0, f"mean row {rows[-1]}"
# Each array task took its own shard: case k (row index k) in shard k % 3.
for index, case in enumerate(("case31", "case32", "case33")):
    record = json.loads((out / "results" / "cases" / f"{case}.json").read_text())
    assert record["shard"] == f"{index}/3", f"{case} was segmented by shard {record['shard']}"
for i in range(3):
    shard = json.loads((out / "results" / f"shard-{i}-of-3.json").read_text())
    assert shard["finished"] and shard["counts"] == {"segmented": 1, "skipped": 0, "failed": 0}, shard
summary = json.loads((out / "summary.json").read_text())
assert summary["counts"] == {"cases": 3, "ok": 3, "failed": 0, "missing": 0}, summary["counts"]
print(f"slurm test: 3 cases ok, mean Dice {summary['mean']['dice']:.4f}")
EOF
grep -h "^case" out/logs/segment-*.out | sed 's/^/slurm test: log: /'
echo "slurm test: passed"
