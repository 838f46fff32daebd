#!/usr/bin/env bash
# ctest embedding_example: troupe as a package, the way an application uses
# it. Installs this build to a temporary prefix, then, against that prefix
# only (find_package(troupe)):
#   1. builds and runs the README's minimal program ("## Embedding");
#   2. builds examples/embedded out of tree, runs it with its Node worker
#      (examples/node_modules, `npm ci` in examples/), and checks what it
#      prints: FIFO order kept through a retry, every job done, a call into
#      Node and a call from Node into C++.
# Usage: embedded_example.sh BUILD_DIR SOURCE_DIR [CXX_FLAGS]
#   CXX_FLAGS: for a sanitizer build, the flags its libraries were built with
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
flags=${3:-}
tmp=$(mktemp -d)
worker_pid=
shop_pid=
cleanup() {
  [[ -n "$worker_pid" ]] && kill "$worker_pid" 2>/dev/null || true
  [[ -n "$shop_pid" ]] && kill -9 "$shop_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "embedded_example: FAILED: $*" >&2; exit 1; }
expect() { # file, fixed string
  grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "'$2' not in $(basename "$1")"; }
}

[[ -d "$src/examples/node_modules/iii-sdk" ]] \
  || fail "examples/node_modules is missing: (cd examples && npm ci)"
cmake_args=(-G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix"
            -DCMAKE_CXX_COMPILER="$(grep -m1 '^CMAKE_CXX_COMPILER:' \
              "$build/CMakeCache.txt" | cut -d= -f2)")
if [[ -n "$flags" ]]; then
  cmake_args+=(-DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags")
fi

echo "== install to $tmp/prefix"
cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
[[ -f "$tmp/prefix/lib/cmake/troupe/troupeConfig.cmake" ]] \
  || fail "no troupeConfig.cmake installed"
[[ -f "$tmp/prefix/include/troupe/engine.hpp" ]] || fail "no engine.hpp installed"

echo "== the README's minimal program"
mkdir -p "$tmp/minimal"
awk '/^## Embedding/{on=1} on&&/^```cpp$/{grab=1; next} grab&&/^```$/{exit} grab' \
  "$src/README.md" > "$tmp/minimal/main.cpp"
[[ -s "$tmp/minimal/main.cpp" ]] || fail "no cpp block under '## Embedding' in README.md"
awk '/^## Embedding/{on=1} on&&/^```cmake$/{grab=1; next} grab&&/^```$/{exit} grab' \
  "$src/README.md" > "$tmp/minimal/CMakeLists.txt"
[[ -s "$tmp/minimal/CMakeLists.txt" ]] || fail "no cmake block under '## Embedding' in README.md"
cmake -S "$tmp/minimal" -B "$tmp/minimal/build" "${cmake_args[@]}" > "$tmp/minimal.log" \
  || { cat "$tmp/minimal.log"; fail "configuring the minimal program"; }
cmake --build "$tmp/minimal/build" >> "$tmp/minimal.log" 2>&1 \
  || { cat "$tmp/minimal.log"; fail "building the minimal program"; }
app=$(find "$tmp/minimal/build" -maxdepth 1 -type f -perm -u+x | head -1)
timeout 30 "$app" > "$tmp/minimal.out" 2>&1 || { cat "$tmp/minimal.out"; fail "running it"; }
cat "$tmp/minimal.out"
expect "$tmp/minimal.out" '{"hello":"world"}'
expect "$tmp/minimal.out" 'receipt '

echo "== examples/embedded, out of tree"
cmake -S "$src/examples/embedded" -B "$tmp/shop" "${cmake_args[@]}" > "$tmp/shop.log" \
  || { cat "$tmp/shop.log"; fail "configuring examples/embedded"; }
cmake --build "$tmp/shop" >> "$tmp/shop.log" 2>&1 \
  || { cat "$tmp/shop.log"; fail "building examples/embedded"; }
"$tmp/shop/embedded_shop" --port 0 > "$tmp/shop.out" 2>&1 &
shop_pid=$!
url=
for _ in $(seq 300); do
  url=$(grep -om1 'ws://127\.0\.0\.1:[0-9]*' "$tmp/shop.out" || true)
  [[ -n "$url" ]] && break
  kill -0 "$shop_pid" 2>/dev/null || { cat "$tmp/shop.out"; fail "embedded_shop exited early"; }
  sleep 0.1
done
[[ -n "$url" ]] || { cat "$tmp/shop.out"; fail "embedded_shop did not listen"; }
OTEL_ENABLED=false node "$src/examples/embedded/worker.mjs" "$url" > "$tmp/worker.out" 2>&1 &
worker_pid=$!
status=0
timeout 60 tail --pid="$shop_pid" -f /dev/null || fail "embedded_shop still running after 60 s"
wait "$shop_pid" || status=$?
shop_pid=
cat "$tmp/shop.out"
(( status == 0 )) || fail "embedded_shop exited with $status"
for _ in $(seq 50); do kill -0 "$worker_pid" 2>/dev/null || break; sleep 0.1; done
cat "$tmp/worker.out"
expect "$tmp/shop.out" "rejected: FIFO queue 'orders' requires field 'orderId' in data, but it was not found"
expect "$tmp/shop.out" 'charged o-1: 1 2 3'
expect "$tmp/shop.out" 'charged o-2: 1 2 3'
expect "$tmp/shop.out" 'charged o-3: 1 2 3'
expect "$tmp/shop.out" 'orders: succeeded 9, failed attempts 1, dead 0'
expect "$tmp/shop.out" 'emails sent: 5'
expect "$tmp/shop.out" 'node::greet answered {"greeting":"hello troupe, from Node"}'
expect "$tmp/shop.out" 'a Node worker called shop::checkout'
expect "$tmp/shop.out" 'stopped'
expect "$tmp/worker.out" 'worker: shop::checkout answered {"status":"paid","quote":{"price":42,"sku":"tea-42"}}'
echo "embedded_example: ok"
