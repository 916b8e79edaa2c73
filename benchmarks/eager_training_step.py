#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""The eager-PyTorch peer of one `anunet train` step, for comparing time per iteration.

Same network (the independent Python ANU-Net of test/itk/make_torchscript_reference.py), batch, size,
deep supervision over the four heads, BCE + soft Dice on each head, Adam. Prints the median step time.
Run it twice, as docs/reference.md §4 asks, to see glibc's allocator effect:

    /usr/bin/python3 benchmarks/eager_training_step.py
    MALLOC_MMAP_THRESHOLD_=2147483647 MALLOC_TRIM_THRESHOLD_=2147483647 /usr/bin/python3 benchmarks/eager_training_step.py
"""
import argparse
import pathlib
import statistics
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "test" / "itk"))
import make_torchscript_reference as reference  # noqa: E402


class TrainingANUNet(reference.ANUNet):
    """The reference network with the four deep-supervision heads' logits as its output, as in training."""

    def forward(self, x):
        grid = {(0, 0): self.conv_0_0(x)}
        for s in range(1, 5):
            grid[(s, 0)] = self.node(s, 0, grid)
            for j in range(1, s + 1):
                grid[(s - j, j)] = self.node(s - j, j, grid)
        return [getattr(self, f"head_{j}")(grid[(0, j)]) for j in range(1, 5)]


def soft_dice_loss(logits, target):
    p = torch.sigmoid(logits)
    return 1 - (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--filters", type=int, nargs=5, default=[16, 32, 64, 128, 256])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="print the operators' self times of 3 steps")
    parser.add_argument("--channels-last", action="store_true",
                        help="weights and input in channels-last memory format (oneDNN's native layout)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = TrainingANUNet(args.filters, 1, 1, True, 0)
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    x = torch.randn(args.batch, 1, args.size, args.size)
    y = (torch.rand(args.batch, 1, args.size, args.size) > 0.7).float()
    if args.channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)

    def step():
        heads = net(x)
        loss = sum(torch.nn.functional.binary_cross_entropy_with_logits(h, y) + soft_dice_loss(h, y) for h in heads)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    if args.profile:
        with torch.profiler.profile() as profile:
            for _ in range(3):
                step()
        print(profile.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
    steady = times[2:]
    layout = "channels-last" if args.channels_last else "NCHW"
    print(f"eager PyTorch {torch.__version__}, {layout}, filters {args.filters}, {args.batch} x {args.size}^2, "
          f"{args.threads} threads: median {statistics.median(steady):.3f} s/step, min {min(steady):.3f} "
          f"({len(steady)} steps after 2 warm-ups)")


if __name__ == "__main__":
    main()
