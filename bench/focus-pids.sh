# Sourced by bench/syscalls-per-request.sh and bench/hops.sh (from the package root, after a build).
# start_focus SCENARIO SECONDS LOG: runs `focus.js latency1000` for SCENARIO in the background, its output in LOG,
# and waits until it names its two proxies. Sets FOCUS (focus.js's pid) and PIDS (the proxies', space-separated).
# Stops the script, with focus.js's log, when focus.js stops first or names none within 120 s.
# PLACEMENT=nodes in the environment runs the scenario as two one-core nodes (bench/placement.ts).
start_focus() {
  local sc=$1 seconds=$2 log=$3
  node dist/bench/focus.js latency1000 --scenario="$sc" --rounds=1 --seconds="$seconds" --placement="${PLACEMENT:-shared}" > "$log" 2>&1 &
  FOCUS=$!
  for _ in $(seq 1 120); do grep -q "proxy pids:" "$log" && break; kill -0 "$FOCUS" 2>/dev/null || break; sleep 1; done
  PIDS=$( (grep "proxy pids:" "$log" || true) | sed 's/.*proxy pids: //')
  [ -n "$PIDS" ] || { echo "$sc: focus.js gave no proxy pids (it stopped, or 120 s passed):"; cat "$log"; exit 1; }
}
