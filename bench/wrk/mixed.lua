-- A mixed read/write load for `make soak`: mostly reads, some creates and edits, every
-- request a real API call. Paths and the token come from the environment (bench/soak.py).
-- Each connection waits SOAK_DELAY_MS between requests, which sets the offered rate.
local token = os.getenv("SOAK_TOKEN")
local post = os.getenv("SOAK_POST")
local own = os.getenv("SOAK_OWN_POST")
local delay_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "0")
local counter = 0
local threads = {}
-- Per-thread counts by status class, as plain numbers (thread:get() copies only scalars).
s100, s200, s300, s400, s500 = 0, 0, 0, 0, 0

function setup(thread)
  table.insert(threads, thread)
end

function delay()
  return delay_ms
end

function request()
  counter = counter + 1
  local n = counter % 20
  local auth = { ["Authorization"] = "Bearer " .. token }
  if n < 7 then
    return wrk.format("GET", "/api/posts/")
  elseif n < 12 then
    return wrk.format("GET", "/api/posts/" .. post)
  elseif n < 16 then
    return wrk.format("GET", "/api/posts/me", auth)
  elseif n < 18 then
    auth["Content-Type"] = "application/json"
    return wrk.format("POST", "/api/posts/", auth,
      '{"title": "Soak post", "content": "Written during the soak."}')
  else
    auth["Content-Type"] = "application/json"
    return wrk.format("PATCH", "/api/posts/" .. own, auth, '{"title": "Soak edit"}')
  end
end

function response(status, headers, body)
  local name = "s" .. math.floor(status / 100) * 100
  _G[name] = (_G[name] or 0) + 1
end

function done(summary, latency, requests)
  local parts = {}
  for _, class in ipairs({100, 200, 300, 400, 500}) do
    local total = 0
    for _, thread in ipairs(threads) do
      total = total + (thread:get("s" .. class) or 0)
    end
    table.insert(parts, string.format('"%d": %d', class, total))
  end
  io.write("STATUS_CLASSES {" .. table.concat(parts, ", ") .. "}\n")
end
