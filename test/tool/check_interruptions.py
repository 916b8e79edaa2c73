#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""`anunet train` interrupted as clusters and users interrupt it, on real processes and real CHAOS cases:

- SIGTERM (a Slurm time limit) and SIGINT (Ctrl-C) during an epoch: the run stops after the current step,
  writes last.pt at that step, exits with 128 + the signal and says how to resume;
- SIGKILL at several moments (during steps, validation or a checkpoint write): the last.pt on disk always
  loads, the log never holds a torn line, and leftover temporary files are removed by the next run;
- every interrupted run, resumed with --resume until it completes, ends with exactly the weights of an
  uninterrupted run with the same seed and thread count.

Usage: check_interruptions.py ANUNET CONFIG DATA_ROOT WORK_DIR
"""
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

anunet, config, data_root, work = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
shutil.rmtree(work, ignore_errors=True)
work.mkdir(parents=True)
EPOCHS, STEPS = 4, 10


def command(out, resume=False):
    line = [anunet, "train", "--config", config, "--data-root", data_root, "--out", str(out), "--threads", "1",
            "--epochs", str(EPOCHS), "--iterations-per-epoch", str(STEPS)]
    return line + (["--resume", str(out / "last.pt")] if resume else [])


def start(out, resume=False):
    return subprocess.Popen(command(out, resume), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def tensors(path):
    archive = torch.jit.load(str(path), map_location="cpu")
    state = dict(archive.named_parameters())
    state.update(dict(archive.named_buffers()))
    return state


def log_epochs(out):
    path = out / "log.jsonl"
    if not path.exists():
        return 0
    text = path.read_text()
    assert text == "" or text.endswith("\n"), f"{path}: a torn last line: {text[-80:]!r}"
    return len([json.loads(line) for line in text.splitlines()])  # every line parses


def wait_for_epochs(out, process, count, limit=300):
    deadline = time.monotonic() + limit
    while log_epochs(out) < count:
        assert process.poll() is None, f"the run ended early:\n{process.communicate()[0]}"
        assert time.monotonic() < deadline, f"no epoch {count} within {limit} s"
        time.sleep(0.05)


def resume_to_the_end(out):
    """Runs to the last epoch: from last.pt where there is one, else from the start."""
    process = start(out, resume=(out / "last.pt").exists())
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, f"the run to the end failed:\n{output}"
    return output


def same_weights(out, reference):
    final = tensors(out / "last.pt")
    assert final.keys() == reference.keys()
    different = [name for name, t in reference.items() if not torch.equal(t, final[name])]
    assert not different, f"{out.name}: {len(different)} tensors differ from the uninterrupted run: {different[:3]}"


straight = work / "straight"
resume_to_the_end(straight)
reference = tensors(straight / "last.pt")
assert log_epochs(straight) == EPOCHS

# A signal during epoch 2: stop after the step, last.pt at that step, exit 128 + signal, a resume hint.
for sig in (signal.SIGTERM, signal.SIGINT):
    out = work / sig.name
    process = start(out)
    wait_for_epochs(out, process, 1)
    time.sleep(0.3)
    process.send_signal(sig)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 128 + sig.value, f"{sig.name}: exit {process.returncode}:\n{output}"
    assert f"stopped by {sig.name}" in output and "--resume" in output, output
    epochs_logged = log_epochs(out)
    assert 1 <= epochs_logged < EPOCHS, f"{sig.name}: {epochs_logged} epochs logged"
    print(f"{sig.name}: exit {process.returncode}; {output.strip().splitlines()[-1]}")
    resume_to_the_end(out)
    assert log_epochs(out) == EPOCHS
    same_weights(out, reference)

# SIGKILL at several moments, each run resumed from whatever last.pt the previous one left.
out = work / "SIGKILL"
kills = 0
for delay in (2.0, 3.1, 4.3, 5.2):
    process = start(out, resume=(out / "last.pt").exists())
    time.sleep(delay)
    if process.poll() is not None:
        break  # finished before the kill
    process.send_signal(signal.SIGKILL)
    process.wait()
    kills += 1
    if (out / "last.pt").exists():
        tensors(out / "last.pt")  # loads: never half a file
    log_epochs(out)
(out / ".last.partial-999999999.pt").write_text("what a killed writer leaves")
resume_to_the_end(out)
assert log_epochs(out) == EPOCHS
same_weights(out, reference)
leftovers = [p.name for p in out.iterdir() if ".partial-" in p.name or ".tmp-" in p.name]
assert not leftovers, f"temporary files left: {leftovers}"
print(f"SIGKILL: {kills} kills, resumed to the end: same weights as the uninterrupted run; no temporary files")
