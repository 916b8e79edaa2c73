#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""Bad inputs (issue 18 section 1), every one through `anunet segment`, `evaluate` and `train` and, where the
function exists, through Python: each must give a message naming the file or option, a non-zero exit (tool) or
a Python exception of a fitting type, and no output file (neither the result nor a hidden partial file).

    check_bad_inputs.py --anunet BIN --model PT --data-root ROOT --python-path DIR --work DIR
                        [--table docs/results/bad-inputs.md] [--strict]

The inputs are made at run time in --work from the shared CHAOS NIfTI cases and DICOM series. One line is
printed per case (the case, the command, the exit status or exception, the first line of the message);
--table also writes those lines as a Markdown table. A case marked as a known defect (one whose fix lies
outside the files this test owns) is reported but fails the run only with --strict.
"""
import argparse
import json
import os
import queue
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Tuple

import numpy as np

TOOL_TIMEOUT = 120
PYTHON_TIMEOUT = 120


@dataclass
class Case:
    name: str
    front: str  # "tool" or "python"
    command: object  # argv after `anunet`, or Python source run in the worker
    names: Tuple[str, ...] = ()  # what the message must name (each of them)
    exceptions: Tuple[str, ...] = ("ValueError",)  # acceptable Python exception types
    outputs: Tuple[str, ...] = ()  # paths that must not exist afterwards (nor partial files beside them)
    ok: bool = False  # a control or a case whose right answer is a correct result
    check: Optional[Callable[[], Optional[str]]] = None  # for ok cases: returns a problem, or None
    known: str = ""  # a known defect outside this test's files: fails the run only with --strict
    existing: bool = False  # the output path exists before the run (a folder) and must be left as it was
    skip: str = ""
    # filled in by the run
    status: str = ""
    message: str = ""  # its first line
    text: str = ""  # all the output or the whole exception message
    problems: list = field(default_factory=list)
    seconds: float = 0.0


def first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


# --------------------------------------------------------------------------------------------- the inputs


def write_png_rgb(path, width, height):
    """A small 8-bit RGB PNG, written by hand (no imaging library needed)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\0" + bytes(v for x in range(width) for v in (x * 8 % 256, y * 8 % 256, 128))
                    for y in range(height))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    Path(path).write_bytes(png)


def copy_series(source, target, skip=()):
    target.mkdir(parents=True, exist_ok=True)
    for f in sorted(source.iterdir()):
        if f.name.endswith("-hash-stamp") or f.name in skip or f.is_dir():
            continue
        shutil.copyfile(f, target / f.name)


def dicom_string(data, group, element):
    """Offset and length of an explicit-VR little-endian string element's value (first occurrence)."""
    tag = struct.pack("<HH", group, element)
    at = data.find(tag)
    while at >= 0:
        vr = data[at + 4:at + 6]
        if vr.isalpha():
            length = struct.unpack("<H", data[at + 6:at + 8])[0]
            return at + 8, length
        at = data.find(tag, at + 1)
    raise ValueError(f"no ({group:04x},{element:04x}) element")


def make_inputs(work, data_root, model):
    import nibabel as nib
    import torch

    w = work / "in"
    w.mkdir(parents=True)
    made = {"skips": {}}

    t2 = nib.load(str(data_root / "chaos-mr-t2" / "case33_t2.nii.gz"))
    labels = nib.load(str(data_root / "chaos-mr-t2" / "case33_labels.nii.gz"))
    # Small crops of a real case, so that the cases that must succeed take a second.
    crop = (slice(96, 160), slice(96, 160), slice(14, 18))
    image = np.asarray(t2.dataobj[crop], dtype=np.float32)
    label = np.asarray(labels.dataobj[crop]).astype(np.uint8)
    affine = t2.affine.copy()
    affine[:3, 3] = t2.affine[:3, :3] @ np.array([96, 96, 14]) + t2.affine[:3, 3]

    def save(name, array, aff=affine, dtype=None):
        img = nib.Nifti1Image(array, aff)
        if dtype is not None:
            img.set_data_dtype(dtype)
        path = w / name
        nib.save(img, str(path))
        return path

    made["image"] = save("image.nii.gz", image)
    made["label"] = save("label.nii.gz", label)
    made["label_unnamed"] = save("label-unnamed.nii.gz", np.where(label > 0, 9, 0).astype(np.uint8))
    shifted = np.eye(4)
    shifted[:3, :3] = np.diag([2.0, 2.0, 5.0])
    made["label_other_grid"] = save("label-other-grid.nii.gz", label[:48, :48, :3].copy(), shifted)
    made["label_other_spacing"] = save("label-other-spacing.nii.gz", label, np.diag([2.0, 2.0, 5.0, 1.0]))

    made["empty"] = w / "empty.nii.gz"
    made["empty"].write_bytes(b"")
    whole = (data_root / "chaos-mr-t2" / "case33_t2.nii.gz").read_bytes()
    made["truncated_gz"] = w / "truncated.nii.gz"
    made["truncated_gz"].write_bytes(whole[: len(whole) // 2])
    raw = save("raw.nii", image)
    data = raw.read_bytes()
    made["truncated_nii"] = w / "truncated.nii"
    made["truncated_nii"].write_bytes(data[: 352 + (len(data) - 352) // 2])
    raw.unlink()
    made["text_nii"] = w / "text.nii.gz"
    made["text_nii"].write_text("this is not an image\n")
    made["text"] = w / "notes.txt"
    made["text"].write_text("this is not an image\n")

    made["four_d"] = save("four-d.nii.gz", np.stack([image, image], axis=-1))
    rgb = np.zeros(image.shape, dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    rgb["R"] = np.clip(image / max(image.max(), 1) * 255, 0, 255).astype(np.uint8)
    made["rgb_nii"] = save("rgb.nii.gz", rgb)
    made["rgb_png"] = w / "rgb.png"
    write_png_rgb(made["rgb_png"], 32, 24)
    made["complex"] = save("complex.nii.gz", image.astype(np.complex64))
    made["tiny"] = save("tiny.nii.gz", image[:5, :5, :2].copy())
    made["one_slice"] = save("one-slice.nii.gz", image[:, :, 1:2].copy())
    nan = image.copy()
    nan[10, 10, 1] = nan[20, 30, 2] = nan[40, 5, 0] = np.nan
    made["nan"] = save("nan.nii.gz", nan)
    inf = image.copy()
    inf[3, 3, 3] = np.inf
    inf[4, 4, 3] = -np.inf
    made["inf"] = save("inf.nii.gz", inf)
    made["nan_mha"] = w / "nan.mha"
    spacing = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    made["nan_mha"].write_bytes(
        ("ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
         f"DimSize = {' '.join(map(str, nan.shape))}\nElementSpacing = {' '.join(f'{v:.4f}' for v in spacing)}\n"
         "ElementType = MET_FLOAT\nElementDataFile = LOCAL\n").encode()
        + np.ascontiguousarray(nan.transpose(2, 1, 0)).astype("<f4").tobytes())

    # DICOM: two real series in one folder; one with a slice taken out; one with a slice moved; compressed.
    ircad = data_root / "ircad-1.01-ct" / "dicom" / "PATIENT_DICOM"
    dcmqi = data_root / "dcmqi-ct" / "ct-3slice"
    made["dicom"] = w / "dicom-one"
    copy_series(ircad, made["dicom"])
    made["no_series"] = w / "dicom-none"
    made["no_series"].mkdir()
    (made["no_series"] / "readme.txt").write_text("no DICOM here\n")
    (made["no_series"] / "x.dcm").write_bytes(os.urandom(1024))
    made["empty_dir"] = w / "empty-folder"
    made["empty_dir"].mkdir()
    made["two_series"] = w / "dicom-two"
    copy_series(ircad, made["two_series"])
    copy_series(dcmqi, made["two_series"])
    uid_data = (dcmqi / "01.dcm").read_bytes()
    # dcmqi's file is implicit VR: find the Series Instance UID by its tag and the 4-byte length that follows.
    at = uid_data.find(struct.pack("<HH", 0x0020, 0x000E))
    length = struct.unpack("<I", uid_data[at + 4:at + 8])[0]
    made["dcmqi_uid"] = uid_data[at + 8:at + 8 + length].rstrip(b"\0 ").decode()
    files = sorted(f.name for f in ircad.iterdir() if not f.name.endswith("-hash-stamp"))
    made["missing_slice"] = w / "dicom-missing-slice"
    copy_series(ircad, made["missing_slice"], skip=(files[2],))
    made["uneven"] = w / "dicom-uneven"
    copy_series(ircad, made["uneven"])
    moved = made["uneven"] / files[3]
    data = bytearray(moved.read_bytes())
    offset, length = dicom_string(data, 0x0020, 0x0032)
    position = data[offset:offset + length].decode()
    x, y, z = position.rstrip("\0 ").split("\\")
    # 0.4 mm nearer the previous slice, written in the same number of characters.
    new = f"{x}\\{y}\\{float(z) - 0.4:.{max(1, len(z.split('.')[-1]))}f}"[: length].ljust(length)
    data[offset:offset + length] = new.encode()
    moved.write_bytes(bytes(data))
    made["uneven_change"] = f"{files[3]}: Image Position z {z} -> {new.split(chr(92))[-1].strip()}"
    gdcmconv = shutil.which("gdcmconv")
    for kind, flag in (("jpeg", "--jpeg"), ("j2k", "--j2k"), ("rle", "--rle")):
        key = "dicom_" + kind
        if not gdcmconv:
            made["skips"][key] = "gdcmconv (libgdcm-tools) is not installed"
            continue
        folder = w / f"dicom-{kind}"
        folder.mkdir()
        for f in files:
            subprocess.run([gdcmconv, flag, str(ircad / f), str(folder / f)], check=True, capture_output=True)
        made[key] = folder

    # Checkpoints and TorchScript files that are not what they claim.
    made["garbage_pt"] = w / "garbage.pt"
    made["garbage_pt"].write_bytes(os.urandom(4096))
    whole = Path(model).read_bytes()
    made["truncated_pt"] = w / "truncated.pt"
    made["truncated_pt"].write_bytes(whole[: len(whole) // 2])
    made["empty_pt"] = w / "empty.pt"
    made["empty_pt"].write_bytes(b"")
    checkpoint = torch.jit.load(str(model))
    metadata = json.loads(checkpoint._c.getattr("anunet_metadata"))
    other = json.loads(json.dumps(metadata))
    other["network"]["architecture"] = "unet"
    checkpoint._c.setattr("anunet_metadata", json.dumps(other))
    made["arch_pt"] = w / "other-architecture.pt"
    torch.jit.save(checkpoint, str(made["arch_pt"]))
    other = json.loads(json.dumps(metadata))
    other["network"]["input_channels"] = 2
    checkpoint._c.setattr("anunet_metadata", json.dumps(other))
    made["channels_pt"] = w / "two-channel-metadata.pt"
    torch.jit.save(checkpoint, str(made["channels_pt"]))
    made["state_dict_pt"] = w / "state-dict.pt"
    torch.save(torch.nn.Conv2d(1, 2, 3).state_dict(), str(made["state_dict_pt"]))

    class TwoChannels(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(2, 2, 3, padding=1)

        def forward(self, x):
            return self.conv(x)

    class Rank3(torch.nn.Module):  # a 1-D network: N x C x L
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv1d(1, 2, 3, padding=1)

        def forward(self, x):
            return self.conv(x)

    class Rank5(torch.nn.Module):  # a 3-D network: N x C x D x H x W
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv3d(1, 2, 3, padding=1)

        def forward(self, x):
            return self.conv(x)

    class TwoInputs(torch.nn.Module):
        def forward(self, x, y):
            return x + y

    class TupleOutput(torch.nn.Module):
        def forward(self, x):
            return x, x

    class Flat(torch.nn.Module):  # a classifier: N x classes
        def forward(self, x):
            return x.flatten(1)

    class Plain(torch.nn.Module):  # a valid one-class segmentation network without levels
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 1, 3, padding=1)

        def forward(self, x):
            return self.conv(x)

    for key, module in (("ts_two_channels", TwoChannels()), ("ts_rank3", Rank3()), ("ts_rank5", Rank5()),
                        ("ts_two_inputs", TwoInputs()), ("ts_tuple", TupleOutput()), ("ts_flat", Flat()),
                        ("ts_plain", Plain())):
        made[key] = w / f"{key.replace('_', '-')}.pt"
        torch.jit.script(module).save(str(made[key]))
    return made


# --------------------------------------------------------------------------------------------- running


def run_tool(case, anunet):
    started = time.monotonic()
    try:
        result = subprocess.run([anunet, *case.command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                encoding="utf-8", errors="replace", timeout=TOOL_TIMEOUT, stdin=subprocess.DEVNULL)
        code, out, err = result.returncode, result.stdout, result.stderr
    except subprocess.TimeoutExpired as e:
        code, out, err = "hang", e.stdout or "", e.stderr or ""
        out = out.decode() if isinstance(out, bytes) else out
        err = err.decode() if isinstance(err, bytes) else err
    case.seconds = time.monotonic() - started
    text = err + out
    case.text = text
    case.status = f"exit {code}" if code != "hang" else f"hang (killed after {TOOL_TIMEOUT} s)"
    errors = [line for line in err.splitlines() if "error" in line.lower()]
    case.message = first_line("\n".join(errors)) or first_line(err) or first_line(out)
    if case.ok:
        if code != 0:
            case.problems.append(f"expected success, got {case.status}")
    else:
        if code == 0:
            case.problems.append("exit status 0")
        elif code == "hang":
            case.problems.append("hang")
        elif code < 0 or code > 128:
            case.problems.append(f"crash (signal {-code if code < 0 else code - 128})")
    return text


WORKER = r"""
import json, sys
import numpy as np
import anunet
setup = json.loads(sys.stdin.readline())
env = {"anunet": anunet, "np": np, **setup}
for line in sys.stdin:
    case = json.loads(line)
    reply = {"id": case["id"]}
    try:
        scope = dict(env)
        exec(case["code"], scope)
        reply["result"] = str(scope.get("result", ""))
    except BaseException as e:  # the type is what is checked
        reply["exception"] = type(e).__name__
        reply["mro"] = [c.__name__ for c in type(e).__mro__]
        reply["message"] = str(e)
    print(json.dumps(reply), flush=True)
"""


def run_python(cases, python_path, setup):
    """Runs the Python cases in a worker process, restarted after a crash or a hang (the case is recorded)."""
    pending = list(cases)
    env = dict(os.environ, PYTHONPATH=python_path, OMP_NUM_THREADS="2")
    while pending:
        worker = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, encoding="utf-8", errors="replace", env=env)
        replies = queue.Queue()
        threading.Thread(target=lambda: [replies.put(line) for line in worker.stdout] + [replies.put(None)],
                         daemon=True).start()
        errors = []
        threading.Thread(target=lambda: errors.extend(worker.stderr), daemon=True).start()
        worker.stdin.write(json.dumps(setup) + "\n")
        worker.stdin.flush()
        while pending:
            case = pending[0]
            started = time.monotonic()
            try:
                worker.stdin.write(json.dumps({"id": 0, "code": case.command}) + "\n")
                worker.stdin.flush()
                line = replies.get(timeout=PYTHON_TIMEOUT)
            except (BrokenPipeError, queue.Empty):
                line = "hang"
            case.seconds = time.monotonic() - started
            pending.pop(0)
            if line in (None, "hang"):
                if line == "hang":
                    worker.kill()
                worker.wait()
                case.status = "hang" if line == "hang" else f"crash (exit {worker.returncode})"
                tail = [line.strip() for line in errors if line.strip()]
                case.message = case.text = tail[-1] if tail else ""
                case.problems.append(case.status)
                break
            reply = json.loads(line)
            judge_python(case, reply)
        else:
            worker.stdin.close()
            worker.wait()


def judge_python(case, reply):
    if "exception" not in reply:
        case.status = "returned"
        case.message = case.text = reply.get("result", "")
        if not case.ok:
            case.problems.append("no exception")
        return
    case.status = reply["exception"]
    case.text = reply["message"]
    case.message = first_line(reply["message"])
    if case.ok:
        case.problems.append(f"expected success, got {case.status}")
    elif not set(case.exceptions) & set(reply["mro"]):
        case.problems.append(f"{case.status} where {' or '.join(case.exceptions)} was expected")


def check_outputs(case, text):
    if not case.ok:
        for name in case.names:
            if name not in text:
                case.problems.append(f"the message does not name {name!r}")
        if not case.message:
            case.problems.append("no message")
    for output in case.outputs:
        path = Path(output)
        if not case.ok and path.exists() and not case.existing:
            case.problems.append(f"{path.name} was written")
        folder = path if path.is_dir() else path.parent
        stem = path.name.split(".")[0]
        if folder.is_dir():
            left = [p.name for p in folder.iterdir() if p.name.startswith(".") and ".partial-" in p.name
                    and (p.name[1:].startswith(stem) or path.is_dir())]
            if left:
                case.problems.append(f"partial files left: {left}")
    if case.ok and case.check and not case.problems:
        problem = case.check()
        if problem:
            case.problems.append(problem)


# --------------------------------------------------------------------------------------------- the cases


def build_cases(args, made, work):
    cases = []
    out = work / "out"
    out.mkdir()
    model = str(args.model)
    data = made

    def outfile(slug, suffix=".nii.gz"):
        return str(out / (slug + suffix))

    def tool(name, argv, names=(), outputs=(), **kw):
        cases.append(Case(name, "tool", [str(a) for a in argv], tuple(str(n) for n in names),
                          outputs=tuple(str(o) for o in outputs), **kw))

    def py(name, code, names=(), exceptions=("ValueError",), outputs=(), **kw):
        cases.append(Case(name, "python", code, tuple(str(n) for n in names), tuple(exceptions),
                          tuple(str(o) for o in outputs), **kw))

    slug_count = [0]

    def seg(name, image, names=None, extra=(), ok=False, check=None, known="", model_path=model, suffix=".nii.gz"):
        slug_count[0] += 1
        o = outfile(f"seg{slug_count[0]:02d}", suffix)
        tool(name, ["segment", "--model", model_path, "--input", image, "--output", o, "--threads", "2", *extra],
             names=(image,) if names is None else names, outputs=(o,), ok=ok, check=check, known=known)
        return o

    def read(name, path, exceptions=("RuntimeError", "ValueError"), names=None, series="", **kw):
        py(name, f"anunet.read_image({str(path)!r}, {series!r})", names=(path,) if names is None else names,
           exceptions=exceptions, **kw)

    def segpy(name, image_code, exceptions=("ValueError",), names=(), model_code=repr(model), extra="", threads=2,
              **kw):
        call = f"anunet.segment(anunet.Model.load({model_code}), image, threads={threads}{extra})"
        py(name, f"image = {image_code}\n{call}", names=names, exceptions=exceptions, **kw)

    def labels_on_input_grid(output, image):
        def check():
            import nibabel as nib
            got, want = nib.load(output), nib.load(str(image))
            if got.shape[:3] != want.shape[:3] or not np.allclose(got.affine, want.affine, atol=1e-3):
                return f"output grid {got.shape} differs from the input's {want.shape}"
            return None
        return check

    # ---- image files
    missing = work / "in" / "no-such-image.nii.gz"
    seg("image: missing file", missing)
    read("image: missing file", missing, exceptions=("FileNotFoundError",))
    for key, label in (("empty", "image: empty file"), ("truncated_gz", "image: truncated .nii.gz"),
                       ("truncated_nii", "image: truncated .nii (data cut)"),
                       ("text_nii", "image: text file named .nii.gz"), ("text", "image: text file (.txt)")):
        seg(label, data[key])
        read(label, data[key])
    seg("image: a directory given as a file (empty folder)", data["empty_dir"])
    read("image: a directory given as a file (empty folder)", data["empty_dir"])

    # ---- DICOM folders
    seg("dicom: folder with no series", data["no_series"])
    read("dicom: folder with no series", data["no_series"])
    uid = data["dcmqi_uid"]
    seg("dicom: two series, none chosen (lists them)", data["two_series"], names=(data["two_series"], uid))
    read("dicom: two series, none chosen (lists them)", data["two_series"], names=(data["two_series"], uid))
    seg("dicom: two series, --series-uid matches none", data["two_series"], names=("9.9.9",),
        extra=("--series-uid", "9.9.9"))
    read("dicom: two series, series_uid matches none", data["two_series"], names=("9.9.9",), series="9.9.9")
    o = seg("dicom: two series, --series-uid picks one", data["two_series"], extra=("--series-uid", uid), ok=True)
    cases[-1].check = lambda o=o: None if Path(o).exists() else "no output"
    py("dicom: two series, series_uid picks one",
       f"a = anunet.read_image({str(data['two_series'])!r}, {uid!r}).array\n"
       "assert a.shape[0] == 3, a.shape\nresult = f'read {a.shape[::-1]} (x, y, z)'", ok=True)
    seg("dicom: --series-uid given for a file", data["image"], names=("--series-uid",),
        extra=("--series-uid", uid))
    seg("dicom: missing slice", data["missing_slice"])
    read("dicom: missing slice", data["missing_slice"])
    seg("dicom: uneven spacing (" + data["uneven_change"] + ")", data["uneven"])
    read("dicom: uneven spacing", data["uneven"])
    for kind, label in (("jpeg", "JPEG lossless"), ("j2k", "JPEG 2000"), ("rle", "RLE")):
        key = "dicom_" + kind
        if key not in data:
            cases.append(Case(f"dicom: {label} transfer syntax", "tool", [], skip=data["skips"][key]))
            continue
        if kind == "jpeg":  # the tool reads through the same function; one run shows the whole path
            o = seg(f"dicom: {label} transfer syntax (read correctly)", data[key], ok=True)
            cases[-1].check = lambda o=o: None if Path(o).exists() else "no output"
        py(f"dicom: {label} transfer syntax (read correctly)",
           f"a = anunet.read_image({str(data[key])!r}).array\nb = anunet.read_image({str(data['dicom'])!r}).array\n"
           "assert a.shape == b.shape and np.array_equal(a, b), 'pixels differ from the uncompressed series'\n"
           "result = f'{a.shape[::-1]} (x, y, z), equal to the uncompressed series'", ok=True)

    # ---- image content
    seg("image: 4-D", data["four_d"])
    read("image: 4-D", data["four_d"])
    seg("image: RGB NIfTI", data["rgb_nii"])
    read("image: RGB NIfTI", data["rgb_nii"])
    seg("image: RGB PNG", data["rgb_png"], suffix=".png")
    read("image: RGB PNG", data["rgb_png"])
    seg("image: complex pixels", data["complex"])
    read("image: complex pixels", data["complex"])
    o = seg("image: 5 x 5 x 2, smaller than the network", data["tiny"], ok=True)
    cases[-1].check = labels_on_input_grid(o, data["tiny"])
    o = seg("image: one slice (64 x 64 x 1)", data["one_slice"], ok=True)
    cases[-1].check = labels_on_input_grid(o, data["one_slice"])
    seg("image: NaN intensities", data["nan"], names=(data["nan"], "3"))
    seg("image: +-Inf intensities", data["inf"], names=(data["inf"], "2"))
    seg("image: NaN intensities in a MetaImage (.mha)", data["nan_mha"], names=(data["nan_mha"], "3"))
    segpy("image: NaN intensities", f"anunet.read_image({str(data['nan'])!r})", names=(data["nan"], "3"),
          exceptions=("RuntimeError", "ValueError"))
    segpy("image: +-Inf intensities", f"anunet.read_image({str(data['inf'])!r})", names=(data["inf"], "2"),
          exceptions=("RuntimeError", "ValueError"))
    segpy("image: NaN intensities in a MetaImage (.mha)", f"anunet.read_image({str(data['nan_mha'])!r})",
          names=("3",), exceptions=("RuntimeError", "ValueError"))
    segpy("image: NaN and Inf in an array", f"anunet.read_image({str(data['image'])!r})\n"
          "image.array[0, 0, :3] = [np.nan, np.inf, -np.inf]", names=("3",))
    o = seg("control: a good image", data["image"], ok=True)
    cases[-1].check = labels_on_input_grid(o, data["image"])

    # ---- evaluate
    tool("evaluate: missing prediction", ["evaluate", "--prediction", missing, "--truth", data["label"]],
         names=(missing,))
    tool("evaluate: prediction is a folder", ["evaluate", "--prediction", data["empty_dir"], "--truth", data["label"]],
         names=(data["empty_dir"],))
    tool("evaluate: truth is a text file", ["evaluate", "--prediction", data["label"], "--truth", data["text"]],
         names=(data["text"],))
    tool("evaluate: truth on another grid (size, spacing, origin)",
         ["evaluate", "--prediction", data["label"], "--truth", data["label_other_grid"]],
         names=(data["label_other_grid"],))
    tool("evaluate: truth with another spacing", ["evaluate", "--prediction", data["label"], "--truth",
                                                   data["label_other_spacing"]], names=("spacing",))
    tool("evaluate: --label absent from both images", ["evaluate", "--prediction", data["label"], "--truth",
                                                        data["label"], "--label", "7"], names=("7",))
    tool("evaluate: --label out of range", ["evaluate", "--prediction", data["label"], "--truth", data["label"],
                                            "--label", "70000"], names=("--label",))
    tool("evaluate: 4-D truth", ["evaluate", "--prediction", data["label"], "--truth", data["four_d"]],
         names=(data["four_d"],))
    py("evaluate: prediction and truth of different shapes",
       f"p = anunet.read_image({str(data['label'])!r})\nt = anunet.read_image({str(data['label_other_grid'])!r})\n"
       "anunet.evaluate(p.like(p.array.astype(np.uint8)), t.like(t.array.astype(np.uint8)))", names=("shape",))
    py("evaluate: label absent from both images",
       f"p = anunet.read_image({str(data['label'])!r})\np = p.like(p.array.astype(np.uint8))\n"
       "anunet.evaluate(p, p, label=7)", names=("7",))

    # ---- checkpoints and TorchScript files
    for key, label, names in (
            ("missing", "model: missing file", None), ("empty_pt", "model: empty file", None),
            ("garbage_pt", "model: garbage bytes", None), ("truncated_pt", "model: truncated checkpoint", None),
            ("state_dict_pt", "model: a PyTorch state_dict (torch.save)", None),
            ("arch_pt", "model: metadata of another architecture (unet) than its weights", None),
            ("channels_pt", "model: metadata of 2 input channels, weights of 1", None),
            ("ts_rank3", "model: TorchScript Conv1d (input rank 3)", None),
            ("ts_rank5", "model: TorchScript Conv3d (input rank 5)", None),
            ("ts_flat", "model: TorchScript classifier (N x K output)", None),
            ("ts_two_inputs", "model: TorchScript with two inputs", None),
            ("ts_tuple", "model: TorchScript with a tuple output", None),
            ("ts_two_channels", "model: TorchScript of 2 input channels on a 1-channel image", None),
            ("empty_dir", "model: a directory given as a file", None)):
        path = missing.with_name("no-such-model.pt") if key == "missing" else data[key]
        seg(label, data["image"], names=(path,), model_path=path)
        exceptions = ("FileNotFoundError",) if key == "missing" else ("RuntimeError", "ValueError")
        if key == "ts_two_channels":
            segpy(label, f"anunet.read_image({str(data['image'])!r})", model_code=repr(str(path)),
                  exceptions=exceptions, names=("channel",))
        else:
            py(label, f"anunet.Model.load({str(path)!r})", names=(path,), exceptions=exceptions)

    # ---- pruning levels
    seg("level: --level 5", data["image"], names=("--level",), extra=("--level", "5"))
    seg("level: --level -1", data["image"], names=("--level",), extra=("--level", "-1"))
    segpy("level: level=5", f"anunet.read_image({str(data['image'])!r})", names=("5",), extra=", level=5")
    segpy("level: level=-2", f"anunet.read_image({str(data['image'])!r})", names=("-2",), extra=", level=-2")
    unet = work / "unet" / "best.pt"
    seg("level: --level 2 on a U-Net (no levels)", data["image"], names=("level",), extra=("--level", "2"),
        model_path=unet)
    segpy("level: level=2 on a U-Net (no levels)", f"anunet.read_image({str(data['image'])!r})", names=("level",),
          model_code=repr(str(unet)), extra=", level=2")
    seg("level: --level 2 on a plain TorchScript network", data["image"], names=("level",),
        extra=("--level", "2"), model_path=data["ts_plain"])
    segpy("level: level=2 on a plain TorchScript network", f"anunet.read_image({str(data['image'])!r})",
          names=("level",), model_code=repr(str(data["ts_plain"])), extra=", level=2")

    # ---- numeric options
    for option, value in (("--threads", "-1"), ("--batch", "0"), ("--threshold", "1.5")):
        seg(f"option: segment {option} {value}", data["image"], names=(option,), extra=(option, value))
    segpy("option: threads=-1", f"anunet.read_image({str(data['image'])!r})", names=("threads",), threads=-1)
    segpy("option: batch=0", f"anunet.read_image({str(data['image'])!r})", names=("batch",), extra=", batch=0")
    segpy("option: probability with largest_component", f"anunet.read_image({str(data['image'])!r})",
          names=("largest_component",), extra=", probability=True, largest_component=True")
    seg("option: --largest-component with --probability", data["image"], names=("--largest-component",),
        extra=("--largest-component", "--probability"))
    seg("option: --device nonsense", data["image"], names=("--device",), extra=("--device", "gpu7"))

    # ---- output paths
    o = str(out / "no-such-folder" / "labels.nii.gz")
    tool("output: missing folder", ["segment", "--model", model, "--input", data["image"], "--output", o],
         names=(o,), outputs=(o,))
    py("output: Image.write into a missing folder",
       f"anunet.read_image({str(data['image'])!r}).write({o!r})", names=(o,), exceptions=("FileNotFoundError",),
       outputs=(o,))
    existing = out / "existing-folder.nii.gz"
    existing.mkdir()
    tool("output: an existing directory", ["segment", "--model", model, "--input", data["image"], "--output",
                                           existing, "--threads", "2"], names=(existing,), outputs=(existing,),
         existing=True)
    py("output: Image.write onto an existing directory",
       f"anunet.read_image({str(data['image'])!r}).write({str(existing)!r})", names=(existing,),
       exceptions=("IsADirectoryError", "ValueError"), outputs=(existing,), existing=True)
    o = outfile("unknown-format", ".xyz")
    tool("output: unknown format (.xyz)", ["segment", "--model", model, "--input", data["image"], "--output", o,
                                           "--threads", "2"], names=(o,), outputs=(o,))
    py("output: Image.write with an unknown format (.xyz)",
       f"anunet.read_image({str(data['image'])!r}).write({o!r})", names=(o,), exceptions=("ValueError",),
       outputs=(o,))
    o = outfile("two-file", ".mhd")
    tool("output: two-file format (.mhd)", ["segment", "--model", model, "--input", data["image"], "--output", o],
         names=(o,), outputs=(o,))
    readonly = out / "read-only"
    readonly.mkdir()
    ro_reason = make_unwritable(readonly)
    o = str(readonly / "labels.nii.gz")
    if ro_reason:
        cases.append(Case("output: read-only folder", "tool", [], skip=ro_reason))
    else:
        tool("output: read-only folder (chattr +i)", ["segment", "--model", model, "--input", data["image"],
                                                      "--output", o, "--threads", "2"], names=(o,), outputs=(o,))
        py("output: Image.write into a read-only folder (chattr +i)",
           f"anunet.read_image({str(data['image'])!r}).write({o!r})", names=(o,),
           exceptions=("PermissionError", "ValueError"), outputs=(o,))
        tool("train: --out inside a read-only folder", ["train", "--config", made["config"], "--data-root",
                                                        made["config_root"], "--out", readonly / "run"],
             names=(readonly,), outputs=(readonly / "run",))

    # ---- training configs
    train_cases(made, work, tool, py, readonly if not ro_reason else None)
    return cases, readonly, ro_reason


def make_unwritable(folder):
    """A folder that even root cannot write into (chattr +i), or the reason there is none."""
    chattr = shutil.which("chattr")
    if not chattr:
        return "chattr is not installed: as root, a read-only folder does not stop writes"
    result = subprocess.run([chattr, "+i", str(folder)], capture_output=True, text=True)
    if result.returncode != 0:
        return f"chattr +i failed ({first_line(result.stderr)}): as root, a read-only folder does not stop writes"
    try:
        (folder / "probe").write_text("x")
    except OSError:
        return ""
    (folder / "probe").unlink()
    return "chattr +i does not stop writes here"


def release_unwritable(folder):
    if folder.exists() and shutil.which("chattr"):
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)


def write_config(path, text):
    Path(path).write_text(text)
    return Path(path)


CONFIG = """architecture: {architecture}
task: liver
data:
  image: in/{image}
  label: in/{label}
  train: ["a"]
  validation: ["a"]
preprocessing:
  intensity: percentile
  size: [32, 32]
network:
  filters: [4, 8, 16, 32, 64]
training:
  epochs: 1
  iterations_per_epoch: 1
  batch_size: 2
  learning_rate: 0.01
  seed: 3
  threads: 2
"""


def train_cases(made, work, tool, py, readonly):
    configs = work / "configs"
    good = CONFIG.format(architecture="anunet", image="image.nii.gz", label="label.nii.gz")
    root = str(work)

    def both(name, config, names, data_root=root, exceptions=("ValueError",), extra=(), py_extra="", known=""):
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
        out_dir = work / "runs" / slug
        argv = ["train", "--config", config, "--out", out_dir, *extra]
        if data_root is not None:
            argv += ["--data-root", data_root]
        tool(name, argv, names=names, outputs=(out_dir / "best.pt", out_dir / "last.pt"), known=known)
        out_py = work / "runs" / (slug + "-py")
        py(name, f"anunet.train({str(config)!r}, {str(out_py)!r}, data_root={data_root or ''!r}{py_extra})",
           names=names, exceptions=exceptions, outputs=(out_py / "best.pt", out_py / "last.pt"), known=known)

    missing = configs / "no-such-config.yaml"
    configs.mkdir()
    both("config: missing file", missing, (missing,), exceptions=("FileNotFoundError",))
    both("config: a directory given as a file", configs, (configs,))
    garbage = configs / "garbage.yaml"
    garbage.write_bytes(b"\x00\xff\xfe{{{ [[[ : : :\n\t- ]")
    both("config: not YAML", garbage, (garbage,))
    c = write_config(configs / "unknown-top.yaml", good + "augmentaton: true\n")
    both("config: unknown top-level key", c, (c, "augmentaton"))
    c = write_config(configs / "unknown-nested.yaml", good.replace("  epochs: 1", "  epochz: 1"))
    both("config: unknown key in training", c, (c, "epochz"))
    c = write_config(configs / "wrong-type.yaml", good.replace("  epochs: 1", "  epochs: three"))
    both("config: epochs: three (wrong type)", c, (c, "epochs"))
    c = write_config(configs / "wrong-type-filters.yaml", good.replace("[4, 8, 16, 32, 64]", "8"))
    both("config: filters: 8 (wrong type)", c, (c, "filters"))
    c = write_config(configs / "no-image.yaml", good.replace("  image: in/image.nii.gz\n", ""))
    both("config: data.image missing", c, (c, "image"))
    c = write_config(configs / "no-data.yaml", re.sub(r"data:\n(  .*\n)+", "", good))
    both("config: data section missing", c, (c, "data"))
    c = write_config(configs / "empty-train.yaml", good.replace('train: ["a"]', "train: []"))
    both("config: empty list of training cases", c, (c, "train"))
    c = write_config(configs / "missing-image.yaml", good.replace("in/image.nii.gz", "in/nothing-{id}.nii.gz"))
    both("config: image path that does not exist", c, ("nothing-a.nii.gz",), exceptions=("FileNotFoundError",))
    both("config: --data-root that does not exist", made["config"], (work / "no-such-root",),
         data_root=str(work / "no-such-root"), exceptions=("FileNotFoundError",))
    both("config: --data-root is a file", made["config"], (made["image"],), data_root=str(made["image"]))
    c = write_config(configs / "unknown-architecture.yaml", good.replace("architecture: anunet", "architecture: vnet"))
    both("config: unknown architecture", c, (c, "vnet"))
    c = write_config(configs / "unknown-task.yaml", good.replace("task: liver", "task: pancreas"))
    both("config: unknown task", c, ("pancreas",))
    c = write_config(configs / "other-grid.yaml", good.replace("in/label.nii.gz", "in/label-other-grid.nii.gz"))
    both("train: label on another grid than its image", c, ("label-other-grid.nii.gz",))
    c = write_config(configs / "unnamed-labels.yaml", good.replace("in/label.nii.gz", "in/label-unnamed.nii.gz"))
    both("train: label values (9) that the task does not name", c, ("label-unnamed.nii.gz", "9"))
    c = write_config(configs / "nan-image.yaml", good.replace("in/image.nii.gz", "in/nan.nii.gz"))
    both("train: NaN intensities in a training image", c, ("nan.nii.gz",), exceptions=("RuntimeError", "ValueError"))
    c = write_config(configs / "negative-lr.yaml", good.replace("learning_rate: 0.01", "learning_rate: -1"))
    both("config: learning_rate: -1", c, (c, "learning_rate"))
    c = write_config(configs / "zero-batch.yaml", good.replace("batch_size: 2", "batch_size: 0"))
    both("config: batch_size: 0", c, (c, "batch_size"))
    for option, value in (("--threads", "-2"), ("--epochs", "-1"), ("--batch-size", "0"), ("--lr", "-0.5"),
                          ("--size", "3"), ("--device", "gpu7")):
        slug = f"option{option}{value}"
        out_dir = work / "runs" / slug
        tool(f"option: train {option} {value}", ["train", "--config", made["config"], "--data-root", root, "--out",
                                                 out_dir, option, value], names=(option,),
             outputs=(out_dir / "best.pt", out_dir / "last.pt"))
    for keyword, value in (("threads", -2), ("epochs", -1), ("device", "'gpu7'")):
        out_py = work / "runs" / f"py-{keyword}"
        py(f"option: train({keyword}={value})",
           f"anunet.train({str(made['config'])!r}, {str(out_py)!r}, data_root={root!r}, {keyword}={value})",
           names=(keyword,), outputs=(out_py / "best.pt", out_py / "last.pt"))
    existing_file = work / "runs" / "a-file"
    existing_file.parent.mkdir(parents=True, exist_ok=True)
    existing_file.write_text("not a folder\n")
    tool("train: --out is an existing file", ["train", "--config", made["config"], "--data-root", root, "--out",
                                              existing_file], names=(existing_file,))
    py("train: out is an existing file",
       f"anunet.train({str(made['config'])!r}, {str(existing_file)!r}, data_root={root!r})", names=(existing_file,),
       exceptions=("FileExistsError", "NotADirectoryError", "ValueError"))
    tool("train: --resume of a missing file", ["train", "--config", made["config"], "--data-root", root, "--out",
                                               work / "runs" / "resume", "--resume", work / "nothing.pt"],
         names=(work / "nothing.pt",), outputs=(work / "runs" / "resume" / "best.pt",))
    py("train: resume of a missing file",
       f"anunet.train({str(made['config'])!r}, {str(work / 'runs' / 'resume-py')!r}, data_root={root!r}, "
       f"resume={str(work / 'nothing.pt')!r})", names=(work / "nothing.pt",), exceptions=("FileNotFoundError",))


# Defects whose fix lies outside the files this test covers (the reader, the segment command, the model and
# checkpoint loaders, the segmentation filter, python/anunet/__init__.py): (case, front) -> where and what.
KNOWN = {}


# --------------------------------------------------------------------------------------------- report


def shorten(text, args, work):
    text = str(text)
    for long, short in ((str(work), "$W"), (str(args.data_root), "$DATA"), (str(args.model), "$MODEL"),
                        (str(args.anunet), "anunet"), (str(Path(__file__).resolve().parents[2]) + "/", "")):
        text = text.replace(long, short)
    return text


def command_text(case, args, work):
    if case.front == "tool":
        return shorten("anunet " + " ".join(case.command), args, work)
    return shorten("; ".join(line for line in case.command.splitlines()), args, work)


def verdict(case):
    if case.skip:
        return "skipped"
    if not case.problems:
        return "ok"
    return "KNOWN DEFECT" if case.known else "FAIL"


def markdown(cases, args, work, seconds):
    lines = [
        "# Bad inputs: what the tool and the Python module do (issue 18, section 1)",
        "",
        "Generated by `test/tool/check_bad_inputs.py --table docs/results/bad-inputs.md` (the regression test "
        "`ANUNetToolBadInputs`), on inputs it makes at run time from the shared CHAOS MR T2 case 33 and the IRCAD "
        "and dcmqi CT DICOM series. `$W` is its work folder, `$DATA` the data root, `$MODEL` the committed "
        "`data/models/chaos-t2-liver-small.pt`. Every case must give a non-zero exit (tool) or an exception of a "
        "fitting type (Python), a message that names the file or option, and no output or partial file; the "
        "`ok` rows marked *(must work)* are controls and inputs whose right answer is a correct result.",
        "",
        f"{sum(1 for c in cases if not c.skip)} cases run in {seconds:.0f} s; "
        f"{sum(1 for c in cases if verdict(c) == 'ok')} ok, "
        f"{sum(1 for c in cases if verdict(c) == 'KNOWN DEFECT')} known defects, "
        f"{sum(1 for c in cases if verdict(c) == 'FAIL')} failures, {sum(1 for c in cases if c.skip)} skipped.",
        "",
        "| case | front | command | result | first line of the message | verdict |",
        "| --- | --- | --- | --- | --- | --- |",
    ]

    def cell(text):
        return shorten(text, args, work).replace("|", "\\|").replace("\n", " ")

    for c in cases:
        name = c.name + (" *(must work)*" if c.ok else "")
        v = verdict(c)
        if c.skip:
            v += f": {c.skip}"
        elif c.problems:
            v += ": " + "; ".join(c.problems) + (f" ({c.known})" if c.known else "")
        lines.append(f"| {cell(name)} | {c.front} | `{cell(command_text(c, args, work))}` | {cell(c.status)} | "
                     f"{cell(c.message[:300])} | {cell(v)} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anunet", required=True)
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--data-root", required=True, type=Path)
    parser.add_argument("--python-path", default="", help="build/python, where `import anunet` is found")
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--table", type=Path, help="also write the table as Markdown here")
    parser.add_argument("--strict", action="store_true", help="known defects fail the run too")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this text")
    args = parser.parse_args()
    started = time.monotonic()
    work = args.work.resolve()
    if work.exists():
        release_unwritable(work / "out" / "read-only")
        shutil.rmtree(work)
    work.mkdir(parents=True)
    made = make_inputs(work, args.data_root, args.model)
    made["config_root"] = str(work)
    made["config"] = write_config(work / "configs-good.yaml",
                                  CONFIG.format(architecture="anunet", image="image.nii.gz", label="label.nii.gz"))
    # A network without pruning levels, trained for one step on the small crop (a few seconds).
    unet_config = write_config(work / "configs-unet.yaml",
                               CONFIG.format(architecture="unet", image="image.nii.gz", label="label.nii.gz"))
    trained = subprocess.run([args.anunet, "train", "--config", unet_config, "--data-root", work, "--out",
                              work / "unet"], capture_output=True, encoding="utf-8", errors="replace")
    print(f"U-Net for the level cases trained in {time.monotonic() - started:.0f} s")
    if trained.returncode != 0:
        print(trained.stdout + trained.stderr)
        sys.exit("FAIL: the U-Net for the level cases could not be trained")
    cases, readonly, _ = build_cases(args, made, work)
    for case in cases:
        case.known = case.known or KNOWN.get((case.name, case.front), "")
    if args.only:
        cases = [c for c in cases if args.only in c.name]
    try:
        python_cases = [c for c in cases if c.front == "python" and not c.skip]
        for case in cases:
            if case.front == "tool" and not case.skip:
                run_tool(case, args.anunet)
        if python_cases:
            if not args.python_path:
                print("no --python-path (the Python module is not built): the Python cases are left out")
                cases = [c for c in cases if c.front != "python"]
            else:
                run_python(python_cases, args.python_path,
                           {"W": str(work), "MODEL": str(args.model), "DATA": str(args.data_root)})
        for case in cases:
            if not case.skip:
                check_outputs(case, case.text)
    finally:
        release_unwritable(readonly)
    seconds = time.monotonic() - started

    width = max(len(c.name) for c in cases)
    for c in cases:
        v = verdict(c)
        detail = c.skip or "; ".join(c.problems)
        message = shorten(c.message, args, work)[:160]
        print(f"{v:>12} | {c.name:<{width}} | {c.front:<6} | {c.seconds:5.1f} s | {c.status or '-':<12} | {message}"
              + (f" | {detail}" if detail else ""))
        print(f"{'':>12} |   $ {command_text(c, args, work)[:220]}")
    failures = [c for c in cases if verdict(c) == "FAIL"]
    known = [c for c in cases if verdict(c) == "KNOWN DEFECT"]
    print(f"{len(cases)} cases in {seconds:.0f} s: {len(failures)} failures, {len(known)} known defects, "
          f"{sum(1 for c in cases if c.skip)} skipped")
    if args.table:
        args.table.write_text(markdown(cases, args, work, seconds))
        print(f"table written to {args.table}")
    if failures or (args.strict and known):
        sys.exit(1)
    skipped = [c for c in cases if c.skip]
    if skipped and os.environ.get("ANUNET_NO_SKIP"):
        print("FAIL: cases skipped where ANUNET_NO_SKIP is set")
        sys.exit(1)


if __name__ == "__main__":
    main()
