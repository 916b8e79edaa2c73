#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""Markdown tables of an `anunet bench --json` document, for the README and issue notes.

Usage: anunet bench --json > bench.json; benchmarks/bench_table.py bench.json
Times are the minimum over runs (the median in parentheses); "x best" is eager-pytorch-best's time over ours.
"""
import json
import sys

EAGER = ("eager-pytorch", "eager-pytorch-tuned", "eager-pytorch-best")


def ms(row):
    return f"{1000 * row['min_s']:.1f} ({1000 * row['median_s']:.1f})"


def key(row):
    return (row["kind"], row["architecture"], row["level"], row["size"], row["batch"])


def name(row):
    text = row["architecture"] or ""
    return text + (f" L{row['level']}" if row["level"] is not None else "")


def main():
    document = json.load(open(sys.argv[1]))
    machine, rows = document["machine"], document["measurements"]
    print(f"Machine: {machine['cpu_model']}, {machine['logical_cpus']} logical CPUs ({machine['physical_cores']} cores), "
          f"{' '.join(machine['cpu_flags'])}; LibTorch {machine['libtorch_version']}; {machine['threads']} threads; "
          f"`anunet bench` ({document['mode']}, {document['seconds']:.0f} s).\n")
    by_key = {}
    for row in rows:
        dtype = row.get("dtype", "float32")
        by_key.setdefault(key(row), {})[row["implementation"] + ("" if dtype == "float32" else "-" + dtype)] = row

    print("| reference | size | GFLOP/s |\n| --- | --- | ---: |")
    for row in rows:
        if row["kind"] in ("conv-peak", "matmul"):
            print(f"| {row['kind']} | {row['batch']} x {row['size']}² | {row['gflops']:.0f} |")

    for kind, title in (("forward", "forward"), ("training-step", "training step")):
        half = kind == "forward" and any(k[0] == kind and "ours-bfloat16" in g for k, g in by_key.items())
        print(f"\n| {title} | size | batch | ours, ms | GFLOP/s | of conv peak | " + " | ".join(f"{e}, ms" for e in EAGER)
              + " | x best |" + (" ours bfloat16, ms | x ours float32 |" if half else ""))
        print("| --- | --- | ---: | ---: | ---: | ---: |" + " ---: |" * (len(EAGER) + 1 + (2 if half else 0)))
        for k, group in by_key.items():
            if k[0] != kind or "ours" not in group:
                continue
            ours = group["ours"]
            label = name(ours) + (f" {ours['filters'][0]}..{ours['filters'][-1]}" if "filters" in ours else "")
            eager = [ms(group[e]) if e in group else "–" for e in EAGER]
            best = f"{group['eager-pytorch-best']['min_s'] / ours['min_s']:.2f}" if "eager-pytorch-best" in group else "–"
            line = (f"| {label} | {ours['size']}² | {ours['batch']} | {ms(ours)} | {ours['gflops']:.0f} | "
                    f"{100 * ours['peak_fraction']:.0f} % | " + " | ".join(eager) + f" | {best} |")
            if half:
                bf16 = group.get("ours-bfloat16")
                line += f" {ms(bf16)} | {bf16['speedup_over_float32']:.2f} |" if bf16 else " – | – |"
            print(line)

    filters = [row for row in rows if row["kind"] == "itk-filter"]
    if filters:
        print("\n| ITK filter, volume | level | filter, ms | bare network, ms | overhead |\n| --- | ---: | ---: | ---: | ---: |")
        for row in filters:
            bare = by_key[("bare-network",) + key(row)[1:]]["ours"]
            volume = " x ".join(str(v) for v in row["volume"])
            print(f"| {volume} | {row['level']} | {ms(row)} | {ms(bare)} | {100 * row['overhead']:+.1f} % |")
    memory = [row for row in rows if row["kind"] == "segment-peak-memory"]
    if memory:
        print("\n| `anunet segment`, volume | level | batch | peak RSS, MiB | wall, s |\n| --- | ---: | ---: | ---: | ---: |")
        for row in memory:
            volume = " x ".join(str(v) for v in row["volume"])
            print(f"| {volume} | {row['level']} | {row['batch']} | {row['peak_rss_mib']:.0f} | {row['min_s']:.1f} |")
    for note in document["notes"]:
        print(f"\nNote: {note}")


if __name__ == "__main__":
    main()
