#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""Quality regression of the committed models on real images (cases.json), through the tool or Python.

    quality.py check --front-end tool|python   segment every case, compare with the baselines (CTest runs this)
    quality.py make                             write the baselines and metrics.json (after retraining a model)

A case passes when at most `differing_voxel_fraction` of its voxels differ from the committed baseline label
image and its Dice, IoU, precision and recall against the ground truth lie within `metric` of the values in
metrics.json. Needs PYTHONPATH=<build>/python, ANUNET_DATA_ROOT, and ANUNET_CLI for the tool.
"""
import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile

import numpy as np

import anunet

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = HERE.parents[1]
MEASURES = ("dice", "iou", "precision", "recall")
THREADS = 2


def data(relative):
    return str(pathlib.Path(os.environ["ANUNET_DATA_ROOT"]) / relative)


def read_truth(case, image):
    """The ground truth as a uint8 mask on image's grid (PNG slices are stacked in the volume's slice order)."""
    arrays = [anunet.read_image(data(path)).array for path in case["truth"]]
    truth = arrays[0] if len(arrays) == 1 else np.stack([a.reshape(a.shape[-2:]) for a in arrays])
    truth = truth.reshape(image.array.shape)
    return image.like(np.isin(truth, case["truth_labels"]).astype(np.uint8))


def segment_with_tool(case, folder):
    output = pathlib.Path(folder) / (case["name"] + ".nii.gz")
    subprocess.run([os.environ["ANUNET_CLI"], "segment", "--model", str(SOURCE / case["model"]), "--input",
                    data(case["image"]), "--output", str(output), "--threads", str(THREADS)],
                   check=True, stdout=subprocess.DEVNULL)
    return anunet.read_image(str(output)).array.astype(np.uint8)


def segment_with_python(case, image):
    return anunet.segment(str(SOURCE / case["model"]), image, threads=THREADS).array


def metrics(labels, truth):
    values = anunet.evaluate(truth.like(labels), truth, label=1, surface_distances=False)[1]
    return {m: float(values[m]) for m in MEASURES}


def check(front_end):
    cases = json.loads((HERE / "cases.json").read_text())
    recorded = json.loads((HERE / "metrics.json").read_text())["cases"]
    tolerance = cases["tolerance"]
    failures = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("ANUNET_TEST_TEMP")) as folder:
        for case in cases["cases"]:
            image = anunet.read_image(data(case["image"]))
            truth = read_truth(case, image)
            labels = segment_with_tool(case, folder) if front_end == "tool" else segment_with_python(case, image)
            if labels.shape != image.array.shape:
                failures.append(f"{case['name']}: output shape {labels.shape}, image {image.array.shape}")
                continue
            lines = [f"{case['name']}:"]
            if case["baseline"]:
                baseline = anunet.read_image(str(SOURCE / case["baseline"])).array.astype(np.uint8)
                differing = float(np.mean(labels != baseline))
                lines.append(f"differing voxels {100 * differing:.3f} %")
                if differing > tolerance["differing_voxel_fraction"]:
                    failures.append(f"{case['name']}: {100 * differing:.3f} % of the voxels differ from "
                                    f"{case['baseline']} (at most {100 * tolerance['differing_voxel_fraction']} %)")
            measured = metrics(labels, truth)
            for m in MEASURES:
                expected = recorded[case["name"]][m]
                lines.append(f"{m} {measured[m]:.4f} (recorded {expected:.4f})")
                if abs(measured[m] - expected) > tolerance["metric"]:
                    failures.append(f"{case['name']}: {m} {measured[m]:.4f}, recorded {expected:.4f} "
                                    f"(tolerance {tolerance['metric']})")
            print(" ".join(lines), flush=True)
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0


def make():
    cases = json.loads((HERE / "cases.json").read_text())
    recorded = {}
    for case in cases["cases"]:
        image = anunet.read_image(data(case["image"]))
        truth = read_truth(case, image)
        inside = image.array[truth.array > 0]
        labels = segment_with_python(case, image)
        recorded[case["name"]] = metrics(labels, truth)
        print(case["name"], recorded[case["name"]], f"mean intensity inside the truth {inside.mean():.1f}")
        if case["baseline"]:
            image.like(labels).write(str(SOURCE / case["baseline"]))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    (HERE / "metrics.json").write_text(json.dumps({
        "about": "Written by `quality.py make` (test/quality/README.md); the checks compare with these values.",
        "cpu": cpu, "threads": THREADS, "cases": recorded}, indent=2) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("make")
    checker = sub.add_parser("check")
    checker.add_argument("--front-end", choices=("tool", "python"), required=True)
    args = parser.parse_args()
    if args.command == "make":
        make()
        return 0
    return check(args.front_end)


if __name__ == "__main__":
    sys.exit(main())
