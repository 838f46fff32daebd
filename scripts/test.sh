#!/usr/bin/env bash
# Quick start, second command: installs what is missing (Debian packages and
# the pinned iii-sdk for the end-to-end tests), builds everything, and runs
# every test (GoogleTest units and end-to-end tests with real iii-sdk
# workers) through ctest, then a short run of each fuzzer (build-fuzz,
# clang). Extra arguments go to the main ctest (e.g. `-L unit`) and skip
# the fuzzers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --e2e
scripts/build.sh
(cd build && ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@")
(( $# )) && exit 0

# The fuzzers (FUZZING.md): libFuzzer needs clang, so their own tree.
if [[ ! -f build-fuzz/build.ninja ]]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
    -DTROUPE_FUZZ=ON -DTROUPE_BUILD_TESTS=OFF >&2
fi
cmake --build build-fuzz -j "$(nproc)" --target fuzzers >&2
(cd build-fuzz && ctest --output-on-failure -j "$(nproc)" -L fuzz)
