#!/usr/bin/env python3
"""Checks a finished `anunet train` run: the best validation Dice in log.jsonl reaches a threshold.

Usage: check_training.py RUN_DIR MIN_DICE
"""
import json
import pathlib
import sys


def main() -> int:
    run_dir, min_dice = pathlib.Path(sys.argv[1]), float(sys.argv[2])
    log = run_dir / "log.jsonl"
    if not log.is_file():
        print(f"{log}: missing (did training finish?)", file=sys.stderr)
        return 1
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    if not records:
        print(f"{log}: no epochs recorded", file=sys.stderr)
        return 1
    best = max(records, key=lambda r: r.get("val_dice", -1.0))
    print(f"{run_dir.name}: {len(records)} epochs, best validation Dice {best['val_dice']:.4f} "
          f"at epoch {best['epoch']} (threshold {min_dice})")
    return 0 if best["val_dice"] >= min_dice else 1


if __name__ == "__main__":
    sys.exit(main())
