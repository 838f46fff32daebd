#!/usr/bin/env bash
# Installs what troupe needs on Debian 12, only what is missing, so a second
# run takes well under a second. Usage: scripts/deps.sh [--e2e]
#   --e2e  also the Node.js packages of the end-to-end tests (tests/e2e)
#          the examples (examples/) and the benchmarks (bench/).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build libcaf-dev libyaml-cpp-dev nlohmann-json3-dev
          libboost-dev libgtest-dev libsqlite3-dev libbenchmark-dev
          prometheus-cpp-dev)
# What only the test command needs: promtool checks /metrics, chromium runs the
# dashboard's browser test, clang + libFuzzer run the fuzzers' short runs,
# sqlite3 writes the large store the admin test recovers.
test_packages=(prometheus chromium clang libfuzzer-14-dev sqlite3)
e2e=0
[[ "${1:-}" == "--e2e" ]] && e2e=1

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
    || missing+=("$p")
done
if (( e2e )); then
  for p in "${test_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
      || missing+=("$p")
  done
  # Any Node.js with npm will do (Debian's, or NodeSource's which bundles npm).
  command -v npm >/dev/null || missing+=(nodejs npm)
fi
if (( ${#missing[@]} )); then
  echo "deps: installing ${missing[*]}" >&2
  sudo_cmd=()
  (( EUID != 0 )) && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
    --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >&2
fi

if (( e2e )); then
  # npm ci only where package-lock.json changed since the last install.
  for dir in tests/e2e examples bench; do
    stamp=$dir/node_modules/.troupe-lock.sha256
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
      echo "deps: npm ci in $dir" >&2
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
      echo "$want" > "$stamp"
    fi
  done
fi
