#!/usr/bin/env bash
# Example check: the cluster benchmark runs end to end on a tiny input (a
# local jobmanager + 2 taskmanagers; its output-equality check included).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/scripts/bench/cluster.sh" 1 "${1:-$root/build/flowlua}"
