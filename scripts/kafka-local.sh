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
#   KAFKA_SECURITY        plaintext (default) or sasl_ssl: see below
#
# KAFKA_SECURITY=sasl_ssl: the client port is a SASL_SSL listener with a throwaway CA and broker
# certificate (openssl, PEM), SCRAM-SHA-512 users created at storage format time (and the same users
# for PLAIN), and the KRaft
# StandardAuthorizer with least-privilege ACLs on the topics named by KAFKA_ACL_TOPIC (a prefix,
# default contas):
#   admin      super user: creates topics, sets ACLs
#   producer   Write + Describe (+ IdempotentWrite on the cluster)
#   service    Read + Describe only (and Write on KAFKA_ACL_DLQ_TOPIC when set)
#   noread     Describe only (tests: a user without Read)
# Everything lives in $KAFKA_DATA_DIR/secure: ca.pem, and per user <user>.password (0600). Clients:
#   scripts/kafka-local.sh client-args USER   the -X options (no password) for saldo's binaries
# KAFKA_SASL_MECHANISM (PLAIN) is what client-args names: Debian 12's librdkafka 2.0.2 fails SCRAM
# against Kafka 4.x (a nonce bug fixed in librdkafka 2.6.1, confluentinc/librdkafka#4895), so saldo's
# binaries use PLAIN, which TLS protects; Java clients and newer librdkafka can use SCRAM-SHA-512.
#   export KAFKA_PASSWORD_FILE=$(scripts/kafka-local.sh password-file USER)
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
security=${KAFKA_SECURITY:-plaintext}
acl_topic=${KAFKA_ACL_TOPIC:-contas}
mechanism=${KAFKA_SASL_MECHANISM:-PLAIN}
secure=$data/secure
case "$security" in plaintext | sasl_ssl) ;; *) echo "kafka-local: KAFKA_SECURITY must be plaintext or sasl_ssl" >&2; exit 2 ;; esac
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

# The secured broker is asked as admin, from a kcat config file (a password never goes on a command line).
answers_metadata() {
  if [ "$security" = sasl_ssl ]; then kcat -F "$secure/admin.kcat" -L -b "127.0.0.1:$port" -m 3 >/dev/null 2>&1
  else kcat -L -b "127.0.0.1:$port" -m 3 >/dev/null 2>&1; fi
}

users=(admin producer service noread)

# A throwaway CA and broker certificate for 127.0.0.1/localhost, and a random password per user.
make_secrets() {
  [ -f "$secure/broker.pem" ] && return 0
  command -v openssl >/dev/null || die "openssl is needed for KAFKA_SECURITY=sasl_ssl: run scripts/install-deps.sh"
  mkdir -p "$secure"; chmod 700 "$secure"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=saldo kafka-local CA" \
    -keyout "$secure/ca.key" -out "$secure/ca.pem" -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$secure/broker.key" 2>/dev/null
  openssl req -new -key "$secure/broker.key" -subj "/CN=localhost" -out "$secure/broker.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$secure/broker.ext"
  openssl x509 -req -in "$secure/broker.csr" -CA "$secure/ca.pem" -CAkey "$secure/ca.key" -CAcreateserial \
    -days 30 -extfile "$secure/broker.ext" -out "$secure/broker.crt" 2>/dev/null
  # A second CA that vouches for nothing here: tests point a client at it (an untrusted broker).
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=saldo unrelated CA" \
    -keyout "$secure/other-ca.key" -out "$secure/other-ca.pem" 2>/dev/null
  # Kafka's PEM keystore: the PKCS#8 key, then the certificate chain, in one file.
  cat "$secure/broker.key" "$secure/broker.crt" > "$secure/broker.pem"
  rm -f "$secure/broker.csr" "$secure/broker.ext"
  local u
  for u in "${users[@]}"; do
    (umask 077; openssl rand -hex 24 > "$secure/$u.password")
  done
  (umask 077; cat > "$secure/admin.kcat" <<KCAT
security.protocol=SASL_SSL
sasl.mechanisms=$mechanism
sasl.username=admin
sasl.password=$(cat "$secure/admin.password")
ssl.ca.location=$secure/ca.pem
KCAT
  cat > "$secure/admin.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(cat "$secure/admin.password")";
ssl.truststore.type=PEM
ssl.truststore.location=$secure/ca.pem
PROPS
  )
  chmod 600 "$secure"/*.key "$secure/broker.pem"
}

client_args() {  # user
  echo "-X security.protocol=SASL_SSL -X sasl.mechanisms=$mechanism -X sasl.username=$1 -X ssl.ca.location=$secure/ca.pem"
}

acl() { java -cp "$libs/*" -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" org.apache.kafka.tools.AclCommand \
  --bootstrap-server "127.0.0.1:$port" --command-config "$secure/admin.properties" "$@" >>"$data/acls.log" 2>&1 \
  || { tail -n 20 "$data/acls.log" >&2; die "kafka-acls $* failed (log: $data/acls.log)"; }; }

set_acls() {
  [ -f "$secure/acls.done" ] && return 0
  say "ACLs: producer writes, service reads '$acl_topic*' (prefixed), noread only describes"
  acl --add --allow-principal User:producer --operation Write --operation Describe \
    --resource-pattern-type prefixed --topic "$acl_topic"
  acl --add --allow-principal User:producer --operation IdempotentWrite --cluster
  acl --add --allow-principal User:service --operation Read --operation Describe \
    --resource-pattern-type prefixed --topic "$acl_topic"
  if [ -n "${KAFKA_ACL_DLQ_TOPIC:-}" ]; then
    acl --add --allow-principal User:service --operation Write --operation Describe --topic "$KAFKA_ACL_DLQ_TOPIC"
  fi
  acl --add --allow-principal User:noread --operation Describe --resource-pattern-type prefixed --topic "$acl_topic"
  touch "$secure/acls.done"
}

fetch_jars() {
  [ -f "$libs/kafka_2.13-$KAFKA_VERSION.jar" ] && [ -f "$libs/kafka-tools-$KAFKA_VERSION.jar" ] && return 0
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
# One node is the whole cluster. A stall of the shared machine longer than the broker's session
# (default 9 s) fences the only broker: every partition loses its leader, and a CreateTopics sent
# then hung for 30 s (CI at 387bcef, after controller events of 4-7 s). A longer session rides
# such stalls out; a broker killed and started again registers anew and does not wait for it.
broker.session.timeout.ms=30000
# Compaction observable within seconds in tests: the cleaner looks often and cleans small segments.
log.cleaner.backoff.ms=500
log.cleaner.dedupe.buffer.size=33554432
log.cleaner.threads=1
CONF
  [ "$security" = sasl_ssl ] || return 0
  # Clients and the broker itself use SASL_SSL on the client port; the controller listener stays
  # on loopback with PLAINTEXT (SCRAM cannot serve the KRaft controller), its principal
  # ANONYMOUS is a super user only there.
  local admin_pw u plain_users=""; admin_pw=$(cat "$secure/admin.password")
  for u in "${users[@]}"; do plain_users+=" user_$u=\"$(cat "$secure/$u.password")\""; done
  sed -i -e "s#^listeners=.*#listeners=SASL_SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport#" \
    -e "s#^advertised.listeners=.*#advertised.listeners=SASL_SSL://127.0.0.1:$port#" \
    -e "s#^inter.broker.listener.name=.*#inter.broker.listener.name=SASL_SSL#" \
    -e "s#^listener.security.protocol.map=.*#listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT#" "$conf"
  cat >> "$conf" <<CONF
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_pw";
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$admin_pw"$plain_users;
ssl.keystore.type=PEM
ssl.keystore.location=$secure/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$secure/ca.pem
ssl.enabled.protocols=TLSv1.3,TLSv1.2
ssl.client.auth=none
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:ANONYMOUS
CONF
  chmod 600 "$conf"
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
  [ "$security" = sasl_ssl ] && make_secrets
  write_config
  if [ ! -f "$data/logs/meta.properties" ]; then
    say "formatting storage in $data/logs$([ "$security" = sasl_ssl ] && echo " (SASL_SSL, ACLs)")"
    local id; id=$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid)
    local scram=() u
    if [ "$security" = sasl_ssl ]; then
      for u in "${users[@]}"; do scram+=(--add-scram "SCRAM-SHA-512=[name=$u,password=$(cat "$secure/$u.password")]"); done
    fi
    # The passwords pass through StorageTool's argv once, at format time, on this machine only.
    java -cp "$libs/*" -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" \
      kafka.tools.StorageTool format -t "$id" -c "$conf" "${scram[@]}" >"$data/format.log" 2>&1 \
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
  [ "$security" = sasl_ssl ] && set_acls
  say "ready on 127.0.0.1:$port (pid $(cat "$pidfile"))$([ "$security" = sasl_ssl ] && echo " (SASL_SSL, ACLs)")"
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
  client-args) client_args "${2:?usage: $0 client-args USER}" ;;
  password-file) echo "$secure/${2:?usage: $0 password-file USER}.password" ;;
  ca) echo "$secure/ca.pem" ;;
  fetch) fetch_jars ;;
  -h|--help|help)
    sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) echo "usage: $0 start|stop|kill|status|logs|bootstrap|fetch" >&2; exit 2 ;;
esac
