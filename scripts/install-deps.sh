#!/bin/sh
# Installs the Debian 12 packages skintriage needs, only those missing. Run as root.
#   scripts/install-deps.sh build   -> compiler, LibTorch, OpenCV, CLI11, JSON, httplib, OpenBLAS
#   scripts/install-deps.sh test    -> the above plus GoogleTest, Python oracles and Chromium
set -e
want="cmake g++ make libtorch-dev libopencv-dev libcli11-dev nlohmann-json3-dev libcpp-httplib-dev libopenblas0-pthread ccache"
if [ "$1" = "test" ]; then
  want="$want googletest libgtest-dev python3-torch python3-torchvision python3-sklearn python3-scipy chromium chromium-driver"
fi
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  if [ "$(id -u)" != 0 ]; then echo "run as root to install:$missing" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing
fi
