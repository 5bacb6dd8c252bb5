#!/usr/bin/env bash
# Example check: the WordCount benchmark script runs end to end on a small
# input and flowlua's counts equal the plain LuaJIT reference's (not timings).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
flowlua=$(realpath "${1:-$root/build/flowlua}")
"$root/scripts/bench/wordcount.sh" 2 "$flowlua"
