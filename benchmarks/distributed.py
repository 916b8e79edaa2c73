#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""Data-parallel training throughput on one machine: 1 process x T threads against P processes x T/P threads
(Gloo over loopback), same global batch, same steps; and the share of a step spent in collectives.

Usage: distributed.py ANUNET DATA_ROOT [--config benchmarks/training-step.yaml] [--processes 2] [--threads 2]
                      [--steps 15] [--json OUT]
Each setting trains two epochs of --steps steps; the second (warm) epoch is timed.
"""
import argparse
import json
import os
import platform
import socket
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, out, processes, extra=()):
    threads = max(1, args.threads // processes)
    command = [args.anunet, "train", "--config", args.config, "--data-root", args.data_root, "--out", str(out),
               "--epochs", "2", "--iterations-per-epoch", str(args.steps), "--threads", str(threads)]
    port, children = free_port(), []
    for rank in range(processes):
        env = dict(os.environ)
        if processes > 1:
            env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(processes), RANK=str(rank))
        children.append(subprocess.Popen(command + (["--distributed", *extra] if processes > 1 else []), env=env,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    for child in children:
        _, error = child.communicate()
        if child.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{error}")
    warm = json.loads((out / "log.jsonl").read_text().splitlines()[1])
    training = warm["seconds"] - warm["validation_seconds"]
    return {"processes": processes, "threads_per_process": threads, "steps": args.steps,
            "batch_norm": "local" if "--local-batch-norm" in extra else "synchronised",
            "seconds_per_step": training / args.steps, "communication_seconds_per_step":
            warm["communication_seconds"] / args.steps, "communication_share": warm["communication_seconds"] / training}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("anunet")
    parser.add_argument("data_root")
    parser.add_argument("--config", default=str(HERE / "training-step.yaml"))
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        single = run(args, Path(scratch) / "single", 1)
        ranks = run(args, Path(scratch) / "ranks", args.processes)
        local = run(args, Path(scratch) / "local", args.processes, ("--local-batch-norm",))
    result = {"cpu": cpu_model(), "cores": os.cpu_count(), "config": Path(args.config).name,
              "settings": [single, ranks, local], "speedup": single["seconds_per_step"] / ranks["seconds_per_step"],
              "speedup_local_batch_norm": single["seconds_per_step"] / local["seconds_per_step"]}
    for s in result["settings"]:
        print(f"{s['processes']} process(es) x {s['threads_per_process']} thread(s), {s['batch_norm']} batch norm: "
              f"{s['seconds_per_step'] * 1000:.0f} ms/step, collectives {s['communication_seconds_per_step'] * 1000:.0f}"
              f" ms/step ({100 * s['communication_share']:.0f} %)")
    print(f"throughput of {args.processes} processes relative to 1: {result['speedup']:.2f}x, with local batch norm "
          f"{result['speedup_local_batch_norm']:.2f}x ({result['cpu']})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
