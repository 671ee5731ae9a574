#!/usr/bin/env bash
# security: consumer_service over HTTPS (--tls-cert/--tls-key) with bearer tokens, through curl.
# HTTPS with a throwaway CA (curl --cacert), TLS 1.1 and plain HTTP refused, a bad or mismatched
# certificate/key is one line and exit 2, tokens right/wrong/missing, and both the certificate and the
# tokens re-read on SIGHUP without a restart. No broker is needed: the service serves while it waits.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${SALDO_BUILD_DIR:-${SALDO_E2E_DEFAULT_BUILD_DIR:?set SALDO_BUILD_DIR to a build tree}}
service=$build/consumer_service/consumer_service
work=$(mktemp -d "${TMPDIR:-/tmp}/saldo-https.XXXXXX")
pid=""

fail() { echo "https_tokens_test: FAIL: $*" >&2; exit 1; }
. "$here/../e2e/free_port.sh"
. "$here/make_certs.sh"
command -v openssl >/dev/null || fail "openssl is missing: run scripts/install-deps.sh"
command -v curl >/dev/null || fail "curl is missing: run scripts/install-deps.sh"
[ -x "$service" ] || fail "$service is not built"

finish() {
  local rc=$?
  trap - EXIT
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  [ $rc -ne 0 ] && [ -f "$work/service.log" ] && { echo "---- service log"; tail -n 40 "$work/service.log"; }
  rm -rf "$work"
  exit $rc
}
trap finish EXIT

port=$(free_port "${SALDO_TEST_HTTP_PORT:-26010}")
dead_broker=127.0.0.1:$(free_port $((port + 2)))  # nothing listens there: the service keeps waiting
make_ca "$work" ca1
make_ca "$work" ca2
make_cert "$work" server1 ca1 "IP:127.0.0.1,DNS:localhost"
make_cert "$work" server2 ca2 "IP:127.0.0.1,DNS:localhost"
alice=alice-$(openssl rand -hex 16)
bob=bob-$(openssl rand -hex 16)
printf '# test tokens\nalice:%s\n' "$alice" > "$work/tokens"
cp "$work/server1.pem" "$work/cert.pem"; cp "$work/server1.key" "$work/key.pem"

# -- bad files: one line on stderr, exit 2, before anything listens
expect_exit2() {  # expected-substring args...
  local want=$1; shift
  set +e
  "$service" --http-port "$port" -b "$dead_broker" "$@" > "$work/bad.out" 2> "$work/bad.err"
  local rc=$?
  set -e
  [ $rc -eq 2 ] || fail "exit $rc (want 2) for $*: $(cat "$work/bad.err")"
  [ "$(wc -l < "$work/bad.err")" -eq 1 ] || fail "want one line on stderr for $*, got: $(cat "$work/bad.err")"
  grep -qF -e "$want" "$work/bad.err" || fail "stderr for $* lacks '$want': $(cat "$work/bad.err")"
}
expect_exit2 "--tls-cert: cannot read $work/absent.pem" --tls-cert "$work/absent.pem" --tls-key "$work/key.pem"
expect_exit2 "--tls-key: cannot read $work/absent.key" --tls-cert "$work/cert.pem" --tls-key "$work/absent.key"
expect_exit2 "holds no PEM certificate" --tls-cert "$work/tokens" --tls-key "$work/key.pem"
expect_exit2 "does not match the certificate" --tls-cert "$work/cert.pem" --tls-key "$work/server2.key"
expect_exit2 "--tls-cert and --tls-key go together" --tls-cert "$work/cert.pem"
printf 'alice %s\n' "$alice" > "$work/bad-tokens"
expect_exit2 "line 1: expected name:token" --http-tokens-file "$work/bad-tokens"
grep -qF "$alice" "$work/bad.err" && fail "the token appeared in the error line"

# -- the service over HTTPS with tokens
"$service" --http-port "$port" -b "$dead_broker" --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" \
  --http-tokens-file "$work/tokens" > "$work/service.log" 2>&1 &
pid=$!
url=https://127.0.0.1:$port
deadline=$((SECONDS + 20))
until curl -fsS --cacert "$work/ca1.pem" -o /dev/null "$url/health" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || fail "the service exited"
  [ $SECONDS -lt $deadline ] || fail "no HTTPS answer on $url/health in 20 s"
  sleep 0.1
done

code() { curl -sS -o /dev/null -w '%{http_code}' "$@" || true; }
[ "$(code --cacert "$work/ca1.pem" "$url/health")" = 200 ] || fail "/health over HTTPS"
# Untrusted: the system CAs and the other test CA do not vouch for this certificate.
curl -sS -o /dev/null "$url/health" 2>/dev/null && fail "curl trusted the throwaway CA without --cacert"
curl -sS -o /dev/null --cacert "$work/ca2.pem" "$url/health" 2>/dev/null && fail "ca2 accepted ca1's certificate"
# TLS 1.2+ only.
curl -sS -o /dev/null --cacert "$work/ca1.pem" --tlsv1.1 --tls-max 1.1 "$url/health" 2>/dev/null &&
  fail "a TLS 1.1 handshake was accepted"
[ "$(code --cacert "$work/ca1.pem" --tlsv1.2 --tls-max 1.2 "$url/health")" = 200 ] || fail "TLS 1.2 refused"
# Plain HTTP to the TLS port gets no HTTP answer.
plain=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health" 2>/dev/null || true)
[ "$plain" = 000 ] || fail "plain HTTP to the TLS port answered $plain"

# Tokens: missing, wrong, right; /health and the page open.
[ "$(code --cacert "$work/ca1.pem" "$url/ready")" = 401 ] || fail "/ready without a token"
curl -sS -D - -o /dev/null --cacert "$work/ca1.pem" "$url/saldo/1" | grep -qi '^WWW-Authenticate: Bearer realm="saldo"' ||
  fail "no WWW-Authenticate on 401"
[ "$(code --cacert "$work/ca1.pem" -H "Authorization: Bearer $bob" "$url/saldo/1")" = 401 ] || fail "a wrong token was let in"
[ "$(code --cacert "$work/ca1.pem" -H "Authorization: Bearer $alice" "$url/saldo/1")" = 503 ] ||
  fail "alice's token was refused (want 503: no broker, still starting)"
[ "$(code --cacert "$work/ca1.pem" "$url/")" = 200 ] || fail "the page needs no token"
[ "$(code --cacert "$work/ca1.pem" "$url/metrics")" = 401 ] || fail "/metrics without a token"
metrics=$(curl -fsS --cacert "$work/ca1.pem" -H "Authorization: Bearer $alice" "$url/metrics")
grep -q '^saldo_http_auth_failures_total{reason="missing"} 3$' <<< "$metrics" || fail "missing refusals not counted: $(grep auth_fail <<< "$metrics")"
grep -q '^saldo_http_auth_failures_total{reason="wrong"} 1$' <<< "$metrics" || fail "wrong refusals not counted"

# SIGHUP: bob replaces alice, and the certificate of ca2 replaces ca1's, without a restart.
printf 'bob:%s\n' "$bob" > "$work/tokens"
cp "$work/server2.pem" "$work/cert.pem"; cp "$work/server2.key" "$work/key.pem"
kill -HUP "$pid"
deadline=$((SECONDS + 10))
until [ "$(code --cacert "$work/ca2.pem" -H "Authorization: Bearer $bob" "$url/saldo/1")" = 503 ]; do
  [ $SECONDS -lt $deadline ] || fail "after SIGHUP, bob over ca2's certificate was not let in within 10 s"
  sleep 0.1
done
[ "$(code --cacert "$work/ca2.pem" -H "Authorization: Bearer $alice" "$url/saldo/1")" = 401 ] || fail "alice still let in after SIGHUP"
curl -sS -o /dev/null --cacert "$work/ca1.pem" "$url/health" 2>/dev/null && fail "the old certificate is still served"
# A broken file on SIGHUP keeps what is in force.
echo "garbage" > "$work/key.pem"
kill -HUP "$pid"
deadline=$((SECONDS + 10))
until grep -q "previous certificate stays in force" "$work/service.log"; do
  [ $SECONDS -lt $deadline ] || fail "no log line for a bad key on SIGHUP"
  sleep 0.1
done
[ "$(code --cacert "$work/ca2.pem" "$url/health")" = 200 ] || fail "a bad key on SIGHUP broke HTTPS"
kill -0 "$pid" || fail "the service died"

grep -qF "$alice" "$work/service.log" && fail "a token appeared in the log"
grep -qF "$bob" "$work/service.log" && fail "a token appeared in the log"
echo "https_tokens_test: OK (HTTPS on $port, TLS 1.2+, plain HTTP refused, tokens and certificate re-read on SIGHUP)"
