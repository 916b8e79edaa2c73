#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""Independent reference for ANUNetSegmentationImageFilter: ANU-Net re-implemented in Python.

Reads the weights of a checkpoint written by the C++ core (a torch::serialize archive, which torch.jit.load
opens as a module tree), optionally perturbs its batch-norm statistics and affine parameters and writes them
back as a new checkpoint (so that a comparison also checks how batch norm is wired, which freshly initialised
statistics would hide), builds the network from its own Python wiring (docs/reference.md §1) with the same
module names, loads the weights strictly, traces it to TorchScript with the checkpoint's metadata, and computes
probabilities for a raw float32 volume with its own preprocessing: intensity window, then torch's bilinear
resampling (align_corners=False) to the network size and back.

Only what the test needs is covered: ANU-Net, slice axis 2, window or no intensity normalisation.
"""
import argparse
import json
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

METADATA_KEY = "anunet_metadata"
NETWORK_KEY = "network"
TORCHSCRIPT_METADATA_FILE = "anunet_metadata.json"


class ConvBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(x)))


class TransposedUp(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.ConvTranspose2d(cin, cout, 2, stride=2)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class AttentionGate(nn.Module):
    def __init__(self, f_g, f_l, f_int):
        super().__init__()
        self.W_g_conv = nn.Conv2d(f_g, f_int, 1)
        self.W_g_bn = nn.BatchNorm2d(f_int)
        self.W_x_conv = nn.Conv2d(f_l, f_int, 1)
        self.W_x_bn = nn.BatchNorm2d(f_int)
        self.psi_conv = nn.Conv2d(f_int, 1, 1)
        self.psi_bn = nn.BatchNorm2d(1)

    def forward(self, g, x):
        a = F.relu(self.W_g_bn(self.W_g_conv(g)) + self.W_x_bn(self.W_x_conv(x)))
        return x * torch.sigmoid(self.psi_bn(self.psi_conv(a)))


class ANUNet(nn.Module):
    """X(i,0) = CB(pool X(i-1,0)); X(i,j) = CB(cat[AG(g=u, x=X(i,j-1)), u, X(i,0..j-2)]), u = Up_i(X(i+1,j-1))."""

    def __init__(self, filters, in_channels, classes, deep_supervision, level):
        super().__init__()
        f = filters
        self.column = 4 if level == 0 else level
        for i in range(5):
            self.add_module(f"conv_{i}_0", ConvBlock(in_channels if i == 0 else f[i - 1], f[i]))
        for i in range(4):
            self.add_module(f"up_{i}", TransposedUp(f[i + 1], f[i]))
        for j in range(1, 5):
            for i in range(5 - j):
                intermediate = f[0] if i == 0 else f[i - 1]
                self.add_module(f"gate_{i}_{j}", AttentionGate(f[i], f[i], intermediate))
                self.add_module(f"conv_{i}_{j}", ConvBlock(f[i] * (j + 1), f[i]))
        for j in range(1, 5):
            if deep_supervision or j == 4:
                self.add_module(f"head_{j}", nn.Conv2d(f[0], classes, 1))
        self.classes = classes

    def node(self, i, j, grid):
        if j == 0:
            return getattr(self, f"conv_{i}_0")(F.max_pool2d(grid[(i - 1, 0)], 2, 2))
        up = getattr(self, f"up_{i}")(grid[(i + 1, j - 1)])
        parts = [getattr(self, f"gate_{i}_{j}")(up, grid[(i, j - 1)]), up]
        parts += [grid[(i, k)] for k in range(j - 1)]
        return getattr(self, f"conv_{i}_{j}")(torch.cat(parts, 1))

    def forward(self, x):
        grid = {(0, 0): self.conv_0_0(x)}
        for s in range(1, self.column + 1):
            grid[(s, 0)] = self.node(s, 0, grid)
            for j in range(1, s + 1):
                grid[(s - j, j)] = self.node(s - j, j, grid)
        logits = getattr(self, f"head_{self.column}")(grid[(0, self.column)])
        return torch.sigmoid(logits) if self.classes == 1 else torch.softmax(logits, 1)


def perturb(weights, seed):
    """Non-trivial batch-norm statistics and affine parameters, in place in the archive's tensors."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in weights.state_dict().items():
            if ".bn" in name or "_bn." in name:
                noise = torch.rand(tensor.shape, generator=generator) if tensor.is_floating_point() else None
                if name.endswith("running_var") or name.endswith("weight"):
                    tensor.copy_(0.5 + noise)
                elif name.endswith("running_mean") or name.endswith("bias"):
                    tensor.copy_(0.2 * (noise - 0.5))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="checkpoint written by anunet::Model::save")
    parser.add_argument("--perturbed-checkpoint", help="write the checkpoint with perturbed batch norm here and use it")
    parser.add_argument("--image", required=True, help="raw float32 volume, slice-major (D x H x W)")
    parser.add_argument("--shape", nargs=3, type=int, required=True, metavar=("D", "H", "W"))
    parser.add_argument("--level", type=int, default=0)
    parser.add_argument("--torchscript", required=True, help="output: traced module with metadata")
    parser.add_argument("--probabilities", required=True, help="output: raw float32 foreground probabilities, D x H x W")
    args = parser.parse_args()
    torch.set_num_threads(1)

    archive = torch.jit.load(args.checkpoint, map_location="cpu")
    metadata = json.loads(getattr(archive, METADATA_KEY))
    # The network's state is the nested archive "network" (Checkpoint.h).
    weights = getattr(archive, NETWORK_KEY)
    network = metadata["network"]
    if network["architecture"] != "anunet":
        sys.exit(f"{args.checkpoint}: architecture {network['architecture']} is not covered by this reference")
    if args.perturbed_checkpoint:
        perturb(weights, seed=1)
        archive.save(args.perturbed_checkpoint)

    model = ANUNet(network["filters"], network["input_channels"], network["classes"], network["deep_supervision"],
                   args.level)
    state = {name: tensor.clone() for name, tensor in weights.state_dict().items()}
    model.load_state_dict(state, strict=True)
    model.eval()

    preprocessing = metadata["preprocessing"]
    if preprocessing["slice_axis"] != 2:
        sys.exit("only slice axis 2 is covered by this reference")
    depth, height, width = args.shape
    volume = np.fromfile(args.image, dtype=np.float32).reshape(depth, height, width)
    intensity = preprocessing["intensity"]
    if intensity["method"] == "window":
        low, high = intensity["window_minimum"], intensity["window_maximum"]
        volume = (np.clip(volume, low, high) - low) / (high - low)
    elif intensity["method"] != "none":
        sys.exit(f"intensity method {intensity['method']} is not covered by this reference")
    x = torch.from_numpy(np.ascontiguousarray(volume, dtype=np.float32))[:, None]
    x = F.interpolate(x, size=(preprocessing["height"], preprocessing["width"]), mode="bilinear", align_corners=False)

    with torch.no_grad():
        traced = torch.jit.trace(model, torch.rand(1, network["input_channels"], 32, 32))
        eager = model(x)
        probabilities = traced(x)
    if not torch.allclose(eager, probabilities, atol=1e-6):
        sys.exit("the traced module disagrees with the eager module")
    exported = dict(metadata, format="itkanunet-torchscript", level=args.level)
    torch.jit.save(traced, args.torchscript, _extra_files={TORCHSCRIPT_METADATA_FILE: json.dumps(exported)})

    back = F.interpolate(probabilities, size=(height, width), mode="bilinear", align_corners=False)
    foreground = back[:, 0] if network["classes"] == 1 else back[:, 1]
    foreground.numpy().astype(np.float32).tofile(args.probabilities)


if __name__ == "__main__":
    main()
