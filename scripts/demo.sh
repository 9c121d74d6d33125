#!/bin/sh
# The main job on the embedded default: a synthetic derm7pt-format release, checked.
set -e
BIN=${1:-build/skintriage}
OUT=${DEMO_DIR:-demo}
"$BIN" --version
"$BIN" synth --out "$OUT/release_v0" --cases 300 --seed 1
"$BIN" data check --data "$OUT/release_v0"
