#!/usr/bin/env bash
# setup.sh - installs what vlbuild needs from Debian's packages (when missing)
# and builds it into build/ (or $VL_BUILD_DIR).  Extra arguments go to cmake.
# Beyond the libraries: ffmpeg, nginx-light, python3-numpy and procps are
# for the tests (generated fixtures, the HTTP cache server, array checks).
# Usage: scripts/setup.sh [-DVL_SANITIZE=ON ...]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config libuv1-dev libxxhash-dev libsqlite3-dev
          libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libopenblas-dev ffmpeg python3
          libcurl4-openssl-dev nginx-light python3-numpy procps)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build_dir=${VL_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
ninja -C "$build_dir"
