#!/usr/bin/env bash
# Stops the cluster scripts/start-cluster.sh started (as Flink's
# bin/stop-cluster.sh): the taskmanagers, then the jobmanager (SIGTERM; after
# 10 s SIGKILL), and removes the pid files.
#
#   scripts/stop-cluster.sh [--dir DIR]
set -uo pipefail
dir="${FLOWLUA_CLUSTER_DIR:-/tmp/flowlua-cluster}"
[ "${1:-}" = "--dir" ] && dir="$2"
# running: exists and is not a zombie (an exited daemon waits for its reaper)
running() {
  local state
  state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"
  [ -n "$state" ] && [ "$state" != Z ]
}
stop() { # pidfile name
  local f="$1" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if running "$pid"; then
    echo "Stopping $2 (pid $pid)."
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 200); do running "$pid" || break; sleep 0.05; done
    running "$pid" && kill -KILL "$pid" 2>/dev/null
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
