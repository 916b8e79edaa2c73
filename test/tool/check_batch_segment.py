#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""`anunet segment --manifest` and `anunet summarize` as users run them (docs/reference.md section 9).

    check_batch_segment.py SCENARIO --anunet BIN --model PT --work DIR [--data-root ROOT]

Scenarios: shards (two shards over three CHAOS cases; the fixture of the next two), rerun (finished cases are
skipped, a deleted output is made again), summarize (the merge, a torn temporary record ignored, a missing case
reported), missing-image, duplicate-output, bad-shard, no-image-column, empty-manifest. Each exits non-zero
with a message on the first check that fails.
"""
import argparse
import csv
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

CASES = ("31", "32", "33")


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def run(args, *command, expect_ok=True):
    result = subprocess.run([args.anunet, *command], capture_output=True, text=True)
    print(f"$ anunet {' '.join(command)}  -> exit {result.returncode}")
    print(result.stdout + result.stderr)
    if expect_ok and result.returncode != 0:
        fail(f"exit status {result.returncode}")
    if not expect_ok and result.returncode == 0:
        fail("exit status 0 where an error was expected")
    return result


def segment(args, manifest, output_dir, *extra, expect_ok=True):
    return run(args, "segment", "--model", args.model, "--manifest", str(manifest), "--output-dir",
               str(output_dir), "--threads", "1", *extra, expect_ok=expect_ok)


def expect_error(result, *patterns):
    text = result.stdout + result.stderr
    for pattern in patterns:
        if not re.search(pattern, text):
            fail(f"the output does not match {pattern!r}")


def fresh(args, name):
    folder = pathlib.Path(args.work) / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def shards_folder(args):
    return pathlib.Path(args.work) / "shards"


def write_manifest(folder, text):
    path = folder / "cases.csv"
    path.write_text(text)
    return path


def scenario_shards(args):
    folder = fresh(args, "shards")
    # Relative paths are relative to the manifest's folder: reach the images through a link beside it.
    (folder / "data").symlink_to(pathlib.Path(args.data_root).resolve())
    image = "data/chaos-mr-t2/case{}_t2.nii.gz"
    truth = "data/chaos-mr-t2/case{}_labels.nii.gz"
    manifest = write_manifest(folder, "\n".join([
        "# three unseen CHAOS MR T2 cases; comments and blank lines are skipped",
        "case,image,truth,output",
        f"case31,{image.format(31)},{truth.format(31)},",
        f",{image.format(32)},{truth.format(32)},sub/case32_liver.nii.gz",
        "",
        f"case33,\"{image.format(33)}\",{truth.format(33)},",
    ]) + "\n")
    out = folder / "out"
    shard0 = segment(args, manifest, out, "--shard", "0/2")
    shard1 = segment(args, manifest, out, "--shard", "1/2")
    expected = {"case31": ("0/2", "case31.nii.gz"), "case32_t2": ("1/2", "sub/case32_liver.nii.gz"),
                "case33": ("0/2", "case33.nii.gz")}
    for case, (shard, output) in expected.items():
        record = json.loads((out / "results" / "cases" / f"{case}.json").read_text())
        if record["status"] != "ok" or record["shard"] != shard:
            fail(f"{case}: record {record['status']} from shard {record['shard']}, expected ok from {shard}")
        if not (out / output).is_file():
            fail(f"{case}: no output {out / output}")
        log = shard0.stdout if shard == "0/2" else shard1.stdout
        line = next((l for l in log.splitlines() if l.startswith(case + " ")), None)
        if not line or not re.search(r"\d+ x \d+ x \d+ voxels of [\d.]+ x [\d.]+ x [\d.]+ mm\) -> .*"
                                     + re.escape(output) + r".*Dice 0\.\d+; [\d.]+ s$", line):
            fail(f"{case}: the log line does not say what was read and written, and in what time: {line!r}")
    if len(list((out / "results").glob("shard-*.json"))) != 2:
        fail("expected one shard record per shard")


def scenario_rerun(args):
    out = fresh(args, "rerun") / "out"
    shutil.copytree(shards_folder(args) / "out", out)
    manifest = shards_folder(args) / "cases.csv"
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.nii.gz")}
    for shard in ("0/2", "1/2"):
        result = segment(args, manifest, out, "--shard", shard)
        expect_error(result, r"0 segmented, \d skipped")
    if {p: p.stat().st_mtime_ns for p in out.rglob("*.nii.gz")} != before:
        fail("a rerun rewrote an output that was finished")
    # An output deleted since (or never renamed into place) makes its case run again, and only that case.
    (out / "case33.nii.gz").unlink()
    result = segment(args, manifest, out, "--shard", "0/2")
    expect_error(result, r"case31 \(1/2\): skipped", r"case33 \(2/2\): read .* -> ", r"1 segmented, 1 skipped")
    # Another setting is another result: nothing is skipped.
    result = segment(args, manifest, out, "--shard", "1/2", "--threshold", "0.6")
    expect_error(result, r"1 segmented, 0 skipped")
    # One output folder holds one manifest's cases.
    other = write_manifest(fresh(args, "rerun-other"), "image\nx.nii.gz\n")
    expect_error(segment(args, other, out, expect_ok=False), r"holds the results of another manifest")


def read_summary(out):
    with open(out / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


def scenario_summarize(args):
    out = fresh(args, "summarize") / "out"
    shutil.copytree(shards_folder(args) / "out", out)
    # What a killed writer leaves: a temporary record. It must never be read as a result.
    (out / "results" / "cases" / ".case31.partial-99999.json").write_text('{"case": "case31", "stat')
    result = run(args, "summarize", str(out))
    expect_error(result, r"3 cases: 3 ok, 0 failed, 0 missing; mean Dice 0\.\d+ over 3")
    rows = read_summary(out)
    if [r["case"] for r in rows] != ["case31", "case32_t2", "case33", "(mean)"]:
        fail(f"summary.csv rows {[r['case'] for r in rows]}")
    for row in rows[:3]:
        if row["status"] != "ok" or not 0.8 < float(row["dice"]) <= 1.0 or float(row["seconds"]) <= 0:
            fail(f"implausible row {row}")
        for measure in ("iou", "precision", "recall", "hd95_mm"):
            float(row[measure])
    mean = sum(float(r["dice"]) for r in rows[:3]) / 3
    if abs(float(rows[3]["dice"]) - mean) > 1e-5:
        fail(f"mean Dice {rows[3]['dice']}, the rows' mean is {mean}")
    summary = json.loads((out / "summary.json").read_text())
    if summary["counts"] != {"cases": 3, "ok": 3, "failed": 0, "missing": 0} or summary["mean"]["cases"] != 3:
        fail(f"summary.json counts {summary['counts']}, mean {summary['mean']}")
    if abs(summary["mean"]["dice"] - mean) > 1e-5:
        fail("summary.json's mean Dice differs from summary.csv's")
    if [c["case"] for c in summary["cases"]] != ["case31", "case32_t2", "case33"]:
        fail("summary.json's cases are not in the manifest's order")
    # A case without a record (its shard killed before it finished) is missing, and the exit status says so.
    (out / "results" / "cases" / "case32_t2.json").unlink()
    result = run(args, "summarize", str(out), expect_ok=False)
    expect_error(result, r"case32_t2 missing \(no record; shard 1/2 started")
    if [r["status"] for r in read_summary(out)] != ["ok", "missing", "ok", "mean"]:
        fail("summary.csv does not list the missing case as missing")
    expect_error(run(args, "summarize", str(out.parent / "nowhere"), expect_ok=False), r"has no results/ folder")


def scenario_missing_image(args):
    folder = fresh(args, "missing-image")
    (folder / "not-an-image.nii.gz").write_text("not an image")
    rows = ["image,truth", "no/such/case01.nii.gz,", "not-an-image.nii.gz,"]
    if args.data_root:
        root = pathlib.Path(args.data_root).resolve()
        rows.append(f"{root}/chaos-mr-t2/case31_t2.nii.gz,{root}/chaos-mr-t2/case31_labels.nii.gz")
    out = folder / "out"
    result = segment(args, write_manifest(folder, "\n".join(rows) + "\n"), out, expect_ok=False)
    expect_error(result, r"case01 \(1/\d\): FAILED after .*cannot read the image '[^']*no/such/case01\.nii\.gz': "
                         r"no such file", r"not-an-image \(2/\d\): FAILED", r"of shard 0/1 failed")
    record = json.loads((out / "results" / "cases" / "case01.json").read_text())
    if record["status"] != "failed" or "no/such/case01.nii.gz" not in record["message"]:
        fail(f"the record of the missing image: {record}")
    if args.data_root:
        # The run went on past the failures.
        if json.loads((out / "results" / "cases" / "case31_t2.json").read_text())["status"] != "ok":
            fail("the case after the failures was not segmented")
    expect_error(run(args, "summarize", str(out), expect_ok=False), r"case01 failed \(cannot read the image")
    statuses = [r["status"] for r in read_summary(out)]
    if statuses[:2] != ["failed", "failed"]:
        fail(f"summary.csv statuses {statuses}")


def scenario_duplicate_output(args):
    folder = fresh(args, "duplicate-output")
    manifest = write_manifest(folder, "case,image,output\na,a.nii.gz,same.nii.gz\nb,b.nii.gz,\n"
                                      "c,c.nii.gz,./sub/../same.nii.gz\n")
    expect_error(segment(args, manifest, folder / "out", expect_ok=False),
                 r"cases\.csv: lines 2 and 4 both write the output 'same\.nii\.gz'")
    manifest = write_manifest(folder, "image\nx/case.nii.gz\ny/case.nii.gz\n")
    expect_error(segment(args, manifest, folder / "out", expect_ok=False),
                 r"lines 2 and 3 have the same case id 'case' \(taken from the image names; give a 'case' column\)")
    if (folder / "out").exists():
        fail("a refused manifest created the output folder")


def scenario_bad_shard(args):
    folder = fresh(args, "bad-shard")
    manifest = write_manifest(folder, "image\na.nii.gz\n")
    expect_error(segment(args, manifest, folder / "out", "--shard", "3/2", expect_ok=False),
                 r"--shard '3/2': the shard index must be 0\.\.1; shards are numbered from 0")
    expect_error(segment(args, manifest, folder / "out", "--shard", "2/2", expect_ok=False),
                 r"--shard '2/2': the shard index must be 0\.\.1")
    expect_error(segment(args, manifest, folder / "out", "--shard", "0/0", expect_ok=False),
                 r"--shard '0/0': the number of shards must be at least 1")
    for malformed in ("1", "a/b", "-1/2", "1/2/3", "1.5/2", "/", "", " 0/2"):
        expect_error(segment(args, manifest, folder / "out", "--shard", malformed, expect_ok=False),
                     re.escape(f"--shard '{malformed}': expected i/N"))
    expect_error(run(args, "segment", "--model", args.model, "--input", "a.nii.gz", "--output", "b.nii.gz",
                     "--shard", "0/2", expect_ok=False), r"--shard requires --manifest")


def scenario_no_image_column(args):
    folder = fresh(args, "no-image-column")
    manifest = write_manifest(folder, "case,truth\na,a_labels.nii.gz\n")
    expect_error(segment(args, manifest, folder / "out", expect_ok=False),
                 r"cases\.csv line 1: the header has no 'image' column")
    manifest = write_manifest(folder, "image,tuth\na.nii.gz,b.nii.gz\n")
    expect_error(segment(args, manifest, folder / "out", expect_ok=False), r"line 1: unknown column 'tuth'")
    manifest = write_manifest(folder, "image,level\na.nii.gz,2\n")
    expect_error(segment(args, manifest, folder / "out", expect_ok=False),
                 r"the column 'level' is not read per case")


def scenario_empty_manifest(args):
    folder = fresh(args, "empty-manifest")
    manifest = write_manifest(folder, "")
    expect_error(segment(args, manifest, folder / "out", expect_ok=False), r"cases\.csv: the file is empty")
    manifest = write_manifest(folder, "# only a comment\n\nimage,truth\n\n")
    expect_error(segment(args, manifest, folder / "out", expect_ok=False),
                 r"cases\.csv: the header has no cases below it")
    expect_error(segment(args, folder / "absent.csv", folder / "out", expect_ok=False),
                 r"--manifest '.*absent\.csv': cannot read it \(no such file\)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    scenarios = {name[len("scenario_"):].replace("_", "-"): f for name, f in globals().items()
                 if name.startswith("scenario_")}
    parser.add_argument("scenario", choices=sorted(scenarios))
    parser.add_argument("--anunet", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--data-root", default="")
    args = parser.parse_args()
    if args.scenario in ("shards", "rerun", "summarize") and not args.data_root:
        fail(f"{args.scenario} needs --data-root (the CHAOS MR T2 cases)")
    scenarios[args.scenario](args)
    print(f"{args.scenario}: ok")


if __name__ == "__main__":
    main()
