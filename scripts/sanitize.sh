#!/usr/bin/env bash
# Builds troupe with sanitizers in a tree of its own (configured once) and
# runs tests there. Usage: scripts/sanitize.sh asan|tsan [ctest arguments]
#   asan  build-asan, TROUPE_SANITIZE (ASan + UBSan): the unit and the
#         end-to-end tests (`-L 'unit|e2e'`) but e2e_fd_exhaustion: out of
#         descriptors, UBSan cannot check a vtable pointer (it needs a pipe
#         to probe memory) and reports every virtual call as invalid
#   tsan  build-tsan, TROUPE_TSAN (ThreadSanitizer): the unit tests; the
#         embedding tests with scripts/tsan-caf.supp (tests/CMakeLists.txt)
# Extra arguments go to ctest and replace the label choice when they name
# one, e.g. `scripts/sanitize.sh asan -L unit -R frames`. Any report fails
# the test it came from (FUZZING.md, Sanitizers).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-}"
(( $# )) && shift
case "$mode" in
  asan) dir=build-asan; opts=(-DTROUPE_SANITIZE=ON); labels='unit|e2e'
        skip=(-E '^e2e_fd_exhaustion$') ;;
  tsan) dir=build-tsan; opts=(-DTROUPE_TSAN=ON); labels='unit'; skip=() ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan [ctest arguments]" >&2
    exit 2
    ;;
esac
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache
            -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
if [[ ! -f "$dir/build.ninja" ]]; then
  # -O2 with line tables: sanitized code close to what users run, reports
  # with file:line.
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "${opts[@]}" "${launcher[@]}" >&2
fi
cmake --build "$dir" -j "$(nproc)" >&2

# Reports abort the process, so the test that ran it fails; leaks are
# reported at exit.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"

args=("$@")
has_label=0
for a in "${args[@]}"; do [[ "$a" == -L || "$a" == -L* ]] && has_label=1; done
(( has_label )) || args=(-L "$labels" "${args[@]}")
cd "$dir"
exec ctest --output-on-failure -j "$(nproc)" "${skip[@]}" "${args[@]}"
