#!/usr/bin/env bash
# The layers of ../shared/DESIGN.md ("Layout") as README.md's layout table
# states them: fails on any #include in src/ or stdlib/, or any require in
# lua/flow/, that crosses them. Run by ctest (example.layers); no build needed.
#
#   scripts/check/layers.sh [ROOT]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ -d "${1:-}" ]; then root=$(cd "$1" && pwd); fi # ctest passes the binary instead
cd "$root"

# layer -> the project layers its files may include (besides its own)
declare -A may=(
  [util]=""
  [graph]="util"
  [runtime]="graph util"
  [coordination]="runtime graph util"
  [net]="util"
  [metrics]="runtime net util"
  [client]="coordination net graph util"
  [cluster]="coordination net metrics runtime graph util"
  [lua]="client cluster coordination metrics net runtime graph util"
  [cli]="lua client cluster coordination metrics net runtime graph util"
)
# Lua's C API: only src/lua and src/cli (and src/main.c) know Lua
lua_ok="lua cli"
fail=0
bad() { echo "layers: $*" >&2; fail=1; }

for f in $(cd "$root" && find src -name '*.c' -o -name '*.h' | sort); do
  dir=${f#src/}
  if [ "$dir" = "${dir#*/}" ]; then layer=main; else layer=${dir%%/*}; fi
  [ "$layer" = main ] && continue # src/main.c: the entry point uses everything
  [ -n "${may[$layer]+x}" ] || { bad "$f: src/$layer/ is not a layer of the table"; continue; }
  while IFS= read -r line; do
    n=${line%%:*}
    inc=$(sed -E 's/^[0-9]+:#include[[:space:]]*"([^"]+)".*/\1/' <<<"$line")
    case $inc in
      */*) target=${inc%%/*} ;;
      flowlua.h) continue ;; # the public C operator ABI: anyone may include it
      *) continue ;;         # generated headers of the build (embedded modules)
    esac
    [ "$target" = "$layer" ] && continue
    case " ${may[$layer]} " in
      *" $target "*) ;;
      *) bad "$f:$n: src/$layer/ may not include $inc (it may use: ${may[$layer]:-libc only})" ;;
    esac
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" || true)
  if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<(lua|lauxlib|lualib|luajit)\.h>' "$f" >/dev/null; then
    case " $lua_ok " in
      *" $layer "*) ;;
      *) bad "$f: src/$layer/ may not know Lua ($(grep -m1 -oE '<(lua|lauxlib|lualib|luajit)\.h>' "$f"))" ;;
    esac
  fi
done

# util is plain libc: no libuv either
if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<uv\.h>' src/util/*.[ch] >/dev/null 2>&1; then
  bad "src/util/ may use libc only, not libuv: $(grep -lE '#include <uv\.h>' src/util/*.[ch] | tr '\n' ' ')"
fi

# stdlib: the public ABI, its own headers (a built-in's FFI surface) and
# system headers only
for f in $(find stdlib -name '*.c' -o -name '*.h' | sort); do
  while IFS= read -r line; do
    inc=$(sed -E 's/^[0-9]+:#include[[:space:]]*"([^"]+)".*/\1/' <<<"$line")
    [ "$inc" = flowlua.h ] || [ -f "stdlib/$inc" ] ||
      bad "$f:${line%%:*}: stdlib/ may include only flowlua.h and stdlib/'s own headers, not $inc"
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" || true)
done

# Lua: lua/flow/api/ and lua/flow/runtime/ never require each other (nor
# reach into each other's modules through package.loaded); the task side
# never requires the API facade "flow".
for f in $(find lua/flow/api -name '*.lua' | sort); do
  if grep -nE '["'\'']flow\.runtime(\.[A-Za-z_.]+)?["'\'']' "$f" >/dev/null; then
    bad "$f: lua/flow/api/ may not use lua/flow/runtime/: $(grep -nE '["'\'']flow\.runtime' "$f" | head -1)"
  fi
done
for f in $(find lua/flow/runtime -name '*.lua' | sort); do
  if grep -nE '["'\'']flow\.api(\.[A-Za-z_.]+)?["'\'']' "$f" >/dev/null; then
    bad "$f: lua/flow/runtime/ may not use lua/flow/api/: $(grep -nE '["'\'']flow\.api' "$f" | head -1)"
  fi
  if grep -nE 'require[[:space:]]*\(?[[:space:]]*["'\'']flow["'\'']' "$f" >/dev/null; then
    bad "$f: lua/flow/runtime/ may not require the API facade \"flow\""
  fi
done
# the shared modules (lua/flow/*.lua but init.lua) use neither side
for f in $(find lua/flow -maxdepth 1 -name '*.lua' ! -name init.lua | sort); do
  if grep -nE '["'\'']flow\.(api|runtime)(\.[A-Za-z_.]+)?["'\'']' "$f" >/dev/null; then
    bad "$f: a shared module may not use lua/flow/api/ or lua/flow/runtime/"
  fi
done

if [ $fail = 0 ]; then echo "ok: every include and require keeps to the layers"; fi
exit $fail
