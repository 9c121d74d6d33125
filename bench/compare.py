#!/usr/bin/env python3
"""Combines the four result files of bench/run.sh into one table (Markdown, on stdout) and one JSON.

usage: compare.py [--seconds S] --out latest.json SKINTRIAGE_COMPUTE PYTORCH_COMPUTE SKINTRIAGE_EPOCH PYTORCH_EPOCH
"""
import argparse
import json
import os
import platform
import time

TARGET_COMPUTE = 1.0      # skintriage / PyTorch on the pure compute steps
TARGET_EPOCH = 1.5        # skintriage / PyTorch on a training epoch with the data pipeline
TARGET_PEAK = 0.5         # ResNet-50 frozen-feature extraction as a fraction of the GEMM peak


def machine():
    model, mem = "unknown", 0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    # Load averages over the last 1/5/15 minutes: other work on the machine during the run
    # (anything above 0 competes with the benchmark for the same cores).
    return {"nproc": os.cpu_count(), "cpu": model, "memory_gib": round(mem, 1),
            "kernel": platform.release(), "loadavg": list(os.getloadavg())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, default=0)
    ap.add_argument("files", nargs=4)
    a = ap.parse_args()
    sc, pc, se, pe = (json.load(open(f)) for f in a.files)

    rows = []  # (figure, skintriage, pytorch, unit, kind)
    names = {"mobilenet_v2": "MobileNetV2", "resnet18": "ResNet-18", "resnet50": "ResNet-50",
             "inception_v3": "Inception-v3"}
    for arch, s in sc["archs"].items():
        p = pc["archs"].get(arch)
        if p is None:
            continue
        n = f"{names.get(arch, arch)} ({s['input_size']})"
        rows.append((f"{n} inference b1", s["infer_b1_ips"], p["infer_b1_ips"], "img/s", "compute"))
        rows.append((f"{n} inference b32", s["infer_b32_ips"], p["infer_b32_ips"], "img/s", "compute"))
        rows.append((f"{n} train step b16", s["train_b16_ips"], p["train_b16_ips"], "img/s", "compute"))
        rows.append((f"{n} frozen features b32", s["features_b32_ips"], p["features_b32_ips"], "img/s", "compute"))
        rows.append((f"{n} frozen features b32", s["features_gflops"], p["features_gflops"], "GFLOP/s", "info"))
    # The machine's GEMM peak: the best of every GEMM measured in this run, either side.
    gemms = [g for r in (sc, pc) for k in ("gemm", "gemm_after") if k in r
             for g in (r[k]["mm_gflops"], r[k]["conv1x1_gflops"])]
    peak = max(gemms)
    rows.append(("GEMM 2048^3 torch.mm (BLAS)", sc["gemm"]["mm_gflops"], pc["gemm"]["mm_gflops"], "GFLOP/s", "info"))
    rows.append(("GEMM 2048^3 as 1x1 conv (oneDNN)", sc["gemm"]["conv1x1_gflops"], pc["gemm"]["conv1x1_gflops"],
                 "GFLOP/s", "info"))
    e = se["epoch"]
    pe_ = pe["epoch"]
    rows.append((f"epoch 1 (decode from disk), {e['images']} images", e["cold"]["images_per_s"],
                 pe_["images_per_s"], "img/s", "epoch"))
    rows.append((f"epoch 2 (decoded-image cache), {e['images']} images", e["warm"]["images_per_s"],
                 pe_["images_per_s"], "img/s", "epoch"))
    rows.append(("peak RSS, compute run", sc["peak_rss_mb"], pc["peak_rss_mb"], "MiB", "memory"))
    rows.append(("peak RSS, epoch run (PyTorch: main process)", se["peak_rss_mb"], pe["peak_rss_mb"], "MiB",
                 "memory"))
    rows.append(("peak RSS, largest DataLoader worker", 0.0, pe.get("peak_rss_children_mb", 0.0), "MiB", "memory"))

    lines = [f"threads: skintriage {sc['threads']}, PyTorch {pc['threads']}; epoch: {e['arch']}, batch "
             f"{e['batch']}, skintriage {e['workers']} worker threads, PyTorch num_workers={pe_['best_workers']} "
             f"(tried: {', '.join(pe_['by_workers'])})", "",
             "| figure | skintriage | PyTorch | unit | ratio |", "|---|---:|---:|---|---:|"]
    out_rows = []
    for fig, s, p, unit, kind in rows:
        ratio = s / p if p > 0 and s > 0 else None
        out_rows.append({"figure": fig, "skintriage": s, "pytorch": p, "unit": unit, "kind": kind,
                         "ratio": ratio})
        r = f"{ratio:.2f}x" if ratio is not None and kind != "memory" else (
            f"{ratio:.2f}" if ratio is not None else "")
        sv = f"{s:.1f}" if not (kind == "memory" and s == 0) else "(threads)"
        lines.append(f"| {fig} | {sv} | {p:.1f} | {unit} | {r} |")

    compute = [r for r in out_rows if r["kind"] == "compute"]
    worst = min(compute, key=lambda r: r["ratio"])
    epoch_warm = [r for r in out_rows if r["kind"] == "epoch"][-1]["ratio"]
    epoch_cold = [r for r in out_rows if r["kind"] == "epoch"][0]["ratio"]
    r50 = sc["archs"].get("resnet50")
    r50_frac = r50["features_gflops"] / peak if r50 else None
    targets = {
        "compute_min_ratio": {"value": worst["ratio"], "target": TARGET_COMPUTE, "worst": worst["figure"],
                              "met": worst["ratio"] >= TARGET_COMPUTE},
        "epoch_ratio_warm": {"value": epoch_warm, "target": TARGET_EPOCH, "met": epoch_warm >= TARGET_EPOCH},
        "epoch_ratio_cold": {"value": epoch_cold, "target": TARGET_EPOCH, "met": epoch_cold >= TARGET_EPOCH},
        "resnet50_features_fraction_of_gemm_peak": {"value": r50_frac, "target": TARGET_PEAK, "peak_gflops": peak,
                                                    "met": r50_frac is not None and r50_frac >= TARGET_PEAK},
    }
    lines += ["", f"GEMM peak (best GEMM measured in this run): {peak:.1f} GFLOP/s", "",
              "| target | measured | met |", "|---|---:|---|",
              f"| compute >= {TARGET_COMPUTE}x PyTorch (worst: {worst['figure']}) | {worst['ratio']:.2f}x | "
              f"{'yes' if targets['compute_min_ratio']['met'] else 'no'} |",
              f"| epoch >= {TARGET_EPOCH}x PyTorch, steady state (epoch 2) | {epoch_warm:.2f}x | "
              f"{'yes' if targets['epoch_ratio_warm']['met'] else 'no'} |",
              f"| epoch >= {TARGET_EPOCH}x PyTorch, first epoch | {epoch_cold:.2f}x | "
              f"{'yes' if targets['epoch_ratio_cold']['met'] else 'no'} |"]
    if r50_frac is not None:
        lines.append(f"| ResNet-50 frozen features >= {TARGET_PEAK:.0%} of GEMM peak | {r50_frac:.0%} "
                     f"({r50['features_gflops']:.1f} of {peak:.1f} GFLOP/s) | "
                     f"{'yes' if targets['resnet50_features_fraction_of_gemm_peak']['met'] else 'no'} |")
    m = machine()
    lines += ["", f"machine: {m['nproc']} x {m['cpu']}, {m['memory_gib']} GiB; load average during the run "
              f"(1/5/15 min): {' / '.join(f'{x:.1f}' for x in m['loadavg'])}"]
    if a.seconds:
        lines += [f"harness wall time: {a.seconds / 60:.1f} min"]
    print("\n".join(lines))

    res = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": m, "seconds": a.seconds,
           "rows": out_rows, "targets": targets, "gemm_peak_gflops": peak,
           "raw": {"skintriage_compute": sc, "pytorch_compute": pc, "skintriage_epoch": se, "pytorch_epoch": pe}}
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
