#!/usr/bin/env bash
# Example check: the benchmark suite runs end to end on tiny inputs (its
# own exactness checks included); the timings of such a run mean nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/scripts/bench/run_all.sh" --tiny "${1:-$root/build/flowlua}"
