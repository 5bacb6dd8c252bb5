#!/usr/bin/env bash
# scripts/bench/nexmark.sh on a tiny input: the benchmark script and every
# query it runs keep working (the numbers mean nothing at this size).
#   bash scripts/check/bench_nexmark_tiny.sh [path/to/flowlua]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(bash scripts/bench/nexmark.sh 20000 "${1:-build/flowlua}")
echo "$out"
# a header, the generator and 19 queries at parallelism 1 and 2
[ "$(echo "$out" | wc -l)" -eq 41 ] || { echo "expected 41 lines" >&2; exit 1; }
echo "ok: nexmark.sh ran every query"
