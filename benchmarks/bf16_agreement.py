#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""bfloat16 against float32 inference on real cases (issue 17: the Dice within 0.005).

For each model and case: segments in both precisions through anunet.segment (the ITK filter), then prints the
3-D Dice of each against the ground truth, their difference, the share of voxels whose label differs between
the two, and the time of each. Needs a CPU with avx512_bf16 or amx_bf16.

    LD_LIBRARY_PATH=build/lib PYTHONPATH=build/python /usr/bin/python3 benchmarks/bf16_agreement.py \\
        --model data/models/chaos-t2-liver-small.pt --label 1 ../shared/data/chaos-mr-t2/case*_t2.nii.gz
Ground truth is the image's name with _t2 replaced by _labels. --json writes the rows as JSON.
"""
import argparse
import json
import pathlib
import time

import numpy as np

import anunet


def dice(a, b):
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else 2.0 * np.logical_and(a, b).sum() / total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--label", type=int, nargs="+", default=[1], help="truth labels that make the organ")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--json", type=pathlib.Path)
    parser.add_argument("images", nargs="+", type=pathlib.Path)
    args = parser.parse_args()
    if not anunet.cpu_has_bfloat16():
        parser.error("this CPU has neither avx512_bf16 nor amx_bf16")
    model = anunet.Model.load(args.model)
    rows = []
    for image_path in args.images:
        image = anunet.read_image(str(image_path))
        truth = np.isin(anunet.read_image(str(image_path).replace("_t2", "_labels")).array, args.label)
        row = {"case": image_path.name.split("_")[0], "model": pathlib.Path(args.model).name}
        labels = {}
        for precision in ("float32", "bfloat16"):
            begin = time.perf_counter()
            labels[precision] = anunet.segment(model, image, threads=args.threads, precision=precision).array > 0
            row[f"seconds_{precision}"] = time.perf_counter() - begin
            row[f"dice_{precision}"] = dice(labels[precision], truth)
        row["dice_difference"] = row["dice_bfloat16"] - row["dice_float32"]
        row["voxels_differing"] = float(np.mean(labels["float32"] != labels["bfloat16"]))
        rows.append(row)
        print(f"{row['case']}: Dice float32 {row['dice_float32']:.4f} bfloat16 {row['dice_bfloat16']:.4f} "
              f"(difference {row['dice_difference']:+.4f}); {100 * row['voxels_differing']:.3f} % of voxels differ; "
              f"{row['seconds_float32']:.2f} s / {row['seconds_bfloat16']:.2f} s", flush=True)
    mean = {key: float(np.mean([r[key] for r in rows])) for key in ("dice_float32", "dice_bfloat16")}
    worst = max(abs(r["dice_difference"]) for r in rows)
    print(f"mean Dice float32 {mean['dice_float32']:.4f}, bfloat16 {mean['dice_bfloat16']:.4f}; "
          f"largest |difference| of a case {worst:.4f}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "mean": mean, "largest_case_difference": worst}, indent=1))


if __name__ == "__main__":
    main()
