#!/bin/bash
# `bench/hops.sh [scenario...]` (default: ambient node-tls haproxy): where a request's time goes at 1,000 req/s,
# proxy by proxy. Runs `focus.js latency1000` for 25 s per scenario and, from its 8th second, records
# - `perf sched` on the whole machine for 4 s: how long each proxy waited for a core after a wake-up (the
#   scheduler's part of each hop) and how often and how long it ran; and for each pair of processes on the
#   requests' path, how often the woken one ran on the waker's core or on the other one, and how long each
#   wake-up took (on this VM a halted core takes 70-120 µs to run what is woken on it);
# - `perf trace` on each proxy for 1 s: the time from the read that carried a message to the write that passed
#   it on (the proxy's own part of the hop). Tracing every syscall slows each one, so compare these gaps
#   between scenarios, not with the latency figure.
# `PLACEMENT=nodes bench/hops.sh ...` runs each scenario as two one-core nodes (bench/placement.ts).
# Needs Linux `perf` (Debian's linux-perf) with the sched and syscalls tracepoints, as root, and a build
# (`npx tsc -p .`).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/focus-pids.sh
command -v perf >/dev/null || { echo "hops: needs perf (apt-get install linux-perf)" >&2; exit 1; }
[ -f dist/bench/focus.js ] || { echo "hops: no dist/bench/focus.js; build first (npx tsc -p .)" >&2; exit 1; }
SCHED_SECONDS=4
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(ambient node-tls haproxy)
for sc in "${scenarios[@]}"; do
  start_focus "$sc" 25 "$work/$sc.log"
  pids=$PIDS
  sleep 8
  (cd "$work" && perf sched record -o "$work/$sc.sched" -a -- sleep "$SCHED_SECONDS" > /dev/null 2>&1)
  for p in $pids; do timeout 1 perf trace -p "$p" -o "$work/$sc-$p.trace" > /dev/null 2>&1 & done
  wait "$FOCUS"
  perf sched timehist -i "$work/$sc.sched" > "$work/$sc.timehist" 2> /dev/null
  echo "$sc (proxies $pids):"
  grep " round 1:" "$work/$sc.log" | sed 's/^/  /'
  node dist/bench/hop-summary.js sched "$work/$sc.timehist" "$(echo "$pids" | tr ' ' ',')" "$SCHED_SECONDS"
  node dist/bench/hop-summary.js trace "$work/$sc-"*.trace
  perf script -i "$work/$sc.sched" -F comm,pid,tid,cpu,time,event,trace > "$work/$sc.script" 2> /dev/null
  node dist/bench/hop-summary.js wakeups "$work/$sc.script" "$SCHED_SECONDS"
done
