#!/usr/bin/env bash
# The rock: `luarocks make` installs flow_native.so and the flow.lua shim into
# a temporary tree, then plain luajit runs a job through require("flow").
# Skipped (exit 0) only when luarocks is not installed; CI installs it.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v luarocks >/dev/null 2>&1; then
  echo "SKIP: luarocks is not installed (apt-get install luarocks)"
  exit 0
fi
tree=$(mktemp -d /tmp/flowlua-rock.XXXXXX)
trap 'rm -rf "$tree"' EXIT
# luarocks builds in ./build.luarocks: build from a copy, the checkout stays clean
mkdir -p "$tree/src"
for d in CMakeLists.txt src lua stdlib include rockspec web scripts; do [ -e "$d" ] && cp -r "$d" "$tree/src/"; done
(cd "$tree/src" && luarocks --lua-version 5.1 make --tree "$tree" rockspec/flowlua-scm-1.rockspec) \
  >"$tree/build.log" 2>&1 || { cat "$tree/build.log"; echo "FAIL: luarocks make"; exit 1; }
export LUA_PATH="$tree/share/lua/5.1/?.lua;;"
export LUA_CPATH="$tree/lib/lua/5.1/?.so;;"
out=$(luajit -e 'local flow=require("flow") local env=flow.env{parallelism=2} print(#env:from_sequence(1,10):execute_and_collect())')
if [ "$out" != "10" ]; then
  echo "FAIL: expected 10, got: $out"
  exit 1
fi
test -x "$tree/bin/flowlua" || { echo "FAIL: $tree/bin/flowlua was not installed"; exit 1; }
echo "ok: require(\"flow\") in plain luajit ran a job: $out records"
