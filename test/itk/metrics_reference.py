#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""Independent NumPy/SciPy reference for itk::ANUNetSegmentationMetricsImageFilter.

Reads two label images with nibabel and writes, as JSON, the measures of every label (or of --label) over the
whole volume and, with --per-slice, per slice along the last axis. Surface distances follow medpy
(medpy.metric.binary.hd/hd95/assd): surface = mask minus its face-connected erosion with the outside counting as
background, distances = exact Euclidean distance transform with the voxel spacing, HD95 = numpy.percentile of the
pooled distances of both directions. The empty-mask conventions are those documented in the filter.
Infinite values are written as null (JSON has no infinity).
"""

import argparse
import json
import math

import nibabel
import numpy as np
from scipy import ndimage


def ratio(numerator, denominator, both_empty):
    if denominator == 0:
        return 1.0 if both_empty else 0.0
    return numerator / denominator


def surface(mask):
    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    return mask & ~ndimage.binary_erosion(mask, structure=structure, border_value=0)


def directed_distances(from_surface, to_surface, spacing):
    distance = ndimage.distance_transform_edt(~to_surface, sampling=spacing)
    return distance[from_surface]


def measures(prediction, truth, spacing):
    a = prediction
    g = truth
    tp = int(np.count_nonzero(a & g))
    fp = int(np.count_nonzero(a & ~g))
    fn = int(np.count_nonzero(~a & g))
    tn = int(np.count_nonzero(~a & ~g))
    size_a = tp + fp
    size_g = tp + fn
    both_empty = size_a == 0 and size_g == 0
    voxel_volume = float(np.prod(spacing))
    result = {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "dice": ratio(2.0 * tp, size_a + size_g, both_empty),
        "iou": ratio(tp, tp + fp + fn, both_empty),
        "precision": ratio(tp, size_a, both_empty),
        "recall": ratio(tp, size_g, both_empty),
        "specificity": ratio(tn, tn + fp, (tn + fn) == 0 and (tn + fp) == 0),
        "relative_volume_difference": (
            (0.0 if size_a == 0 else math.inf) if size_g == 0 else (size_a - size_g) / size_g
        ),
        "volume_difference_mm3": (size_a - size_g) * voxel_volume,
    }
    if both_empty:
        hd = hd95 = assd = 0.0
    elif size_a == 0 or size_g == 0:
        hd = hd95 = assd = math.inf
    else:
        # Work inside the bounding box of A or G grown by one voxel (clamped to the image): every voxel outside it
        # is background in both masks, so surfaces and nearest-surface distances are unchanged; only faster.
        box = tuple(
            slice(max(int(idx.min()) - 1, 0), min(int(idx.max()) + 2, n))
            for idx, n in zip(np.nonzero(a | g), a.shape)
        )
        surface_a = surface(a[box])
        surface_g = surface(g[box])
        a_to_g = directed_distances(surface_a, surface_g, spacing)
        g_to_a = directed_distances(surface_g, surface_a, spacing)
        pooled = np.concatenate([a_to_g, g_to_a])
        hd = float(pooled.max())
        hd95 = float(np.percentile(pooled, 95))
        assd = float(0.5 * (a_to_g.mean() + g_to_a.mean()))
    result.update({"hausdorff_mm": hd, "hd95_mm": hd95, "assd_mm": assd})
    return {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in result.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prediction", required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--label", type=int)
    parser.add_argument("--per-slice", action="store_true")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    prediction_image = nibabel.load(args.prediction)
    truth_image = nibabel.load(args.truth)
    prediction = np.asarray(prediction_image.dataobj).astype(np.int64)
    truth = np.asarray(truth_image.dataobj).astype(np.int64)
    if prediction.shape != truth.shape:
        raise SystemExit(f"shape differs: {prediction.shape} vs {truth.shape}")
    spacing = tuple(float(s) for s in truth_image.header.get_zooms()[: truth.ndim])

    if args.label is not None:
        labels = [args.label]
    else:
        labels = sorted(int(v) for v in np.union1d(np.unique(prediction), np.unique(truth)) if v != 0)

    output = {}
    for label in labels:
        a = prediction == label
        g = truth == label
        entry = measures(a, g, spacing)
        if args.per_slice:
            entry["slices"] = [
                measures(a[..., k], g[..., k], spacing[:-1]) for k in range(truth.shape[-1])
            ]
        output[str(label)] = entry
    with open(args.output, "w") as f:
        json.dump({"spacing": spacing, "labels": output}, f)


if __name__ == "__main__":
    main()
