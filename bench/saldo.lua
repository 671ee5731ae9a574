-- wrk script for bench/run.sh: GET /saldo/<id> for random existing ids 1..SALDO_CUSTOMERS (the
-- producer's load mode names customers 1..K); with SALDO_BATCH=N, GET /saldos?ids=<N random ids>
-- instead (batch lookups). One machine-readable line at the end.
local customers = tonumber(os.getenv("SALDO_CUSTOMERS") or "1000")
local batch = tonumber(os.getenv("SALDO_BATCH") or "0")

function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
end

function request()
  if batch == 0 then return wrk.format("GET", "/saldo/" .. math.random(1, customers)) end
  local ids = {}
  for i = 1, batch do ids[i] = math.random(1, customers) end
  return wrk.format("GET", "/saldos?ids=" .. table.concat(ids, ","))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d rps=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
    "connect=%d read=%d write=%d timeout=%d status=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.timeout, e.status))
end
