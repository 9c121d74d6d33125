#!/bin/sh
# Runs the skintriage-vs-PyTorch benchmark: bench/run.sh BUILD_DIR  (or: make bench)
#
# Builds nothing (make bench builds first). Runs BUILD_DIR/bench/skintriage_bench and
# bench/bench_pytorch.py (Debian's python3 with python3-torch and python3-torchvision) with the same
# thread count, on the compute benchmarks and then on training epochs of a synthetic derm7pt-format
# release of 768x512 JPEGs (written once with `skintriage synth`), prints the table with the ratios
# skintriage/PyTorch and writes it all as BUILD_DIR/bench/latest.json.
#
# Environment: BENCH_THREADS (default: nproc), BENCH_CASES (synthetic release size, default 400),
# BENCH_ARCHS (default: all four), BENCH_REPEATS (timed repeats, median kept, default 3),
# BENCH_B1_ITERS (batch-1 calls per repeat, default 5), BENCH_PY_WORKERS (DataLoader num_workers to try,
# default 0,1,2), SKINTRIAGE_PYTHON (default /usr/bin/python3), BENCH_OUT (results folder, default
# BUILD_DIR/bench). Smaller values give a quicker, noisier run.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: bench/run.sh BUILD_DIR" >&2
  exit 2
fi
BUILD=$1
HERE=$(cd "$(dirname "$0")" && pwd)
CLI=$BUILD/skintriage
BENCH=$BUILD/bench/skintriage_bench
PY=${SKINTRIAGE_PYTHON:-/usr/bin/python3}
THREADS=${BENCH_THREADS:-$(nproc)}
CASES=${BENCH_CASES:-400}
OUT=${BENCH_OUT:-$BUILD/bench}
ARCHS=${BENCH_ARCHS:-mobilenet_v2,resnet18,resnet50,inception_v3}
REPEATS=${BENCH_REPEATS:-3}
B1=${BENCH_B1_ITERS:-5}
PYW=${BENCH_PY_WORKERS:-0,1,2}
COMMON="--threads $THREADS --archs $ARCHS --repeats $REPEATS --b1-iters $B1"
need() {
  if [ ! -x "$1" ]; then
    echo "error: $1 not built (run: make bench, or cmake --build $BUILD --target skintriage skintriage_bench)" >&2
    exit 2
  fi
}
need "$BENCH"
if ! "$PY" -c "import torch, torchvision, PIL" 2>/dev/null; then
  echo "error: $PY cannot import torch, torchvision and PIL (Debian: apt-get install python3-torch python3-torchvision python3-pil)" >&2
  exit 2
fi
mkdir -p "$OUT"
RELEASE=$OUT/synth_release_$CASES
if [ ! -f "$RELEASE/meta/meta.csv" ]; then
  need "$CLI"
  echo "== writing a synthetic release of $CASES cases (768x512 JPEGs) to $RELEASE" >&2
  "$CLI" synth --out "$RELEASE" --cases "$CASES" --seed 1 --size 768x512 >&2
fi

START=$(date +%s)
echo "== compute, skintriage ($THREADS threads)" >&2
"$BENCH" $COMMON --out "$OUT/skintriage_compute.json"
echo "== compute, PyTorch ($THREADS threads)" >&2
"$PY" "$HERE/bench_pytorch.py" $COMMON --out "$OUT/pytorch_compute.json"
echo "== training epochs, skintriage" >&2
"$BENCH" --threads "$THREADS" --skip-compute --epoch "$RELEASE" --epochs 2 --work-dir "$OUT" \
  --out "$OUT/skintriage_epoch.json"
echo "== training epoch, PyTorch DataLoader (num_workers $PYW)" >&2
"$PY" "$HERE/bench_pytorch.py" --threads "$THREADS" --skip-compute --epoch "$RELEASE" \
  --epoch-workers "$PYW" --out "$OUT/pytorch_epoch.json"
END=$(date +%s)

"$PY" "$HERE/compare.py" --seconds $((END - START)) --out "$OUT/latest.json" \
  "$OUT/skintriage_compute.json" "$OUT/pytorch_compute.json" "$OUT/skintriage_epoch.json" "$OUT/pytorch_epoch.json"
