# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""ITKANUNet from Python: ANU-Net segmentation, training and metrics on NumPy arrays with ITK geometry.

    import anunet
    image = anunet.read_image("case33_t2.nii.gz")          # any file ITK reads, or a DICOM folder
    model = anunet.Model.load("runs/liver/best.pt")
    labels = anunet.segment(model, image, level=3)         # an Image on the input's grid
    truth = anunet.read_image("case33_labels.nii.gz")
    print(anunet.evaluate(labels, truth == 1)[1]["dice"])
    labels.write("case33_liver.nii.gz")

Arrays are indexed [z, y, x] (as itk.GetArrayFromImage); spacing and origin are (x, y, z) like ITK's.
Every call runs the same ITK filters as the C++ pipelines and the `anunet` tool, so the preprocessing
recorded in a checkpoint is applied exactly as in training.
"""
import errno
import os
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence, Tuple

import numpy as np

from . import _anunet
from ._anunet import Model, configure_cpu_runtime, cpu_has_bfloat16

__all__ = ["Image", "Model", "read_image", "segment", "evaluate", "train", "configure_cpu_runtime", "cpu_has_bfloat16"]

_IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


@dataclass
class Image:
    """A NumPy array with its physical geometry (an itk.Image without ITK)."""

    array: np.ndarray
    spacing: Sequence[float] = (1.0, 1.0, 1.0)
    origin: Sequence[float] = (0.0, 0.0, 0.0)
    direction: Sequence[float] = field(default=_IDENTITY)  # row-major 3 x 3

    def geometry(self):
        return _anunet.Geometry(tuple(self.spacing), tuple(self.origin), tuple(np.ravel(self.direction)))

    def like(self, array: np.ndarray) -> "Image":
        """Another array on this image's grid."""
        return Image(array, self.spacing, self.origin, self.direction)

    def __eq__(self, value):  # comparisons give masks on the same grid, as NumPy's do
        return self.like(self.array == value)

    def write(self, path: str) -> None:
        """Writes the image (labels as uint8, anything else as float32); the file appears only when complete."""
        # The OS's own error types, before the work: the writer would find these only when moving the file.
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, "cannot write an image onto an existing folder", path)
        folder = os.path.dirname(path) or "."
        if os.path.isdir(folder) and not os.access(folder, os.W_OK):
            raise PermissionError(errno.EACCES, f"the folder {folder} is not writable", path)
        if self.array.dtype in (np.bool_, np.uint8) or np.issubdtype(self.array.dtype, np.integer):
            if self.array.size and (self.array.min() < 0 or self.array.max() > 255):
                raise ValueError("label values must lie in 0..255")
            _anunet.write_labels(self.array, self.geometry(), path)
        else:
            _anunet.write_float(self.array, self.geometry(), path)


def read_image(path: str, series_uid: str = "") -> Image:
    """Reads a file ITK reads (NIfTI, NRRD, MetaImage, PNG, ...) or a DICOM series folder as float32."""
    array, spacing, origin, direction = _anunet.read_image(path, series_uid)
    return Image(array, tuple(spacing), tuple(origin), tuple(direction))


def segment(model, image: Image, level: Optional[int] = None, threads: int = 0, batch: int = 8,
            probability: bool = False, mirror: bool = False, largest_component: bool = False,
            precision: str = "float32") -> Image:
    """Segments image with a Model (or a checkpoint path) at pruning level 1..4 (0 = full network; None = the
    level `anunet prune` recorded in the model, else the full network).

    Returns uint8 labels, or the foreground probability as float32 with probability=True, on image's grid.
    mirror averages the probabilities of each slice and its in-plane flips (four times the work);
    largest_component keeps the largest connected component of each class (two for a class merging two
    labels, such as the kidneys) and raises ValueError with probability=True. precision="bfloat16" runs the
    network in bfloat16, about twice as fast on CPUs with avx512_bf16 or amx_bf16 (cpu_has_bfloat16()); labels
    then differ from float32's at a few boundary voxels.
    """
    if isinstance(model, str):
        model = Model.load(model)
    # ValueError naming the argument, as for any other wrong value (the filter's own checks raise RuntimeError).
    if level is not None and not 0 <= level <= 4:
        raise ValueError(f"level={level}: pruning levels are 1..4, and 0 for the full network")
    # A TorchScript module reports no levels: it runs the level it was exported at, or level 0 for the same.
    if level and model.is_torchscript and level != model.torchscript_level:
        exported = model.torchscript_level
        raise ValueError(f"level={level}: this TorchScript model computes "
                         f"{f'level {exported}' if exported else 'the full network'} only; use level=0"
                         f"{f' or level={exported}' if exported else ''}")
    if level and not model.is_torchscript and model.maximum_level == 0:
        raise ValueError(f"level={level}: the {model.architecture} network has no pruning levels; use level=0")
    if threads < 0:
        raise ValueError(f"threads={threads}: give 0 (all hardware threads) or a positive number")
    if batch < 1:
        raise ValueError(f"batch={batch}: at least one slice per network run")
    if precision not in ("float32", "bfloat16"):
        raise ValueError(f"precision={precision!r}: give 'float32' or 'bfloat16'")
    try:
        _anunet.check_precision(precision)
    except ValueError as e:
        raise ValueError(f"precision={precision!r}: {e}") from None
    if largest_component and probability:
        raise ValueError("largest_component=True applies to labels; it cannot be combined with probability=True")
    array = np.asarray(image.array, dtype=np.float32)
    non_finite = array.size - np.count_nonzero(np.isfinite(array))
    if non_finite:
        raise ValueError(f"the image holds {non_finite} NaN or infinite voxels (of {array.size}); the networks need "
                         "finite intensities")
    if mirror and not model.training.get("flips", False):
        warnings.warn("mirror=True on a model trained without flips: its organs' sides are learned, and averaging "
                      "in mirrored views can lower the Dice badly (docs/results/postprocessing.md)", stacklevel=2)
    array = _anunet.segment(model, array, image.geometry(),
                            -1 if level is None else level, threads,
                            batch, probability, mirror, largest_component, precision)
    return image.like(array)


def evaluate(prediction: Image, truth: Image, label: Optional[int] = None,
             surface_distances: bool = True) -> dict:
    """Dice, IoU, precision, recall, specificity and surface distances (mm) per label: {label: {measure: value}}.

    Both images must share a grid; boolean masks count as label 1.
    """
    predicted, true = np.asarray(prediction.array, dtype=np.uint8), np.asarray(truth.array, dtype=np.uint8)
    if label and predicted.shape == true.shape and not (np.any(predicted == label) or np.any(true == label)):
        # Both masks empty would score a perfect Dice: a mistyped label would pass unnoticed.
        present = sorted((set(np.unique(predicted).tolist()) | set(np.unique(true).tolist())) - {0})
        raise ValueError(f"label={label} is in neither image (their labels: {', '.join(map(str, present)) or 'none'})")
    return _anunet.evaluate(predicted, true, truth.geometry(), label or 0, surface_distances)


def train(config: str, out: str, data_root: str = "", epochs: int = 0, seed: int = -1,
          threads: int = -1, distributed: bool = False, distributed_timeout: float = 0.0,
          local_batch_norm: bool = False, progress: Optional[Callable[[dict], None]] = None,
          on_epoch: Optional[Callable[[dict], None]] = None, resume: str = "",
          device: str = "") -> Tuple[Model, list]:
    """Trains as `anunet train --config config --out out` does; returns the best model and the epoch log
    (one dict per epoch, the keys of a log.jsonl line).

    progress: called after every optimiser step with {"epoch", "epochs", "iteration", "total_iterations",
    "loss" (the epoch's running mean), "seconds_elapsed", "seconds_remaining"}. on_epoch: called after every
    epoch with its log line. Nothing is printed. Ctrl-C, or an exception raised by either function, stops the
    run after the current step with last.pt written at that step, then raises that exception.
    resume: a last.pt to continue from, as `--resume` (the same config and seed continue exactly).
    device: "cpu" or "cuda[:k]", as `--device` ("": the config's, else the CPU); ValueError where it is absent.

    distributed=True trains data-parallel with the other ranks that the environment names, as
    `anunet train --distributed` does (torchrun's MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, or a Slurm
    step's); the config's batch size is the global batch. Only rank 0 writes to `out`.
    distributed_timeout: seconds a rank waits for the others before it fails (0: 300).
    local_batch_norm: each rank normalises with its own share's statistics (fewer collectives, no longer the
    step of one process), as `--local-batch-norm`.
    """
    # The defaults mean "as the config says"; anything below them is a mistake, not a request.
    if epochs < 0:
        raise ValueError(f"epochs={epochs}: give at least 1, or 0 for the config's")
    if threads < -1:
        raise ValueError(f"threads={threads}: give 0 for all cores, n > 0, or -1 for the config's")
    if seed < -1:
        raise ValueError(f"seed={seed}: give a seed >= 0, or -1 for the config's")
    if device:
        try:
            _anunet.check_device(device)
        except RuntimeError as e:
            raise ValueError(f"device={device!r}: {e}") from None
    return _anunet.train(config, out, data_root, epochs, seed, threads, distributed, distributed_timeout,
                         local_batch_norm, progress, on_epoch, resume, device)
