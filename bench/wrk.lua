-- wrk script for bench/load.py: one request shape per run, chosen by the first script argument.
--
--   wrk ... -s bench/wrk.lua URL -- trivial
--   wrk ... -s bench/wrk.lua URL -- get IDS_FILE
--   wrk ... -s bench/wrk.lua URL -- put IDS_FILE
--
-- "get" and "put" pick a random source id (one per line in IDS_FILE) for every request and send
-- the token in BENCH_TOKEN as a bearer credential; "put" alternates frequency_in_minutes 30/60.
-- Every mode builds its requests here (wrk calls request() each time), so all runs pay the same
-- client-side cost. done() prints one machine-readable line that bench/load.py parses.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  mode = args[1]
  counter = 0
  ids = {}
  if mode ~= "trivial" then
    for line in io.lines(args[2]) do
      ids[#ids + 1] = line
    end
    local token = os.getenv("BENCH_TOKEN") or error("BENCH_TOKEN is not set")
    get_headers = { ["Authorization"] = "Bearer " .. token }
    put_headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  end
  math.randomseed(os.time() * 100 + (thread_number or 0))
end

function request()
  if mode == "trivial" then
    return wrk.format("GET", "/healthz")
  end
  local path = "/v4/sources/" .. ids[math.random(#ids)]
  if mode == "get" then
    return wrk.format("GET", path, get_headers)
  end
  counter = counter + 1
  local minutes = (counter % 2 == 0) and "30" or "60"
  return wrk.format("PUT", path, put_headers, '{"properties":{"frequency_in_minutes":"' .. minutes .. '"}}')
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
      '"mean_us":%.1f,"max_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout
  ))
end
