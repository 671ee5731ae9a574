#!/usr/bin/env bash
# The one test command (README, CI): installs what is missing, builds, starts the real servers the
# tests need, runs every ctest label, runs unit+integration again under ASan+UBSan and the store's
# concurrency test under TSan, stops what it started (also on failure or Ctrl-C).
#
#   scripts/test.sh                 everything
#   SALDO_TEST_LABELS="unit" scripts/test.sh    only some labels (still builds and starts what they need)
#   BOOTSTRAP_SERVERS=host:9092 scripts/test.sh use that broker instead of starting a local one
#   SALDO_TEST_POSTGRES_URL=postgresql://... scripts/test.sh
#                                               that PostgreSQL (a role with CREATEDB and CREATEROLE)
#                                               instead of a local one on SALDO_TEST_POSTGRES_PORT (15432)
#   SALDO_SKIP_SANITIZERS=1 SALDO_SKIP_FUZZ=1 SALDO_SKIP_BENCH=1 scripts/test.sh
#                                               skip the sanitizer builds, fuzzing and the tiny
#                                               bench (local iteration only; refused when CI=true)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${SALDO_JOBS:-$(nproc)}
labels=${SALDO_TEST_LABELS:-}
kafka_port=${SALDO_TEST_KAFKA_PORT:-19092}
kafka_data=${TMPDIR:-/tmp}/saldo-test-kafka-$kafka_port
postgres_port=${SALDO_TEST_POSTGRES_PORT:-15432}
postgres_data=${TMPDIR:-/tmp}/saldo-test-postgres-$postgres_port
started_kafka=0 started_postgres=0
failures=()
t0=$SECONDS

step() { printf '\n=== %s (%ds)\n' "$*" $((SECONDS - t0)); }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$started_kafka" = 1 ]; then
    step "stopping the test broker"
    KAFKA_PORT=$kafka_port KAFKA_DATA_DIR=$kafka_data scripts/kafka-local.sh stop || true
    rm -rf "$kafka_data"
  fi
  if [ "$started_postgres" = 1 ]; then
    step "stopping the test PostgreSQL"
    PG_PORT=$postgres_port PG_DATA_DIR=$postgres_data scripts/postgres-local.sh stop || true
    rm -rf "$postgres_data"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "test.sh: interrupted" >&2; exit 130' INT TERM

if [ "${CI:-}" = true ] && [ -n "${SALDO_SKIP_SANITIZERS:-}${SALDO_SKIP_FUZZ:-}${SALDO_SKIP_BENCH:-}" ]; then
  echo "test.sh: SALDO_SKIP_SANITIZERS / SALDO_SKIP_FUZZ / SALDO_SKIP_BENCH are not allowed in CI" >&2
  exit 2
fi

step "installing missing Debian packages"
scripts/install-deps.sh

configure_and_build() {  # dir, extra cmake args..., then -- targets (optional)
  local dir=$1; shift
  local args=() targets=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
  [ $# -gt 0 ] && shift && targets=("$@")
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSALDO_WERROR=ON "${args[@]}" >/dev/null
  cmake --build "$dir" -j "$jobs" ${targets[@]:+--target "${targets[@]}"}
}

passed=0 failed=0
run_ctest() {  # dir label [extra ctest args]
  local dir=$1 label=$2 out
  shift 2
  step "ctest -L $label $* ($dir)"
  out=$(mktemp)
  if ! ctest --test-dir "$dir" -L "^$label\$" "$@" --output-on-failure -j "$jobs" --no-tests=error | tee "$out"; then
    failures+=("$label $* in $dir")
  fi
  # "95% tests passed, 1 tests failed out of 20"
  local summary total bad
  summary=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$out" | tail -n 1 || true)
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$summary")
  bad=$(sed -E 's/.*passed, ([0-9]+) tests failed.*/\1/' <<<"$summary")
  if [ -n "$summary" ]; then passed=$((passed + total - bad)); failed=$((failed + bad)); fi
  rm -f "$out"
}

step "the tests' second Kafka client and the API contract's validator: confluent-kafka and jsonschema from PyPI in build/pyenv"
venv=$root/build/pyenv
if ! "$venv/bin/python" -c 'import confluent_kafka, jsonschema' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt
fi
export SALDO_TEST_PYTHON=$venv/bin/python

step "building (build/test)"
configure_and_build build/test -DSALDO_BUILD_TESTS=ON -DSALDO_BUILD_BENCH=ON

# docs/configuration.md is generated from the option table: a hand edit, or an option changed without
# regenerating the page, fails here.
step "docs/configuration.md is current (consumer_service --print-options-markdown)"
if ! build/test/consumer_service/consumer_service --print-options-markdown | diff -u docs/configuration.md -; then
  echo "test.sh: docs/configuration.md is stale; regenerate it with" >&2
  echo "  build/test/consumer_service/consumer_service --print-options-markdown > docs/configuration.md" >&2
  failures+=("docs/configuration.md is not current")
fi

if [ -n "${BOOTSTRAP_SERVERS:-}" ]; then
  export SALDO_TEST_BOOTSTRAP_SERVERS=$BOOTSTRAP_SERVERS
  step "using the broker at $BOOTSTRAP_SERVERS"
else
  step "starting a real Kafka broker on 127.0.0.1:$kafka_port"
  rm -rf "$kafka_data"
  started_kafka=1
  KAFKA_PORT=$kafka_port KAFKA_DATA_DIR=$kafka_data scripts/kafka-local.sh start
  export SALDO_TEST_BOOTSTRAP_SERVERS=127.0.0.1:$kafka_port
fi
# POSTGRES_URL itself is left out of the tests' environment: every service a test starts would
# inherit it and write to that database.
unset POSTGRES_URL
if [ -n "${SALDO_TEST_POSTGRES_URL:-}" ]; then
  export SALDO_TEST_POSTGRES_URL
  step "using the PostgreSQL named by SALDO_TEST_POSTGRES_URL"
else
  step "starting a real PostgreSQL 15 on 127.0.0.1:$postgres_port"
  rm -rf "$postgres_data"
  started_postgres=1
  PG_PORT=$postgres_port PG_DATA_DIR=$postgres_data scripts/postgres-local.sh start
  SALDO_TEST_POSTGRES_URL=$(PG_PORT=$postgres_port PG_DATA_DIR=$postgres_data scripts/postgres-local.sh url)
  export SALDO_TEST_POSTGRES_URL
fi
# Tests that start and kill their own broker (faults) need to know how.
export SALDO_TEST_KAFKA_PORT=$kafka_port SALDO_TEST_KAFKA_DATA_DIR=$kafka_data
export SALDO_SOURCE_DIR=$root SALDO_BUILD_DIR=$root/build/test

# Every label the build defines (unit, integration, faults, e2e), unless SALDO_TEST_LABELS narrows it.
if [ -z "$labels" ]; then
  labels=$(ctest --test-dir build/test --print-labels | sed -n 's/^  //p' | tr '\n' ' ')
fi
[ -n "$labels" ] || { echo "test.sh: the build defines no tests" >&2; exit 1; }
for label in $labels; do
  run_ctest build/test "$label"
done

if [ -z "${SALDO_SKIP_SANITIZERS:-}" ]; then
  step "building with AddressSanitizer + UndefinedBehaviorSanitizer (build/asan)"
  # -O1 with line tables (-g1), as AddressSanitizer's own docs suggest: still file:line in every report,
  # and the build takes about half the time of -O2 -g (http_api_test.cpp: 50 s against 98 s here),
  # which was 18 of the suite's ~48 minutes on 2 cores.
  configure_and_build build/asan -DSALDO_SANITIZE=address,undefined -DSALDO_BUILD_BENCH=OFF \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export SALDO_BUILD_DIR=$root/build/asan
  # The sharded test's million customers are for its figures (the run above); here it checks the same
  # paths for memory errors with fewer, to stay within its timeout under ASan's slowdown.
  export SALDO_SHARDED_CUSTOMERS=100000
  for label in unit integration faults; do
    case " $labels " in *" $label "*) run_ctest build/asan "$label" ;; esac
  done
  unset ASAN_OPTIONS UBSAN_OPTIONS SALDO_SHARDED_CUSTOMERS

  # librdkafka's threads cannot run under GCC's TSan (no interceptor for the C11 thrd_create it uses):
  # these drive the store, applier, readiness, metrics, HTTP server and the live streams' change feed
  # from threads of our own.
  step "the store and the applier + HTTP threads under ThreadSanitizer (build/tsan)"
  configure_and_build build/tsan -DSALDO_SANITIZE=thread -DSALDO_BUILD_BENCH=OFF -- store_concurrency_test \
    table_http_concurrency_test sse_events_test http_api_test
  # Debian's libcpp-httplib.so is not built with TSan: its function-local statics (a std::regex) are
  # guarded by an inline acquire load TSan cannot see, so its own memcmp on them raced in 6 of 30
  # runs. ignore_noninstrumented_modules checks only accesses made from code TSan instrumented (ours).
  TSAN_OPTIONS="halt_on_error=1 ignore_noninstrumented_modules=1" \
    run_ctest build/tsan unit -R '^(StoreConcurrency|OneThreadOrPipelined/TableHttpConcurrency|ChangeFeed|EventStreamTest)\.|^HttpApiTest\.RealServerStreams'
fi

if [ -z "${SALDO_SKIP_FUZZ:-}" ]; then
  step "fuzzing each libFuzzer target for ${SALDO_FUZZ_SECONDS:-20}s (scripts/fuzz.sh)"
  if ! scripts/fuzz.sh "${SALDO_FUZZ_SECONDS:-20}"; then
    failures+=("fuzzing")
  fi
fi

if [ -z "${SALDO_SKIP_BENCH:-}" ]; then
  step "system benchmark at a tiny size, so bench/run.sh never rots (figures are not asserted)"
  if ! BENCH_PREBUILT=1 BENCH_BUILD_DIR=$root/build/test bench/run.sh --tiny > build/test/bench-tiny.md; then
    failures+=("bench/run.sh --tiny")
  fi
  cat build/test/bench-tiny.md
fi

step "done in $((SECONDS - t0)) s"
if [ ${#failures[@]} -gt 0 ]; then
  printf 'test.sh: FAILED: %s\n' "${failures[@]}" >&2
fi
echo "tests: $passed passed, $failed failed"
[ ${#failures[@]} -eq 0 ] || exit 1
echo "test.sh: every step passed (labels: $labels)"
