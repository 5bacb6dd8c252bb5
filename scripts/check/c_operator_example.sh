#!/usr/bin/env bash
# Example check: the example C operator builds against include/flowlua.h
# and runs inside a job (map + filter in C).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
flowlua=$(realpath "${1:-$root/build/flowlua}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$root/examples/c_operator/upper.c" "$root/examples/c_operator/upper.lua" "$work/"
cc -O2 -Wall -Wextra -Werror -shared -fPIC -I"$root/include" "$work/upper.c" -o "$work/libupper.so"
got=$("$flowlua" "$work/upper.lua" | sed 's/^[0-9]*> //' | sort | tr '\n' ' ')
[ "$got" = "FLINK FLOWLUA NOW " ] || { echo "unexpected output: $got" >&2; exit 1; }
echo "example C operator: $got"
