#!/bin/sh
# The main job on the embedded default: write a synthetic derm7pt-format release, check it, run the
# paper's protocol on it (frozen ImageNet features: official split, input ablation, 3-fold CV) and
# write results.json, results.md and report.html; then predict one case with its explanation.
set -e
BIN=${1:-build/skintriage}
OUT=${DEMO_DIR:-demo}
SHARED=${SKINTRIAGE_SHARED:-../shared}
WEIGHTS="$SHARED/weights/mobilenet_v2_imagenet/mobilenet_v2_imagenet1001.pth"

"$BIN" --version
[ -f "$OUT/release_v0/meta/meta.csv" ] || "$BIN" synth --out "$OUT/release_v0" --cases 300 --seed 1
"$BIN" data check --data "$OUT/release_v0"

if [ -f "$WEIGHTS" ]; then
  WEIGHT_ARGS="--weights $WEIGHTS"
else
  echo "note: $WEIGHTS not found: the backbone starts from random weights (set SKINTRIAGE_SHARED)" >&2
  WEIGHT_ARGS=""
fi
"$BIN" experiment --data "$OUT/release_v0" --out "$OUT/experiment" $WEIGHT_ARGS --mode features
cat "$OUT/experiment/results.md"
echo "report: $OUT/experiment/report.html"

# One case through the saved multi-task model, with Grad-CAM heatmaps.
CASE_CLINIC=$(ls "$OUT"/release_v0/images/*/* | head -1)
CASE_DERM=$(ls "$OUT"/release_v0/images/*/* | sed -n 2p)
"$BIN" predict --model "$OUT/experiment/runs/official/MGMT_multi/seed1" \
  --clinic "$CASE_CLINIC" --derm "$CASE_DERM" --sex female --location back --elevation flat \
  --heatmaps "$OUT/heatmaps"
