#!/usr/bin/env bash
# Example check: the README's first command — WordCount on its embedded text,
# run from another directory (the Lua modules are inside the binary).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
flowlua=$(realpath "${1:-$root/build/flowlua}")
expected="$root/../shared/conformance/flink/wordcount_expected_tuples.txt"
out=$(cd / && "$flowlua" "$root/examples/wordcount.lua")
lines=$(printf '%s\n' "$out" | wc -l)
[ "$lines" -eq 418 ] || { echo "expected 418 distinct words, got $lines" >&2; exit 1; }
if [ -f "$expected" ]; then
  diff <(printf '%s\n' "$out" | sed 's/^[0-9]*> //' | sort) <(sort "$expected")
fi
printf '%s\n' "$out" | grep -q '(die,' || { echo "missing (die,N)" >&2; exit 1; }
echo "wordcount from / : 418 words, as Flink"
