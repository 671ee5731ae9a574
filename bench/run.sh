#!/usr/bin/env bash
# System benchmark of issue 7: each figure next to its limit, measured in the same run on this machine.
# Starts its own Kafka broker (port 19392, data under /tmp, removed at the end), builds release
# binaries into build/bench, fills a 3-partition compacted topic with the producer's load mode, then
# measures rebuild (vs the fastest raw read of the topic, bench/raw_reader, and vs kcat; librdkafka alone,
# bench/rdkafka_count, runs in the same rounds), memory per customer, GET /saldo (vs a bare cpp-httplib server, plus a
# per-connection check), batch lookups of 100 ids (vs single GETs), freshness, read-your-writes
# (GET ?after= right after the acknowledgement), and the producer (vs kcat -P). Prints a markdown report.
#
#   bench/run.sh [--tiny] [--record] [--micro] [--rebuild-only] [--customers K] [--records N]
#                [--pairs N] [--wrk-seconds S] [--samples F] [--producer-records P]
#
#   --tiny      a few thousand records, 2 s wrk runs, 200 freshness samples (about a minute; test.sh)
#   --record    append the report to bench/notes/<date>-runs.md (see bench/RESULTS.md)
#   --micro     also run micro_bench (--benchmark_repetitions=3, aggregates only) into the report
#   --rebuild-only  only the rebuild, its memory and the producer (no GET, freshness, warm start)
#   --pairs N   rebuild and producer runs, each a pair with kcat's run alternating (default 5;
#               --repeats is the old name); also the number of warm starts
# Comparisons with kcat: the median of the per-pair ratios, with min-max. When the largest ratio is
# more than BENCH_SPREAD_LIMIT (1.25) times the smallest, the report says the run cannot conclude:
# the pairs then disagree by more than the 25 % margin the rebuild target allows.
# Environment: BENCH_KAFKA_PORT (19392), BENCH_HTTP_PORT (19400; the bare server uses +1),
#   BENCH_BUILD_DIR (build/bench), BENCH_KAFKA_HEAP (1g), BENCH_NOTE (a line added to the report),
#   BENCH_PREBUILT=1 (use BENCH_BUILD_DIR's binaries as they are: scripts/test.sh runs --tiny on
#   build/test so the bench is checked without a second, Release build),
#   BENCH_SERVICE_BIN (the consumer_service measured: BENCH_BUILD_DIR's), BENCH_SERVICE_ENV /
#   BENCH_SERVICE_ARGS (environment and options added to every rebuild's service),
#   BENCH_KCAT_ARGS (options added to kcat -C -e: its defaults back off up to 1 s whenever its
#   100,000-message prefetch is full, which makes its own time vary 6-17 s at 12M; see bench/notes/
#   2026-11-23-rebuild-speed.md, "kcat's own time is not steady"),
#   BENCH_ALT_LABEL, BENCH_ALT_BIN, BENCH_ALT_ENV, BENCH_ALT_ARGS: a third side in each rebuild round
#   (another consumer_service binary, environment or options), reported against kcat and against ours;
#   with it, GET /saldo at wrk -c64 also alternates between ours and that side (port BENCH_HTTP_PORT+4).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
command_line="bench/run.sh $*"

customers=10000000
records=""
pairs=5
wrk_seconds=10
samples=10000
producer_records=2000000
conn_requests=20
tiny=0 record=0 micro=0 rebuild_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tiny) tiny=1; customers=2000; records=5000; pairs=3; wrk_seconds=2; samples=200
            producer_records=5000; conn_requests=5 ;;
    --record) record=1 ;;
    --micro) micro=1 ;;
    --customers) customers=$2; shift ;;
    --records) records=$2; shift ;;
    --pairs|--repeats) pairs=$2; shift ;;
    --rebuild-only) rebuild_only=1 ;;
    --wrk-seconds) wrk_seconds=$2; shift ;;
    --samples) samples=$2; shift ;;
    --producer-records) producer_records=$2; shift ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
# Every customer once (the load mode's first K updates), then 20% more updates to random customers.
[ -n "$records" ] || records=$((customers + customers / 5))
[ "$records" -ge "$customers" ] || { echo "run.sh: --records must be >= --customers" >&2; exit 2; }
[ "$producer_records" -le "$records" ] || producer_records=$records

[ "$pairs" -ge 1 ] || { echo "run.sh: --pairs must be >= 1" >&2; exit 2; }

kafka_port=${BENCH_KAFKA_PORT:-19392}
http_port=${BENCH_HTTP_PORT:-19400}
bare_port=$((http_port + 1))
build=${BENCH_BUILD_DIR:-$root/build/bench}
bootstrap=127.0.0.1:$kafka_port
work=$(mktemp -d /tmp/saldo-bench.XXXXXX)
export KAFKA_PORT=$kafka_port KAFKA_DATA_DIR=$work/kafka KAFKA_HEAP=${BENCH_KAFKA_HEAP:-1g}

log() { echo "[bench $(date +%T)] $*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# field "k1=v1 k2=v2" k2: prints v2
field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }" 2>/dev/null || echo "?"; }
# ratio_stats < "r1 r2 ...": prints "median min max spread" (spread = max / min)
ratio_stats() {
  tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.2f %.2f %.2f %.2f\n", m, v[1], v[NR], (v[1] > 0 ? v[NR] / v[1] : 0) }'
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
spread_limit=${BENCH_SPREAD_LIMIT:-1.25}
spread_note() {  # spread_note SPREAD WHAT: a warning when the pairs disagree too much to conclude
  awk -v s="$1" -v l="$spread_limit" 'BEGIN { exit !(s > l) }' &&
    echo "- **warning**: $2: the per-pair ratios spread by ${1}× (max/min), more than ${spread_limit}×: this run cannot tell a change of that size from noise; run again on a quieter machine" || true
}

pids=()
failures=()  # measurements whose tool failed: reported, and the exit status is 1
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  "$root/scripts/kafka-local.sh" stop >/dev/null 2>&1 || true
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() {  # stop_pid PID: TERM, bounded wait, then KILL
  local p=$1
  kill "$p" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  local kept=()
  for q in "${pids[@]}"; do [ "$q" = "$p" ] || kept+=("$q"); done
  pids=("${kept[@]}")
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for c in kcat wrk curl python3 java awk openssl haproxy go; do
  command -v "$c" >/dev/null || die "$c is missing: run scripts/install-deps.sh"
done
for p in "$http_port" "$bare_port" $((http_port + 2)) $((http_port + 3)) $((http_port + 4)); do port_free "$p" || die "port $p is in use: set BENCH_HTTP_PORT"; done

# ---------------------------------------------------------------- build
if [ "${BENCH_PREBUILT:-}" = 1 ]; then
  log "using the binaries in $build as they are (BENCH_PREBUILT=1)"
else
  log "building release binaries into $build"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSALDO_WERROR=ON -DSALDO_BUILD_TESTS=OFF -DSALDO_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" -j "$(nproc)" --target consumer_service producer saldo_admin bare_http_server freshness rdkafka_count wait_ready \
    $([ $micro = 1 ] && echo micro_bench) >&2
fi
# The yardstick of the rebuild: the fastest client that reads the same records (bench/raw_reader, Go).
log "building bench/raw_reader (franz-go) into $build/raw_reader"
(cd "$root/bench/raw_reader" && GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" \
  GOMODCACHE=${GOMODCACHE:-${SALDO_CACHE_DIR:-$HOME/.cache/saldo}/go-mod} GOCACHE=$build/go-build \
  go build -o "$build/raw_reader/raw_reader" .) >&2 || die "go build of bench/raw_reader failed (needs Go >= 1.26)"
for b in consumer_service/consumer_service producer/producer tools/saldo_admin bench/bare_http_server \
         bench/freshness bench/rdkafka_count bench/wait_ready; do
  [ -x "$build/$b" ] || die "$build/$b is not built"
done
service_bin=${BENCH_SERVICE_BIN:-$build/consumer_service/consumer_service}
producer_bin=$build/producer/producer
admin_bin=$build/tools/saldo_admin
cd "$work"  # no project .env here: every binary gets its settings on the command line

# ---------------------------------------------------------------- broker and topics
log "starting a broker on $bootstrap (data in $KAFKA_DATA_DIR)"
"$root/scripts/kafka-local.sh" start >&2
create_topic() { "$admin_bin" create-topic --bootstrap-servers "$bootstrap" --topic "$1" --partitions 3 >&2; }
create_topic bench
create_topic empty

log "filling topic bench: $records records over $customers customers (producer --preset fast)"
t0=$(now)
"$producer_bin" --bootstrap-servers "$bootstrap" --topic bench --customers "$customers" --updates "$records" \
  --seed 7 --rate 0 --preset fast --log-level warn >&2
fill_s=$(secs "$t0" "$(now)")
log "filled in ${fill_s}s"

# ---------------------------------------------------------------- service helpers
service_pid=""
service_env=${BENCH_SERVICE_ENV:-} service_args=${BENCH_SERVICE_ARGS:-}
alt_label=${BENCH_ALT_LABEL:-} alt_bin=${BENCH_ALT_BIN:-$service_bin} alt_env=${BENCH_ALT_ENV:-} alt_args=${BENCH_ALT_ARGS:-}
[ -z "$alt_label" ] || [ -x "$alt_bin" ] || die "BENCH_ALT_BIN $alt_bin is not an executable"
start_service_with() {  # start_service_with BINARY "VAR=VALUE ..." TOPIC LOGFILE [more options]: sets service_pid
  # shellcheck disable=SC2086  # the environment is a list of words
  env $2 "$1" --bootstrap-servers "$bootstrap" --topic "$3" --http-host 127.0.0.1 --http-port "$http_port" \
    --log-level info "${@:5}" >"$4" 2>&1 &
  service_pid=$!
  pids+=("$service_pid")
}
start_service() {  # start_service TOPIC LOGFILE [more options]: sets service_pid
  start_service_with "$service_bin" "" "$@"
}
wait_ready() {  # wait_ready TIMEOUT_S: polls /ready every 5 ms over one connection (bench/wait_ready)
  # A curl process per poll, as this used to be, cost ~10 ms of CPU each: up to half of one of the
  # 2 cores, taken from the rebuild being timed (bench/notes/2026-12-04-stopwatch.md).
  local rc=0
  "$build/bench/wait_ready" --port "$http_port" --pid "$service_pid" --timeout "$1" || rc=$?
  case $rc in
    0) ;;
    1) die "consumer_service exited before READY" ;;
    3) die "consumer_service not READY within $1 s" ;;
    *) die "bench/wait_ready failed (exit $rc)" ;;
  esac
}
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
peak_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }  # the process's peak RSS so far

# ---------------------------------------------------------------- 1. rebuild (pairs)
# kcat -C -e and ours alternate run by run (kcat, ours, kcat, ours, ...): a load that comes and goes
# on the shared machine then hits both sides of a pair alike, and the figure is the median of the
# per-pair ratios with their min-max. An optional third side (BENCH_ALT_*) runs in the same rounds,
# for an A/B of two builds or settings. Each run's peak RSS (VmHWM) is read at READY.
kcat_args=${BENCH_KCAT_ARGS:-}
load_rebuild_before=$(loadavg)
log "warm-up read (not counted): kcat -C -e"
timeout 900 kcat -C -b "$bootstrap" -t bench -o beginning -e -q $kcat_args >/dev/null
warm_times=""
kcat_times="" ours_times="" alt_times="" rebuild_ratios="" alt_ratios="" alt_vs_ours="" get_alt_ratios=""
raw_times="" raw_ratios=""
rdk1_times="" rdk3_times=""  # librdkafka alone (bench/rdkafka_count): one consumer as the service, one per partition
ours_peaks="" alt_peaks="" ours_ready_rss="" alt_ready_rss=""
rebuild_run() {  # rebuild_run LABEL LOG: one cold rebuild of topic bench; sets run_s, run_peak, run_rss
  local t0; t0=$(now)
  if [ "$1" = alt ]; then
    start_service_with "$alt_bin" "$alt_env" bench "$2" $alt_args
  else
    start_service_with "$service_bin" "$service_env" bench "$2" $service_args
  fi
  wait_ready 900
  run_s=$(secs "$t0" "$(now)")
  run_peak=$(peak_kb "$service_pid")
  sleep 1  # the reader settles after READY (the prefetch queues drain, malloc_trim)
  run_rss=$(rss_kb "$service_pid")
}
for r in $(seq 1 "$pairs"); do
  log "rebuild round $r/$pairs: raw reader"
  raw_line=$(timeout 900 "$build/raw_reader/raw_reader" -brokers "$bootstrap" -topic bench) || die "raw_reader failed"
  raw=$(field "$raw_line" seconds)
  raw_times+=" $raw"
  log "rebuild round $r/$pairs: librdkafka alone, one consumer, then one consumer per partition"
  rdk_line=$(timeout 900 "$build/bench/rdkafka_count" --brokers "$bootstrap" --topic bench --handles 1) || die "rdkafka_count failed"
  rdk1_times+=" $(field "$rdk_line" seconds)"
  rdk_line=$(timeout 900 "$build/bench/rdkafka_count" --brokers "$bootstrap" --topic bench --handles 3) || die "rdkafka_count failed"
  rdk3_times+=" $(field "$rdk_line" seconds)"
  log "rebuild pair $r/$pairs: kcat"
  t0=$(now)
  timeout 900 kcat -C -b "$bootstrap" -t bench -o beginning -e -q $kcat_args >/dev/null
  k=$(secs "$t0" "$(now)")
  kcat_times+=" $k"
  log "rebuild pair $r/$pairs: consumer_service"
  rebuild_run ours "$work/service-$r.log"
  ours_times+=" $run_s"; ours_peaks+=" $run_peak"; ours_ready_rss+=" $run_rss"
  rebuild_ratios+=" $(calc "%.3f" "$run_s / $k")"
  raw_ratios+=" $(calc "%.3f" "$run_s / $raw")"
  o=$run_s
  if [ "$r" -lt "$pairs" ] || [ -n "$alt_label" ]; then stop_pid "$service_pid"; fi
  if [ -n "$alt_label" ]; then
    log "rebuild pair $r/$pairs: $alt_label"
    rebuild_run alt "$work/service-alt-$r.log"
    alt_times+=" $run_s"; alt_peaks+=" $run_peak"; alt_ready_rss+=" $run_rss"
    alt_ratios+=" $(calc "%.3f" "$run_s / $k")"
    alt_vs_ours+=" $(calc "%.3f" "$run_s / $o")"
    stop_pid "$service_pid"
    if [ "$r" -eq "$pairs" ]; then  # the memory and GET sections use ours: one more start
      start_service_with "$service_bin" "$service_env" bench "$work/service-final.log" $service_args
      wait_ready 900
    fi
  fi
done
load_rebuild_after=$(loadavg)
kcat_s=$(echo "$kcat_times" | median)
ours_s=$(echo "$ours_times" | median)
read -r rebuild_ratio rebuild_min rebuild_max rebuild_spread <<<"$(echo "$rebuild_ratios" | ratio_stats)"
raw_s=$(echo "$raw_times" | median)
rdk1_s=$(echo "$rdk1_times" | median)
rdk3_s=$(echo "$rdk3_times" | median)
read -r raw_ratio raw_min raw_max raw_spread <<<"$(echo "$raw_ratios" | ratio_stats)"

# ---------------------------------------------------------------- 2. memory
sleep 1  # let the reader settle after READY (the prefetch queues drain; the READY line is logged)
replayed=$( (grep -o 'READY: [0-9]* records' "$work/service-1.log" || true) | grep -o '[0-9]*' | tail -1)
[ -n "$replayed" ] || replayed=$records
log "rebuild: median ratio ours/kcat ${rebuild_ratio} (${rebuild_min}-${rebuild_max}); medians kcat ${kcat_s}s, ours ${ours_s}s ($replayed records)"
rss_full=$(rss_kb "$service_pid")
rss_peak=$(echo "$ours_peaks" | median)    # each run's VmHWM at READY: nothing after it comes near
rss_ready=$(echo "$ours_ready_rss" | median)
full_pid=$service_pid
# The empty service gets the bare server's port for a moment; the full one keeps serving.
saved_port=$http_port; http_port=$bare_port
start_service empty "$work/service-empty.log"
wait_ready 60
sleep 1
rss_empty=$(rss_kb "$service_pid")
stop_pid "$service_pid"
http_port=$saved_port; service_pid=$full_pid
bytes_per_customer=$(calc "%.1f" "($rss_full - $rss_empty) * 1024 / $customers")
peak_limit=$(calc "%.0f" "1.5 * $rss_ready + 65536")
log "memory: RSS full ${rss_full} kB, empty ${rss_empty} kB, ${bytes_per_customer} B/customer; rebuild peak ${rss_peak} kB (READY ${rss_ready} kB, limit ${peak_limit} kB)"

if [ $rebuild_only = 0 ]; then

# ---------------------------------------------------------------- 3. GET /saldo
"$build/bench/bare_http_server" --port "$bare_port" >"$work/bare.log" 2>&1 &
bare_pid=$!; pids+=("$bare_pid")
for _ in $(seq 1 100); do port_free "$bare_port" || break; sleep 0.05; done
declare -A wrk_out
export SALDO_CUSTOMERS=$customers
for c in 8 64 256; do
  for target in ours bare; do
    port=$http_port; [ $target = bare ] && port=$bare_port
    log "wrk -t2 -c$c -d${wrk_seconds}s against $target"
    wrk_out[$target-$c]=$(wrk -t2 -c"$c" -d"${wrk_seconds}s" --latency -s "$root/bench/saldo.lua" \
      "http://127.0.0.1:$port" | grep '^WRK ') || failures+=("wrk -c$c against $target")
  done
done
log "wrk -t2 -c64 -d${wrk_seconds}s: GET /saldos with 100 ids per request"
wrk_out[batch-64]=$(SALDO_BATCH=100 wrk -t2 -c64 -d"${wrk_seconds}s" --latency -s "$root/bench/saldo.lua" \
  "http://127.0.0.1:$http_port" | grep '^WRK ') || failures+=("wrk /saldos")
log "per-connection check: 256 keep-alive connections x $conn_requests requests"
conn_line=$(python3 "$root/bench/conn_check.py" --port "$http_port" --connections 256 --requests "$conn_requests" \
  --customers "$customers" --timeout 120 || true)
case "$conn_line" in CONN*) ;; *) failures+=("conn_check.py") ;; esac
stop_pid "$bare_pid"

# GET at c64 over HTTPS (a second service on the same topic, a throwaway certificate) and through
# HAProxy (scripts/haproxy-local.sh) in front of the plain one, next to the plain run above.
tls_port=$((http_port + 2)); edge_port=$((http_port + 3))
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$work/tls.key" -out "$work/tls.pem" 2>/dev/null || failures+=("openssl (TLS certificate)")
"$service_bin" --bootstrap-servers "$bootstrap" --topic bench --http-host 127.0.0.1 --http-port "$tls_port" \
  --tls-cert "$work/tls.pem" --tls-key "$work/tls.key" --log-level warn >"$work/service-tls.log" 2>&1 &
tls_pid=$!; pids+=("$tls_pid")
deadline=$((SECONDS + 900))
until curl -fs --cacert "$work/tls.pem" -o /dev/null "https://127.0.0.1:$tls_port/ready"; do
  [ $SECONDS -lt $deadline ] && kill -0 "$tls_pid" 2>/dev/null || { failures+=("HTTPS service not ready"); break; }
  sleep 0.05
done
log "wrk -t2 -c64 -d${wrk_seconds}s over HTTPS"
wrk_out[tls-64]=$(wrk -t2 -c64 -d"${wrk_seconds}s" --latency -s "$root/bench/saldo.lua" "https://127.0.0.1:$tls_port" |
  grep '^WRK ') || failures+=("wrk -c64 over HTTPS")
stop_pid "$tls_pid"
edge_env=(EDGE_PORT="$edge_port" SALDO_BACKEND="127.0.0.1:$http_port" EDGE_RUN_DIR="$work/edge")
if env "${edge_env[@]}" "$root/scripts/haproxy-local.sh" start >&2; then
  deadline=$((SECONDS + 20))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$edge_port/ready")" = 200 ]; do
    [ $SECONDS -lt $deadline ] || break; sleep 0.1
  done
  log "wrk -t2 -c64 -d${wrk_seconds}s through HAProxy"
  wrk_out[edge-64]=$(wrk -t2 -c64 -d"${wrk_seconds}s" --latency -s "$root/bench/saldo.lua" "http://127.0.0.1:$edge_port" |
    grep '^WRK ') || failures+=("wrk -c64 through HAProxy")
  env "${edge_env[@]}" "$root/scripts/haproxy-local.sh" stop >&2 || true
else
  failures+=("haproxy-local.sh start")
fi

# GET A/B with the third side: a second service (BENCH_ALT_*) on the same topic beside ours, and
# wrk -c64 against each in turn (the order flipped every round), $pairs rounds; the figure is the
# median of the per-round ratios.
get_alt_ratios=""
if [ -n "$alt_label" ]; then
  alt_port=$((http_port + 4))
  saved_port=$http_port; saved_pid=$service_pid; http_port=$alt_port
  start_service_with "$alt_bin" "$alt_env" bench "$work/service-alt-get.log" $alt_args
  wait_ready 900
  alt_get_pid=$service_pid; http_port=$saved_port; service_pid=$saved_pid
  for r in $(seq 1 "$pairs"); do
    # The order flips every round: ours has served the whole run before, so it must not always go first.
    order="ours alt"; [ $((r % 2)) = 0 ] && order="alt ours"
    for target in $order; do
      port=$http_port; [ $target = alt ] && port=$alt_port
      log "GET A/B round $r/$pairs: wrk -t2 -c64 -d${wrk_seconds}s against $target"
      wrk_out[ab-$target-$r]=$(wrk -t2 -c64 -d"${wrk_seconds}s" --latency -s "$root/bench/saldo.lua" \
        "http://127.0.0.1:$port" | grep '^WRK ') || failures+=("wrk A/B $target")
    done
    get_alt_ratios+=" $(calc "%.3f" "$(field "${wrk_out[ab-alt-$r]}" rps) / $(field "${wrk_out[ab-ours-$r]}" rps)")"
  done
  stop_pid "$alt_get_pid"
fi

# ---------------------------------------------------------------- 4. freshness
log "freshness: $samples samples"
fresh_line=$("$build/bench/freshness" --bootstrap-servers "$bootstrap" --topic bench --port "$http_port" \
  --customers "$customers" --samples "$samples") || failures+=("freshness")
log "read-your-writes: $samples samples (produce, acknowledgement, GET ?after=P:O)"
ryw_line=$("$build/bench/freshness" --bootstrap-servers "$bootstrap" --topic bench --port "$http_port" \
  --customers "$customers" --samples "$samples" --seed 2 --after) || failures+=("freshness --after")
stop_pid "$service_pid"

# ---------------------------------------------------------------- 5. state directory (warm start)
state=$work/state
log "state directory: a cold start that writes its snapshot at SIGTERM"
start_service bench "$work/state-cold.log" --state-dir "$state"
wait_ready 900
stop_pid "$service_pid"
snap_line=$(grep -o 'snapshot: [0-9]* entries, [0-9]* bytes written to [^ ]* in [0-9.]* s' "$work/state-cold.log" | tail -1)
snap_bytes=$(echo "$snap_line" | awk '{ print $4 }'); snap_s=$(echo "$snap_line" | awk '{ print $(NF-1) }')
[ -n "$snap_s" ] || failures+=("snapshot write")
warm_times=""
for r in $(seq 1 "$pairs"); do
  log "warm start $r/$pairs (nothing new in the topic)"
  t0=$(now)
  start_service bench "$work/state-warm-$r.log" --state-dir "$state"
  wait_ready 900
  warm_times+=" $(secs "$t0" "$(now)")"
  grep -q 'warm start' "$work/state-warm-$r.log" || failures+=("warm start $r was cold")
  stop_pid "$service_pid"
done
warm_s=$(echo "$warm_times" | median)
new_records=$((records / 100))
log "1% new records ($new_records), then a warm start"
"$producer_bin" --bootstrap-servers "$bootstrap" --topic bench --customers "$customers" --updates "$new_records" \
  --seed 8 --rate 0 --preset fast --log-level warn >&2
t0=$(now)
start_service bench "$work/state-warm-new.log" --state-dir "$state" --snapshot-interval 1
wait_ready 900
warm_new_s=$(secs "$t0" "$(now)")
# GET while a snapshot is written every second (a trickle of updates makes each one due).
log "wrk -t2 -c64 -d${wrk_seconds}s while snapshots are written"
"$producer_bin" --bootstrap-servers "$bootstrap" --topic bench --customers "$customers" --updates 0 \
  --duration $((wrk_seconds + 2)) --rate 200 --seed 9 --log-level warn >/dev/null 2>&1 &
trickle_pid=$!; pids+=("$trickle_pid")
wrk_out[snap-64]=$(wrk -t2 -c64 -d"${wrk_seconds}s" --latency -s "$root/bench/saldo.lua" \
  "http://127.0.0.1:$http_port" | grep '^WRK ') || failures+=("wrk during snapshots")
stop_pid "$trickle_pid"
snap_writes=$(grep -c 'snapshot: ' "$work/state-warm-new.log" || true)
stop_pid "$service_pid"

fi  # rebuild_only
[ $rebuild_only = 0 ] || stop_pid "$service_pid"

# ---------------------------------------------------------------- 6. producer
log "producer: $producer_records records, producer --file --preset fast vs kcat -P"
kcat -C -b "$bootstrap" -t bench -o beginning -e -q -c "$producer_records" -f '%k\t%s\n' >"$work/kv.txt"
cut -f2- "$work/kv.txt" >"$work/values.jsonl"
fast_props=(-X partitioner=murmur2_random -X enable.idempotence=true -X acks=all -X compression.type=lz4
            -X linger.ms=100 -X batch.size=1000000 -X batch.num.messages=100000
            -X queue.buffering.max.messages=1000000 -X queue.buffering.max.kbytes=1048576)
prod_ours_times="" prod_kcat_times="" prod_ratios=""
load_producer_before=$(loadavg)
for r in $(seq 1 "$pairs"); do
  create_topic "ours-$r"; create_topic "kcat-$r"
  t0=$(now)
  kcat -P -b "$bootstrap" -t "kcat-$r" -K $'\t' -l "${fast_props[@]}" "$work/kv.txt"
  k=$(secs "$t0" "$(now)")
  prod_kcat_times+=" $k"
  t0=$(now)
  "$producer_bin" --bootstrap-servers "$bootstrap" --topic "ours-$r" --file "$work/values.jsonl" --preset fast \
    --log-level warn >&2
  o=$(secs "$t0" "$(now)")
  prod_ours_times+=" $o"
  prod_ratios+=" $(calc "%.3f" "$o / $k")"
done
load_producer_after=$(loadavg)
prod_ours_s=$(echo "$prod_ours_times" | median)
prod_kcat_s=$(echo "$prod_kcat_times" | median)
read -r prod_ratio prod_min prod_max prod_spread <<<"$(echo "$prod_ratios" | ratio_stats)"

# ---------------------------------------------------------------- micro
micro_out=""
if [ $micro = 1 ]; then
  log "micro_bench (3 repetitions, aggregates)"
  micro_out=$("$build/bench/micro_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true 2>&1 \
    | grep -E '_(median|mean|stddev|cv)|^Benchmark|^---' || true)
fi

# ---------------------------------------------------------------- report
yes_no() { awk "BEGIN { exit !($1) }" && echo yes || echo "**no**"; }
rate_ours=$(calc "%.0f" "$replayed / $ours_s")
rate_kcat=$(calc "%.0f" "$replayed / $kcat_s")
rate_raw=$(calc "%.0f" "$replayed / $raw_s")
if [ $rebuild_only = 0 ]; then
  w() { field "${wrk_out[$1]}" "$2"; }
  get_ratio=$(calc "%.2f" "$(w ours-64 rps) / $(w bare-64 rps)")
  errs() { calc "%d" "$(w "$1" connect) + $(w "$1" read) + $(w "$1" write) + $(w "$1" timeout)"; }
  fresh_p50=$(field "$fresh_line" p50_ms); fresh_p99=$(field "$fresh_line" p99_ms)
  conn_min=$(field "$conn_line" min); conn_complete=$(field "$conn_line" complete); conn_errors=$(field "$conn_line" errors)
fi
mb() { calc "%.0f" "$1 / 1024"; }
range_mb() { echo "$1" | tr ' ' '\n' | grep . | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.0f–%.0f", a / 1024, b / 1024 }'; }

report=$work/report.md
{
  echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — $( [ $tiny = 1 ] && echo 'tiny run' || echo "$customers customers, $records records")"
  echo
  echo "- command: \`$command_line\` (commit $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- . 2>/dev/null || echo ', with local changes'))"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, shared; load average (1, 5, 15 min) before/after the rebuild pairs: ${load_rebuild_before} / ${load_rebuild_after}, the producer pairs: ${load_producer_before} / ${load_producer_after}"
  echo "- versions: Kafka $(grep -m1 '^KAFKA_VERSION=' "$root/scripts/kafka-local.sh" | cut -d= -f2) (KRaft, local, heap $KAFKA_HEAP), librdkafka $(pkg-config --modversion rdkafka), cpp-httplib $(pkg-config --modversion cpp-httplib), $(gcc --version | head -1), kcat $(kcat -V 2>&1 | grep -o 'Version [0-9.]*' | cut -d' ' -f2), wrk $(wrk -v 2>&1 | head -1 | awk '{ print $2 }')"
  echo "- sizes: $customers customers, $replayed records in 3 partitions (filled in ${fill_s} s by \`producer --preset fast\`), $pairs pairs with kcat (ours and kcat alternating; ratios are the median of the per-pair ratios, min–max), wrk ${wrk_seconds} s per point, $samples freshness samples, $producer_records records for the producer comparison"
  [ -n "${BENCH_NOTE:-}" ] && echo "- note: $BENCH_NOTE"
  [ $tiny = 1 ] && echo "- tiny run: far too small for the targets; it only shows that every part of the bench works"
  [ $rebuild_only = 1 ] && echo "- --rebuild-only: GET, freshness and the warm start were not measured"
  [ -n "${BENCH_SERVICE_BIN:-}" ] && echo "- consumer_service measured: $BENCH_SERVICE_BIN"
  [ -n "$alt_label" ] && echo "- third side \"$alt_label\": \`${alt_env:+env $alt_env }$alt_bin …${alt_args:+ $alt_args}\`"
  [ -n "$service_env$service_args" ] && echo "- service run as: \`${service_env:+env $service_env }consumer_service …${service_args:+ $service_args}\`"
  [ ${#failures[@]} -gt 0 ] && echo "- **failed**: ${failures[*]}"
  spread_note "$raw_spread" "rebuild against the raw reader"
  spread_note "$rebuild_spread" "rebuild"
  spread_note "$prod_spread" "producer"
  echo
  echo "| figure | target | measured | limit (same run) | ratio | met? |"
  echo "|---|---|---|---|---|---|"
  echo "| rebuild: start → /ready 200, against the fastest raw read | ≤ 1.5 × raw reader, ≥ 3,000,000 rec/s | median ${ours_s} s, ${rate_ours} rec/s | bench/raw_reader (franz-go): median ${raw_s} s, ${rate_raw} rec/s | ${raw_ratio} (${raw_min}–${raw_max}) | $(yes_no "$raw_ratio <= 1.5 && $rate_ours >= 3000000") |"
  echo "| librdkafka alone (bench/rdkafka_count: reads and counts, the table reader's consumer settings), against the raw reader | — | one consumer (as the service): median ${rdk1_s} s; one consumer per partition: median ${rdk3_s} s | raw reader: median ${raw_s} s | $(calc "%.2f" "$rdk1_s / $raw_s") and $(calc "%.2f" "$rdk3_s / $raw_s"); ours / one consumer: $(calc "%.2f" "$ours_s / $rdk1_s") | — |"
  echo "| rebuild: start → /ready 200 | ≤ 1.25 × kcat, ≥ 1,500,000 rec/s | median ${ours_s} s, ${rate_ours} rec/s | kcat -C -e${kcat_args:+ $kcat_args}: median ${kcat_s} s, ${rate_kcat} rec/s | ${rebuild_ratio} (${rebuild_min}–${rebuild_max}) | $(yes_no "$rebuild_ratio <= 1.25 && $rate_ours >= 1500000") |"
  if [ -n "$alt_label" ]; then
    read -r alt_ratio alt_min alt_max alt_spread <<<"$(echo "$alt_ratios" | ratio_stats)"
    read -r avo avo_min avo_max avo_spread <<<"$(echo "$alt_vs_ours" | ratio_stats)"
    alt_s=$(echo "$alt_times" | median)
    echo "| rebuild, $alt_label | — | median ${alt_s} s, $(calc "%.0f" "$replayed / $alt_s") rec/s; peak RSS $(mb "$(echo "$alt_peaks" | median)") MB ($(range_mb "$alt_peaks")), READY $(mb "$(echo "$alt_ready_rss" | median)") MB | kcat: ${alt_ratio} (${alt_min}–${alt_max}); ours: $avo ($avo_min–$avo_max) | $avo | — |"
    if [ -n "$get_alt_ratios" ]; then
      read -r gar gar_min gar_max gar_spread <<<"$(echo "$get_alt_ratios" | ratio_stats)"
      echo "| GET /saldo wrk -c64, $alt_label against ours (req/s, $pairs alternating rounds) | — | ratios [${get_alt_ratios# }] | | $gar ($gar_min–$gar_max) | — |"
    fi
  fi
  if [ $rebuild_only = 0 ]; then
  echo "| warm start to READY, nothing new | ≤ 1 s at 10M, ≥ 6 × faster than cold | ${warm_s} s (snapshot $(calc "%.0f" "${snap_bytes:-0} / 1048576") MB) | cold: ${ours_s} s | $(calc "%.1f" "$ours_s / $warm_s")× | $(yes_no "$warm_s <= 1 && $ours_s / $warm_s >= 6")$( [ "$customers" -lt 10000000 ] && echo ' (not at 10M)') |"
  echo "| warm start to READY, 1% new records | — | ${warm_new_s} s ($new_records new) | cold: ${ours_s} s | $(calc "%.1f" "$ours_s / $warm_new_s")× | — |"
  echo "| snapshot write (in the background) | ≤ 3 s | ${snap_s:-?} s, $(calc "%.0f" "${snap_bytes:-0} / 1048576") MB | | | $(yes_no "${snap_s:-99} <= 3") |"
  echo "| GET p99 while snapshots are written (wrk -c64) | ≤ 5 ms | p99 $(w snap-64 p99_ms) ms, $(w snap-64 rps) req/s, ${snap_writes} snapshots written | without: p99 $(w ours-64 p99_ms) ms | | $(yes_no "$(w snap-64 p99_ms) < 5") |"
  fi
  echo "| memory: the rebuild's peak RSS (VmHWM at READY) | ≤ 1.5 × RSS(READY) + 64 MB | median $(mb "$rss_peak") MB ($(range_mb "$ours_peaks")) | READY (1 s after): median $(mb "$rss_ready") MB ($(range_mb "$ours_ready_rss")); limit $(mb "$peak_limit") MB | $(calc "%.2f" "$rss_peak / $peak_limit") | $(yes_no "$rss_peak <= $peak_limit") |"
  echo "| memory: RSS(READY) − RSS(empty) | ≤ 64 B/customer at 10M | ${bytes_per_customer} B/customer at $customers ($(calc "%.0f" "$rss_full / 1024") MB − $(calc "%.0f" "$rss_empty / 1024") MB) | | | $(yes_no "$bytes_per_customer <= 64")$( [ "$customers" -lt 10000000 ] && echo ' (not at 10M)') |"
  if [ $rebuild_only = 0 ]; then
  for c in 8 64 256; do
    local_target="—"; met="—"
    if [ $c = 64 ]; then
      local_target="≥ 40,000 req/s, p99 < 5 ms, 0 errors, ≥ 0.9 × bare"
      met=$(yes_no "$(w ours-64 rps) >= 40000 && $(w ours-64 p99_ms) < 5 && $(errs ours-64) == 0 && $(w ours-64 status) == 0 && $get_ratio >= 0.9")
    elif [ $c = 256 ]; then
      local_target="no errors, every connection answered"
      met=$(yes_no "$(errs ours-256) == 0 && $(w ours-256 status) == 0 && ${conn_complete:-0} == 256 && ${conn_errors:-1} == 0")
    fi
    echo "| GET /saldo, wrk -t2 -c$c | $local_target | $(w ours-$c rps) req/s, p50 $(w ours-$c p50_ms) ms, p99 $(w ours-$c p99_ms) ms, $(errs ours-$c) socket errors, $(w ours-$c status) non-2xx | bare httplib: $(w bare-$c rps) req/s, p50 $(w bare-$c p50_ms) ms, p99 $(w bare-$c p99_ms) ms, $(errs bare-$c) errors | $(calc "%.2f" "$(w ours-$c rps) / $(w bare-$c rps)") | $met |"
  done
  for v in tls edge; do
    what="over HTTPS (TLS 1.3, same service)"; [ $v = edge ] && what="through HAProxy (scripts/haproxy)"
    echo "| GET /saldo $what, wrk -t2 -c64 | — | $(w $v-64 rps) req/s, p50 $(w $v-64 p50_ms) ms, p99 $(w $v-64 p99_ms) ms, $(errs $v-64) socket errors, $(w $v-64 status) non-2xx | plain, direct: $(w ours-64 rps) req/s | $(calc "%.2f" "$(w $v-64 rps) / $(w ours-64 rps)") | — |"
  done
  echo "| GET, 256 keep-alive connections × $conn_requests requests each | every connection answered | fewest answers on one connection: ${conn_min:-?}/$conn_requests, ${conn_complete:-?}/256 complete, ${conn_errors:-?} errors | | | $(yes_no "${conn_complete:-0} == 256 && ${conn_errors:-1} == 0") |"
  fi
  [ $rebuild_only = 1 ] || echo "| freshness: produce → GET shows it | p50 < 5 ms, p99 < 25 ms | p50 ${fresh_p50:-?} ms, p99 ${fresh_p99:-?} ms (max $(field "$fresh_line" max_ms) ms, $(field "$fresh_line" samples) samples) | | | $(yes_no "${fresh_p50:-99} < 5 && ${fresh_p99:-99} < 25") |"
  if [ $rebuild_only = 0 ]; then
    echo "| read-your-writes: GET ?after=P:O once the write is acknowledged | — | p50 $(field "$ryw_line" ryw_p50_ms) ms, p99 $(field "$ryw_line" ryw_p99_ms) ms (max $(field "$ryw_line" ryw_max_ms) ms, $(field "$ryw_line" samples) samples, every answer the new value); produce → answer p50 $(field "$ryw_line" total_p50_ms) ms, p99 $(field "$ryw_line" total_p99_ms) ms | | | — |"
    echo "| GET /saldos?ids= with 100 ids, wrk -t2 -c64 | — | $(calc "%.0f" "$(w batch-64 rps) * 100") ids/s ($(w batch-64 rps) req/s, p50 $(w batch-64 p50_ms) ms, p99 $(w batch-64 p99_ms) ms, $(errs batch-64) socket errors, $(w batch-64 status) non-2xx) | single GET /saldo -c64: $(w ours-64 rps) ids/s | $(calc "%.1f" "$(w batch-64 rps) * 100 / $(w ours-64 rps)")× | — |"
  fi
  echo "| producer --file --preset fast | ≤ 1.2 × kcat -P | median ${prod_ours_s} s ($(calc "%.0f" "$producer_records / $prod_ours_s") rec/s) | kcat -P -l, same properties: median ${prod_kcat_s} s ($(calc "%.0f" "$producer_records / $prod_kcat_s") rec/s) | ${prod_ratio} (${prod_min}–${prod_max}) | $(yes_no "$prod_ratio <= 1.2") |"
  echo
  echo "Raw, in run order: rebuild raw reader [${raw_times# }] s (ours against it [${raw_ratios# }]), librdkafka alone with one consumer [${rdk1_times# }] s, with one consumer per partition [${rdk3_times# }] s, kcat [${kcat_times# }] s, ours [${ours_times# }] s, ratios [${rebuild_ratios# }]$( [ -n "$alt_label" ] && echo ", $alt_label [${alt_times# }] s, against ours [${alt_vs_ours# }]"); peak RSS ours [${ours_peaks# }] kB$( [ -n "$alt_label" ] && echo ", $alt_label [${alt_peaks# }] kB"); READY RSS ours [${ours_ready_rss# }] kB; warm [${warm_times# }] s; producer kcat [${prod_kcat_times# }] s, ours [${prod_ours_times# }] s, ratios [${prod_ratios# }]; RSS full ${rss_full} kB, empty ${rss_empty} kB."
  if [ -n "$micro_out" ]; then
    echo
    echo "Micro benchmarks (\`micro_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true\`):"
    echo
    echo '```'
    echo "$micro_out"
    echo '```'
  fi
  echo
} >"$report"
cat "$report"

if [ $record = 1 ]; then
  # One lab-notes file per day, runs in the order they were made; bench/RESULTS.md keeps only the
  # current figures, copied there by hand when a run changes one.
  notes=$root/bench/notes/$(date -u +%F)-runs.md
  mkdir -p "$(dirname "$notes")"
  [ -f "$notes" ] || printf '# Runs of bench/run.sh --record, %s\n\nOldest first.\n' "$(date -u +%F)" >"$notes"
  { echo; cat "$report"; } >>"$notes"
  log "recorded in bench/notes/${notes##*/}; update bench/RESULTS.md, \"Current figures\", if a figure changed"
fi
[ ${#failures[@]} -eq 0 ] || die "failed: ${failures[*]}"
