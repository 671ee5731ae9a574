#!/usr/bin/env bash
# e2e: the page at GET / in Debian's headless Chromium (tests/e2e/page_test.mjs, playwright-core).
# The demo comes up through scripts/start.sh against the test broker (SALDO_TEST_BOOTSTRAP_SERVERS, on a
# topic of its own) or, without one, its own local broker. A second service on a topic that does not
# exist stays rebuilding, so the page's 503 message is seen for real. Screenshots are kept in
# $SALDO_BUILD_DIR/e2e-artifacts. The live page is checked too: updates sent with the producer appear
# without a reload (Server-Sent Events), and the producer's link (?id=&after=) shows its own write.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=${SALDO_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
build=${SALDO_BUILD_DIR:-${SALDO_E2E_DEFAULT_BUILD_DIR:?set SALDO_BUILD_DIR to a build tree}}
artifacts=$build/e2e-artifacts
work=$(mktemp -d "${TMPDIR:-/tmp}/saldo-e2e-browser.XXXXXX")
rebuilding_pid=""
token_pid=""

fail() { echo "browser_test: FAIL: $*" >&2; exit 1; }

. "$(dirname "$0")/free_port.sh"

[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing: run scripts/install-deps.sh (Debian package chromium)"
command -v node >/dev/null || fail "node is missing: run scripts/install-deps.sh"
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "browser_test: installing playwright-core (npm ci in tests/e2e)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed in $here"
fi

export SALDO_RUN_DIR=$work/run
export SALDO_BIN_DIR=$build
export HTTP_HOST=127.0.0.1
# SALDO_E2E_PORT_BASE: where to look for free ports (engineers sharing a machine keep to their own range).
export HTTP_PORT; HTTP_PORT=$(free_port "${SALDO_E2E_PORT_BASE:-15492}")
export LOG_LEVEL=info
if [ -n "${SALDO_TEST_BOOTSTRAP_SERVERS:-}" ]; then
  export SALDO_KAFKA=external BOOTSTRAP_SERVERS=$SALDO_TEST_BOOTSTRAP_SERVERS
  export TOPIC=e2e-page-$$-$RANDOM
  bootstrap=$SALDO_TEST_BOOTSTRAP_SERVERS
else
  export SALDO_KAFKA=local KAFKA_DATA_DIR=$work/kafka KAFKA_HEAP=384m TOPIC=contas
  export KAFKA_PORT; KAFKA_PORT=$(free_port 19492)
  bootstrap=127.0.0.1:$KAFKA_PORT
fi

finish() {
  local rc=$?
  trap - EXIT
  for pid in $rebuilding_pid $token_pid; do
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ $rc -ne 0 ]; then
    for f in "$work"/*.out "$work"/*.log "$SALDO_RUN_DIR"/*.log; do
      [ -f "$f" ] && { echo "---- $f (last 30 lines)"; tail -n 30 "$f"; }
    done
  fi
  "$src/scripts/stop.sh" --clean > "$work/stop.out" 2>&1 || { cat "$work/stop.out"; rc=1; }
  rm -rf "$work"
  exit $rc
}
trap finish EXIT

"$src/scripts/start.sh" > "$work/start.out" 2>&1 || fail "scripts/start.sh failed"
# Customers 4 and 5 (a zero and a negative balance) too: `producer` with no arguments sends all samples.
BOOTSTRAP_SERVERS=$bootstrap "$build/producer/producer" > "$work/producer.out" 2>&1 || fail "producer (samples) failed"
deadline=$((SECONDS + 20))
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/saldo/5")" = 200 ]; do
  [ $SECONDS -lt $deadline ] || fail "customer 5 not visible 20s after the producer sent it"
  sleep 0.2
done

# Customer 7: a good balance, then a poison record (a real third decimal) that the page must mention.
BOOTSTRAP_SERVERS=$bootstrap "$build/producer/producer" --id 7 --saldo 10 > "$work/producer7.out" 2>&1 ||
  fail "producer (customer 7) failed"
printf '%s\n' '{"cliente_id":"7","saldo":1234.567,"timestamp":"2025-10-14T10:30:45"}' |
  kcat -P -b "$bootstrap" -t "${TOPIC:-contas}" -k 7 -X partitioner=murmur2_random > "$work/kcat.out" 2>&1 ||
  fail "kcat could not send the poison record"
deadline=$((SECONDS + 20))
until curl -s "http://127.0.0.1:$HTTP_PORT/saldo/7" | grep -q '"warning"'; do
  [ $SECONDS -lt $deadline ] || fail "customer 7's rejected record not reported 20s after it was sent"
  sleep 0.2
done

# A service on a topic that does not exist: it waits for it, so it answers 503 for as long as we like.
rebuilding_port=$(free_port $((HTTP_PORT + 2)))
TOPIC=e2e-missing-$$-$RANDOM HTTP_PORT=$rebuilding_port BOOTSTRAP_SERVERS=$bootstrap \
  "$build/consumer_service/consumer_service" > "$work/rebuilding-service.log" 2>&1 &
rebuilding_pid=$!
deadline=$((SECONDS + 20))
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$rebuilding_port/saldo/1")" = 503 ]; do
  kill -0 "$rebuilding_pid" 2>/dev/null || fail "the service on a missing topic exited"
  [ $SECONDS -lt $deadline ] || fail "the service on a missing topic does not answer 503"
  sleep 0.2
done

# The same table behind bearer tokens: the page must ask for one.
token_port=$(free_port $((rebuilding_port + 2)))
token=e2e-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
printf 'browser:%s\n' "$token" > "$work/tokens"
HTTP_PORT=$token_port BOOTSTRAP_SERVERS=$bootstrap HTTP_TOKENS_FILE=$work/tokens \
  "$build/consumer_service/consumer_service" > "$work/token-service.log" 2>&1 &
token_pid=$!
deadline=$((SECONDS + 30))
until [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:$token_port/saldo/1")" = 200 ]; do
  kill -0 "$token_pid" 2>/dev/null || fail "the service with tokens exited"
  [ $SECONDS -lt $deadline ] || fail "the service with tokens is not ready in 30 s"
  sleep 0.2
done

rm -rf "$artifacts"
PRODUCER=$build/producer/producer BOOTSTRAP=$bootstrap TOPIC=${TOPIC:-contas} \
TOKEN_URL=http://127.0.0.1:$token_port/ TOKEN=$token \
PAGE_URL=http://127.0.0.1:$HTTP_PORT/ REBUILDING_URL=http://127.0.0.1:$rebuilding_port/ ARTIFACTS=$artifacts \
  timeout 180 node "$here/page_test.mjs"
