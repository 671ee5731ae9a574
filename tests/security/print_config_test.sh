#!/usr/bin/env bash
# security: consumer_service --print-config, the check scripts/start.sh relies on. It must refuse what
# a start refuses (exit 2, one line naming why: a bad topic, a tokens file that does not parse, an
# unreadable certificate), never print a password, refuse secrets on the command line (ps shows it
# to every user), and warn on stderr, leaving stdout for eval, when a small pool turns streams off.
# No broker is needed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${SALDO_BUILD_DIR:-${SALDO_E2E_DEFAULT_BUILD_DIR:?set SALDO_BUILD_DIR to a build tree}}
service=$build/consumer_service/consumer_service
work=$(mktemp -d "${TMPDIR:-/tmp}/saldo-print-config.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "print_config_test: FAIL: $*" >&2; exit 1; }
[ -x "$service" ] || fail "$service is not built"

# The settings come from the command line and the environment below only.
cd "$work"
unset POSTGRES_URL HTTP_TOKENS_FILE TLS_CERT TLS_KEY TOPIC HTTP_THREADS SSE_MAX_STREAMS HTTP_MAX_WAITING ENV_FILE

run() {  # args... -> $rc, $work/out, $work/err
  set +e
  "$service" --print-config "$@" > "$work/out" 2> "$work/err"
  rc=$?
  set -e
}

expect_exit2() {  # expected-substring args...
  local want=$1; shift
  run "$@"
  [ "$rc" -eq 2 ] || fail "--print-config $* exited $rc (want 2); stderr: $(cat "$work/err")"
  [ "$(wc -l < "$work/err")" -eq 1 ] || fail "want one line on stderr for $*, got: $(cat "$work/err")"
  grep -qF -e "$want" "$work/err" || fail "stderr for $* lacks '$want': $(cat "$work/err")"
  [ ! -s "$work/out" ] || fail "--print-config $* printed settings although they are not valid"
}

# -- the checks of a start
expect_exit2 "is not a valid Kafka topic name" --topic 'bad topic'
printf 'alice s3cr3t-token\n' > "$work/bad-tokens"
expect_exit2 "line 1: expected name:token" --http-tokens-file "$work/bad-tokens"
grep -qF "s3cr3t-token" "$work/err" && fail "the token appeared in the error line"
expect_exit2 "--tls-cert: cannot read $work/absent.pem" --tls-cert "$work/absent.pem" --tls-key "$work/absent.key"
expect_exit2 "--http-threads: 0 is not in 1..20000" --http-threads 0
expect_exit2 "--state-dir $work/bad-tokens is not a directory" --state-dir "$work/bad-tokens"
expect_exit2 "--postgres-table 'Saldos': use lower-case letters" --postgres-table Saldos

# -- secrets on the command line are refused, without echoing them
expect_exit2 "--postgres-url holds a password" --postgres-url 'postgresql://u:S3cr3t@h/db'
grep -qF "S3cr3t" "$work/err" && fail "the password appeared in the error line"
expect_exit2 "-X ssl.key.pem is not taken on the command line" -X 'ssl.key.pem=-----BEGIN PRIVATE KEY-----'
expect_exit2 "-X sasl.oauthbearer.client.secret is not taken" -X 'sasl.oauthbearer.client.secret=S3cr3t'

# -- a password from the environment is used but never printed
POSTGRES_URL='postgresql://u:S3cr3t@h/db' run
[ "$rc" -eq 0 ] || fail "--print-config with POSTGRES_URL from the environment exited $rc: $(cat "$work/err")"
grep -qF "S3cr3t" "$work/out" && fail "--print-config printed the password: $(grep POSTGRES_URL "$work/out")"
grep -qxF "POSTGRES_URL='postgresql://u:***@h/db'" "$work/out" || fail "POSTGRES_URL not masked as expected: $(cat "$work/out")"
POSTGRES_URL='host=h user=u password=S3cr3t dbname=db' run
grep -qxF "POSTGRES_URL='host=h user=u password=*** dbname=db'" "$work/out" || fail "conninfo not masked: $(cat "$work/out")"

# -- a pool too small for live streams: valid, said on stderr, stdout still one NAME='value' per line
run --http-threads 1
[ "$rc" -eq 0 ] || fail "--http-threads 1 exited $rc: $(cat "$work/err")"
grep -qF "leaves no thread for live streams" "$work/err" || fail "no warning for --http-threads 1: $(cat "$work/err")"
grep -qxF "HTTP_THREADS='1'" "$work/out" || fail "HTTP_THREADS not printed: $(cat "$work/out")"
grep -qvE "^[A-Z_]+='[^']*'$" "$work/out" && fail "stdout is not NAME='value' lines only: $(cat "$work/out")"
(set -a; eval "$(cat "$work/out")"; [ "$HTTP_THREADS" = 1 ]) || fail "stdout does not evaluate in a shell"
run --http-threads 1 --sse-max-streams 0 --http-max-waiting 0
[ "$rc" -eq 0 ] && [ ! -s "$work/err" ] || fail "streams off on purpose should be silent: $(cat "$work/err")"

# -- scripts/start.sh evaluates it (scripts/demo-env.sh load_config): the service it then starts must
# get the real URL, never the mask: from the caller's environment, or from .env read by itself.
demo_env=$here/../../scripts/demo-env.sh
printf "POSTGRES_URL='postgresql://u:S3cr3t@h/db'\n" > "$work/pg.env"
(
  ENV_FILE=$work/pg.env
  . "$demo_env"
  load_config "$service" 2>/dev/null
  [ -n "${POSTGRES_URL:-}" ] || fail "load_config lost POSTGRES_URL from .env"
  [ -z "$(printenv POSTGRES_URL || true)" ] || fail "load_config exported the masked POSTGRES_URL: $(printenv POSTGRES_URL)"
) || exit 1
(
  export POSTGRES_URL='postgresql://u:S3cr3t@h/db'
  . "$demo_env"
  load_config "$service" 2>/dev/null
  [ "$(printenv POSTGRES_URL)" = 'postgresql://u:S3cr3t@h/db' ] || fail "load_config replaced the caller's POSTGRES_URL"
) || exit 1

echo "print_config_test: ok"
