#!/usr/bin/env python3
"""PyTorch side of the skintriage benchmark (bench/run.sh runs it next to skintriage_bench).

Measures, for torchvision's mobilenet_v2 / resnet18 / resnet50 (224) and inception_v3 (299), with the
same thread count as the C++ side:
  - inference images/s at batch 1 and batch 32 (classifier output, inference mode),
  - one training step at batch 16 (forward + cross-entropy + backward + SGD step) in images/s,
  - frozen-feature extraction (feature map + global average pooling, batch 32) in images/s and GFLOP/s,
    with FLOPs counted from the actual conv/linear shapes of the forward pass (forward hooks),
  - the single-precision GEMM peak (torch.mm, best of several),
and, with --epoch RELEASE, one training epoch of the paper's multimodal network (shared MobileNetV2
over the clinical and dermoscopic image, metadata, nine heads) on a derm7pt-format release through a
torch Dataset + DataLoader doing the same work as skintriage's pipeline (JPEG decode, 25-px border
crop, random resized crop, flips, 90-degree rotations, colour jitter, normalisation), with
num_workers 0, 1 and 2 and the best one kept.

Run with Debian's python3 (python3-torch 1.13, python3-torchvision). Writes one JSON object.
"""
import argparse
import csv
import json
import os
import random
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

ARCHS = {"mobilenet_v2": 224, "resnet18": 224, "resnet50": 224, "inception_v3": 299}


def build(arch, num_classes=1000):
    if arch == "inception_v3":
        # aux_logits off and init_weights off: the C++ side has no auxiliary classifier either, and
        # scipy's truncated-normal init is slow and irrelevant to timing.
        return torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False,
                                               num_classes=num_classes)
    return getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)


def features(model, arch, x):
    """Last convolutional feature map, as skintriage's BackboneImpl::features."""
    if arch == "mobilenet_v2":
        return model.features(x)
    if arch.startswith("resnet"):
        m = model
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        return m.layer4(m.layer3(m.layer2(m.layer1(x))))
    m = model  # inception_v3, torchvision's _forward up to Mixed_7c
    x = m.Conv2d_1a_3x3(x); x = m.Conv2d_2a_3x3(x); x = m.Conv2d_2b_3x3(x); x = m.maxpool1(x)
    x = m.Conv2d_3b_1x1(x); x = m.Conv2d_4a_3x3(x); x = m.maxpool2(x)
    x = m.Mixed_5b(x); x = m.Mixed_5c(x); x = m.Mixed_5d(x); x = m.Mixed_6a(x)
    x = m.Mixed_6b(x); x = m.Mixed_6c(x); x = m.Mixed_6d(x); x = m.Mixed_6e(x)
    x = m.Mixed_7a(x); x = m.Mixed_7b(x); x = m.Mixed_7c(x)
    return x


def embed(model, arch, x):
    return torch.flatten(F.adaptive_avg_pool2d(features(model, arch, x), 1), 1)


def count_flops(model, fn, x):
    """FLOPs (2 x multiply-accumulates) of the conv and linear layers that `fn(x)` runs."""
    total = [0]

    def conv_hook(m, inp, out):
        k = m.weight.shape  # [out, in/groups, kh, kw]
        total[0] += 2 * out.numel() * k[1] * k[2] * k[3]

    def linear_hook(m, inp, out):
        total[0] += 2 * out.numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    with torch.inference_mode():
        fn(x)
    for h in hooks:
        h.remove()
    return total[0] // x.shape[0]


def timed(fn, warmup, iters, repeats):
    """Median over `repeats` of the seconds per call of `iters` back-to-back calls, after `warmup` calls."""
    for _ in range(warmup):
        fn()
    per_call = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        per_call.append((time.perf_counter() - t0) / iters)
    return statistics.median(per_call)


def blas_core():
    """OpenBLAS's kernel set in this process ("" when the BLAS is not OpenBLAS)."""
    import ctypes
    with open("/proc/self/maps") as f:
        libs = {l.split()[-1] for l in f if "openblas" in l.split()[-1]}
    for lib in sorted(libs):
        try:
            fn = ctypes.CDLL(lib).openblas_get_corename
            fn.restype = ctypes.c_char_p
            return fn().decode()
        except (OSError, AttributeError):
            continue
    return ""


def gemm_peak(n, repeats):
    """Best GEMM of n^3 through torch.mm (the linked BLAS) and as a 1x1 convolution (oneDNN)."""
    flop = 2.0 * n ** 3
    with torch.inference_mode():
        a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
        torch.mm(a, b, out=c)
        mm = min(timed(lambda: torch.mm(a, b, out=c), 0, 1, 1) for _ in range(repeats))
        x, w = torch.randn(1, n, n // 64, 64), torch.randn(n, n, 1, 1)
        F.conv2d(x, w)
        conv = min(timed(lambda: F.conv2d(x, w), 0, 1, 1) for _ in range(repeats))
    return {"n": n, "mm_gflops": flop / mm / 1e9, "conv1x1_gflops": flop / conv / 1e9,
            "peak_gflops": max(flop / mm, flop / conv) / 1e9}


def bench_arch(arch, it, log):
    size = ARCHS[arch]
    torch.manual_seed(0)
    model = build(arch).eval()
    r = {"input_size": size}
    x1 = torch.randn(1, 3, size, size)
    x32 = torch.randn(32, 3, size, size)
    r["gflop_per_image_classify"] = count_flops(model, model, x1) / 1e9
    r["gflop_per_image_features"] = count_flops(model, lambda x: embed(model, arch, x), x1) / 1e9

    with torch.inference_mode():
        s = timed(lambda: model(x1), it["warmup"], it["b1_iters"], it["repeats"])
        r["infer_b1_ips"] = 1.0 / s
        s = timed(lambda: model(x32), 1, 1, it["repeats"])
        r["infer_b32_ips"] = 32.0 / s
        s = timed(lambda: embed(model, arch, x32), 1, 1, it["repeats"])
        r["features_b32_ips"] = 32.0 / s
    r["features_gflops"] = r["features_b32_ips"] * r["gflop_per_image_features"]

    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x16 = torch.randn(16, 3, size, size)
    y16 = torch.randint(0, 1000, (16,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x16), y16)
        loss.backward()
        opt.step()

    s = timed(step, 1, 1, it["repeats"])
    r["train_b16_ips"] = 16.0 / s
    log(f"  {arch}: b1 {r['infer_b1_ips']:.1f}  b32 {r['infer_b32_ips']:.1f}  train {r['train_b16_ips']:.1f}  "
        f"features {r['features_b32_ips']:.1f} img/s ({r['features_gflops']:.1f} GFLOP/s)")
    return r


# ---------------------------------------------------------------------------------------------
# End-to-end epoch: the paper's multimodal network on a derm7pt-format release.

MGMT = {"no further examination": 0, "clinical follow up": 1, "excision": 2}
HEAD_COLUMNS = ["management", "diagnosis", "pigment_network", "streaks", "pigmentation",
                "regression_structures", "dots_and_globules", "blue_whitish_veil", "vascular_structures"]
HEAD_CLASSES = [3, 5, 3, 3, 3, 2, 3, 2, 3]  # MGMT DIAG PN STR PIG RS DaG BWV VS
META_COLUMNS = [("sex", ["female", "male"]),
                ("location", None),  # nine locations; the index is taken from the sorted values seen
                ("elevation", ["flat", "nodular", "palpable"])]


def read_release(root):
    with open(os.path.join(root, "meta", "meta.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    with open(os.path.join(root, "meta", "train_indexes.csv"), newline="") as f:
        train = [int(r["indexes"]) for r in csv.DictReader(f)]
    # Image paths are matched case-insensitively, as skintriage's loader does (the release mixes case).
    images = os.path.join(root, "images")
    on_disk = {}
    for folder, _, files in os.walk(images):
        for f in files:
            full = os.path.join(folder, f)
            on_disk[os.path.relpath(full, images).lower()] = full
    resolve = lambda rel: on_disk[rel.lower()]
    locations = sorted({r["location"] for r in rows})
    vocab = {c: sorted({r[c] for r in rows}) for c in HEAD_COLUMNS}
    cases = []
    for i in train:
        r = rows[i]
        meta = [0.0] * 14
        if r["sex"] in ("female", "male"):
            meta[["female", "male"].index(r["sex"])] = 1.0
        meta[2 + locations.index(r["location"]) % 9] = 1.0
        if r["elevation"] in ("flat", "nodular", "palpable"):
            meta[11 + ["flat", "nodular", "palpable"].index(r["elevation"])] = 1.0
        # Timing does not depend on the exact grouping of raw strings into classes.
        labels = [vocab[c].index(r[c]) % k for c, k in zip(HEAD_COLUMNS, HEAD_CLASSES)]
        clinic = None if r["clinic"] == r["derm"] else resolve(r["clinic"])
        cases.append((clinic, resolve(r["derm"]), meta, labels))
    return cases


class Rot90:
    def __call__(self, img):
        k = random.randint(0, 3)
        return img if k == 0 else img.transpose([None, 2, 3, 4][k])  # PIL ROTATE_90/180/270


class Derm7ptDataset(torch.utils.data.Dataset):
    def __init__(self, cases, size, border):
        import torchvision.transforms as T
        self.cases, self.border = cases, border
        self.tf = T.Compose([
            T.RandomResizedCrop(size, scale=(0.6, 1.0), ratio=(3 / 4, 4 / 3)),
            T.RandomHorizontalFlip(), T.RandomVerticalFlip(), Rot90(),
            T.ColorJitter(0.15, 0.15, 0.15, 0.02),
            T.ToTensor(),
            T.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
        ])
        self.size = size

    def load(self, path):
        from PIL import Image
        img = Image.open(path).convert("RGB")
        w, h = img.size
        b = self.border
        return self.tf(img.crop((b, b, w - b, h - b)))

    def __len__(self):
        return len(self.cases)

    def __getitem__(self, i):
        clinic, derm, meta, labels = self.cases[i]
        c = self.load(clinic) if clinic else torch.zeros(3, self.size, self.size)
        return (c, torch.tensor(1.0 if clinic else 0.0), self.load(derm), torch.tensor(meta),
                torch.tensor(labels))


class MultimodalNet(nn.Module):
    """Shared backbone over both images, pooled, concatenated with metadata and presence flags."""

    def __init__(self, arch):
        super().__init__()
        self.arch = arch
        self.backbone = build(arch)
        dim = {"mobilenet_v2": 1280, "resnet18": 512}.get(arch, 2048)
        self.heads = nn.ModuleList(nn.Linear(2 * dim + 14 + 3, k) for k in HEAD_CLASSES)

    def forward(self, clinic, clinic_present, derm, meta):
        n = derm.shape[0]
        both = embed(self.backbone, self.arch, torch.cat([clinic, derm]))
        c, d = both[:n] * clinic_present[:, None], both[n:]
        ones = torch.ones(n, 1)
        z = torch.cat([c, d, meta, clinic_present[:, None], ones, ones], 1)
        return [h(z) for h in self.heads]


def bench_epoch(root, arch, batch, workers_list, threads, log):
    cases = read_release(root)
    images = sum(2 if c[0] else 1 for c in cases)
    out = {"cases": len(cases), "images": images, "batch": batch, "arch": arch, "by_workers": {}}
    for workers in workers_list:
        torch.manual_seed(0)
        random.seed(0)
        net = MultimodalNet(arch)
        net.train()
        for m in net.modules():  # BatchNorm frozen, as skintriage fine-tunes
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        opt = torch.optim.AdamW([{"params": net.backbone.parameters(), "lr": 1e-4},
                                 {"params": net.heads.parameters(), "lr": 1e-3}], weight_decay=1e-4)
        ds = Derm7ptDataset(cases, ARCHS[arch], 25)
        dl = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers,
                                         drop_last=False)
        t0 = time.perf_counter()
        for c, cp, d, meta, y in dl:
            torch.set_num_threads(threads)  # the main process keeps its threads whatever workers do
            opt.zero_grad(set_to_none=True)
            logits = net(c, cp, d, meta)
            loss = sum(F.cross_entropy(l, y[:, k]) for k, l in enumerate(logits))
            loss.backward()
            opt.step()
        s = time.perf_counter() - t0
        out["by_workers"][str(workers)] = {"seconds": s, "cases_per_s": len(cases) / s,
                                           "images_per_s": images / s}
        log(f"  epoch, num_workers={workers}: {s:.1f} s, {images / s:.1f} images/s")
    best = max(out["by_workers"], key=lambda k: out["by_workers"][k]["images_per_s"])
    out["best_workers"] = int(best)
    out.update(out["by_workers"][best])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--archs", default=",".join(ARCHS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--b1-iters", type=int, default=5)
    ap.add_argument("--gemm-n", type=int, default=2048)
    ap.add_argument("--epoch", default="", help="derm7pt-format release folder: also time one training epoch")
    ap.add_argument("--epoch-arch", default="mobilenet_v2")
    ap.add_argument("--epoch-batch", type=int, default=16)
    ap.add_argument("--epoch-workers", default="0,1,2")
    ap.add_argument("--skip-compute", action="store_true", help="only the epoch")
    ap.add_argument("--out", default="", help="write the JSON here (default stdout)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    log = lambda s: print(s, file=sys.stderr, flush=True)
    res = {"side": "pytorch", "torch": torch.__version__, "torchvision": torchvision.__version__,
           "threads": torch.get_num_threads(), "blas": "OpenBLAS core " + blas_core(), "mkldnn_enabled": torch.backends.mkldnn.enabled,
           "archs": {}}
    it = {"warmup": 2, "b1_iters": a.b1_iters, "repeats": a.repeats}
    if not a.skip_compute:
        res["gemm"] = gemm_peak(a.gemm_n, 5)
        res["gemm_gflops"] = res["gemm"]["peak_gflops"]
        log(f"  GEMM {a.gemm_n}^3: torch.mm {res['gemm']['mm_gflops']:.1f}, "
            f"1x1 conv {res['gemm']['conv1x1_gflops']:.1f} GFLOP/s")
        for arch in a.archs.split(","):
            res["archs"][arch] = bench_arch(arch, it, log)
        res["gemm_after"] = gemm_peak(a.gemm_n, 5)
    if a.epoch:
        workers = [int(w) for w in a.epoch_workers.split(",")]
        res["epoch"] = bench_epoch(a.epoch, a.epoch_arch, a.epoch_batch, workers, a.threads, log)
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rc = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    res["peak_rss_mb"] = ru / 1024.0
    res["peak_rss_children_mb"] = rc / 1024.0
    text = json.dumps(res, indent=1)
    if a.out:
        tmp = a.out + ".tmp"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, a.out)
    else:
        print(text)


if __name__ == "__main__":
    main()
