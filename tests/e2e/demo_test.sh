#!/usr/bin/env bash
# e2e: the README's first command on a machine without Docker. scripts/start.sh brings the demo up with
# its own local broker (on ports of its own); curl answers a sample balance; a second start.sh is
# harmless; producer_interactive driven through a pipe changes a balance that the API then shows;
# scripts/stop.sh leaves no process and no listening port behind; the start after it (--edge: behind
# HAProxy) is warm (from the snapshot in run/snapshot) with every balance as it was; --clean removes the data. The scripts read .env
# through the binaries' parser (consumer_service --print-config).
set -euo pipefail

src=${SALDO_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SALDO_BUILD_DIR:-${SALDO_E2E_DEFAULT_BUILD_DIR:?set SALDO_BUILD_DIR to a build tree}}
work=$(mktemp -d "${TMPDIR:-/tmp}/saldo-e2e-demo.XXXXXX")

fail() { echo "demo_test: FAIL: $*" >&2; exit 1; }
ok() { echo "demo_test: ok: $*"; }

. "$(dirname "$0")/free_port.sh"

export SALDO_KAFKA=local
export SALDO_RUN_DIR=$work/run
export SALDO_BIN_DIR=$build
export KAFKA_PORT; KAFKA_PORT=$(free_port "${SALDO_E2E_KAFKA_PORT:-19392}")
export KAFKA_DATA_DIR=$work/kafka
export KAFKA_HEAP=384m
export PG_PORT; PG_PORT=$(free_port "${SALDO_E2E_PG_PORT:-15492}")
# Not under $work: as root, the cluster belongs to the postgres user, who cannot enter a mktemp dir.
export PG_DATA_DIR=${TMPDIR:-/tmp}/saldo-e2e-postgres-$PG_PORT
unset POSTGRES_URL
export HTTP_HOST=127.0.0.1
unset HTTP_PORT; HTTP_PORT=$(free_port "${SALDO_E2E_HTTP_PORT:-15392}")
# The HTTP port comes from a .env file only, written as the binaries read it (the last assignment
# wins, an inline comment is no part of the value): start.sh must find the port the service uses.
export ENV_FILE=$work/demo.env
printf 'HTTP_PORT=1 # not this one\nHTTP_PORT=%s # the last assignment wins\n' "$HTTP_PORT" > "$ENV_FILE"
export TOPIC=contas
export LOG_LEVEL=info
unset STATE_DIR  # start.sh's default, run/snapshot
url=http://127.0.0.1:$HTTP_PORT
bootstrap=127.0.0.1:$KAFKA_PORT

finish() {
  local rc=$?
  trap - EXIT
  if [ $rc -ne 0 ]; then
    for f in "$work"/start*.out "$work"/stop*.out "$work"/status*.out "$SALDO_RUN_DIR"/*.log "$KAFKA_DATA_DIR"/kafka.log; do
      [ -f "$f" ] && { echo "---- $f (last 40 lines)"; tail -n 40 "$f"; }
    done
    "$src/scripts/stop.sh" --clean >/dev/null 2>&1 || true
  fi
  "$src/scripts/postgres-local.sh" stop >/dev/null 2>&1 || true
  rm -rf "$work" "$PG_DATA_DIR"
  exit $rc
}
trap finish EXIT

# saldo of a GET /saldo/<id> answer, as exact decimal text ("" when not 200).
saldo_of() {
  curl -s -m 3 -w '\n%{http_code}' "$url/saldo/$1" | /usr/bin/python3 -c '
import json, sys
from decimal import Decimal
body, _, status = sys.stdin.read().rpartition("\n")
if status.strip() == "200":
    print(json.loads(body, parse_float=Decimal)["saldo"])'
}

echo "demo_test: broker port $KAFKA_PORT, HTTP port $HTTP_PORT, work dir $work"

# 1. From nothing but a build.
t=$SECONDS
"$src/scripts/start.sh" > "$work/start1.out" 2>&1 || { cat "$work/start1.out"; fail "start.sh exited non-zero"; }
cat "$work/start1.out"
grep -q "saldo is up" "$work/start1.out" || fail "start.sh did not say the demo is up"
grep -q "curl $url/saldo/1" "$work/start1.out" || fail "start.sh did not print the curl line to try"
grep -q "scripts/stop.sh" "$work/start1.out" || fail "start.sh did not say how to stop"
ok "start.sh brought the demo up in $((SECONDS - t))s"
grep -q "cold start: the whole topic was replayed (missing: " "$work/start1.out" \
  || fail "the first start.sh did not say the start was cold because there was no snapshot yet"
ok "the first start says it was cold: no snapshot yet"
service_pid=$(cat "$SALDO_RUN_DIR/consumer_service.pid")
kafka_pid=$(cat "$KAFKA_DATA_DIR/kafka.pid")

# 2. A sample balance, exactly.
[ "$(saldo_of 1)" = "150.00" ] || fail "GET /saldo/1 gave '$(saldo_of 1)', expected the sample 150.00"
[ "$(saldo_of 3)" = "99.99" ] || fail "GET /saldo/3 gave '$(saldo_of 3)', expected the sample 99.99"
curl -s -o /dev/null -w '%{http_code}' "$url/saldo/nao-existe" | grep -qx 404 || fail "unknown id is not 404"
ok "curl /saldo/1 answers the sample balance"

# 2b. The same balances in the local PostgreSQL, with the command start.sh prints.
grep -q "scripts/postgres-local.sh psql -c 'select \* from saldos order by cliente_id'" "$work/start1.out" \
  || fail "start.sh did not print the psql line to try"
rows=""
for _ in $(seq 1 100); do
  rows=$("$src/scripts/postgres-local.sh" psql -Atc "select cliente_id || '=' || saldo from saldos order by 1" 2>/dev/null | tr '\n' ' ' || true)
  [ "$rows" = "1=150.00 2=2300.50 3=99.99 " ] && break
  sleep 0.1
done
[ "$rows" = "1=150.00 2=2300.50 3=99.99 " ] || fail "saldos in PostgreSQL: '$rows'"
ok "the samples are in PostgreSQL's saldos table"

# 3. Running it again is harmless: same processes, nothing resent.
"$src/scripts/start.sh" > "$work/start2.out" 2>&1 || { cat "$work/start2.out"; fail "second start.sh exited non-zero"; }
grep -q "already running (pid $service_pid)" "$work/start2.out" || { cat "$work/start2.out"; fail "second start.sh did not reuse the service"; }
grep -q "customer 1 exists" "$work/start2.out" || fail "second start.sh resent the sample of customer 1"
[ "$(cat "$KAFKA_DATA_DIR/kafka.pid")" = "$kafka_pid" ] || fail "second start.sh restarted the broker"
ok "a second start.sh reuses what runs"

# status.sh (and start.sh --status): every part healthy, with its URL and log.
"$src/scripts/status.sh" > "$work/status1.out" 2>&1 || { cat "$work/status1.out"; fail "status.sh exited non-zero while the demo runs"; }
cat "$work/status1.out"
grep -qE "^kafka +ok +$bootstrap " "$work/status1.out" || fail "status.sh did not list the broker as ok at $bootstrap"
grep -qE "^topic +ok +contas \(3 partitions\)" "$work/status1.out" || fail "status.sh did not list the topic as ok"
grep -qE "^service +ok +$url +.*consumer_service.log" "$work/status1.out" || fail "status.sh did not list the service as ok with its log"
grep -q "READY, cold start" "$work/status1.out" || fail "status.sh did not say the service is READY after a cold start"
"$src/scripts/start.sh" --status > "$work/status2.out" 2>&1 || { cat "$work/status2.out"; fail "start.sh --status exited non-zero"; }
grep -qE "^service +ok" "$work/status2.out" || fail "start.sh --status did not run status.sh"
ok "status.sh lists the broker, the topic and the service as healthy"

# 4. The interactive producer through a pipe: customer id, then balance, then quit.
printf '2\n4321.09\nquit\n' | BOOTSTRAP_SERVERS=$bootstrap timeout 60 "$build/producer/producer_interactive" \
  > "$work/interactive.out" 2>&1 || { cat "$work/interactive.out"; fail "producer_interactive exited non-zero"; }
deadline=$((SECONDS + 20))
until [ "$(saldo_of 2)" = "4321.09" ]; do
  [ $SECONDS -lt $deadline ] || { cat "$work/interactive.out"; fail "GET /saldo/2 still '$(saldo_of 2)' 20s after producer_interactive sent 4321.09"; }
  sleep 0.2
done
ok "producer_interactive changed customer 2 and the API shows it"

# 5. stop.sh: no process, no listening port.
"$src/scripts/stop.sh" > "$work/stop.out" 2>&1 || { cat "$work/stop.out"; fail "stop.sh exited non-zero"; }
cat "$work/stop.out"
for pid in "$service_pid" "$kafka_pid"; do
  ! kill -0 "$pid" 2>/dev/null || fail "process $pid ($(tr '\0' ' ' < /proc/$pid/cmdline | cut -c1-80)) still runs after stop.sh"
done
listening=$(ss -ltnH | awk '{print $4}' | grep -E ":($HTTP_PORT|$KAFKA_PORT|$((KAFKA_PORT + 1))|$PG_PORT)\$" || true)
[ -z "$listening" ] || fail "still listening after stop.sh: $listening"
ok "stop.sh left no process and no listening port"
[ -s "$SALDO_RUN_DIR/snapshot/snapshot.bin" ] || fail "stop.sh left no snapshot in $SALDO_RUN_DIR/snapshot"
if "$src/scripts/status.sh" > "$work/status3.out" 2>&1; then cat "$work/status3.out"; fail "status.sh exited 0 with the demo stopped"; fi
grep -qE "^service +down" "$work/status3.out" || { cat "$work/status3.out"; fail "status.sh did not list the stopped service as down"; }
ok "status.sh exits 1 once the demo is stopped"

# 6. start.sh --edge: a warm start from that snapshot, behind HAProxy, every balance as it was there.
export EDGE_PORT; EDGE_PORT=$(free_port "${SALDO_E2E_EDGE_PORT:-15592}")
"$src/scripts/start.sh" --edge > "$work/start3.out" 2>&1 || { cat "$work/start3.out"; fail "start.sh --edge after stop.sh exited non-zero"; }
cat "$work/start3.out"
url=http://127.0.0.1:$EDGE_PORT
grep -q "curl $url/saldo/1" "$work/start3.out" || fail "start.sh --edge did not send clients to HAProxy on $url"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/health")" = 200 ] || fail "/health through HAProxy"
grep -qE "warm start: the table came from the snapshot written [0-9]+ s ago" "$work/start3.out" \
  || fail "start.sh after stop.sh did not say the start was warm"
grep -q "warm start: " "$SALDO_RUN_DIR/consumer_service.log" || fail "the service's log does not say warm start"
[ "$(saldo_of 2)" = "4321.09" ] || fail "after the warm start GET /saldo/2 gave '$(saldo_of 2)', expected 4321.09"
[ "$(saldo_of 1)" = "150.00" ] || fail "after the warm start GET /saldo/1 gave '$(saldo_of 1)', expected 150.00"
ok "start.sh after stop.sh started warm, with the balances as they were"
"$src/scripts/stop.sh" > "$work/stop2.out" 2>&1 || { cat "$work/stop2.out"; fail "the second stop.sh exited non-zero"; }
[ -z "$(ss -ltnH "( sport = :$EDGE_PORT )")" ] || fail "HAProxy still listens on $EDGE_PORT after stop.sh"
ok "start.sh --edge put HAProxy in front, and stop.sh stopped it"

# 7. --clean removes the broker's data and the run directory.
"$src/scripts/stop.sh" --clean > "$work/clean.out" 2>&1 || { cat "$work/clean.out"; fail "stop.sh --clean exited non-zero"; }
[ ! -e "$KAFKA_DATA_DIR" ] || fail "stop.sh --clean left $KAFKA_DATA_DIR"
[ ! -e "$SALDO_RUN_DIR" ] || fail "stop.sh --clean left $SALDO_RUN_DIR"
[ ! -e "$PG_DATA_DIR" ] || fail "stop.sh --clean left $PG_DATA_DIR"
ok "stop.sh --clean removed the data"
