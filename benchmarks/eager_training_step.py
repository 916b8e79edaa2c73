#!/usr/bin/env python3
"""The eager-PyTorch peer of one `anunet train` step, for comparing time per iteration.

Same network (the independent Python ANU-Net of test/itk/make_torchscript_reference.py), batch, size,
deep supervision over the four heads, BCE + soft Dice on each head, Adam. Prints the median step time.
Run it twice, as ANUNET_FACTS.md section 4 asks, to see glibc's allocator effect:

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
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = reference.ANUNet(args.filters, 1, 1, True, 0)
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    x = torch.randn(args.batch, 1, args.size, args.size)
    y = (torch.rand(args.batch, 1, args.size, args.size) > 0.7).float()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        heads = net(x)
        heads = heads if isinstance(heads, (list, tuple)) else [heads]
        loss = sum(torch.nn.functional.binary_cross_entropy_with_logits(h, y) + soft_dice_loss(h, y) for h in heads)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    steady = times[2:]
    print(f"eager PyTorch {torch.__version__}, filters {args.filters}, {args.batch} x {args.size}^2, "
          f"{args.threads} threads: median {statistics.median(steady):.3f} s/step, min {min(steady):.3f} "
          f"({len(steady)} steps after 2 warm-ups)")


if __name__ == "__main__":
    main()
