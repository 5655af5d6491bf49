#!/usr/bin/env bash
# setup.sh - installs what vlbuild needs from Debian's packages (when missing)
# and builds it into build/ (or $VL_BUILD_DIR).  Extra arguments go to cmake.
# Beyond the libraries: ffmpeg, nginx-light, python3-venv and procps are
# for the tests (generated fixtures, the HTTP cache server, array checks).
#
# The tests' Python is the project's own: a virtual environment in
# BUILD/pyenv made from Debian's interpreter (/usr/bin/python3, whatever
# python3 comes first on PATH) with the pinned packages of
# tests/python-requirements.txt from PyPI.  ctest puts BUILD/pyenv/bin first
# on the tests' PATH, so `python3` in a test is that interpreter.  It is made
# again when the requirements change.  vlbuild itself never runs Python.
# Usage: scripts/setup.sh [-DVL_SANITIZE=ON ...]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config libuv1-dev libxxhash-dev libsqlite3-dev
          libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libopenblas-dev ffmpeg python3
          libcurl4-openssl-dev nginx-light python3-venv procps)
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
mkdir -p "$build_dir"
pyenv="$build_dir/pyenv"
requirements=tests/python-requirements.txt
if ! cmp -s "$requirements" "$pyenv/requirements.txt" 2>/dev/null; then
    echo "setup: making the tests' Python environment $pyenv"
    rm -rf "$pyenv"
    /usr/bin/python3 -m venv "$pyenv"
    "$pyenv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$pyenv/requirements.txt" # the stamp: made from these pins
fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
ninja -C "$build_dir"
