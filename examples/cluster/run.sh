#!/usr/bin/env bash
# One command for examples/cluster: starts nodes a, b and c (build/cluster/troupe,
# or $TROUPE_BIN), one worker on each, runs the driver (run.mjs), then stops
# everything. Exit status: the driver's. Ports come from the environment, with
# the defaults of the node configs (workers 49134-49136, HTTP 3111, cluster
# 47000-47002).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${TROUPE_BIN:-$root/build/cluster/troupe}
[[ -x "$bin" ]] || { echo "run.sh: no troupe binary at $bin (run scripts/build.sh)" >&2; exit 1; }
export OTEL_ENABLED=false
: "${PORT_WORKERS_a:=49134}" "${PORT_WORKERS_b:=49135}" "${PORT_WORKERS_c:=49136}"
: "${PORT_CLUSTER_a:=47000}" "${PORT_CLUSTER_b:=47001}" "${PORT_CLUSTER_c:=47002}"
: "${III_HTTP_PORT:=3111}"
export PORT_WORKERS_a PORT_WORKERS_b PORT_WORKERS_c PORT_CLUSTER_a PORT_CLUSTER_b PORT_CLUSTER_c III_HTTP_PORT
logs=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$logs"
}
trap cleanup EXIT
show_logs() { for f in "$logs"/*.log; do echo "== $(basename "$f")"; tail -n 20 "$f"; done; }
for n in a b c; do
  "$bin" --config "$here/$n.yaml" > "$logs/node-$n.log" 2>&1 &
  pids+=($!)
done
# Workers read their stdin until it closes: a fifo per worker keeps it open.
start_worker() { # role, port
  mkfifo "$logs/$1.in"
  node "$here/worker.mjs" "$1" "ws://127.0.0.1:$2" < "$logs/$1.in" > "$logs/worker-$1.log" 2>&1 &
  pids+=($!)
  exec {fd}> "$logs/$1.in"
}
start_worker api "$PORT_WORKERS_a"
start_worker payments "$PORT_WORKERS_b"
start_worker emails "$PORT_WORKERS_c"
status=0
III_URL="ws://127.0.0.1:$PORT_WORKERS_a" III_HTTP_URL="http://127.0.0.1:$III_HTTP_PORT" \
  node "$here/run.mjs" || status=$?
(( status == 0 )) || show_logs
exit $status
