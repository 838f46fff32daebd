#!/usr/bin/env bash
# Quick start, first command: installs what is missing, builds, and starts
# the engine on ./iii-config.yaml. Extra arguments go to troupe
# (e.g. `scripts/run.sh --config examples/ledger/iii-config.yaml`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh --target troupe
if [[ " $* " == *" --config "* || " $* " == *" --config="* || " $* " == *" -c "* ]]; then
  exec build/cluster/troupe "$@"
fi
exec build/cluster/troupe --config iii-config.yaml "$@"
