#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""Runs `anunet bench --smoke --json` and checks the document's shape: machine facts, and every kind of
measurement with the keys issue 17 asks for. Times are never checked (this runs on shared CI machines).

Usage: check_bench_json.py ANUNET [PYTHON]
"""
import json
import subprocess
import sys

anunet = sys.argv[1]
command = [anunet, "bench", "--smoke", "--json", "--threads", "1"]
if len(sys.argv) > 2:
    command += ["--python", sys.argv[2]]
document = json.loads(subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout)

machine = document["machine"]
for key in ("cpu_model", "cpu_flags", "bf16", "amx", "logical_cpus", "physical_cores", "libtorch_version", "threads"):
    assert key in machine, f"machine facts lack {key}: {machine}"
assert machine["logical_cpus"] >= 1 and machine["threads"] == 1, machine

required = ("kind", "architecture", "level", "size", "batch", "threads", "dtype", "implementation", "min_s", "median_s",
            "gflops", "peak_fraction")
rows = document["measurements"]
for row in rows:
    missing = [key for key in required if key not in row]
    assert not missing, f"{row}: lacks {missing}"
    assert row["min_s"] > 0 and row["median_s"] >= row["min_s"] and row["runs"] >= 1, row
    assert row["dtype"] in ("float32", "bfloat16") and row["threads"] == 1, row

# bfloat16 is measured exactly where the CPU has it: ours, forward, each next to its float32 row.
half = [row for row in rows if row["dtype"] == "bfloat16"]
if machine["bf16"]:
    assert half and all(row["kind"] == "forward" and row["implementation"] == "ours" and
                        row["speedup_over_float32"] > 0 for row in half), half
else:
    assert not half and any("bfloat16" in note for note in document["notes"]), (half, document["notes"])
rows = [row for row in rows if row["dtype"] == "float32"]

def kinds(implementation):
    return {row["kind"] for row in rows if row["implementation"] == implementation}

expected = {"conv-peak", "matmul", "forward", "training-step", "bare-network", "itk-filter", "segment-peak-memory"}
assert kinds("ours") == expected, f"ours: {sorted(kinds('ours'))}, expected {sorted(expected)}"
for setting in ("eager-pytorch", "eager-pytorch-tuned", "eager-pytorch-best"):
    assert kinds(setting) == {"forward", "training-step"}, f"{setting}: {sorted(kinds(setting))}"
peak = next(row for row in rows if row["kind"] == "conv-peak")
assert peak["peak_fraction"] == 1.0 and peak["gflops"] > 0, peak
forward = [row for row in rows if row["kind"] == "forward"]
assert all(row["architecture"] == "anunet" and row["level"] == 1 and row["peak_fraction"] > 0 for row in forward), forward
assert all("ours_speedup" in row for row in forward if row["implementation"] != "ours"), forward
memory = [row for row in rows if row["kind"] == "segment-peak-memory"]
assert len(memory) == 2 and all(row["peak_rss_mib"] > 0 for row in memory), memory
assert all("overhead" in row for row in rows if row["kind"] == "itk-filter"), rows
print(f"bench --smoke: {len(rows)} measurements with the expected keys")
