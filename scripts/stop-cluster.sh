#!/usr/bin/env bash
# Stops the cluster scripts/start-cluster.sh started (as Flink's
# bin/stop-cluster.sh): the taskmanagers, then the jobmanager (SIGTERM; after
# 10 s SIGKILL), and removes the pid files.
#
#   scripts/stop-cluster.sh [--dir DIR]
set -uo pipefail
dir="${FLOWLUA_CLUSTER_DIR:-/tmp/flowlua-cluster}"
[ "${1:-}" = "--dir" ] && dir="$2"
stop() { # pidfile name
  local f="$1" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    echo "Stopping $2 (pid $pid)."
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$f"
}
found=0
for f in "$dir"/taskmanager-*.pid; do
  [ -e "$f" ] || continue
  found=1
  stop "$f" "taskexecutor daemon"
done
[ -f "$dir/jobmanager.pid" ] && found=1
stop "$dir/jobmanager.pid" "standalonesession daemon"
rm -f "$dir/ports"
[ "$found" = 1 ] || echo "No cluster to stop in $dir."
