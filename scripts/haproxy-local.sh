#!/usr/bin/env bash
# HAProxy (Debian's) in front of a local consumer_service, with the repository's configuration
# (scripts/haproxy/haproxy.cfg). Loopback only by default.
#   scripts/haproxy-local.sh start | stop | status | check
# Environment: EDGE_PORT (8080), EDGE_HOST (127.0.0.1), SALDO_BACKEND (127.0.0.1:$HTTP_PORT, 5000),
#   SALDO_BACKEND2..SALDO_BACKEND8 (more replicas or sharded instances; scripts/start.sh --shards N),
#   SALDO_CHECK_TOKEN (a token for the /ready check when the service has tokens),
#   SALDO_EDGE_MAXCONN (2000), EDGE_RUN_DIR (run/edge-$EDGE_PORT).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
config=$root/scripts/haproxy/haproxy.cfg
export EDGE_PORT=${EDGE_PORT:-8080}
export SALDO_EDGE_BIND=${EDGE_HOST:-127.0.0.1}:$EDGE_PORT
export SALDO_BACKEND=${SALDO_BACKEND:-127.0.0.1:${HTTP_PORT:-5000}}
export SALDO_CHECK_TOKEN=${SALDO_CHECK_TOKEN:-none}
export SALDO_EDGE_MAXCONN=${SALDO_EDGE_MAXCONN:-2000}
run_dir=${EDGE_RUN_DIR:-$root/run/edge-$EDGE_PORT}
pidfile=$run_dir/haproxy.pid
log=$run_dir/haproxy.log

die() { echo "haproxy-local: $*" >&2; exit 1; }
command -v haproxy >/dev/null || die "haproxy is missing: run scripts/install-deps.sh (Debian package haproxy)"

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid; pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = haproxy ] && echo "$pid"
}

case "${1:-}" in
  check)
    haproxy -c -q -f "$config" || die "$config does not pass haproxy -c"
    echo "haproxy-local: $config is valid"
    ;;
  start)
    mkdir -p "$run_dir"
    if pid=$(running_pid); then echo "haproxy-local: already running (pid $pid) on $SALDO_EDGE_BIND"; exit 0; fi
    haproxy -c -q -f "$config" || die "$config does not pass haproxy -c"
    # -db: stay in the foreground of this background job, so the pid is HAProxy's own.
    haproxy -db -f "$config" > "$log" 2>&1 &
    echo $! > "$pidfile"
    deadline=$((SECONDS + 10))
    until [ -n "$(ss -ltnH "( sport = :$EDGE_PORT )")" ]; do
      kill -0 "$(cat "$pidfile")" 2>/dev/null || { tail -n 20 "$log" >&2; die "haproxy exited"; }
      [ $SECONDS -lt $deadline ] || die "haproxy did not listen on $SALDO_EDGE_BIND in 10 s"
      sleep 0.1
    done
    echo "haproxy-local: http://$SALDO_EDGE_BIND -> $SALDO_BACKEND (pid $(cat "$pidfile"), log $log)"
    ;;
  stop)
    if pid=$(running_pid); then
      kill -TERM "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
      echo "haproxy-local: stopped"
    fi
    rm -f "$pidfile"
    ;;
  status)
    if pid=$(running_pid); then echo "running (pid $pid) on $SALDO_EDGE_BIND"; else echo "not running"; exit 1; fi
    ;;
  *) echo "usage: $0 start|stop|status|check" >&2; exit 2 ;;
esac
