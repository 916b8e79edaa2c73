#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""The eager-PyTorch peer of `anunet bench`: times what the tool timed, on the same weights and inputs.

`anunet bench` writes the checkpoints, the raw inputs and a JSON spec, then runs this script once per setting
(docs/reference.md §4), each in its own process because the settings are process-wide:

    eager-pytorch        as users run it (glibc's allocator and OpenBLAS's threads at their defaults)
    eager-pytorch-tuned  MALLOC_MMAP_THRESHOLD_=2147483647 MALLOC_TRIM_THRESHOLD_=2147483647
    eager-pytorch-best   the same and OPENBLAS_NUM_THREADS=1

The network is the independent Python ANU-Net of test/itk/make_torchscript_reference.py (loaded strictly from
the tool's checkpoint, so a wiring difference is an error rather than a different workload). Prints one JSON
object per measurement on stdout: {"id", "min_s", "median_s", "runs"}.

Spec: {"threads": T,
       "measurements": [{"id", "timing", "kind": "forward", "checkpoint", "level", "size", "batch", "input"},
                        {"id", "timing", "kind": "training-step", "checkpoint", "size", "batch", "image", "labels"}]}
with "timing": {"warmups", "minimum_runs", "maximum_runs", "budget_seconds"}.
Inputs are raw little-endian float32 (N x C x H x W) and uint8 class indices (N x H x W).
"""
import argparse
import json
import pathlib
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

here = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent / "test" / "itk"))
sys.path.insert(0, str(here))
import make_torchscript_reference as reference  # noqa: E402
from eager_training_step import TrainingANUNet  # noqa: E402


def measure(body, timing):
    """Same policy as anunet::benchmark::measure: warm-ups, then at least minimum_runs, up to maximum_runs
    while the budget lasts."""
    for _ in range(timing["warmups"]):
        body()
    seconds = []
    start = time.perf_counter()
    while len(seconds) < max(1, timing["minimum_runs"]) or (
            len(seconds) < timing["maximum_runs"] and time.perf_counter() - start < timing["budget_seconds"]):
        begin = time.perf_counter()
        body()
        seconds.append(time.perf_counter() - begin)
    return {"min_s": min(seconds), "median_s": statistics.median(seconds), "runs": len(seconds)}


def load_network(checkpoint, make):
    archive = torch.jit.load(checkpoint, map_location="cpu")
    options = json.loads(getattr(archive, reference.METADATA_KEY))["network"]
    if options["architecture"] != "anunet":
        sys.exit(f"{checkpoint}: the eager peer covers ANU-Net only, not {options['architecture']}")
    network = make(options)
    weights = getattr(archive, reference.NETWORK_KEY)
    network.load_state_dict({name: tensor.clone() for name, tensor in weights.state_dict().items()}, strict=True)
    return network, options


def hybrid_loss(logits, target, alpha=1.0, gamma=2.0, epsilon=0.05, smooth=1.0):
    """src/anunet/Losses.h hybridLoss for one sigmoid channel and class-index targets, term by term."""
    log_p = torch.cat([F.logsigmoid(-logits), F.logsigmoid(logits)], 1)
    p = log_p.exp()
    t = F.one_hot(target.long(), 2).permute(0, 3, 1, 2).to(logits.dtype)
    weight = (0.25 + epsilon) / ((p - 0.5).abs().detach().pow(gamma) + epsilon)
    cross_entropy = -(weight * t * log_p).sum(1).mean()
    y, g = p[:, 1:], t[:, 1:]
    dims = (0, 2, 3)
    dice = ((2 * (y * g).sum(dims) + smooth) / ((y * y).sum(dims) + (g * g).sum(dims) + smooth)).mean()
    return (1 - dice) + alpha * cross_entropy


def forward(spec):
    network, options = load_network(
        spec["checkpoint"],
        lambda o: reference.ANUNet(o["filters"], o["input_channels"], o["classes"], True, spec["level"]))
    network.eval()
    shape = (spec["batch"], options["input_channels"], spec["size"], spec["size"])
    x = torch.from_numpy(np.fromfile(spec["input"], dtype=np.float32).reshape(shape))

    def body():
        with torch.no_grad():
            network(x)

    return measure(body, spec["timing"])


def training_step(spec):
    network, options = load_network(
        spec["checkpoint"], lambda o: TrainingANUNet(o["filters"], o["input_channels"], o["classes"], True, 0))
    network.train()
    shape = (spec["batch"], options["input_channels"], spec["size"], spec["size"])
    x = torch.from_numpy(np.fromfile(spec["image"], dtype=np.float32).reshape(shape))
    y = torch.from_numpy(np.fromfile(spec["labels"], dtype=np.uint8).reshape(shape[0], shape[2], shape[3]))
    optimizer = torch.optim.Adam(network.parameters(), 1e-3)

    def body():
        heads = network(x)
        loss = sum(hybrid_loss(h, y) for h in heads) / len(heads)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item()

    return measure(body, spec["timing"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", help="JSON spec written by anunet bench")
    args = parser.parse_args()
    spec = json.loads(pathlib.Path(args.spec).read_text())
    torch.set_num_threads(spec["threads"])
    kinds = {"forward": forward, "training-step": training_step}
    for measurement in spec["measurements"]:
        result = kinds[measurement["kind"]](measurement)
        print(json.dumps(dict(result, id=measurement["id"], torch_version=torch.__version__)), flush=True)


if __name__ == "__main__":
    main()
