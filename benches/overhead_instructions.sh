#!/usr/bin/env bash
# Per-request overhead of the client against bare reqwest, in instructions counted by callgrind:
# repeatable on a noisy machine, where wall-clock ratios are not. Each side makes the same number
# of calls to the same in-process loopback mock; the mock's own work is in both counts.
#
#   bash benches/overhead_instructions.sh [CALLS]
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
calls=${1:-2000}
cargo bench --bench overhead --no-run --quiet 2>/dev/null
binary=$(ls -t "$target_dir"/release/deps/overhead-* | grep -v '\.d$' | head -n 1)
count() {
  OVERHEAD_ONLY=$1 OVERHEAD_CALLS=$2 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$binary" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
# Startup (runtime, mock, clients) is counted with 0 calls and subtracted.
base=$(count reqwest 0)
reqwest=$(( $(count reqwest "$calls") - base ))
client=$(( $(count client "$calls") - base ))
python3 - "$calls" "$reqwest" "$client" <<'PY'
import sys
calls, reqwest, client = map(int, sys.argv[1:])
print(f"instructions per call: reqwest {reqwest / calls:,.0f}, client {client / calls:,.0f}, "
      f"ratio {client / reqwest:.3f}")
PY
