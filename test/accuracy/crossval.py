#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""The paper's six-model comparison on CHAOS MR T2-SPIR: 5-fold cross-validation by case (issue 16, part 2).

Protocol: task x architecture x fold = 3 x 6 x 5 = 90 runs. Each run
  1. `anunet train` of the task's recipe (data/configs/cv/<task>.yaml) on the fold's 12 training cases
     (data/configs/cv/folds.yaml), into a run folder outside the repository (--runs, default /work/cv-runs);
  2. `anunet segment` of the fold's 3 test cases with last.pt (the final weights of the fixed schedule; no
     choice is made on any data) at the full level (--level 0);
  3. 3-D Dice, IoU, precision and recall per test case on the input grid, computed here with nibabel/NumPy,
     and HD95, Hausdorff and ASSD from `anunet evaluate --json` (whose Dice is checked against NumPy's);
  4. docs/results/cv/<task>/<architecture>/fold<k>.json, written atomically, committed at once
     ("ENH: CV result <task> <arch> fold k") together with the regenerated docs/results.md.
Runs whose result file exists are skipped, so a later session continues the table; an interrupted training
is resumed from its last.pt. Order: liver fold 1 (all six architectures), liver fold 2, ..., then kidneys,
then spleen, so that the table fills usefully early.

Usage:
  LD_LIBRARY_PATH=/work/exp-bin nohup /usr/bin/python3 test/accuracy/crossval.py --anunet /work/exp-bin/anunet \
      >>/work/cv-runs/crossval.log 2>&1 &
  /usr/bin/python3 test/accuracy/crossval.py --report      # only rewrite docs/results.md from the results
  /usr/bin/python3 test/accuracy/crossval.py --dry-run     # print the plan (done / to do)

The git commit the binary was built from is read from a file COMMIT next to the binary (or --binary-commit);
it is recorded in every result. Every training and segmentation runs under `nice -n 19` with 1 thread.
A file STOP in the runs folder makes the loop stop before the next run.
"""
import argparse
import datetime
import fcntl
import hashlib
import json
import math
import os
import pathlib
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
TASKS = ["liver", "kidney", "spleen"]
TASK_NAMES = {"liver": "Liver (label 1)", "kidney": "Kidneys (labels 2 + 3)", "spleen": "Spleen (label 4)"}
# CHAOS label values: 1 liver, 2 right kidney, 3 left kidney, 4 spleen.
TASK_LABELS = {"liver": [1], "kidney": [2, 3], "spleen": [4]}
ARCHITECTURES = ["anunet", "unetpp", "unet", "attunet", "r2unet", "r2attunet"]
ARCHITECTURE_NAMES = {"anunet": "ANU-Net", "unetpp": "UNet++", "unet": "U-Net", "attunet": "Attention U-Net",
                      "r2unet": "R2U-Net", "r2attunet": "Attention R2U-Net"}
METRICS = ["dice", "iou", "precision", "recall"]
METRIC_NAMES = {"dice": "Dice", "iou": "IoU", "precision": "precision", "recall": "recall"}
PROTOCOL = "itkanunet-crossval-1"
BOOTSTRAP_RESAMPLES = 10000
BOOTSTRAP_SEED = 20200601


def log(message: str) -> None:
    print(f"[{datetime.datetime.now().strftime('%Y-%m-%d %H:%M:%S')}] {message}", flush=True)


def sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomically(path: pathlib.Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def shown(path: pathlib.Path) -> str:
    """A path relative to the repository when inside it."""
    path = pathlib.Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ----------------------------------------------------------------------------------------------- protocol

def load_yaml(path: pathlib.Path):
    import yaml
    return yaml.safe_load(path.read_text())


def load_folds(config_dir: pathlib.Path):
    folds_file = config_dir / "folds.yaml"
    spec = load_yaml(folds_file)
    cases = [str(c) for c in spec["cases"]]
    folds = [[str(c) for c in fold] for fold in spec["folds"]]
    tested = [c for fold in folds for c in fold]
    if sorted(tested) != sorted(cases) or len(set(tested)) != len(tested):
        sys.exit(f"{folds_file}: the folds must partition the cases (each case tested exactly once)")
    return folds_file, cases, folds


def fold_config(recipe: dict, architecture: str, train, test) -> dict:
    config = json.loads(json.dumps(recipe))  # deep copy
    config["architecture"] = architecture
    config["data"]["train"] = list(train)
    config["data"]["validation"] = []
    config["data"]["test"] = list(test)
    config["training"]["threads"] = 1
    training = config["training"]
    if training.get("early_stopping", 0) != 0 or training.get("schedule") not in ("poly", "constant"):
        sys.exit("the cross-validation recipes need a fixed schedule (poly or constant, early_stopping: 0)")
    return config


def plan(args):
    """Every run of the protocol in the order that fills the table early."""
    folds_file, cases, folds = load_folds(args.config_dir)
    runs = []
    for task in args.tasks:
        recipe_file = args.config_dir / f"{task}.yaml"
        recipe = load_yaml(recipe_file)
        if recipe.get("task") != task:
            sys.exit(f"{recipe_file}: task is {recipe.get('task')!r}, expected {task!r}")
        for k, test in enumerate(folds, start=1):
            if args.folds and k not in args.folds:
                continue
            train = [c for c in cases if c not in test]
            for architecture in args.architectures:
                runs.append({
                    "task": task, "architecture": architecture, "fold": k, "train": train, "test": test,
                    "recipe_file": recipe_file, "folds_file": folds_file,
                    "config": fold_config(recipe, architecture, train, test),
                    "result": args.results / task / architecture / f"fold{k}.json",
                    "run_dir": args.runs / task / architecture / f"fold{k}",
                })
    return runs


# ----------------------------------------------------------------------------------------------- running

class Stopped(Exception):
    pass


CURRENT_CHILD = None


def on_signal(signum, frame):
    if CURRENT_CHILD is not None and CURRENT_CHILD.poll() is None:
        try:
            os.killpg(CURRENT_CHILD.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    raise Stopped(f"signal {signum}")


def lower_session_priority(pid: int) -> None:
    """Makes a new session's autogroup nice 19 too. Linux schedules each session (autogroup) as one unit, so a
    process niced in a session of its own still takes a whole core from the user's interactive work."""
    try:
        pathlib.Path(f"/proc/{pid}/autogroup").write_text("19")
    except OSError:
        pass  # no autogroups (another kernel, or the child already exited)


def run_command(command, log_file: pathlib.Path, env) -> float:
    """Runs command (niced, in its own process group so that a signal stops it too); returns wall seconds."""
    global CURRENT_CHILD
    start = time.monotonic()
    with open(log_file, "a") as out:
        out.write("$ " + " ".join(str(c) for c in command) + "\n")
        out.flush()
        CURRENT_CHILD = subprocess.Popen(["nice", "-n", "19", *map(str, command)], stdout=out,
                                         stderr=subprocess.STDOUT, env=env, start_new_session=True)
        lower_session_priority(CURRENT_CHILD.pid)
        try:
            rc = CURRENT_CHILD.wait()
        finally:
            CURRENT_CHILD = None
    if rc != 0:
        tail = "".join(log_file.read_text(errors="replace").splitlines(True)[-15:])
        raise RuntimeError(f"{command[1]} failed with status {rc}; see {log_file}:\n{tail}")
    return time.monotonic() - start


def read_log(run_dir: pathlib.Path):
    path = run_dir / "log.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def binary_info(args, env):
    anunet = pathlib.Path(args.anunet).resolve()
    commit = args.binary_commit
    commit_file = anunet.parent / "COMMIT"
    if not commit and commit_file.is_file():
        commit = commit_file.read_text().split()[0]
    if not commit:
        sys.exit(f"the git commit the binary was built from is unknown: write it to {commit_file} or pass "
                 "--binary-commit")
    libraries = {}
    ldd = subprocess.run(["ldd", str(anunet)], env=env, capture_output=True, text=True)
    for line in ldd.stdout.splitlines():
        if "libANUNet" in line and "=>" in line:
            name, target = line.split("=>", 1)
            libraries[name.strip()] = target.split("(")[0].strip()
    if not libraries or any(t in ("", "not found") for t in libraries.values()):
        sys.exit(f"{anunet}: its libANUNet libraries do not resolve (set LD_LIBRARY_PATH): {libraries}")
    return {"path": str(anunet), "sha256": sha256(anunet), "commit": commit, "libraries": libraries,
            "libraries_sha256": {n: sha256(pathlib.Path(p)) for n, p in libraries.items()}}


def case_metrics(prediction_file, label_file, labels, anunet, run_dir, env):
    import nibabel
    import numpy as np

    prediction_image = nibabel.load(prediction_file)
    label_image = nibabel.load(label_file)
    prediction = np.asarray(prediction_image.dataobj) > 0
    truth = np.isin(np.rint(np.asarray(label_image.dataobj)), labels)
    if prediction.shape != truth.shape:
        raise RuntimeError(f"{prediction_file}: shape {prediction.shape} differs from the truth's {truth.shape}")
    if not np.allclose(prediction_image.affine, label_image.affine, atol=1e-3):
        raise RuntimeError(f"{prediction_file}: its grid differs from the truth's")
    tp = int((prediction & truth).sum())
    fp = int((prediction & ~truth).sum())
    fn = int((~prediction & truth).sum())

    def ratio(numerator, denominator, empty):
        return float(numerator / denominator) if denominator > 0 else empty

    # Conventions for empty masks (none of the 15 cases lacks an organ): both empty = perfect; an empty
    # prediction of a present organ scores 0 on every measure.
    both_empty = tp + fp + fn == 0
    metrics = {
        "dice": ratio(2 * tp, 2 * tp + fp + fn, 1.0),
        "iou": ratio(tp, tp + fp + fn, 1.0),
        "precision": ratio(tp, tp + fp, 1.0 if both_empty else 0.0),
        "recall": ratio(tp, tp + fn, 1.0),
        "tp": tp, "fp": fp, "fn": fn,
        "truth_voxels": int(truth.sum()), "predicted_voxels": int(prediction.sum()),
    }

    # Surface distances from the tool, against the task's labels merged into one binary truth image.
    truth_file = run_dir / (pathlib.Path(prediction_file).name.replace("_seg.nii.gz", "_truth.nii.gz"))
    header = label_image.header.copy()
    header.set_data_dtype(np.uint8)
    header["scl_slope"], header["scl_inter"] = 1, 0
    nibabel.save(nibabel.Nifti1Image(truth.astype(np.uint8), label_image.affine, header), truth_file)
    evaluated = subprocess.run(["nice", "-n", "19", str(anunet), "evaluate", "--prediction", str(prediction_file),
                                "--truth", str(truth_file), "--label", "1", "--json"],
                               env=env, capture_output=True, text=True)
    truth_file.unlink()
    if evaluated.returncode != 0:
        raise RuntimeError(f"anunet evaluate failed: {evaluated.stderr.strip()}")
    tool = json.loads(evaluated.stdout)
    for key in ("hd95_mm", "hausdorff_mm", "assd_mm"):
        value = tool.get(key)
        metrics[key] = float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
    metrics["evaluate_dice"] = tool.get("dice")
    if tool.get("dice") is not None and abs(tool["dice"] - metrics["dice"]) > 1e-6:
        raise RuntimeError(f"{prediction_file}: anunet evaluate's Dice {tool['dice']} differs from NumPy's "
                           f"{metrics['dice']}")
    return metrics


def execute(run, args, binary, env):
    run_dir = run["run_dir"]
    config = run["config"]
    epochs = config["training"]["epochs"]
    config_file = run_dir / "config.yaml"
    train_log = run_dir / "train.log"
    anunet = binary["path"]

    import yaml
    config_text = ("# generated by test/accuracy/crossval.py from " + shown(run["recipe_file"])
                   + f", fold {run['fold']} of " + shown(run["folds_file"]) + "\n"
                   + yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=120))

    records = read_log(run_dir)
    same_config = config_file.is_file() and config_file.read_text() == config_text
    has_checkpoint = (run_dir / "last.pt").is_file()
    finished = same_config and has_checkpoint and bool(records) and records[-1]["epoch"] >= epochs
    resumable = same_config and has_checkpoint and not finished
    if not finished and not resumable and run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not (finished or resumable):
        config_file.write_text(config_text)

    rusage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = rusage.ru_utime + rusage.ru_stime
    load_start = list(os.getloadavg())
    started = datetime.datetime.now(datetime.timezone.utc)
    train_seconds = 0.0
    resumed_from = None
    if not finished:
        command = [anunet, "train", "--config", config_file, "--out", run_dir, "--data-root", args.data_root,
                   "--architecture", run["architecture"], "--threads", "1"]
        if resumable:
            resumed_from = records[-1]["epoch"] if records else 0
            command += ["--resume", run_dir / "last.pt"]
            log(f"  resuming training from epoch {resumed_from}")
        train_seconds = run_command(command, train_log, env)
        records = read_log(run_dir)
        if not records or records[-1]["epoch"] != epochs:
            raise RuntimeError(f"{run_dir}: training ended at epoch {records[-1]['epoch'] if records else 0} "
                               f"of {epochs}")
    else:
        log("  training had finished; segmenting")
    # best.pt equals last.pt without validation cases; keep only last.pt (needed for a resume).
    if (run_dir / "best.pt").is_file():
        (run_dir / "best.pt").unlink()

    segment_seconds = 0.0
    cases = {}
    for case in run["test"]:
        image = pathlib.Path(args.data_root) / config["data"]["image"].format(id=case)
        label = pathlib.Path(args.data_root) / config["data"]["label"].format(id=case)
        output = run_dir / f"case{case}_seg.nii.gz"
        segment_seconds += run_command([anunet, "segment", "--model", run_dir / "last.pt", "--input", image,
                                        "--output", output, "--level", "0", "--threads", "1"], train_log, env)
        cases[case] = case_metrics(output, label, TASK_LABELS[run["task"]], anunet, run_dir, env)
        log(f"  case {case}: Dice {cases[case]['dice']:.4f} IoU {cases[case]['iou']:.4f} precision "
            f"{cases[case]['precision']:.4f} recall {cases[case]['recall']:.4f} HD95 {cases[case]['hd95_mm']} mm")
    rusage = resource.getrusage(resource.RUSAGE_CHILDREN)
    finished_at = datetime.datetime.now(datetime.timezone.utc)

    result = {
        "protocol": PROTOCOL,
        "task": run["task"], "labels": TASK_LABELS[run["task"]], "architecture": run["architecture"],
        "fold": run["fold"], "train_cases": run["train"], "test_cases": run["test"],
        "recipe": shown(run["recipe_file"]), "recipe_sha256": sha256(run["recipe_file"]),
        "folds": shown(run["folds_file"]), "folds_sha256": sha256(run["folds_file"]),
        "config": config,
        "checkpoint": "last.pt", "level": 0,
        "steps": records[-1]["iterations"], "epochs": records[-1]["epoch"], "final_loss": records[-1]["loss"],
        "train_seconds": round(train_seconds, 1),
        "train_seconds_logged": round(sum(r["seconds"] for r in records), 1),
        "segment_evaluate_seconds": round((finished_at - started).total_seconds() - train_seconds, 1),
        "segment_seconds": round(segment_seconds, 1),
        "wall_seconds": round((finished_at - started).total_seconds(), 1),
        "cpu_seconds": round(rusage.ru_utime + rusage.ru_stime - cpu_before, 1),
        "resumed_from_epoch": resumed_from,
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "cpu": cpu_model(), "cores": os.cpu_count(), "threads": 1, "nice": 19, "host": platform.node(),
        "started": started.isoformat(timespec="seconds"), "finished": finished_at.isoformat(timespec="seconds"),
        "binary": binary,
        "run_dir": str(run_dir),
        "cases": cases,
        "mean": {m: sum(c[m] for c in cases.values()) / len(cases) for m in METRICS},
        "log": records,
    }
    write_atomically(run["result"], json.dumps(result, indent=1) + "\n")
    return result


# ----------------------------------------------------------------------------------------------- git

def git(*arguments, check=True):
    for attempt in range(60):
        result = subprocess.run(["git", *arguments], cwd=REPO, capture_output=True, text=True)
        if result.returncode == 0 or "index.lock" not in result.stderr:
            break
        time.sleep(5)
    if check and result.returncode != 0:
        raise RuntimeError(f"git {' '.join(arguments)}: {result.stderr.strip() or result.stdout.strip()}")
    return result


def commit(paths, message) -> bool:
    """Commits exactly these paths (other staged changes stay staged and out of the commit)."""
    relative = [str(pathlib.Path(p).resolve().relative_to(REPO)) for p in paths]
    try:
        git("add", "--", *relative)
        if not git("status", "--porcelain", "--", *relative).stdout.strip():
            return False
        git("commit", "-q", "-m", message, "--", *relative)
        log(f"  committed: {message} ({git('rev-parse', '--short', 'HEAD').stdout.strip()})")
        return True
    except RuntimeError as e:
        log(f"  WARNING: not committed ({e}); the next run commits it")
        return False


def commit_pending(args) -> None:
    """Result files left uncommitted (an interrupted commit, or --no-commit before) go in one commit."""
    if not args.results.is_relative_to(REPO):
        return
    status = git("status", "--porcelain", "--untracked-files=all", "--",
                 str(args.results.relative_to(REPO)), check=False).stdout
    pending = [REPO / line[3:] for line in status.splitlines() if line[3:].endswith(".json")]
    if pending:
        write_report(args)
        commit(pending + report_files(args), f"ENH: CV results ({len(pending)} pending)")


# ----------------------------------------------------------------------------------------------- report

def load_results(results: pathlib.Path):
    found = {}
    for path in sorted(results.glob("*/*/fold*.json")):
        r = json.loads(path.read_text())
        if r.get("protocol") == PROTOCOL:
            found[(r["task"], r["architecture"], r["fold"])] = r
    return found


def per_case(found, task, architecture):
    """{case: metrics} over the folds done so far."""
    cases = {}
    for (t, a, k), r in sorted(found.items()):
        if t == task and a == architecture:
            for case, m in r["cases"].items():
                cases[case] = dict(m, fold=k)
    return cases


def bootstrap_interval(differences):
    import numpy as np
    d = np.asarray(differences, dtype=float)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    means = d[rng.integers(0, len(d), size=(BOOTSTRAP_RESAMPLES, len(d)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def wilcoxon_p(differences):
    import numpy as np
    from scipy import stats
    d = np.asarray(differences, dtype=float)
    if np.all(d == 0):
        return 1.0
    if len(d) < 2:
        return None
    return float(stats.wilcoxon(d).pvalue)


def mean_sd(values):
    import numpy as np
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        return "–"
    if len(v) == 1:
        return f"{v[0]:.3f}"
    return f"{v.mean():.3f} ± {v.std(ddof=1):.3f}"


def recipe_summary(args) -> str:
    recipe = load_yaml(args.config_dir / "liver.yaml")
    p, n, t = recipe["preprocessing"], recipe["network"], recipe["training"]
    steps = t["epochs"] * t["iterations_per_epoch"]
    return (f"widths {n['filters'][0]}..{n['filters'][-1]}, {p['size'][0]} × {p['size'][1]} slices, "
            f"{p['intensity']} normalisation, {t['loss']} loss, {t['optimizer']} lr {t['learning_rate']} with "
            f"{t['schedule']} decay, {t['epochs']} × {t['iterations_per_epoch']} = {steps} steps of batch "
            f"{t['batch_size']}, augmentation {'on' if t.get('augmentation', True) else 'off'}, seed {t['seed']}, "
            f"no early stopping, no validation cases")


def report_files(args):
    """What write_report() writes: the report and its figures."""
    return [args.report, *sorted((args.report.parent / "results" / "figures").glob("cv-dice-*.png"))]


def write_dice_figure(task, data, path: pathlib.Path) -> None:
    """Dice per test volume for each architecture of a task (points, jittered by a fixed rule) with the mean and
    the standard deviation, as a PNG (matplotlib's Agg backend: no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    figure, axes = plt.subplots(figsize=(7.0, 3.6), dpi=110)
    for x, a in enumerate(ARCHITECTURES):
        dice = [c["dice"] for _, c in sorted(data[a].items())]
        if not dice:
            continue
        offsets = (np.arange(len(dice)) % 5 - 2) * 0.06  # a deterministic spread, so reruns draw the same picture
        axes.scatter(x + offsets, dice, s=14, color="#4c72b0", alpha=0.75, linewidths=0)
        mean, sd = float(np.mean(dice)), float(np.std(dice, ddof=1)) if len(dice) > 1 else 0.0
        axes.errorbar(x + 0.28, mean, yerr=sd, fmt="o", color="#c44e52", markersize=5, capsize=3)
        axes.annotate(f"{mean:.3f}\nn={len(dice)}", (x + 0.34, mean), fontsize=7, va="center")
    axes.set_xticks(range(len(ARCHITECTURES)))
    axes.set_xticklabels([ARCHITECTURE_NAMES[a] for a in ARCHITECTURES], fontsize=8)
    axes.set_ylim(0.0, 1.0)
    axes.set_ylabel("3-D Dice per test volume")
    axes.set_title(f"{TASK_NAMES[task]}: 5-fold cross-validation by case (blue: volumes; red: mean ± SD)",
                   fontsize=9)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    # Without metadata the PNG's bytes depend only on the data: a rerun on the same results commits nothing.
    figure.savefig(temporary, metadata={"Software": None})
    plt.close(figure)
    os.replace(temporary, path)


def write_report(args) -> None:
    import numpy as np

    found = load_results(args.results)
    folds_file, all_cases, folds = load_folds(args.config_dir)
    fold_of = {c: k for k, fold in enumerate(folds, start=1) for c in fold}
    total = len(all_cases)
    lines = [
        "# Results",
        "",
        "<!-- Generated by test/accuracy/crossval.py --report from docs/results/cv/*/*/fold*.json; "
        "edits here are overwritten. -->",
        "",
        "## The paper's comparison on CHAOS MR T2-SPIR: 5-fold cross-validation by case",
        "",
        f"{len(found)} of {len(TASKS) * len(ARCHITECTURES) * len(folds)} runs done (task × architecture × fold).",
        "",
        "Protocol (issue 16, part 2): six architectures, one recipe per task shared by all of them "
        f"(`{shown(args.config_dir)}/liver.yaml`, `kidney.yaml`, `spleen.yaml`: {recipe_summary(args)}); "
        f"5 folds by case over the {total} shared cases (`{shown(folds_file)}`; test cases "
        + "; ".join(f"fold {k}: {', '.join(fold)}" for k, fold in enumerate(folds, start=1)) + "), so each case "
        "is scored once, by a model that never saw it. The scored weights are `last.pt`, the end of the fixed "
        "schedule, at the full network (`segment --level 0`): nothing is chosen on test cases. "
        "Metrics are 3-D, per volume, on the input grid (256 × 256 × N): Dice, IoU, precision and recall "
        "with NumPy, HD95 with `anunet evaluate`. Means ± sample standard deviation over the volumes done "
        "so far (n).",
        "",
        f"Paired comparison: ANU-Net minus each baseline over the volumes both have; bootstrap 95 % "
        f"interval of the mean difference ({BOOTSTRAP_RESAMPLES:,} resamples of the volumes, NumPy, fixed "
        f"seed), and the two-sided Wilcoxon signed-rank p-value (SciPy). \"Better\" or \"worse\" only when "
        f"the interval excludes 0 and p < 0.05; with fewer than 6 volumes no Wilcoxon p-value can fall below "
        f"0.05, so early rows can only say \"not better\" or \"not shown better\".",
        "",
    ]
    verdicts = []
    for task in TASKS:
        lines += [f"### {TASK_NAMES[task]}", ""]
        data = {a: per_case(found, task, a) for a in ARCHITECTURES}
        if any(data.values()):
            figure = args.report.parent / "results" / "figures" / f"cv-dice-{task}.png"
            write_dice_figure(task, data, figure)
            lines += [f"![Dice per test volume, {task}]({figure.relative_to(args.report.parent)})", ""]
        lines += ["| network | n | Dice | IoU | precision | recall | min Dice (case) | HD95 mm, median "
                  "| minutes / run: train / total |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for a in ARCHITECTURES:
            cases = data[a]
            n = len(cases)
            if n == 0:
                lines.append(f"| {ARCHITECTURE_NAMES[a]} | 0 of {total} | – | – | – | – | – | – | – |")
                continue
            columns = [mean_sd([c[m] for c in cases.values()]) for m in METRICS]
            worst = min(cases, key=lambda c: cases[c]["dice"])
            hd95 = [c["hd95_mm"] for c in cases.values() if c.get("hd95_mm") is not None]
            minutes = [(r["train_seconds_logged"] / 60, r["wall_seconds"] / 60)
                       for (t, aa, k), r in found.items() if t == task and aa == a]
            lines.append(f"| {ARCHITECTURE_NAMES[a]} | {n} of {total} | " + " | ".join(columns) +
                         f" | {cases[worst]['dice']:.3f} ({worst}) | "
                         + (f"{np.median(hd95):.1f}" if hd95 else "–") + " | "
                         + (f"{np.mean([m[0] for m in minutes]):.1f} / {np.mean([m[1] for m in minutes]):.1f}"
                            if minutes else "–") + " |")
        lines.append("")

        anu = data["anunet"]
        rows = []
        for b in ARCHITECTURES[1:]:
            common = sorted(set(anu) & set(data[b]))
            if not common:
                continue
            row = f"| {ARCHITECTURE_NAMES[b]} | {len(common)} |"
            dice_test = None
            for m in METRICS:
                d = [anu[c][m] - data[b][c][m] for c in common]
                low, high = bootstrap_interval(d)
                p = wilcoxon_p(d)
                row += f" {np.mean(d):+.3f} [{low:+.3f}, {high:+.3f}] | " + ("–" if p is None else f"{p:.3g}") + " |"
                if m == "dice":
                    dice_test = (float(np.mean(d)), low, high, p)
            mean, low, high, p = dice_test
            significant = p is not None and p < 0.05
            if low > 0 and significant:
                verdict = "better"
            elif high < 0 and significant:
                verdict = "worse"
            elif mean < 0:
                verdict = "not better (lower on average; not significant)"
            else:
                verdict = "not shown better (higher on average; not significant)"
            preliminary = "" if len(common) == total else f", preliminary: {len(common)} of {total} volumes"
            row += f" **ANU-Net {verdict}**{preliminary} |"
            rows.append(row)
            if verdict != "better":
                verdicts.append(f"{TASK_NAMES[task].split(' (')[0]} vs {ARCHITECTURE_NAMES[b]}: ANU-Net "
                                f"{verdict}; Dice difference {mean:+.3f}, 95 % interval [{low:+.3f}, {high:+.3f}], "
                                f"Wilcoxon p {'–' if p is None else f'{p:.3g}'}, n = {len(common)}")
        if rows:
            lines += ["ANU-Net minus baseline, mean difference [bootstrap 95 % interval] | Wilcoxon p:", "",
                      "| baseline | n | ΔDice | p | ΔIoU | p | Δprecision | p | Δrecall | p | on Dice |",
                      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"] + rows + [""]

        done_cases = sorted(set().union(*[set(data[a]) for a in ARCHITECTURES]), key=lambda c: (fold_of[c], c))
        if done_cases:
            lines += ["Dice per test volume (fold):", "",
                      "| case (fold) | " + " | ".join(ARCHITECTURE_NAMES[a] for a in ARCHITECTURES) + " |",
                      "| --- |" + " ---: |" * len(ARCHITECTURES)]
            for c in done_cases:
                lines.append(f"| {c} ({fold_of[c]}) | " + " | ".join(
                    f"{data[a][c]['dice']:.3f}" if c in data[a] else "–" for a in ARCHITECTURES) + " |")
            lines.append("| **minimum** | " + " | ".join(
                f"{min(v['dice'] for v in data[a].values()):.3f}" if data[a] else "–" for a in ARCHITECTURES) + " |")
            lines.append("")

    lines += ["### Where ANU-Net is not better", ""]
    lines += [f"- {v}." for v in verdicts] if verdicts else ["- (no paired comparison yet)"]
    lines.append("")

    cpus = sorted({r["cpu"] for r in found.values()})
    commits = sorted({r["binary"]["commit"] for r in found.values()})
    loads = [r["load_average_start"][0] for r in found.values()]
    lines += [
        "### Where and how it ran",
        "",
        f"- CPU: {', '.join(cpus) if cpus else '–'}; 1 LibTorch thread, `nice -n 19`, "
        f"{', '.join(str(c) for c in sorted({r['cores'] for r in found.values()})) or '–'} cores; the machine was shared with builds "
        f"(1-minute load average at the start of the runs: "
        + (f"{min(loads):.2f}–{max(loads):.2f}" if loads else "–") + "), so wall times are upper bounds; "
        "`cpu_seconds` in each result is the CPU time the run itself used.",
        f"- Binary built from commit(s): {', '.join(c[:12] for c in commits) if commits else '–'} "
        "(each result records the binary's path, SHA-256 and libraries).",
        "- Per-run results (metrics per case, the training log, timings): `docs/results/cv/<task>/<network>/"
        "fold<k>.json`.",
        "- Regenerate: `LD_LIBRARY_PATH=/work/exp-bin /usr/bin/python3 test/accuracy/crossval.py --anunet "
        "/work/exp-bin/anunet` (runs what is missing; skips runs whose result exists), then "
        "`/usr/bin/python3 test/accuracy/crossval.py --report`.",
        "",
        "### Post-processing and test-time mirroring",
        "",
        "The same runs' weights, with `--mirror` and `--largest-component`: "
        "[docs/results/postprocessing.md](results/postprocessing.md) (`test/accuracy/postprocessing.py`).",
        "",
    ]
    write_atomically(args.report, "\n".join(lines))


# ----------------------------------------------------------------------------------------------- main

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--anunet", default="/work/exp-bin/anunet", help="the (frozen) anunet executable")
    parser.add_argument("--binary-commit", help="git commit the binary was built from (default: COMMIT beside it)")
    parser.add_argument("--data-root", default="/work/shared/data", help="folder holding chaos-mr-t2/")
    parser.add_argument("--runs", type=pathlib.Path, default=pathlib.Path("/work/cv-runs"),
                        help="run folders (checkpoints, logs, segmentations), outside the repository")
    parser.add_argument("--config-dir", type=pathlib.Path, default=REPO / "data/configs/cv")
    parser.add_argument("--results", type=pathlib.Path, default=REPO / "docs/results/cv")
    parser.add_argument("--report", dest="report_only", action="store_true", help="only write the report")
    parser.add_argument("--report-file", dest="report", type=pathlib.Path, default=REPO / "docs/results.md")
    parser.add_argument("--tasks", nargs="+", default=TASKS, choices=TASKS)
    parser.add_argument("--architectures", nargs="+", default=ARCHITECTURES, choices=ARCHITECTURES)
    parser.add_argument("--folds", nargs="+", type=int, help="only these folds (1..5)")
    parser.add_argument("--max-runs", type=int, default=0, help="stop after this many runs (0: all)")
    parser.add_argument("--no-commit", action="store_true", help="write results but do not commit them")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    args = parser.parse_args()
    args.config_dir = args.config_dir.resolve()
    args.results = args.results.resolve()
    args.report = args.report.resolve()
    args.runs = args.runs.resolve()

    if args.report_only:
        write_report(args)
        print(f"wrote {args.report}")
        return 0

    runs = plan(args)
    todo = [r for r in runs if not r["result"].is_file()]
    if args.dry_run:
        for r in runs:
            print(f"{'done' if r['result'].is_file() else 'todo'}  {r['task']:7} fold {r['fold']}  "
                  f"{r['architecture']:10} test {','.join(r['test'])}  -> {r['result']}")
        print(f"{len(runs) - len(todo)} done, {len(todo)} to do")
        return 0

    args.runs.mkdir(parents=True, exist_ok=True)
    lock = open(args.runs / "crossval.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"another crossval.py holds {args.runs / 'crossval.lock'}")
    lock.write(f"{os.getpid()}\n")
    lock.flush()

    env = dict(os.environ)
    anunet_dir = str(pathlib.Path(args.anunet).resolve().parent)
    if "LD_LIBRARY_PATH" not in env and (pathlib.Path(anunet_dir) / "libANUNet.so.0").exists():
        env["LD_LIBRARY_PATH"] = anunet_dir
    env["OMP_NUM_THREADS"] = "1"
    binary = binary_info(args, env)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    log(f"crossval: {len(runs) - len(todo)} of {len(runs)} runs done; binary {binary['path']} (commit "
        f"{binary['commit'][:12]}, libraries {', '.join(binary['libraries'].values())}); CPU {cpu_model()}")
    if not args.no_commit:
        commit_pending(args)
    done = 0
    failures = 0
    try:
        for run in todo:
            if (args.runs / "STOP").exists():
                log(f"{args.runs / 'STOP'} exists: stopping")
                break
            if args.max_runs and done >= args.max_runs:
                break
            if run["result"].is_file():
                continue
            log(f"run {run['task']} {run['architecture']} fold {run['fold']} (test {', '.join(run['test'])}); "
                f"load average {os.getloadavg()[0]:.2f}")
            try:
                result = execute(run, args, binary, env)
            except RuntimeError as e:
                failures += 1
                log(f"  FAILED: {e}")
                if failures >= 3:
                    log("three failures: stopping")
                    return 1
                continue
            done += 1
            log(f"  done: mean Dice {result['mean']['dice']:.4f}, {result['steps']} steps, train "
                f"{result['train_seconds'] / 60:.1f} min (CPU {result['cpu_seconds'] / 60:.1f} min), total "
                f"{result['wall_seconds'] / 60:.1f} min")
            write_report(args)
            if not args.no_commit:
                commit([run["result"], *report_files(args)],
                       f"ENH: CV result {run['task']} {run['architecture']} fold {run['fold']}")
    except Stopped as e:
        log(f"stopped by {e}; the run in progress resumes from its last.pt next time")
        return 1
    remaining = sum(1 for r in runs if not r["result"].is_file())
    log(f"crossval: {done} runs this time, {remaining} to do")
    return 0


if __name__ == "__main__":
    sys.exit(main())
