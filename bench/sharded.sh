#!/usr/bin/env bash
# Sharded mode's figures (issue 24), side by side with one full (non-sharded) instance, same run, same machine:
#   1. cold start: time until all three sharded instances (one --shard-group, started together) are READY
#      and every partition is held ready (/shard/status), vs one full instance's cold rebuild of the whole
#      topic; the two alternate round by round (full first in odd rounds, sharded first in even ones), and
#      the report gives each side's median with min-max and the median of the per-round ratios;
#   2. memory: VmRSS (/proc/<pid>/status) of each sharded instance at READY vs the full instance's;
#   3. GET /saldo/<id> latency at one sharded instance, split by the answer's "served_by": answered
#      locally vs forwarded to the owner (one hop), median and p90 over sequential keep-alive requests
#      (one client, so the figure is the hop's cost, not a throughput).
# Starts its own broker (BENCH_KAFKA_PORT 19392, data under /tmp, removed at the end), fills a compacted
# topic of 6 partitions with the producer's load mode (murmur2 placement, every customer once then 20 %
# more updates) and uses the binaries of BENCH_BUILD_DIR (default build/test; bench/run.sh builds a
# Release tree in build/bench). Prints markdown.
#
#   bench/sharded.sh [--customers N] [--rounds R] [--samples S] [--tiny]
#
#   --customers N  customers in the topic (default 1000000)
#   --rounds R     alternating rounds of (full, sharded) cold starts (default 3, at least 3 for a spread)
#   --samples S    GET requests for the latency split (default 4000)
#   --tiny         5,000 customers, 3 rounds, 400 samples (checks the script in a few seconds)
# Environment: BENCH_KAFKA_PORT (19392), BENCH_HTTP_PORT (19420; the sharded instances use +1..+3),
#   BENCH_BUILD_DIR (build/test), BENCH_SERVICE_BIN (the consumer_service measured: BENCH_BUILD_DIR's),
#   BENCH_KAFKA_HEAP (1g), BENCH_SHARDS (3).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
customers=1000000 rounds=3 samples=4000
while [ $# -gt 0 ]; do
  case "$1" in
    --customers) customers=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --samples) samples=$2; shift ;;
    --tiny) customers=5000; rounds=3; samples=400 ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "sharded.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $customers =~ ^[0-9]+$ ]] && [ "$customers" -ge 1 ] || { echo "sharded.sh: --customers must be a positive number" >&2; exit 2; }
[[ $rounds =~ ^[0-9]+$ ]] && [ "$rounds" -ge 1 ] || { echo "sharded.sh: --rounds must be >= 1" >&2; exit 2; }
records=$((customers + customers / 5))
partitions=6
shards=${BENCH_SHARDS:-3}

build=${BENCH_BUILD_DIR:-$root/build/test}
service_bin=${BENCH_SERVICE_BIN:-$build/consumer_service/consumer_service}
producer_bin=$build/producer/producer
admin_bin=$build/tools/saldo_admin
kport=${BENCH_KAFKA_PORT:-19392}
hport=${BENCH_HTTP_PORT:-19420}
bootstrap=127.0.0.1:$kport
work=$(mktemp -d /tmp/saldo-bench-sharded.XXXXXX)
export KAFKA_PORT=$kport KAFKA_DATA_DIR=$work/kafka KAFKA_HEAP=${BENCH_KAFKA_HEAP:-1g}
topic=bench-sharded

log() { echo "[sharded $(date +%T)] $*" >&2; }
die() { echo "sharded.sh: $*" >&2; exit 1; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }" 2>/dev/null || echo "?"; }
# stats [FORMAT] < "v1 v2 ...": "median min max", each printed with FORMAT (%.3f)
stats() {
  tr ' ' '\n' | grep . | sort -g | awk -v f="${1:-%.3f}" '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf f " " f " " f "\n", m, v[1], v[NR] }'
}
rss_mb() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null || true; }

for b in producer/producer tools/saldo_admin; do
  [ -x "$build/$b" ] || die "$build/$b is not built (set BENCH_BUILD_DIR)"
done
[ -x "$service_bin" ] || die "$service_bin is not built (set BENCH_BUILD_DIR or BENCH_SERVICE_BIN)"
help_text=$("$service_bin" --help 2>&1 || true)  # not piped into grep -q: pipefail and SIGPIPE
grep -q -- --shard-group <<<"$help_text" || die "$service_bin has no --shard-group (a build without sharded mode)"

pids=()
finish() {
  local rc=$? pid
  [ ${#pids[@]} = 0 ] || stop_pids "${pids[@]}"
  "$root/scripts/kafka-local.sh" stop >/dev/null 2>&1 || true
  [ $rc -eq 0 ] || { echo "bench/sharded.sh failed; last service logs:" >&2; tail -n 15 "$work"/*.log >&2 || true; }
  rm -rf "$work"
  exit $rc
}
trap finish EXIT
cd "$work"  # no project .env here: every binary gets its settings on the command line

# ---------------------------------------------------------------- broker and topic
log "starting a broker on $bootstrap (data in $KAFKA_DATA_DIR)"
"$root/scripts/kafka-local.sh" start >&2
"$admin_bin" create-topic --bootstrap-servers "$bootstrap" --topic "$topic" --partitions "$partitions" >&2
log "filling $topic: $records records over $customers customers in $partitions partitions (producer --preset fast)"
t0=$(now)
"$producer_bin" --bootstrap-servers "$bootstrap" --topic "$topic" --customers "$customers" --updates "$records" \
  --seed 7 --rate 0 --preset fast --log-level warn >&2
fill_s=$(secs "$t0" "$(now)")
log "filled in ${fill_s}s"

# Stops the given pids (SIGTERM together, SIGKILL after 15 s: the last sharded instances to leave have no
# new owner to hand over to) and drops them from the cleanup list.
stop_pids() {
  local pid alive deadline=$((SECONDS + 15))
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  while [ $SECONDS -lt $deadline ]; do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  pids=()
}

# Every partition held ready by the instances on the given ports, per /shard/status; true as well when
# the build has no /shard/status (then READY on each instance is the figure).
all_partitions_held() {  # port...
  local port body held=""
  for port in "$@"; do
    body=$(curl -s --max-time 2 -w '\n%{http_code}' "http://127.0.0.1:$port/shard/status" 2>/dev/null) || return 1
    [ "${body##*$'\n'}" = 404 ] && return 0
    held+=" $(sed -n 's/.*"holds":{\([^}]*\)}.*/\1/p' <<<"${body%$'\n'*}" | tr ',' '\n' | sed -n 's/"\([0-9]*\)":"ready"/\1/p' | tr '\n' ' ')"
  done
  [ "$(tr ' ' '\n' <<<"$held" | grep . | sort -un | wc -l)" -eq "$partitions" ]
}

full_times="" shard_times="" ratios="" full_rss="" shard_rss=""
full_run() {  # one cold rebuild of the whole topic by one full instance; sets run_s
  local t0 pid deadline
  t0=$(now)
  "$service_bin" --bootstrap-servers "$bootstrap" --topic "$topic" --http-host 127.0.0.1 --http-port "$hport" \
    --log-level info >"$work/full-$1.log" 2>&1 &
  pid=$!; pids=("$pid")
  deadline=$((SECONDS + 900))
  until [ "$(http_code "http://127.0.0.1:$hport/ready")" = 200 ]; do
    kill -0 "$pid" 2>/dev/null || die "the full instance exited before READY"
    [ $SECONDS -lt $deadline ] || die "the full instance not READY within 900 s"
    sleep 0.01
  done
  run_s=$(secs "$t0" "$(now)")
  sleep 1  # the reader settles after READY (prefetch queues drain)
  full_rss+=" $(rss_mb "$pid")"
  stop_pids "$pid"
}
shard_ports=()
for i in $(seq 1 "$shards"); do shard_ports+=($((hport + i))); done
shard_run() {  # all instances started together, until each is READY and every partition held; sets run_s
  local t0 i port deadline
  t0=$(now)
  pids=()
  for i in $(seq 1 "$shards"); do
    port=${shard_ports[$((i - 1))]}
    "$service_bin" --bootstrap-servers "$bootstrap" --topic "$topic" --http-host 127.0.0.1 --http-port "$port" \
      --shard-group "bench-sharded-$1-$$" --advertise "http://127.0.0.1:$port" --log-level info \
      >"$work/shard-$1-$i.log" 2>&1 &
    pids+=($!)
  done
  deadline=$((SECONDS + 900))
  for port in "${shard_ports[@]}"; do
    until [ "$(http_code "http://127.0.0.1:$port/ready")" = 200 ]; do
      for i in "${pids[@]}"; do kill -0 "$i" 2>/dev/null || die "a sharded instance exited before READY"; done
      [ $SECONDS -lt $deadline ] || die "sharded instance on $port not READY within 900 s"
      sleep 0.01
    done
  done
  until all_partitions_held "${shard_ports[@]}"; do
    [ $SECONDS -lt $deadline ] || die "the partitions were not all held ready within 900 s"
    sleep 0.01
  done
  run_s=$(secs "$t0" "$(now)")
  sleep 1
  for i in "${pids[@]}"; do shard_rss+=" $(rss_mb "$i")"; done
  [ "$1" = "$rounds" ] && return 0  # the last round's instances stay up for the latency split
  stop_pids "${pids[@]}"
}

# ---------------------------------------------------------------- 1 and 2: cold starts, memory
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then order="full shard"; else order="shard full"; fi
  for side in $order; do
    log "round $r/$rounds: $side"
    if [ "$side" = full ]; then full_run "$r"; f=$run_s; else shard_run "$r"; s=$run_s; fi
  done
  log "round $r: full ${f}s, sharded ${s}s"
  full_times+=" $f"; shard_times+=" $s"; ratios+=" $(calc "%.3f" "$f / $s")"
done

# ---------------------------------------------------------------- 3: local vs forwarded GET
log "GET latency at http://127.0.0.1:${shard_ports[0]}: $samples requests, split by served_by"
latency=$(python3 - "${shard_ports[0]}" "$customers" "$samples" <<'EOF'
import http.client, json, random, sys, time
port, customers, samples = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
me = f"http://127.0.0.1:{port}"
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
# The producer's load mode names its customers 1..N.
times = {"local": [], "forwarded": [], "other": []}
rng = random.Random(11)
def get(path):
    global conn
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    except (OSError, http.client.HTTPException):
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        return None, b""
for _ in range(samples):
    path = f"/saldo/{rng.randrange(1, customers + 1)}"
    t0 = time.perf_counter()
    status, body = get(path)
    took = (time.perf_counter() - t0) * 1000
    if status != 200:
        times["other"].append(took)
        continue
    served_by = json.loads(body).get("served_by")
    times["local" if served_by == me else "forwarded" if served_by else "other"].append(took)
def q(v, f):
    v = sorted(v)
    return f"{v[min(len(v) - 1, int(f * len(v)))]:.2f}" if v else "-"
for k in ("local", "forwarded", "other"):
    print(k, len(times[k]), q(times[k], 0.5), q(times[k], 0.9))
EOF
)
stop_pids "${pids[@]}"

# ---------------------------------------------------------------- report
read -r fm fmin fmax < <(stats <<<"$full_times")
read -r sm smin smax < <(stats <<<"$shard_times")
read -r rm rmin rmax < <(stats <<<"$ratios")
read -r frm frmin frmax < <(stats %.1f <<<"$full_rss")
read -r srm srmin srmax < <(stats %.1f <<<"$shard_rss")
lat() { awk -v k="$1" -v f="$2" '$1 == k { print $f }' <<<"$latency"; }
echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — sharded mode: $customers customers, $records records, $partitions partitions, $shards instances"
echo
echo "- command: \`bench/sharded.sh --customers $customers --rounds $rounds --samples $samples\`; service: $service_bin; $(nproc) cores; topic filled in ${fill_s} s"
echo "- cold starts alternate round by round (full, sharded; then sharded, full; ...); sharded = from starting all $shards instances together until each is READY and every partition is held ready"
echo
echo "| figure | full instance | sharded ($shards instances) | full / sharded |"
echo "|---|---|---|---|"
echo "| cold start to READY, s (median, min–max over $rounds rounds) | $fm ($fmin–$fmax) | $sm ($smin–$smax) | $(calc "%.2f" "$rm")× ($(calc "%.2f" "$rmin")–$(calc "%.2f" "$rmax")) |"
echo "| RSS at READY, MB (median, min–max; sharded: per instance) | $frm ($frmin–$frmax) | $srm ($srmin–$srmax) | $(calc "%.2f" "$frm / $srm")× |"
echo
echo "| GET /saldo/<id> at one sharded instance | requests | median ms | p90 ms |"
echo "|---|---|---|---|"
echo "| answered locally (served_by = itself) | $(lat local 2) | $(lat local 3) | $(lat local 4) |"
echo "| forwarded to the owner (one hop) | $(lat forwarded 2) | $(lat forwarded 3) | $(lat forwarded 4) |"
echo "| other (not 200, or no served_by) | $(lat other 2) | $(lat other 3) | $(lat other 4) |"
echo
echo "- per round, s: full [$(echo $full_times)], sharded [$(echo $shard_times)]"
