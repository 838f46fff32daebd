#!/usr/bin/env bash
# Configures (once) and builds troupe in ./build. Extra arguments go to
# `cmake --build`, e.g. `scripts/build.sh --target troupe`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
fi
cmake --build build -j "$(nproc)" "$@" >&2
