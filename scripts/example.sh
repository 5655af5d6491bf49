#!/usr/bin/env bash
# example.sh - sets up (scripts/setup.sh) and runs the example pipeline in
# examples/basic: it renders a few test clips, probes them, and builds a
# small dataset summary from shell commands and built-in actions.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/vlbuild -C examples/basic "$@"
echo
echo "example: outputs are in examples/basic/build/; run the same command again and nothing reruns"
