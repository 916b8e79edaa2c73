#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""Checks what `anunet train` wrote: both checkpoints, one complete JSON line per epoch, the curves.

Usage: check_train_output.py RUN_DIR EPOCHS ITERATIONS_PER_EPOCH
"""
import json
import sys
from pathlib import Path

run, epochs, per_epoch = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for name in ("best.pt", "last.pt", "curves.svg"):
    path = run / name
    assert path.is_file() and path.stat().st_size > 0, f"{path}: missing or empty"
lines = (run / "log.jsonl").read_text().splitlines()
assert len(lines) == epochs, f"log.jsonl: {len(lines)} lines, expected {epochs}"
for number, line in enumerate(lines, 1):
    record = json.loads(line)
    assert record["epoch"] == number, record
    assert record["iterations"] == number * per_epoch, record
    assert 0.0 <= record["val_dice"] <= 1.0, record
leftovers = [p.name for p in run.iterdir() if ".tmp" in p.name or p.name.startswith(".")]
assert not leftovers, f"temporary files left in {run}: {leftovers}"
print(f"{run}: {epochs} epochs, checkpoints and log complete")
