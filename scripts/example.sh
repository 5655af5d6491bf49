#!/usr/bin/env bash
# example.sh - the main job: sets up (scripts/setup.sh), then runs the
# quickstart pipeline in examples/quickstart: it generates a labelled dataset
# of synthetic clips, probes, augments, scales and featurizes them, trains
# three models and writes an HTML report.  Extra arguments go to vlbuild.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/vlbuild -C examples/quickstart "$@"
echo
echo "example: the report is examples/quickstart/build/report.html"
echo "example: the models are in examples/quickstart/models/; run the same command again and nothing reruns"
