#!/usr/bin/env bash
# The PostgreSQL sink's benchmark (issue 13), each figure next to its limit in the same run:
#   1. initial load: consumer_service replays N customers (one record each) into an empty database;
#      rows/s from the service's start until saldo_offsets covers every record;
#   2. PostgreSQL's own limit: COPY of the same rows (exported from saldos) into an empty table of the
#      same definition (primary key included), in the same database, right after;
#   3. tail lag: while a load of R records/s runs, probes are sent one by one and the time from each
#      probe's Kafka record timestamp until its row is visible in saldos is measured (polled every
#      2 ms over one psql session, so up to ~3 ms of the figure are the poll's own).
# Starts its own broker and PostgreSQL (BENCH_KAFKA_PORT 19392, BENCH_PG_PORT 25492, data under /tmp,
# removed at the end) and uses the binaries of BENCH_BUILD_DIR (default build/test); BENCH_SERVICE_BIN
# measures another consumer_service (an older build, for an A/B: run the script once per side, alternating).
# Prints markdown.
#
#   bench/postgres_sink.sh [--customers N] [--tail-rate R] [--probes P]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
customers=1000000 tail_rate=1000 probes=100
while [ $# -gt 0 ]; do
  case "$1" in
    --customers) customers=$2; shift ;;
    --tail-rate) tail_rate=$2; shift ;;
    --probes) probes=$2; shift ;;
    *) echo "usage: $0 [--customers N] [--tail-rate R] [--probes P]" >&2; exit 2 ;;
  esac
  shift
done
bin=${BENCH_BUILD_DIR:-$root/build/test}
service_bin=${BENCH_SERVICE_BIN:-$bin/consumer_service/consumer_service}
kport=${BENCH_KAFKA_PORT:-19392}
pport=${BENCH_PG_PORT:-25492}
hport=${BENCH_HTTP_PORT:-25493}
kdata=/tmp/saldo-bench-pg-kafka-$kport
pdata=/tmp/saldo-bench-pg-$pport
work=$(mktemp -d /tmp/saldo-bench-pg.XXXXXX)
bootstrap=127.0.0.1:$kport
topic=bench-pg
svc_pid="" load_pid=""

kafka() { KAFKA_PORT=$kport KAFKA_DATA_DIR=$kdata KAFKA_HEAP=1g "$root/scripts/kafka-local.sh" "$@"; }
pg() { PG_PORT=$pport PG_DATA_DIR=$pdata "$root/scripts/postgres-local.sh" "$@"; }
sql() { pg psql -Atq -c "$1"; }
# The polls of phases 1 and 3 go through one psql session (started below): `sql` per poll is a bash
# script and a psql process, ~47 ms of CPU each here, which took most of a core from the sink being
# timed (bench/notes/2026-12-04-stopwatch.md).
poll_sql() {  # poll_sql QUERY: sets `polled` to the answer's last line (an error's last line on error)
  printf '%s;\n\\echo __done__\n' "$1" >&"${POLL[1]}"
  local line; polled=""
  while :; do
    IFS= read -r -t 30 line <&"${POLL[0]}" || { echo "the polling psql session stopped answering" >&2; exit 1; }
    [ "$line" = __done__ ] && break
    polled=$line
  done
}
now_ms() { date +%s%3N; }

finish() {
  local rc=$?
  [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null || true
  [ -n "$svc_pid" ] && kill "$svc_pid" 2>/dev/null && wait "$svc_pid" 2>/dev/null || true
  [ -z "${POLL_PID:-}" ] || kill "$POLL_PID" 2>/dev/null || true
  kafka stop >/dev/null 2>&1 || true
  pg stop >/dev/null 2>&1 || true
  rm -rf "$kdata" "$pdata"
  [ $rc -eq 0 ] || { echo "bench/postgres_sink.sh failed; service log:" >&2; tail -n 30 "$work/service.log" >&2 || true; }
  rm -rf "$work"
  exit $rc
}
trap finish EXIT

rm -rf "$kdata" "$pdata"
kafka start >&2
pg start >&2
coproc POLL { pg psql -Atq 2>&1; }
"$bin/tools/saldo_admin" create-topic -b "$bootstrap" --topic "$topic" --partitions 3 >&2
echo "filling the topic with $customers customers" >&2
"$bin/producer/producer" -b "$bootstrap" -t "$topic" --customers "$customers" --updates "$customers" \
  --preset fast --rate 0 >&2

# 1. The sink's initial load into an empty database.
url=$(pg url)
t0=$(now_ms)
POSTGRES_URL=$url "$service_bin" -b "$bootstrap" -t "$topic" --http-host 127.0.0.1 \
  --http-port "$hport" >"$work/service.log" 2>&1 &
svc_pid=$!
while :; do
  # The 50 ms between polls are slept by the server (pg_sleep): no process started for them either.
  poll_sql "select pg_sleep(0.05); select coalesce(sum(next_offset),0) from saldo_offsets"
  # Not a number until the sink has created its tables.
  [[ $polled =~ ^[0-9]+$ ]] && [ "$polled" -ge "$customers" ] && break
  kill -0 "$svc_pid" || { echo "the service exited" >&2; exit 1; }
done
t1=$(now_ms)
sink_ms=$((t1 - t0))
rows=$(sql "select count(*) from saldos")
metrics=$(curl -s "http://127.0.0.1:$hport/metrics")
txs=$(awk '/^saldo_postgres_sink_transactions_total /{print $2}' <<<"$metrics")

# 2. COPY of the same rows into an empty table of the same definition.
sql "\\copy saldos to '$work/saldos.tsv'"
sql "create table saldos_copy (like saldos including all)"
c0=$(now_ms)
sql "\\copy saldos_copy from '$work/saldos.tsv'"
c1=$(now_ms)
copy_ms=$((c1 - c0))
[ "$(sql "select count(*) from saldos_copy")" = "$rows" ] || { echo "COPY count differs" >&2; exit 1; }

# 3. Tail lag under load.
"$bin/producer/producer" -b "$bootstrap" -t "$topic" --customers "$customers" --rate "$tail_rate" \
  --duration 3600 --updates 0 --seed 9 >/dev/null 2>&1 &
load_pid=$!
sleep 2  # let the load reach its rate
: > "$work/lag.txt"
for i in $(seq 1 "$probes"); do
  "$bin/producer/producer" -b "$bootstrap" -t "$topic" --id "probe-$i" --saldo "$i.01" >/dev/null 2>&1
  deadline=$(( $(now_ms) + 10000 ))
  # order_ms is the record's timestamp here: the topic uses LogAppendTime, so a partition's time never goes back.
  while :; do
    # 2 ms apart (slept by the server), so the wait does not spin a core beside the sink.
    poll_sql "select pg_sleep(0.002); select order_ms from saldos where cliente_id = 'probe-$i'"
    [[ $polled =~ ^[0-9]+$ ]] && break
    [ "$(now_ms)" -lt "$deadline" ] || { echo "probe $i not in saldos after 10 s" >&2; exit 1; }
  done
  echo $(( $(now_ms) - polled )) >> "$work/lag.txt"
done
kill "$load_pid"; load_pid=""
read -r p50 p99 max < <(sort -n "$work/lag.txt" | awk '{a[NR]=$1} END {
  i50 = int(NR * 0.50 + 0.5); i99 = int(NR * 0.99 + 0.5); if (i99 < 1) i99 = 1;
  print a[i50], a[i99], a[NR] }')
metrics=$(curl -s "http://127.0.0.1:$hport/metrics")

sink_rate=$((rows * 1000 / (sink_ms > 0 ? sink_ms : 1)))
copy_rate=$((rows * 1000 / (copy_ms > 0 ? copy_ms : 1)))
ratio=$(awk -v a="$sink_rate" -v b="$copy_rate" 'BEGIN { printf "%.2f", a / b }')
cat <<REPORT
### PostgreSQL sink ($(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), PostgreSQL $(sql "show server_version" | cut -d' ' -f1), \`bench/postgres_sink.sh --customers $customers --tail-rate $tail_rate --probes $probes\`)

| measure | figure | limit / target |
|---|---|---|
| initial load, sink (service start to last commit) | $rows rows in $((sink_ms))ms = **$sink_rate rows/s** ($txs transactions) | COPY of the same rows: $copy_ms ms = $copy_rate rows/s; ratio **$ratio** (target >= 0.5) |
| tail lag, record timestamp to row visible, under $tail_rate rec/s | p50 **$p50 ms**, p99 **$p99 ms**, max $max ms ($probes probes) | target p99 < 250 ms |

Commit latency histogram after the run: $(grep -E '^saldo_postgres_sink_commit_duration_seconds_(sum|count)' <<<"$metrics" | tr '\n' ' ')
REPORT
