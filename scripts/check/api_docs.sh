#!/usr/bin/env bash
# The API reference stays in sync with the code:
#  1. every public function of a documented class or module in lua/flow/init.lua
#     and lua/flow/api/*.lua (`function flow.X`, `function Env:X`,
#     `function DataStream:X`, `function windows.X`, ...: a definition on a
#     variable bound to a `---@class` in the same file, as
#     scripts/gen_api_docs.lua reads them) has a `---` doc comment directly
#     above it with a description, a `---@param` for each parameter, a
#     `---@return` and a `--- Example:` with code lines;
#  2. scripts/gen_api_docs.lua finds no mismatch between a doc comment and
#     its code (`--check`);
#  3. docs/api.md is exactly what scripts/gen_api_docs.lua generates.
# Usage: bash scripts/check/api_docs.sh [path/to/flowlua]. The generator runs
# with luajit, else with the flowlua binary given (it runs plain Lua scripts).
set -euo pipefail
cd "$(dirname "$0")/../.."

status=0
sources=(lua/flow/init.lua lua/flow/api/*.lua)

# --- 1. doc comments above every public function ---------------------------
# awk: a `---@class` block directly above `local V =` or `V =` binds V (in
# this file); for each `function V.name(` / `function V:name(` of a bound V,
# the contiguous block of `---` lines directly above
missing=$(awk -v pattern_def='^function [A-Za-z_][A-Za-z0-9_]*([.][A-Za-z_][A-Za-z0-9_]*)*[.:][A-Za-z_][A-Za-z0-9_]*[ ]*[(]' '
  FNR == 1 { n = 0; split("", bound) }
  {
    if (n > 0 && block_class) {
      v = $0
      sub(/^local[ ]+/, "", v)
      if (match(v, /^[A-Za-z_][A-Za-z0-9_.]*[ ]*=/)) {
        v = substr(v, 1, RLENGTH); sub(/[ ]*=$/, "", v); bound[v] = 1
      }
    }
    if ($0 ~ pattern_def) {
      head = $0
      sub(/^function /, "", head)
      name = head; sub(/[ ]*[(].*$/, "", name)
      owner = name; sub(/[.:][A-Za-z_][A-Za-z0-9_]*$/, "", owner)
      params = head; sub(/^[^(]*[(]/, "", params); sub(/[)].*$/, "", params)
      private = (name ~ /[.:]_/)
      desc = 0; ret = 0; example = 0; in_example = 0; doc = ""
      for (i = 1; i <= n; i++) {
        l = block[i]
        sub(/^[ \t]*---/, "", l)
        doc = doc "\n" l
        if (l ~ /^@return/) ret = 1
        if (l ~ /^ Example:[ ]*$/) { in_example = 1; continue }
        if (l ~ /^@/) { in_example = 0; continue }
        if (in_example && l ~ /^   +[^ ]/) { example = 1; continue }
        if (l ~ /^ [^ ]/) { desc = 1; in_example = 0 }
      }
      problems = ""
      if (n == 0) problems = " no doc comment"
      else {
        if (!desc) problems = problems " description,"
        np = split(params, ps, /[ ]*,[ ]*/)
        for (j = 1; j <= np; j++) {
          p = ps[j]; gsub(/ /, "", p)
          if (p == "" || (p == "self" && name ~ /:/)) continue
          q = p; gsub(/[.]/, "[.]", q)
          if (doc !~ ("\n@param " q "[?]?[ ]")) problems = problems " @param " p ","
        }
        if (!ret) problems = problems " @return,"
        if (!example) problems = problems " example,"
        if (problems != "") { sub(/,$/, "", problems); problems = " missing" problems }
      }
      if (problems != "" && !private && (owner in bound)) print FILENAME ":" FNR ": " name ":" problems
      if (!private && (owner in bound)) print "#def"
    }
    if ($0 ~ /^[ \t]*---/ && $0 !~ /^[ \t]*----/) {
      if (n == 0) block_class = 0
      block[++n] = $0
      if ($0 ~ /^[ \t]*---@class[ ]/) block_class = 1
    } else { n = 0; block_class = 0 }
  }' "${sources[@]}")
defs=$(grep -c '^#def$' <<<"$missing" || true)
missing=$(grep -v '^#def$' <<<"$missing" || true)
if [ -n "$missing" ]; then
  echo "FAIL: public functions without a complete doc comment (description, @param, @return, Example):"
  echo "$missing"
  status=1
else
  echo "ok: $defs public function definitions in ${#sources[@]} files have doc comments"
fi

# --- 2 and 3. regenerate the page and compare ---------------------------------
if command -v luajit >/dev/null 2>&1; then
  run=(luajit)
elif [ -n "${1:-}" ] && [ -x "$1" ]; then
  run=("$1")
else
  echo "FAIL: neither luajit nor a flowlua binary to run scripts/gen_api_docs.lua"
  exit 1
fi
tmp=$(mktemp /tmp/flowlua-api.XXXXXX.md)
trap 'rm -f "$tmp"' EXIT
if ! "${run[@]}" scripts/gen_api_docs.lua --check "$tmp"; then
  echo "FAIL: scripts/gen_api_docs.lua --check found doc comments that do not match the code (above)"
  status=1
fi
if [ ! -f docs/api.md ]; then
  echo "FAIL: docs/api.md is missing: run luajit scripts/gen_api_docs.lua"
  status=1
elif ! diff -u docs/api.md "$tmp"; then
  echo "FAIL: docs/api.md is out of date: run luajit scripts/gen_api_docs.lua and commit docs/api.md"
  status=1
else
  echo "ok: docs/api.md matches the doc comments"
fi
exit $status
