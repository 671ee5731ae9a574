#!/usr/bin/env bash
# What the demo runs: each part, whether it is healthy, where to reach it and where its log is.
#
#   scripts/status.sh         (or scripts/start.sh --status)
#
# The parts scripts/start.sh starts (the Kafka broker, the topic, the consumer service) are always
# listed; PostgreSQL (scripts/postgres-local.sh) and HAProxy (scripts/haproxy-local.sh) only when
# their pid file or port shows that they were started. Exit status 0 when every listed part is
# healthy, 1 otherwise (also when the demo is not running). It starts, builds and changes nothing.
set -euo pipefail
source "$(dirname "$0")/demo-env.sh"
cd "$root"

case "${1:-}" in
  "") ;;
  -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: scripts/status.sh" >&2; exit 2 ;;
esac

command -v kcat >/dev/null || { echo "status.sh: kcat is missing: run scripts/install-deps.sh --demo" >&2; exit 1; }

unhealthy=0
# A path relative to the repository when it is inside it: shorter lines.
short() { local p=${1#"$root"/}; printf '%s' "${p/#$HOME/\~}"; }
row() {  # part health url log [detail]
  printf '%-11s %-9s %-36s %s\n' "$1" "$2" "$3" "$4"
  [ -z "${5:-}" ] || printf '%-11s %s\n' "" "$5"
  case "$2" in ok) ;; *) unhealthy=1 ;; esac
}
# The first "name": of /ready's body: its own fields come before the nested ones ("postgres":{"state":…}).
json_string() { { grep -o "\"$1\":\"\\([^\"\\\\]\\|\\\\.\\)*\"" <<<"$2" || true; } | head -n 1 | sed "s/^\"$1\":\"//; s/\"\$//"; }
json_number() { { grep -o "\"$1\":[0-9.eE+-]*" <<<"$2" || true; } | head -n 1 | sed "s/^\"$1\"://"; }

mode=$(state_get mode "")
if [ -z "$mode" ]; then
  echo "status.sh: the demo is not running: no state in $run_dir (start it with scripts/start.sh)"
  exit 1
fi
kafka_port=$(state_get kafka_port 9092)
kafka_data=$(state_get kafka_data_dir "")
http_port=$(state_get http_port 5000)
http_url=$(state_get http_url "http://127.0.0.1:$http_port")
bootstrap=$(state_get bootstrap "127.0.0.1:$kafka_port")
topic=$(state_get topic "${TOPIC:-contas}")
state_dir=$(state_get state_dir "")

echo "the demo started by scripts/start.sh (Kafka: $mode; run directory $(short "$run_dir")):"
printf '%-11s %-9s %-36s %s\n' part health url log

# ---------------------------------------------------------------------------------------- broker
broker_ok=0
kcat -L -b "$bootstrap" -m 3 >/dev/null 2>&1 && broker_ok=1
case "$mode" in
  local)
    broker_log="$(short "$run_dir/kafka.log"), broker: $(short "${kafka_data:-?}/kafka.log")"
    if [ "$(state_get kafka_started 0)" = 1 ] \
       && ! KAFKA_PORT=$kafka_port KAFKA_DATA_DIR=$kafka_data scripts/kafka-local.sh status >/dev/null 2>&1; then
      row kafka down "$bootstrap" "$broker_log" "the broker start.sh started is not running (scripts/kafka-local.sh)"
      broker_ok=0
    elif [ $broker_ok = 1 ]; then row kafka ok "$bootstrap" "$broker_log"
    else row kafka down "$bootstrap" "$broker_log" "no broker answers there"; fi ;;
  docker)
    if [ $broker_ok = 1 ]; then row kafka ok "$bootstrap" "docker compose logs kafka"
    else row kafka down "$bootstrap" "docker compose logs kafka" "no broker answers there (docker compose ps)"; fi ;;
  *)
    if [ $broker_ok = 1 ]; then row kafka ok "$bootstrap" "(external: not started by start.sh)"
    else row kafka down "$bootstrap" "(external: not started by start.sh)" "no broker answers there"; fi ;;
esac

# ----------------------------------------------------------------------------------------- topic
if [ $broker_ok = 1 ]; then
  meta=$(kcat -L -b "$bootstrap" -t "$topic" -m 3 2>&1 || true)
  partitions=$(sed -n "s/^ *topic \"$topic\" with \([0-9]*\) partitions.*/\1/p" <<<"$meta")
  if [ -n "$partitions" ] && ! grep -q "Broker: Unknown topic" <<<"$meta"; then
    row topic ok "$topic ($partitions partitions)" "-"
  else
    row topic missing "$topic" "-" "the topic does not exist (scripts/create_topic.sh)"
  fi
else
  row topic unknown "$topic" "-" "no broker to ask"
fi

# --------------------------------------------------------------------------------------- service
case "$mode" in
  docker) service_log="docker compose logs saldo" ;;
  *) service_log=$(short "$service_log") ;;
esac
ready=$(curl -s -m 3 -w '\n%{http_code}' "$http_url/ready" 2>/dev/null || true)
code=${ready##*$'\n'}
body=${ready%$'\n'*}
state=$(json_string state "$body")
start=$(json_string start "$body")
age=$(json_number snapshot_age_s "$body")
detail="${state:-no answer}"
[ -z "$start" ] || detail+=", $start start"
[ -z "$age" ] || detail+=" from a snapshot $(printf '%.0f' "$age") s old"
[ -z "$state_dir" ] || detail+=", state in $(short "$state_dir")"
warning=$(json_string topic_warning "$body")
[ -z "$warning" ] || detail+="; topic: $warning"
shard_ports=$(state_get shard_ports "")
if [ "$mode" != docker ] && [ -n "$shard_ports" ]; then
  # start.sh --shards N: one row per instance (HAProxy, below, is where clients connect).
  i=0
  for port in $shard_ports; do
    i=$((i + 1))
    url="http://127.0.0.1:$port"
    log=$(short "$run_dir/consumer_service-$i.log")
    code=$(curl -s -o /dev/null -m 3 -w '%{http_code}' "$url/ready" 2>/dev/null || true)
    assigned=$(curl -s -m 3 "$url/shard/status" 2>/dev/null | sed -n 's/.*"assigned":\(\[[^]]*\]\).*/\1/p')
    if ! live_pid "$run_dir/consumer_service-$i.pid" consumer_service >/dev/null; then
      row "service-$i" down "$url" "$log" "not running (no live pid in $(short "$run_dir/consumer_service-$i.pid"))"
    elif [ "$code" = 200 ]; then
      row "service-$i" ok "$url" "$log" "READY, shard group saldo-demo, partitions ${assigned:-?}"
    else
      row "service-$i" "not-ready" "$url" "$log" "GET /ready: ${code:-no answer}"
    fi
  done
elif [ "$mode" != docker ] && ! pid=$(live_pid "$service_pidfile" consumer_service); then
  row service down "$http_url" "$service_log" "not running (no live pid in $(short "$service_pidfile"))"
elif [ "$code" = 200 ]; then
  row service ok "$http_url" "$service_log" "$detail"
else
  progress=$(json_number progress "$body")
  [ -z "$progress" ] || detail+=", $(awk -v p="$progress" 'BEGIN { printf "%.0f", 100 * p }')% rebuilt"
  row service "${state:-down}" "$http_url" "$service_log" "$detail (GET /ready: ${code:-no answer})"
fi

# ------------------------------------------------------------------- PostgreSQL, if it was started
if [ -x scripts/postgres-local.sh ]; then
  pg_port=${PG_PORT:-$(state_get pg_port 5432)}
  if [ "$(id -u)" -eq 0 ]; then pg_data=${PG_DATA_DIR:-/var/tmp/saldo-postgres-$pg_port}
  else pg_data=${PG_DATA_DIR:-${SALDO_CACHE_DIR:-$HOME/.cache/saldo}/postgres-$pg_port}; fi
  if [ -f "$pg_data/cluster/postmaster.pid" ] || port_listening "$pg_port"; then
    pg_url="postgresql://127.0.0.1:$pg_port/${PG_DATABASE:-saldo}"
    if PG_PORT=$pg_port PG_DATA_DIR=$pg_data scripts/postgres-local.sh status >/dev/null 2>&1; then
      row postgresql ok "$pg_url" "$(short "$pg_data/postgres.log")"
    else
      row postgresql down "$pg_url" "$(short "$pg_data/postgres.log")" "scripts/postgres-local.sh status says it is not running"
    fi
  fi
fi

# ---------------------------------------------------------------------- HAProxy, if it was started
shopt -s nullglob
declare -A seen=()
# start.sh --edge and --shards keep theirs in run/edge (its port in the state file); haproxy-local.sh's
# own default is run/edge-<port>.
edge_dirs=()
[ "$(state_get edge_started 0)" = 1 ] && edge_dirs+=("$run_dir/edge/haproxy.pid")
for pidfile in "${edge_dirs[@]}" "$run_dir"/edge-*/haproxy.pid "$root"/run/edge-*/haproxy.pid; do
  dir=$(dirname "$pidfile")
  [ -z "${seen[$dir]:-}" ] || continue
  seen[$dir]=1
  if [ "$dir" = "$run_dir/edge" ]; then edge_port=$(state_get edge_port 8080); else edge_port=${dir##*/edge-}; fi
  edge_url="http://127.0.0.1:$edge_port"
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = haproxy ] && port_listening "$edge_port"; then
    row haproxy ok "$edge_url" "$(short "$dir/haproxy.log")" \
      "GET /ready through it: $(curl -s -o /dev/null -m 3 -w '%{http_code}' "$edge_url/ready" 2>/dev/null || true)"
  else
    row haproxy down "$edge_url" "$(short "$dir/haproxy.log")" "not running (stale pid file $(short "$pidfile"))"
  fi
done

exit $unhealthy
