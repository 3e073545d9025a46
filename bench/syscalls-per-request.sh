#!/bin/bash
# `bench/syscalls-per-request.sh [scenario...]` (default: ambient sidecar node-tls haproxy): what one request at
# 1,000 req/s costs each scenario's two proxies in event-loop polls, reads, writes, context switches and CPU
# migrations. Runs `focus.js latency1000` for 30 s per scenario and, from its 10th second, `perf stat` on both
# proxies for 10 s (10,000 requests); prints each count divided by 10,000. Needs Linux `perf` (Debian's
# linux-perf) with the syscalls tracepoints, as root, and a build (`npx tsc -p .`).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/focus-pids.sh
command -v perf >/dev/null || { echo "syscalls-per-request: needs perf (apt-get install linux-perf)" >&2; exit 1; }
[ -f dist/bench/focus.js ] || { echo "syscalls-per-request: no dist/bench/focus.js; build first (npx tsc -p .)" >&2; exit 1; }
EVENTS=task-clock,context-switches,cpu-migrations
for call in epoll_pwait epoll_wait read recvfrom write writev sendto; do EVENTS+=",syscalls:sys_enter_$call"; done
REQUESTS=10000
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(ambient sidecar node-tls haproxy)
for sc in "${scenarios[@]}"; do
  start_focus "$sc" 30 "$work/$sc.log"
  pids=$(echo "$PIDS" | tr ' ' ',')
  sleep 10
  perf stat -x, -e "$EVENTS" -p "$pids" -- sleep 10 2> "$work/$sc.perf"
  wait "$FOCUS"
  echo "$sc (proxies $pids), per request, both proxies together:"
  awk -F, -v n=$REQUESTS '$1 ~ /^[0-9.]+$/ { unit = ($2 == "msec") ? " ms" : ""; printf "  %-32s %8.2f%s\n", $3, $1 / n, unit }' "$work/$sc.perf"
  grep " round 1:" "$work/$sc.log" | sed 's/^/  /'
done
