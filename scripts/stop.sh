#!/usr/bin/env bash
# Stops exactly what scripts/start.sh started (the service or the sharded instances of --shards, and the local broker, the local
# PostgreSQL or the Compose project if it started them) and waits until their ports are free.
#
#   scripts/stop.sh           stop; data, logs and the service's snapshot stay (the next start.sh is warm)
#   scripts/stop.sh --clean   also remove the broker's data and the run directory with the snapshot (like `down -v`)
set -euo pipefail
source "$(dirname "$0")/demo-env.sh"
cd "$root"

clean=0
case "${1:-}" in
  "") ;;
  --clean) clean=1 ;;
  -h | --help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: scripts/stop.sh [--clean]" >&2; exit 2 ;;
esac

say() { echo "stop.sh: $*"; }
port_timeout=${SALDO_PORT_TIMEOUT:-30}

wait_ports_free() {  # port...
  local deadline=$((SECONDS + port_timeout)) p busy
  while :; do
    busy=()
    for p in "$@"; do port_listening "$p" && busy+=("$p"); done
    [ ${#busy[@]} -eq 0 ] && return 0
    if [ $SECONDS -ge $deadline ]; then
      say "ports still listening after ${port_timeout}s: ${busy[*]} (see: ss -ltnp)" >&2
      return 1
    fi
    sleep 0.2
  done
}

mode=$(state_get mode "")
http_port=$(state_get http_port "")  # start.sh records it; stop.sh reads no configuration
ports=()
status=0

if [ -z "$mode" ] && [ ! -f "$service_pidfile" ] && ! compgen -G "$run_dir/consumer_service-*.pid" >/dev/null; then
  say "nothing to stop: no state in $run_dir (scripts/start.sh was not run with this run directory)"
fi

if [ "$mode" = docker ]; then
  args=(--profile demo --profile monitoring down --remove-orphans)
  [ $clean = 1 ] && args+=(-v)
  say "stopping the Compose project (docker compose ${args[*]})"
  docker compose "${args[@]}" || status=1
  ports+=($http_port $(state_get kafka_port ""))
fi

if pid=$(live_pid "$service_pidfile" consumer_service); then
  say "stopping the consumer service (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    say "the service is still alive after 10s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  ports+=($http_port)
elif [ -f "$service_pidfile" ]; then
  say "the consumer service is not running"
fi
rm -f "$service_pidfile"

# start.sh --shards N: every instance at once. Each leaves the group and drains (serves until a new owner
# holds its partitions ready); when all leave together there is no new owner, and each lets go after its
# --drain-timeout (10 s as start.sh runs them). SIGKILL after 30 s.
shard_pids=()
for pidfile in "$run_dir"/consumer_service-*.pid; do
  [ -f "$pidfile" ] || continue
  if pid=$(live_pid "$pidfile" consumer_service); then
    say "stopping sharded instance ${pidfile##*/consumer_service-} (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    shard_pids+=("$pid")
  fi
  rm -f "$pidfile"
done
if [ ${#shard_pids[@]} -gt 0 ]; then
  for _ in $(seq 1 300); do
    alive=0
    for pid in "${shard_pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${shard_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      say "sharded instance pid $pid is still alive after 30s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  ports+=($(state_get shard_ports ""))
fi

if [ "$(state_get edge_started 0)" = 1 ]; then
  edge_port=$(state_get edge_port 8080)
  say "stopping HAProxy on port $edge_port"
  EDGE_PORT=$edge_port EDGE_RUN_DIR=$run_dir/edge scripts/haproxy-local.sh stop || status=1
  ports+=("$edge_port")
fi

if [ "$mode" = local ]; then
  kafka_port=$(state_get kafka_port 9092)
  kafka_data=$(state_get kafka_data_dir "")
  if [ "$(state_get kafka_started 0)" = 1 ]; then
    say "stopping the local Kafka broker on 127.0.0.1:$kafka_port"
    KAFKA_PORT=$kafka_port KAFKA_DATA_DIR=$kafka_data scripts/kafka-local.sh stop || status=1
    ports+=("$kafka_port" "$((kafka_port + 1))")
    if [ $clean = 1 ] && [ -n "$kafka_data" ]; then
      say "removing the broker's data ($kafka_data)"
      rm -rf "$kafka_data"
    fi
  else
    say "leaving the Kafka broker on 127.0.0.1:$kafka_port running: start.sh found it running and did not start it"
  fi
fi

if [ "$(state_get postgres_started 0)" = 1 ]; then
  pg_port=$(state_get postgres_port 5432)
  pg_data=$(state_get postgres_data_dir "")
  say "stopping the local PostgreSQL on 127.0.0.1:$pg_port"
  PG_PORT=$pg_port PG_DATA_DIR=$pg_data scripts/postgres-local.sh stop || status=1
  ports+=("$pg_port")
  if [ $clean = 1 ]; then
    data=${pg_data:-$(PG_PORT=$pg_port scripts/postgres-local.sh datadir)}
    say "removing PostgreSQL's data ($data)"
    rm -rf "$data"
  fi
fi

if [ ${#ports[@]} -gt 0 ]; then
  say "waiting until ports ${ports[*]} are free"
  wait_ports_free "${ports[@]}" || status=1
fi

if [ $clean = 1 ]; then
  say "removing $run_dir"
  rm -rf "$run_dir"
fi
[ $status = 0 ] && say "stopped" || say "stopped, with the problems above" >&2
exit $status
