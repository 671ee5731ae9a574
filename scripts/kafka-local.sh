#!/usr/bin/env bash
# A real Apache Kafka broker (KRaft: broker and controller in one process) on 127.0.0.1, for machines
# without a Docker engine. The official jars come from Maven Central through scripts/kafka/pom.xml.
#
#   scripts/kafka-local.sh start|stop|kill|status|logs|bootstrap
#
# Settings (environment):
#   KAFKA_PORT            client port                       (default 9092)
#   KAFKA_CONTROLLER_PORT controller port                   (default KAFKA_PORT+1)
#   KAFKA_DATA_DIR        storage, pid file and broker log  (default ~/.cache/saldo/kafka-data-<port>)
#   KAFKA_HEAP            JVM heap                          (default 1g)
#   KAFKA_START_TIMEOUT   seconds to wait for metadata      (default 90)
set -euo pipefail

KAFKA_VERSION=4.1.1
here=$(cd "$(dirname "$0")" && pwd)
cache=${SALDO_CACHE_DIR:-$HOME/.cache/saldo}
libs=$cache/kafka-$KAFKA_VERSION/libs
port=${KAFKA_PORT:-9092}
cport=${KAFKA_CONTROLLER_PORT:-$((port + 1))}
data=${KAFKA_DATA_DIR:-$cache/kafka-data-$port}
heap=${KAFKA_HEAP:-1g}
timeout=${KAFKA_START_TIMEOUT:-90}
pidfile=$data/kafka.pid
logfile=$data/kafka.log
conf=$data/server.properties

say() { echo "kafka-local: $*"; }
die() { echo "kafka-local: $*" >&2; exit 1; }

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid; pid=$(cat "$pidfile")
  # Only a java process we started counts: a recycled pid must not be mistaken for the broker.
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "kafka.Kafka $conf"; then
    echo "$pid"; return 0
  fi
  return 1
}

answers_metadata() { kcat -L -b "127.0.0.1:$port" -m 3 >/dev/null 2>&1; }

fetch_jars() {
  [ -f "$libs/kafka_2.13-$KAFKA_VERSION.jar" ] && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch the Kafka jars: run scripts/install-deps.sh"
  say "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $libs (once)"
  mkdir -p "$libs.tmp"
  if ! mvn -q -B -Dstyle.color=never -f "$here/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DoutputDirectory="$libs.tmp" >"$cache/mvn.log" 2>&1; then
    tail -n 30 "$cache/mvn.log" >&2
    die "could not fetch the Kafka jars (mvn failed; log: $cache/mvn.log)"
  fi
  rm -rf "$libs"; mv "$libs.tmp" "$libs"
}

write_config() {
  mkdir -p "$data/logs"
  cat > "$conf" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data/logs
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Compaction observable within seconds in tests: the cleaner looks often and cleans small segments.
log.cleaner.backoff.ms=500
log.cleaner.dedupe.buffer.size=33554432
log.cleaner.threads=1
CONF
}

start() {
  if pid=$(running_pid); then
    say "already running (pid $pid) on 127.0.0.1:$port"
    return 0
  fi
  command -v java >/dev/null || die "Java 17 is needed: run scripts/install-deps.sh"
  command -v kcat >/dev/null || die "kcat is needed to check the broker: run scripts/install-deps.sh"
  if answers_metadata; then
    die "something else already answers on 127.0.0.1:$port; set KAFKA_PORT or stop it"
  fi
  fetch_jars
  write_config
  if [ ! -f "$data/logs/meta.properties" ]; then
    say "formatting storage in $data/logs"
    local id; id=$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid)
    java -cp "$libs/*" -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" \
      kafka.tools.StorageTool format -t "$id" -c "$conf" >"$data/format.log" 2>&1 \
      || die "formatting failed, see $data/format.log"
  fi
  say "starting Kafka $KAFKA_VERSION (KRaft) on 127.0.0.1:$port, data in $data"
  setsid nohup java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" \
    -cp "$libs/*" kafka.Kafka "$conf" >"$logfile" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  local deadline=$((SECONDS + timeout))
  until answers_metadata; do
    if ! running_pid >/dev/null; then
      tail -n 30 "$logfile" >&2 || true
      die "the broker exited during start-up; log: $logfile"
    fi
    [ $SECONDS -lt $deadline ] || die "no metadata answer within ${timeout}s; log: $logfile"
    sleep 0.3
  done
  say "ready on 127.0.0.1:$port (pid $(cat "$pidfile"))"
}

stop() {
  local signal=${1:-TERM} pid
  if ! pid=$(running_pid); then
    say "not running"
    rm -f "$pidfile"
    return 0
  fi
  say "stopping pid $pid (SIG$signal)"
  kill -"$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "still alive after 30s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$pidfile"
  say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop TERM ;;
  kill) stop KILL ;;   # a crash, for fault tests: no clean shutdown
  status)
    if pid=$(running_pid); then say "running (pid $pid) on 127.0.0.1:$port, data in $data"
    else say "not running"; exit 1; fi ;;
  logs) exec tail -n "${LINES:-100}" -f "$logfile" ;;
  bootstrap) echo "127.0.0.1:$port" ;;
  fetch) fetch_jars ;;
  -h|--help|help)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) echo "usage: $0 start|stop|kill|status|logs|bootstrap|fetch" >&2; exit 2 ;;
esac
