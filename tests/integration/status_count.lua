-- wrk script for rolling_restart_test.py: GET /saldo/<id> for random ids 1..SALDO_CUSTOMERS, and one
-- line at the end with the count of every status that was not 200 ("STATUS 503=12 404=3").
local customers = tonumber(os.getenv("SALDO_CUSTOMERS") or "1000")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
end

function request()
  return wrk.format("GET", "/saldo/" .. math.random(1, customers))
end

function response(status, headers, body)
  if status ~= 200 then
    local key = "s" .. status
    _G[key] = (_G[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for code = 100, 599 do
      local c = t:get("s" .. code)
      if c then total[code] = (total[code] or 0) + c end
    end
  end
  local parts = {}
  for code, n in pairs(total) do table.insert(parts, code .. "=" .. n) end
  local e = summary.errors
  io.write(string.format("WRK requests=%d connect=%d read=%d write=%d timeout=%d status=%d\n", summary.requests,
    e.connect, e.read, e.write, e.timeout, e.status))
  io.write("STATUS " .. table.concat(parts, " ") .. "\n")
end
