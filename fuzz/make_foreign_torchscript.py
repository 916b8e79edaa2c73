# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""Writes the model_file fuzzer's foreign TorchScript seed: a module saved by Python's torch.jit.save, without
ITKANUNet's metadata, which the loader probes for its input channels (fuzz/README.md).

    /usr/bin/python3 fuzz/make_foreign_torchscript.py fuzz/corpus/model_file/foreign-3-channels.pt
"""
import sys

import torch


class ThreeChannels(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 1)

    def forward(self, x):
        return torch.sigmoid(self.conv(x))


torch.manual_seed(0)
torch.jit.save(torch.jit.script(ThreeChannels()), sys.argv[1])
