#!/usr/bin/env bash
# security: the whole flow against a secured broker (scripts/kafka-local.sh KAFKA_SECURITY=sasl_ssl:
# SASL_SSL, a throwaway CA, StandardAuthorizer ACLs) with least-privilege users, passwords only in
# files named by KAFKA_PASSWORD_FILE. Admin creates the topic; the producer user writes; the service
# user rebuilds, tails and serves. The producer may not create topics, the service may not write.
# A wrong password, an untrusted CA and a user without Read each give a clear log line and a /ready
# that says why, and the service keeps running. No password in any log, /ready or /metrics.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${SALDO_BUILD_DIR:-${SALDO_E2E_DEFAULT_BUILD_DIR:?set SALDO_BUILD_DIR to a build tree}}
build=$(cd "$build" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/saldo-secured.XXXXXX")
pids=()

fail() { echo "secured_broker_test: FAIL: $*" >&2; exit 1; }
. "$here/../e2e/free_port.sh"

export KAFKA_SECURITY=sasl_ssl KAFKA_DATA_DIR=$work/kafka KAFKA_HEAP=384m
export KAFKA_PORT; KAFKA_PORT=$(free_port "${SALDO_TEST_SECURED_KAFKA_PORT:-19494}")
topic=secured-$$
export KAFKA_ACL_TOPIC=$topic
kl=$src/scripts/kafka-local.sh
bootstrap=127.0.0.1:$KAFKA_PORT

finish() {
  local rc=$?
  trap - EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    for f in "$work"/*.log "$work/kafka/kafka.log"; do [ -f "$f" ] && { echo "---- $f"; tail -n 25 "$f"; }; done
  fi
  "$kl" stop > /dev/null 2>&1 || true
  rm -rf "$work"
  exit $rc
}
trap finish EXIT

"$kl" start
pw() { "$kl" password-file "$1"; }
args() { "$kl" client-args "$1"; }  # -X options, no password
# shellcheck disable=SC2046
as() { local user=$1; shift; KAFKA_PASSWORD_FILE=$(pw "$user") "$@" -b "$bootstrap" $(args "$user"); }

# -- least privilege at the producer side
if as producer "$build/tools/saldo_admin" create-topic --topic "$topic" --partitions 2 --timeout 15 > "$work/producer-create.log" 2>&1; then
  fail "the producer user could create a topic"
fi
as admin "$build/tools/saldo_admin" create-topic --topic "$topic" --partitions 2 > "$work/admin.log" 2>&1 ||
  fail "admin could not create the topic: $(cat "$work/admin.log")"
as producer "$build/producer/producer" -t "$topic" --id 7 --saldo 12.34 > "$work/producer.log" 2>&1 ||
  fail "the producer user could not write: $(cat "$work/producer.log")"
if as service "$build/producer/producer" -t "$topic" --id 8 --saldo 1.00 > "$work/service-write.log" 2>&1; then
  fail "the service user could write to the topic"
fi
grep -qi "authoriz" "$work/service-write.log" || fail "the service user's refused write does not say why: $(tail -n 3 "$work/service-write.log")"

# -- the service as its own user: rebuild, tail, GET
start_service() {  # name port password-file extra-args...
  local name=$1 port=$2 pwfile=$3; shift 3
  KAFKA_PASSWORD_FILE=$pwfile "$build/consumer_service/consumer_service" -b "$bootstrap" -t "$topic" \
    --http-port "$port" "$@" > "$work/$name.log" 2>&1 &
  pids+=($!)
}
ready_field() { curl -s "http://127.0.0.1:$1/ready" || true; }
wait_until() {  # seconds description command...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@"; do [ $SECONDS -lt $deadline ] || fail "$what within the deadline"; sleep 0.2; done
}

p=$(free_port 26060)
start_service service "$p" "$(pw service)" $(args service)
wait_until 60 "the service READY as user 'service'" bash -c "curl -fs http://127.0.0.1:$p/ready > /dev/null"
[ "$(curl -s "http://127.0.0.1:$p/saldo/7")" != "" ] || fail "no answer for /saldo/7"
curl -s "http://127.0.0.1:$p/saldo/7" | grep -q '"saldo":12.34' || fail "GET /saldo/7 after the rebuild: $(curl -s "http://127.0.0.1:$p/saldo/7")"
as producer "$build/producer/producer" -t "$topic" --id 7 --saldo 20.00 > "$work/producer2.log" 2>&1 || fail "second write"
wait_until 30 "the tail to apply the new balance" bash -c "curl -s http://127.0.0.1:$p/saldo/7 | grep -q '\"saldo\":20.00'"

# -- three ways to be refused: each says why, and the service lives on
echo "not-the-password" > "$work/wrong.password"; chmod 600 "$work/wrong.password"
pw_port=$(free_port $((p + 2))); ca_port=$(free_port $((pw_port + 2))); nr_port=$(free_port $((ca_port + 2)))
start_service wrong-password "$pw_port" "$work/wrong.password" $(args service)
start_service untrusted-ca "$ca_port" "$(pw service)" $(args service | sed "s#ssl.ca.location=[^ ]*#ssl.ca.location=$KAFKA_DATA_DIR/secure/other-ca.pem#")
start_service no-read "$nr_port" "$(pw noread)" $(args noread)
check_refusal() {  # name port pattern-in-/ready pattern-in-log
  local name=$1 port=$2 ready_pat=$3 log_pat=$4
  wait_until 30 "$name: /ready naming the cause ($ready_pat)" bash -c "curl -s http://127.0.0.1:$port/ready | grep -q '$ready_pat'"
  local body; body=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$port/ready")
  [ "${body##* }" = 503 ] || fail "$name: /ready answered ${body##* }"
  grep -q "$log_pat" "$work/$name.log" || fail "$name: no log line with '$log_pat'"
  kill -0 "${pids[-1]}" 2>/dev/null || true
  curl -fs "http://127.0.0.1:$port/health" > /dev/null || fail "$name: the service stopped answering /health"
  echo "secured_broker_test: $name -> /ready: $(echo "$body" | grep -o '"access_error":"[^"]*"')"
}
check_refusal wrong-password "$pw_port" '"access_error":"[^"]*Authentication failed' "SASL authentication error"
check_refusal untrusted-ca "$ca_port" '"access_error":"[^"]*certificate verify failed' "certificate verify failed"
check_refusal no-read "$nr_port" '"access_error":"[^"]*Topic authorization failed' "Topic authorization failed"

# -- no secret anywhere it could leak
for user in admin producer service noread; do
  secret=$(cat "$(pw "$user")")
  for f in "$work"/*.log; do grep -qF "$secret" "$f" && fail "$user's password appears in $(basename "$f")"; done
  for port in "$p" "$pw_port" "$ca_port" "$nr_port"; do
    for path in /ready /metrics; do
      curl -s "http://127.0.0.1:$port$path" | grep -qF "$secret" && fail "$user's password appears in $path"
    done
  done
done
"$build/consumer_service/consumer_service" --help | grep -qiF "$(cat "$(pw service)")" && fail "a password in --help"
echo "secured_broker_test: OK (SASL_SSL with ACLs: admin creates, producer writes, service reads; three refusals explained)"
