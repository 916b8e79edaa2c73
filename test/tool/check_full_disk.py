#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""A full disk while `anunet train` writes its checkpoints and while `anunet segment` writes a label image, on
a real size-limited filesystem (a tmpfs this test mounts; it needs root): a clear error naming the file, the
previous file intact byte for byte, and no partial or temporary file left behind.

Usage: check_full_disk.py ANUNET CONFIG DATA_ROOT MODEL WORK_DIR
"""
import errno
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

anunet, config, data_root, model, work = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4], Path(sys.argv[5])
if os.geteuid() != 0:
    print("SKIP: mounting the small filesystem needs root")
    # CI sets ANUNET_NO_SKIP: there, a test that cannot run is a failure, not a skip.
    sys.exit(1 if os.environ.get("ANUNET_NO_SKIP") else 77)
shutil.rmtree(work, ignore_errors=True)
disk = work / "disk"
disk.mkdir(parents=True)
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "anunet-full-disk-test", str(disk)], check=True)


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fill(folder, leave):
    """Fills the filesystem but for about `leave` bytes."""
    filler = folder / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
    os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def run(*arguments):
    result = subprocess.run([anunet, *arguments], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return result.returncode, result.stdout


def no_temporaries(folder):
    left = [p.name for p in folder.iterdir() if ".tmp-" in p.name or ".partial" in p.name]
    assert not left, f"partial files left behind: {left}"


try:
    # Checkpoints: one epoch fits; then, with the disk full, the next epoch's checkpoints cannot be written.
    out = disk / "run"
    code, output = run("train", "--config", config, "--data-root", str(data_root), "--out", str(out), "--epochs", "1")
    assert code == 0, output
    before = {name: digest(out / name) for name in ("best.pt", "last.pt")}
    filler = fill(disk, 256 * 1024)
    code, output = run("train", "--config", config, "--data-root", str(data_root), "--out", str(out), "--epochs", "2",
                       "--resume", str(out / "last.pt"))
    message = output.strip().splitlines()[-1]
    assert code != 0, f"training on a full disk succeeded:\n{output}"
    assert ".pt" in message and "No space left on device" in message, f"unclear message: {message}"
    assert before == {name: digest(out / name) for name in before}, "a previous checkpoint was changed"
    no_temporaries(out)
    print(f"checkpoint on a full disk: exit {code}: {message}")
    filler.unlink()

    # A label image: written once, then again with the disk full.
    image = str(data_root / "chaos-mr-t2" / "case33_t2.nii.gz")
    labels = disk / "segmentations" / "case33.nii.gz"
    labels.parent.mkdir()
    code, output = run("segment", "--model", model, "--input", image, "--output", str(labels), "--threads", "2")
    assert code == 0, output
    before = digest(labels)
    filler = fill(disk, 0)
    code, output = run("segment", "--model", model, "--input", image, "--output", str(labels), "--threads", "2")
    message = output.strip().splitlines()[-1]
    assert code != 0, f"segmenting onto a full disk succeeded:\n{output}"
    assert "case33.nii.gz" in message, f"the message does not name the file: {message}"
    assert digest(labels) == before, "the previous label image was changed"
    no_temporaries(labels.parent)
    print(f"label image on a full disk: exit {code}: {message}")
finally:
    subprocess.run(["umount", str(disk)], check=False)
