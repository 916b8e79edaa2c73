#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""Checks a finished `anunet train` run on its validation cases.

1. The best validation Dice in RUN_DIR/log.jsonl (3-D Dice per volume on the network's slices, as the
   trainer measures it) reaches MIN_DICE.
2. With --anunet, the validation cases of --config are segmented with RUN_DIR/best.pt by `anunet segment`
   on their own grids, and the 3-D Dice against the ground truth is computed here with nibabel and NumPy,
   independently of the C++ metrics; its mean must reach MIN_DICE too. Results go to RUN_DIR/validation.json.

Usage: check_training.py RUN_DIR MIN_DICE [--anunet BIN --config FILE --data-root DIR [--level K]]
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

# CHAOS label values (data/README): 1 liver, 2 right kidney, 3 left kidney, 4 spleen.
TASK_LABELS = {"liver": [1], "kidney": [2, 3], "spleen": [4]}


def best_logged_dice(run_dir: pathlib.Path):
    log = run_dir / "log.jsonl"
    if not log.is_file():
        sys.exit(f"{log}: missing (did training finish?)")
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    if not records:
        sys.exit(f"{log}: no epochs recorded")
    best = max(records, key=lambda r: r.get("val_dice", -1.0))
    seconds = sum(r["seconds"] for r in records)
    steps = records[-1]["iterations"]
    print(f"{run_dir.name}: {len(records)} epochs, {steps} steps in {seconds / 60:.1f} min; best validation Dice "
          f"{best['val_dice']:.4f} at epoch {best['epoch']}")
    return best["val_dice"]


def dice(prediction, truth) -> float:
    denominator = prediction.sum() + truth.sum()
    return 1.0 if denominator == 0 else 2.0 * (prediction & truth).sum() / denominator


def native_grid_dice(run_dir: pathlib.Path, args) -> float:
    import nibabel
    import numpy as np
    import yaml

    config = yaml.safe_load(pathlib.Path(args.config).read_text())
    labels = TASK_LABELS[config["task"]]
    data = config["data"]
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for case in data["validation"]:
            image = pathlib.Path(args.data_root) / data["image"].format(id=case)
            label = pathlib.Path(args.data_root) / data["label"].format(id=case)
            output = pathlib.Path(scratch) / f"case{case}_seg.nii.gz"
            subprocess.run([args.anunet, "segment", "--model", str(run_dir / "best.pt"), "--input", str(image),
                            "--output", str(output), "--level", str(args.level)], check=True)
            prediction = np.asarray(nibabel.load(output).dataobj) > 0
            truth = np.isin(np.rint(np.asarray(nibabel.load(label).dataobj)), labels)
            if prediction.shape != truth.shape:
                sys.exit(f"case {case}: prediction {prediction.shape} and truth {truth.shape} differ")
            results[case] = float(dice(prediction, truth))
            print(f"  case {case}: Dice {results[case]:.4f} on the input grid (L{args.level or 'full'})")
    mean = sum(results.values()) / len(results)
    print(f"  mean 3-D Dice on the input grids: {mean:.4f}")
    (run_dir / "validation.json").write_text(
        json.dumps({"level": args.level, "dice": results, "mean_dice": mean}, indent=2) + "\n")
    return mean


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=pathlib.Path)
    parser.add_argument("min_dice", type=float)
    parser.add_argument("--anunet", help="the anunet executable; enables the check on the input grids")
    parser.add_argument("--config")
    parser.add_argument("--data-root")
    parser.add_argument("--level", type=int, default=0)
    args = parser.parse_args()

    passed = best_logged_dice(args.run_dir) >= args.min_dice
    if args.anunet:
        passed = native_grid_dice(args.run_dir, args) >= args.min_dice and passed
    print(f"threshold {args.min_dice}: {'passed' if passed else 'FAILED'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
