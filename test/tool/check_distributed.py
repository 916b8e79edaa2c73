#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""Data-parallel training on real processes over loopback (Gloo): two ranks end with the weights of one
process trained on the combined batch, only rank 0 writes, and a missing or dead rank is an error, not a hang.

Usage: check_distributed.py ANUNET CONFIG DATA_ROOT WORK_DIR
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import torch

anunet, config, data_root, work = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
shutil.rmtree(work, ignore_errors=True)
work.mkdir(parents=True)
TOLERANCE = 1e-5


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train(out, threads, extra=(), env=None):
    command = [anunet, "train", "--config", config, "--data-root", data_root, "--out", str(out),
               "--threads", str(threads), *extra]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def ranks(out, world, port, extra=(), started=None):
    processes = []
    for rank in range(world if started is None else started):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world),
                   RANK=str(rank), LOCAL_RANK=str(rank))
        processes.append(train(out, 1, ("--distributed", *extra), env))
    return processes


def finish(process, limit=600):
    output, _ = process.communicate(timeout=limit)
    return process.returncode, output


def state(path):
    archive = torch.jit.load(str(path), map_location="cpu")
    tensors = dict(archive.named_parameters())
    tensors.update(dict(archive.named_buffers()))
    return tensors


# 1. One process on the whole batch, then two ranks sharing it (one thread each, the same two cores).
start = time.monotonic()
code, output = finish(train(work / "single", 2))
single_seconds = time.monotonic() - start
assert code == 0, f"one-process training failed:\n{output}"
start = time.monotonic()
results = [finish(p) for p in ranks(work / "ranks", 2, free_port())]
ranks_seconds = time.monotonic() - start
for rank, (code, output) in enumerate(results):
    assert code == 0, f"rank {rank} failed:\n{output}"
assert "best validation Dice" in results[0][1] and "best validation Dice" not in results[1][1], \
    "rank 0 reports, rank 1 stays silent"

reference, distributed = state(work / "single" / "last.pt"), state(work / "ranks" / "last.pt")
assert reference.keys() == distributed.keys(), "the two checkpoints hold different tensors"
worst, where = 0.0, ""
for name, tensor in reference.items():
    if tensor.is_floating_point():
        difference = (tensor - distributed[name]).abs().max().item()
        if difference > worst:
            worst, where = difference, name
    else:
        assert torch.equal(tensor, distributed[name]), f"{name}: {tensor} != {distributed[name]}"
assert worst <= TOLERANCE, f"2 ranks differ from 1 process by {worst:.3g} in {where} (tolerance {TOLERANCE})"

lines = [json.loads(line) for line in (work / "ranks" / "log.jsonl").read_text().splitlines()]
single_lines = [json.loads(line) for line in (work / "single" / "log.jsonl").read_text().splitlines()]
assert [r["epoch"] for r in lines] == [1, 2], f"rank 0 alone writes one line per epoch: {lines}"
for a, b in zip(lines, single_lines):
    assert abs(a["loss"] - b["loss"]) <= 1e-4, f"epoch losses differ: {a['loss']} vs {b['loss']}"
    assert a["per_case_dice"].keys() == b["per_case_dice"].keys(), "both ranks' validation cases are gathered"
    for case, dice in a["per_case_dice"].items():
        assert abs(dice - b["per_case_dice"][case]) <= 1e-3, f"validation Dice of {case}: {dice} vs {b}"
communication = sum(r["communication_seconds"] for r in lines)
training = sum(r["seconds"] - r["validation_seconds"] for r in lines)
print(f"weights: max |2 ranks - 1 process| = {worst:.3g} ({where}); losses "
      f"{[round(r['loss'], 6) for r in lines]} vs {[round(r['loss'], 6) for r in single_lines]}")
print(f"wall: 1 process x 2 threads {single_seconds:.1f} s, 2 processes x 1 thread {ranks_seconds:.1f} s; "
      f"rank 0 waited {communication:.2f} s in collectives of {training:.2f} s training")

# Local batch norm: fewer collectives, each rank normalising with its own share: a different step.
results = [finish(p) for p in ranks(work / "local", 2, free_port(), ("--local-batch-norm",))]
for rank, (code, output) in enumerate(results):
    assert code == 0, f"rank {rank} with --local-batch-norm failed:\n{output}"
local = state(work / "local" / "last.pt")
local_difference = max((reference[n] - t).abs().max().item() for n, t in local.items() if t.is_floating_point())
assert local_difference > 10 * TOLERANCE, f"--local-batch-norm changed nothing ({local_difference:.3g})"
local_lines = [json.loads(line) for line in (work / "local" / "log.jsonl").read_text().splitlines()]
print(f"local batch norm: max |difference| {local_difference:.3g}; collectives "
      f"{sum(r['communication_seconds'] for r in local_lines):.2f} s")

# 2. A rank that never comes: rank 0 gives up after the timeout with a message naming the rendezvous.
start = time.monotonic()
code, output = finish(ranks(work / "alone", 2, free_port(), ("--distributed-timeout", "5"), started=1)[0], limit=120)
assert code != 0 and "cannot meet the other ranks at 127.0.0.1:" in output, f"exit {code}:\n{output}"
print(f"missing rank: exit {code} after {time.monotonic() - start:.1f} s: {output.strip().splitlines()[-1]}")

# 3. A rank that dies while training: the other one fails with an error instead of waiting for ever.
processes = ranks(work / "dead", 2, free_port(), ("--epochs", "50", "--distributed-timeout", "20"))
time.sleep(8)  # past the reading of the cases and the rendezvous, into the steps
processes[1].send_signal(signal.SIGKILL)
start = time.monotonic()
code, output = finish(processes[0], limit=120)
processes[1].wait()
assert code != 0 and "rank 0 of 2" in output, f"exit {code}:\n{output}"
print(f"dead rank: rank 0 exit {code} {time.monotonic() - start:.1f} s after the kill: "
      f"{output.strip().splitlines()[-1]}")
