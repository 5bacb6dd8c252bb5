#!/usr/bin/env bash
# Starts a standalone flowlua cluster on this machine (as Flink's
# bin/start-cluster.sh): one jobmanager and N taskmanagers, in the
# background, with pid files and logs in the cluster directory.
#
#   scripts/start-cluster.sh [-n TASKMANAGERS] [--slots N] [--dir DIR]
#                            [--bind HOST:PORT] [--rest HOST:PORT|off]
#                            [--secret-file FILE] [-- EXTRA flowlua OPTIONS]
#
# Defaults: 1 taskmanager with 1 slot (Flink's), RPC on 127.0.0.1:6123, REST
# on 127.0.0.1:8081, DIR = $FLOWLUA_CLUSTER_DIR or /tmp/flowlua-cluster.
# The binary is $FLOWLUA, else build/flowlua beside this script, else flowlua.
# Stop it with scripts/stop-cluster.sh (same --dir).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${FLOWLUA:-}"
if [ -z "$bin" ]; then
  if [ -x "$here/build/flowlua" ]; then bin="$here/build/flowlua"; else bin="$(command -v flowlua)"; fi
fi
n=1 slots=1 dir="${FLOWLUA_CLUSTER_DIR:-/tmp/flowlua-cluster}" bind=127.0.0.1:6123 rest=127.0.0.1:8081 secret=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n="$2"; shift 2 ;;
    --slots) slots="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --bind) bind="$2"; shift 2 ;;
    --rest) rest="$2"; shift 2 ;;
    --secret-file) secret=(--secret-file "$2"); shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "start-cluster.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$dir/log"
if [ -f "$dir/jobmanager.pid" ] && [ -d "/proc/$(cat "$dir/jobmanager.pid")" ] &&
   [ "$(sed 's/.*) //' "/proc/$(cat "$dir/jobmanager.pid")/stat" | cut -d' ' -f1)" != Z ]; then
  echo "start-cluster.sh: a jobmanager already runs (pid $(cat "$dir/jobmanager.pid")); stop it first" >&2
  exit 1
fi
rm -f "$dir/ports"
echo "Starting cluster."
"$bin" "${extra[@]}" jobmanager --bind "$bind" --rest "$rest" --port-file "$dir/ports" "${secret[@]}" \
  >"$dir/log/jobmanager.log" 2>&1 &
echo $! >"$dir/jobmanager.pid"
echo "Starting standalonesession daemon (jobmanager, pid $!)."
for _ in $(seq 1 100); do
  [ -s "$dir/ports" ] && break
  kill -0 "$(cat "$dir/jobmanager.pid")" 2>/dev/null || { cat "$dir/log/jobmanager.log" >&2; exit 1; }
  sleep 0.05
done
[ -s "$dir/ports" ] || { echo "start-cluster.sh: the jobmanager did not start" >&2; exit 1; }
read -r rpc_port rest_port <"$dir/ports"
jm_host="${bind%:*}"
[ "$jm_host" = "$bind" ] && jm_host=127.0.0.1
[ "$jm_host" = "0.0.0.0" ] && jm_host=127.0.0.1
for i in $(seq 1 "$n"); do
  "$bin" "${extra[@]}" taskmanager --jobmanager "$jm_host:$rpc_port" --slots "$slots" "${secret[@]}" \
    >"$dir/log/taskmanager-$i.log" 2>&1 &
  echo $! >"$dir/taskmanager-$i.pid"
  echo "Starting taskexecutor daemon (taskmanager $i, pid $!)."
done
# wait until every taskmanager registered
for _ in $(seq 1 200); do
  c=$( (grep -l "registered at the jobmanager" "$dir"/log/taskmanager-*.log 2>/dev/null || true) | wc -l)
  [ "$c" -ge "$n" ] && break
  sleep 0.05
done
echo "jobmanager at $jm_host:$rpc_port$( [ "$rest_port" != "-1" ] && echo ", REST at http://${rest%:*}:$rest_port")"
