#!/usr/bin/env bash
# The demo, from nothing to a balance you can query: Kafka, the compacted topic, the consumer service
# (in the background), and sample balances for customers 1, 2 and 3.
#
#   scripts/start.sh          then: curl localhost:5000/saldo/1   and   scripts/stop.sh
#   scripts/start.sh --edge   the same behind HAProxy (scripts/haproxy-local.sh), clients on
#                             127.0.0.1:${EDGE_PORT:-8080}: how the service must face any client it does not trust
#   scripts/start.sh --status what runs, whether it is healthy, its URL and log (scripts/status.sh)
#   scripts/start.sh --shards N   sharded mode (README, "Sharded mode"): N instances (1..8) of the service
#                             on 127.0.0.1:5001..500N (HTTP_PORT+1..+N), one consumer group (--shard-group
#                             saldo-demo), each serving its share of the partitions and forwarding the rest,
#                             behind HAProxy on the usual port (HTTP_PORT, 5000); the topic gets
#                             max(6, N) partitions when it is created. Local binaries only (SALDO_KAFKA=local
#                             or external), no PostgreSQL, no snapshots (each instance rebuilds its share);
#                             a stopping instance serves until its partitions' new owners are ready, 10 s at most.
#
# With Docker the service is always behind HAProxy (compose publishes only the edge's port).
# Where a Docker engine answers, it runs `docker compose up -d --wait` (docker-compose.yml); elsewhere it
# builds the binaries and runs a real local broker (scripts/kafka-local.sh). Running it again is harmless:
# what already runs is reused, and sample balances are only sent for customers that do not exist yet.
# The service keeps its table's snapshot in run/snapshot (STATE_DIR; docs/operations.md, "State
# directory"), so a start after stop.sh reads only what is new; the line after "ready" says whether it
# started warm or cold.
# Configuration: .env and the environment (see scripts/demo-env.sh for the script's own settings).
set -euo pipefail
edge=0
shards=0
usage() { echo "usage: scripts/start.sh [--edge | --shards N | --status | --help]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --edge) edge=1 ;;
    --shards)
      [ $# -ge 2 ] && [[ $2 =~ ^[1-8]$ ]] || { echo "start.sh: --shards takes a number of instances, 1 to 8" >&2; usage; }
      shards=$2; shift ;;
    --status) exec "$(dirname "$0")/status.sh" ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) usage ;;
  esac
  shift
done
# Sharded mode always runs behind HAProxy, on the port clients use (the instances take the next ones).
[ $shards = 0 ] || edge=1
# Whether the user chose STATE_DIR (even empty: no snapshots), before the configuration is read.
state_dir_chosen=${STATE_DIR+set}
source "$(dirname "$0")/demo-env.sh"
cd "$root"

ready_timeout=${SALDO_READY_TIMEOUT:-120}
# Customer and balance, as `producer` with no arguments sends them; the ids of the original demo's curl lines.
samples=("1 150.00" "2 2300.50" "3 99.99")
step_no=0
t0=$SECONDS

step() { step_no=$((step_no + 1)); printf '[%d] %s\n' "$step_no" "$*"; current_step=$*; }
info() { printf '    %s\n' "$*"; }
fail() {  # message [log]
  echo "start.sh: step [$step_no] '$current_step' failed: $1" >&2
  if [ -n "${2:-}" ] && [ -f "$2" ]; then
    echo "---- last lines of $2" >&2
    tail -n 25 "$2" >&2
    echo "---- full log: $2" >&2
  fi
  exit 1
}
# Runs a command with its output appended to a log; on failure the step fails naming that log.
logged() {  # log command...
  local log=$1; shift
  "$@" >>"$log" 2>&1 || fail "'$*' exited with $?" "$log"
}

http_status() { curl -s -o /dev/null -m 3 -w '%{http_code}' "$http_url$1" 2>/dev/null || true; }

wait_samples_visible() {  # log to name on failure
  local deadline=$((SECONDS + 30)) s id
  for s in "${samples[@]}"; do
    read -r id _ <<<"$s"
    until [ "$(http_status "/saldo/$id")" = 200 ]; do
      [ $SECONDS -lt $deadline ] || fail "customer $id is not visible at $http_url/saldo/$id after 30s" "$1"
      sleep 0.2
    done
  done
}

# One line from /ready: did the service start from its snapshot (and how old it was), or why not.
report_start() {
  local body start age note
  body=$(curl -s -m 3 "$http_url/ready" 2>/dev/null) || true
  start=$(sed -n 's/.*"start":"\([a-z]*\)".*/\1/p' <<<"$body")
  age=$(sed -n 's/.*"snapshot_age_s":\([0-9.eE+-]*\).*/\1/p' <<<"$body")
  note=$(sed -n 's/.*"start_note":"\(\([^"\\]\|\\.\)*\)".*/\1/p' <<<"$body" | sed 's/\\\(["\\/]\)/\1/g')
  case "$start" in
    warm)
      age=$(awk -v s="${age:-0}" 'BEGIN { if (s < 120) printf "%d s", s; else if (s < 7200) printf "%d min", s / 60;
                                           else printf "%.1f h", s / 3600 }')
      info "warm start: the table came from the snapshot written $age ago; only newer records were read" ;;
    cold)
      info "cold start: the whole topic was replayed (${note:-no state directory: STATE_DIR is empty})" ;;
    *) info "(/ready did not say how the service started)" ;;
  esac
}

# What scripts/status.sh needs to find the parts again (appended: the last assignment wins).
record_settings() {
  printf 'topic=%s\nbootstrap=%s\nhttp_url=%s\nstate_dir=%s\n' "$TOPIC" "$BOOTSTRAP_SERVERS" "$http_url" \
    "${1:-}" >> "$state_file"
}

mkdir -p "$run_dir"

is_local_bootstrap() {  # bootstrap servers
  local host=${1%%,*}
  host=${host%:*}
  case "$host" in localhost | 127.0.0.1 | "[::1]" | ::1) return 0 ;; *) return 1 ;; esac
}

# One resolved setting, without exporting anything: config_value NAME command-that-runs-consumer_service...
config_value() {
  (load_config "${@:2}" >/dev/null && printf '%s' "${!1}")
}

# The binaries: prebuilt (SALDO_BIN_DIR) or built now; then the settings, as they resolve them.
prepare_binaries() {
  if [ -n "${SALDO_BIN_DIR:-}" ]; then
    bin=$SALDO_BIN_DIR
    step "using the binaries in $bin"
  else
    build_log=$run_dir/build.log
    step "installing missing Debian packages and building the binaries (scripts/build.sh; log: $build_log)"
    [ -x build/release/consumer_service/consumer_service ] || info "the first build takes a few minutes"
    : > "$build_log"
    logged "$build_log" scripts/build.sh
    bin=$(tail -n 1 "$build_log")
  fi
  for b in producer/producer producer/producer_interactive tools/saldo_admin consumer_service/consumer_service; do
    [ -x "$bin/$b" ] || fail "$bin/$b is missing (run scripts/build.sh, or unset SALDO_BIN_DIR)"
  done
  load_config "$bin/consumer_service/consumer_service" || fail "the configuration is not valid (consumer_service --print-config, above)"
}

# ---------------------------------------------------------------------------------------------- mode
mode=${SALDO_KAFKA:-auto}
case "$mode" in
  auto | docker | local | external) ;;
  *) echo "start.sh: SALDO_KAFKA must be auto, docker, local or external, not '$mode'" >&2; exit 2 ;;
esac
compose_log=$run_dir/compose.log
bin=""
if [ "$mode" = auto ] && [ $shards -gt 0 ]; then
  # The sharded demo runs local binaries (Compose has its own: docker compose --profile sharded up).
  prepare_binaries
  if is_local_bootstrap "$BOOTSTRAP_SERVERS"; then mode=local; else mode=external; fi
fi
if [ "$mode" = docker ] && [ $shards -gt 0 ]; then
  echo "start.sh: --shards runs local binaries; with Docker use: docker compose --profile sharded up -d --wait" >&2
  exit 2
fi
if [ "$mode" = auto ]; then
  if docker_answers; then
    # Whether BOOTSTRAP_SERVERS is local decides; the image's consumer_service resolves it (with the
    # .env and the environment's value), so no binary has to be built on this machine.
    step "building saldo's image to read the configuration (docker compose build saldo; log: $compose_log)"
    info "the first run builds the image, which takes a few minutes"
    logged "$compose_log" docker compose build saldo
    env_file=$(realpath -m -- "${ENV_FILE:-$root/.env}")
    mount=(); [ -f "$env_file" ] && mount=(-v "$env_file:/app/.env:ro")
    bootstrap=$(config_value BOOTSTRAP_SERVERS docker run --rm "${mount[@]}" \
                  -e "BOOTSTRAP_SERVERS=${BOOTSTRAP_SERVERS:-}" saldo:local consumer_service) \
      || fail "the configuration is not valid" "$compose_log"
    if is_local_bootstrap "$bootstrap"; then mode=docker; else mode=external; fi
  else
    prepare_binaries
    if is_local_bootstrap "$BOOTSTRAP_SERVERS"; then mode=local; else mode=external; fi
  fi
fi
[ "$mode" = docker ] || [ -n "$bin" ] || prepare_binaries

# -------------------------------------------------------------------------------------------- docker
if [ "$mode" = docker ]; then
  step "starting Kafka, the topic, the service and HAProxy with Docker Compose (docker compose up -d --wait saldo edge; log: $compose_log)"
  info "the first run builds the image, which takes a few minutes"
  echo "mode=docker" > "$state_file"
  # Naming the long-running services: older Compose versions count the exited one-shot topic-init as a
  # failure of a bare `up --wait`. Its dependencies (kafka, topic-init) start first anyway.
  logged "$compose_log" docker compose up -d --wait saldo edge
  # The host ports are Compose's own reading of .env: ask it where it published them. Clients reach
  # the service through the edge only.
  http_port=$(docker compose port edge 8080 | sed 's/.*://') || fail "no published port for edge" "$compose_log"
  kafka_port=$(docker compose port kafka 9092 | sed 's/.*://') || fail "no published port for kafka" "$compose_log"
  printf 'mode=docker\nhttp_port=%s\nkafka_port=%s\n' "$http_port" "$kafka_port" > "$state_file"
  http_url=$(http_url_of 127.0.0.1 "$http_port")
  BOOTSTRAP_SERVERS=localhost:$kafka_port
  TOPIC=$(config_value TOPIC docker compose exec -T saldo consumer_service) || TOPIC="?"
  record_settings "volume saldo-state"
  step "waiting until the service has rebuilt the balances ($http_url/ready, up to ${ready_timeout}s)"
  deadline=$((SECONDS + ready_timeout))
  until [ "$(http_status /ready)" = 200 ]; do
    [ $SECONDS -lt $deadline ] || { docker compose logs --tail 50 saldo >>"$compose_log" 2>&1 || true
                                    fail "not ready after ${ready_timeout}s" "$compose_log"; }
    sleep 0.5
  done
  info "ready"
  report_start
  step "sending sample balances for customers 1, 2 and 3 (docker compose run producer)"
  for s in "${samples[@]}"; do
    read -r id amount <<<"$s"
    if [ "$(http_status "/saldo/$id")" = 200 ]; then info "customer $id exists, left as it is"; continue; fi
    logged "$compose_log" docker compose run --rm --no-deps producer producer --id "$id" --saldo "$amount"
    info "customer $id: $amount"
  done
  wait_samples_visible "$compose_log"
  producer_cmd="docker compose run --rm producer producer"
  interactive_cmd="docker compose run --rm -it producer producer_interactive"
else
  http_url=$(http_url_of "$HTTP_HOST" "$HTTP_PORT")

# ------------------------------------------------------------------------------------ Kafka (local)
  kafka_started=0
  kafka_log=$run_dir/kafka.log
  # Read before the state file is rewritten below: whether an earlier start.sh started PostgreSQL.
  earlier_postgres_started=$(state_get postgres_started 0)
  if [ "$mode" = local ]; then
    if [ -z "${KAFKA_PORT:-}" ]; then
      KAFKA_PORT=${BOOTSTRAP_SERVERS%%,*}; KAFKA_PORT=${KAFKA_PORT##*:}
      [[ $KAFKA_PORT =~ ^[0-9]+$ ]] || KAFKA_PORT=9092
    fi
    export KAFKA_PORT
    export KAFKA_DATA_DIR=${KAFKA_DATA_DIR:-${SALDO_CACHE_DIR:-$HOME/.cache/saldo}/kafka-data-$KAFKA_PORT}
    export BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT
    step "starting a local Kafka broker on $BOOTSTRAP_SERVERS (scripts/kafka-local.sh; log: $kafka_log)"
    if scripts/kafka-local.sh status >/dev/null 2>&1; then
      # Ours only if an earlier start.sh started it; then stop.sh stops it, otherwise it is left alone.
      if [ "$(state_get kafka_started 0)" = 1 ] && [ "$(state_get kafka_port '')" = "$KAFKA_PORT" ]; then
        kafka_started=1; info "already running (started by an earlier scripts/start.sh)"
      else
        info "already running (started by scripts/kafka-local.sh; scripts/stop.sh will leave it running)"
      fi
    elif kcat -L -b "$BOOTSTRAP_SERVERS" -m 3 >/dev/null 2>&1; then
      info "another Kafka broker answers there: using it (scripts/stop.sh will leave it running)"
    else
      [ -f "${SALDO_CACHE_DIR:-$HOME/.cache/saldo}/kafka-4.1.1/libs/kafka_2.13-4.1.1.jar" ] \
        || info "the first start fetches the Kafka jars from Maven Central (once)"
      kafka_started=1
      # Recorded before the start, so that stop.sh also cleans up after a start that failed half-way.
      printf 'mode=local\nkafka_started=1\nkafka_port=%s\nkafka_data_dir=%s\nhttp_port=%s\n' \
        "$KAFKA_PORT" "$KAFKA_DATA_DIR" "$HTTP_PORT" > "$state_file"
      logged "$kafka_log" scripts/kafka-local.sh start
      info "ready (data in $KAFKA_DATA_DIR)"
    fi
    printf 'mode=local\nkafka_started=%s\nkafka_port=%s\nkafka_data_dir=%s\nhttp_port=%s\n' \
      "$kafka_started" "$KAFKA_PORT" "$KAFKA_DATA_DIR" "$HTTP_PORT" > "$state_file"
  else
    step "checking the Kafka broker at $BOOTSTRAP_SERVERS (external: started elsewhere, never stopped here)"
    printf 'mode=external\nhttp_port=%s\n' "$HTTP_PORT" > "$state_file"
    logged "$kafka_log" "$bin/tools/saldo_admin" wait-for-broker --timeout 30
  fi

# --------------------------------------------------------------------------------- PostgreSQL
  # The read model (table saldos): an external one when POSTGRES_URL is set, else a local one. Optional:
  # without PostgreSQL the demo runs as before, the service only serves from memory.
  postgres_started=0
  postgres_log=$run_dir/postgres.log
  if [ $shards -gt 0 ]; then
    # Each instance holds only its partitions: one sink per instance would each see a share of the table.
    unset POSTGRES_URL
    step "no PostgreSQL read model in sharded mode (each instance holds only its partitions)"
  elif [ -n "${POSTGRES_URL:-}" ]; then
    step "the service also writes to the PostgreSQL in POSTGRES_URL (external: never started or stopped here)"
  else
    export PG_PORT=${PG_PORT:-5432}
    step "starting a local PostgreSQL on 127.0.0.1:$PG_PORT for the read model (scripts/postgres-local.sh; log: $postgres_log)"
    if [ ! -x /usr/lib/postgresql/15/bin/pg_ctl ]; then
      info "PostgreSQL 15 is not installed (scripts/install-deps.sh installs it): the service runs without it"
    elif scripts/postgres-local.sh status >/dev/null 2>&1; then
      [ "$earlier_postgres_started" = 1 ] && postgres_started=1
      info "already running"
      POSTGRES_URL=$(scripts/postgres-local.sh url)
    elif port_listening "$PG_PORT"; then
      info "port $PG_PORT is taken by another program: the service runs without PostgreSQL (set PG_PORT)"
    else
      postgres_started=1
      printf 'postgres_started=1\npostgres_port=%s\npostgres_data_dir=%s\n' "$PG_PORT" "${PG_DATA_DIR:-}" >> "$state_file"
      logged "$postgres_log" scripts/postgres-local.sh start
      POSTGRES_URL=$(scripts/postgres-local.sh url)
      info "ready (database saldo)"
    fi
    [ -n "${POSTGRES_URL:-}" ] && export POSTGRES_URL
  fi
  printf 'postgres_started=%s\npostgres_port=%s\npostgres_data_dir=%s\n' "$postgres_started" "${PG_PORT:-}" \
    "${PG_DATA_DIR:-}" >> "$state_file"

# ------------------------------------------------------------------------------------------- topic
  topic_log=$run_dir/topic.log
  topic_args=()
  # Sharded: at least one partition per instance (6 by default, so 2, 3 or 6 instances share evenly).
  [ $shards = 0 ] || topic_args=(--partitions "$(( shards > 6 ? shards : 6 ))")
  step "creating the compacted topic '$TOPIC' if missing (scripts/create_topic.sh ${topic_args[*]}; log: $topic_log)"
  logged "$topic_log" env SALDO_BIN_DIR="$bin" scripts/create_topic.sh "${topic_args[@]}"
  info "$(tail -n 1 "$topic_log")"
  topic_partitions=$(sed -n 's/.*partitions=\([0-9]*\).*/\1/p' "$topic_log" | tail -n 1)
  if [ $shards -gt 0 ] && [ -n "$topic_partitions" ] && [ "$topic_partitions" -lt "$shards" ]; then
    info "the existing topic has only $topic_partitions partitions: $((shards - topic_partitions)) instance(s) will hold none"
    info "(adding partitions moves customers off their murmur2 partition; scripts/stop.sh --clean starts over)"
  fi

# ----------------------------------------------------------------------------------------- service
  # The table's snapshot, so that the next start reads only what is new (stop.sh --clean removes it).
  # Not run/state: that is the file in which this script records what it started.
  if [ $shards -gt 0 ]; then
    # No snapshots in sharded mode: each instance rebuilds only its share of the partitions.
    STATE_DIR=
  elif [ -z "${STATE_DIR:-}" ] && [ -z "$state_dir_chosen" ]; then STATE_DIR=$run_dir/snapshot; fi
  export STATE_DIR
  record_settings "$STATE_DIR"
  if [ $shards -gt 0 ]; then
    shard_ports=()
    for i in $(seq 1 "$shards"); do shard_ports+=($((HTTP_PORT + i))); done
    printf 'shards=%s\nshard_ports=%s\n' "$shards" "${shard_ports[*]}" >> "$state_file"
    step "starting $shards sharded instances on 127.0.0.1:${shard_ports[0]}..${shard_ports[-1]} (group saldo-demo; logs: $run_dir/consumer_service-<i>.log)"
    for i in $(seq 1 "$shards"); do
      port=${shard_ports[$((i - 1))]}
      pidfile=$run_dir/consumer_service-$i.pid
      if pid=$(live_pid "$pidfile" consumer_service); then info "instance $i: already running (pid $pid)"; continue; fi
      port_listening "$port" && fail "port $port is already taken by another process (see: ss -ltnp 'sport = :$port'); set HTTP_PORT"
      # Empty in the environment beats a value in .env: no sink and no snapshot for a share of the table.
      POSTGRES_URL= STATE_DIR= setsid nohup "$bin/consumer_service/consumer_service" --http-host 127.0.0.1 --http-port "$port" \
        --shard-group saldo-demo --advertise "http://127.0.0.1:$port" --drain-timeout 10 \
        >>"$run_dir/consumer_service-$i.log" 2>&1 </dev/null &
      echo $! > "$pidfile"
      info "instance $i: pid $(cat "$pidfile"), http://127.0.0.1:$port"
    done
    step "waiting until every instance holds its partitions ready (/ready on each, up to ${ready_timeout}s)"
    deadline=$((SECONDS + ready_timeout))
    for i in $(seq 1 "$shards"); do
      port=${shard_ports[$((i - 1))]}
      until [ "$(curl -s -o /dev/null -m 3 -w '%{http_code}' "http://127.0.0.1:$port/ready" 2>/dev/null)" = 200 ]; do
        live_pid "$run_dir/consumer_service-$i.pid" consumer_service >/dev/null \
          || fail "instance $i exited" "$run_dir/consumer_service-$i.log"
        [ $SECONDS -lt $deadline ] || fail "instance $i not ready after ${ready_timeout}s" "$run_dir/consumer_service-$i.log"
        sleep 0.3
      done
      info "instance $i ready: $(curl -s -m 3 "http://127.0.0.1:$port/shard/status" 2>/dev/null | sed -n 's/.*"assigned":\(\[[^]]*\]\).*/partitions \1/p')"
    done
  else
  step "starting the consumer service on $HTTP_HOST:$HTTP_PORT (log: $service_log; state: ${STATE_DIR:-none})"
  if pid=$(live_pid "$service_pidfile" consumer_service); then
    info "already running (pid $pid)"
  else
    if port_listening "$HTTP_PORT"; then
      fail "port $HTTP_PORT is already taken by another process (see: ss -ltnp 'sport = :$HTTP_PORT'); set HTTP_PORT"
    fi
    setsid nohup "$bin/consumer_service/consumer_service" >>"$service_log" 2>&1 </dev/null &
    echo $! > "$service_pidfile"
    info "pid $(cat "$service_pidfile")"
  fi

  step "waiting until the service has rebuilt the balances ($http_url/ready, up to ${ready_timeout}s)"
  deadline=$((SECONDS + ready_timeout))
  until [ "$(http_status /ready)" = 200 ]; do
    live_pid "$service_pidfile" consumer_service >/dev/null || fail "the service exited" "$service_log"
    [ $SECONDS -lt $deadline ] || fail "not ready after ${ready_timeout}s" "$service_log"
    sleep 0.3
  done
  info "ready"
  report_start
  fi

# --------------------------------------------------------------------------------------- edge (local)
  if [ $edge = 1 ]; then
    if [ $shards -gt 0 ]; then
      # Clients keep the usual port: HAProxy takes it and balances over the instances (health check /ready).
      export EDGE_PORT=$HTTP_PORT EDGE_HOST=127.0.0.1 EDGE_RUN_DIR=$run_dir/edge SALDO_BACKEND=127.0.0.1:${shard_ports[0]}
      for i in $(seq 2 "$shards"); do export "SALDO_BACKEND$i=127.0.0.1:${shard_ports[$((i - 1))]}"; done
    else
      export EDGE_PORT=${EDGE_PORT:-8080} EDGE_RUN_DIR=$run_dir/edge SALDO_BACKEND=127.0.0.1:$HTTP_PORT
    fi
    edge_url=$(http_url_of "${EDGE_HOST:-127.0.0.1}" "$EDGE_PORT")
    step "starting HAProxy in front of the service on $edge_url (scripts/haproxy-local.sh; log: $EDGE_RUN_DIR/haproxy.log)"
    command -v haproxy >/dev/null || fail "haproxy is missing: run scripts/install-deps.sh (Debian package haproxy)"
    if ! scripts/haproxy-local.sh status >/dev/null 2>&1 && port_listening "$EDGE_PORT"; then
      fail "port $EDGE_PORT is already taken by another process; set EDGE_PORT"
    fi
    printf 'edge_started=1\nedge_port=%s\n' "$EDGE_PORT" >> "$state_file"
    logged "$run_dir/edge.log" scripts/haproxy-local.sh start
    # From here on every request goes through the edge, as a client's would.
    http_url=$edge_url
    deadline=$((SECONDS + 20))
    until [ "$(http_status /ready)" = 200 ]; do
      [ $SECONDS -lt $deadline ] || fail "/ready through HAProxy did not answer 200 in 20 s" "$EDGE_RUN_DIR/haproxy.log"
      sleep 0.2
    done
    info "ready: clients use $edge_url (the service's own port stays on $HTTP_HOST:$HTTP_PORT)"
  fi

# ------------------------------------------------------------------------------------------ samples
  producer_log=$run_dir/producer.log
  step "sending sample balances for customers 1, 2 and 3 with the producer (log: $producer_log)"
  for s in "${samples[@]}"; do
    read -r id amount <<<"$s"
    if [ "$(http_status "/saldo/$id")" = 200 ]; then info "customer $id exists, left as it is"; continue; fi
    logged "$producer_log" "$bin/producer/producer" --id "$id" --saldo "$amount"
    info "customer $id: $amount"
  done
  wait_samples_visible "$service_log"
  rel_bin=${bin#"$root"/}
  producer_cmd="$rel_bin/producer/producer"
  interactive_cmd="$rel_bin/producer/producer_interactive"
fi

# ------------------------------------------------------------------------------------- what next
browser_url=${http_url/\/\/127.0.0.1:/\/\/localhost:}
try_line() { printf '  %-62s # %s\n' "$1" "$2"; }
echo
echo "saldo is up in $((SECONDS - t0))s (Kafka: $mode at $BOOTSTRAP_SERVERS, topic $TOPIC). Try:"
echo
try_line "curl $http_url/saldo/1" "a balance: saldo, timestamp, partition, offset"
try_line "curl $http_url/saldo/999" "404: unknown customer"
try_line "$browser_url/" "the lookup page: open it in a browser"
# The interactive producer's page links point at localhost:5000 unless told otherwise.
[ "$browser_url" = http://localhost:5000 ] || interactive_cmd+=" --page-url $browser_url/"
try_line "$interactive_cmd" "type an id, then a balance; open the page link it prints"
try_line "$producer_cmd --id 4 --saldo 99.90" "one update (--delete 4 removes it)"
try_line "curl $http_url/ready" "state and per-partition progress (also /metrics)"
if [ $shards -gt 0 ]; then
  try_line "curl http://127.0.0.1:${shard_ports[0]}/shard/status" "sharded: what instance 1 is assigned and holds"
fi
if [ "$mode" = docker ]; then
  try_line "docker compose exec postgres psql -U saldo -c 'select * from saldos order by cliente_id'" \
    "the same balances in PostgreSQL"
elif [ "$postgres_started" = 1 ]; then
  pg_cmd="scripts/postgres-local.sh psql"
  [ -z "${PG_DATA_DIR:-}" ] || pg_cmd="PG_DATA_DIR=$PG_DATA_DIR $pg_cmd"
  [ "$PG_PORT" = 5432 ] || pg_cmd="PG_PORT=$PG_PORT $pg_cmd"
  try_line "$pg_cmd -c 'select * from saldos order by cliente_id'" "the same balances in PostgreSQL"
elif [ -n "${POSTGRES_URL:-}" ]; then
  try_line "psql \"\$POSTGRES_URL\" -c 'select * from saldos order by cliente_id'" "the same balances in PostgreSQL"
fi
try_line "scripts/status.sh" "each part: healthy or not, its URL and its log"
echo
if [ $shards -gt 0 ]; then
  echo "Stop with: scripts/stop.sh   (every instance at once; scripts/stop.sh --clean also removes the data)"
else
  echo "Stop with: scripts/stop.sh   (the next start is warm; scripts/stop.sh --clean also removes the data)"
fi
