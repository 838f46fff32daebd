#!/usr/bin/env bash
# Quick start, second command: installs what is missing (Debian packages and
# the pinned iii-sdk for the end-to-end tests), builds everything, and runs
# every test (GoogleTest units and end-to-end tests with real iii-sdk
# workers) through ctest. Extra arguments go to ctest (e.g. `-L unit`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --e2e
scripts/build.sh
cd build
exec ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@"
