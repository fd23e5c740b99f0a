-- wrk script: POST /oauth/introspect (RFC 7662) with client_secret_basic.
-- args[1] = full Authorization header value ("Basic ..."),
-- args[2] = path of a file with one valid access token per line; requests cycle through them
--           (pre-built in init, so the per-request Lua cost is one table lookup).
-- A response counts as OK only if status == 200 and the body says "active": true.
-- Prints the same RESULT line as shared/bench/peers/lib/token.lua (tokens_per_s = OK/s).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local headers = {
    ["Authorization"] = args[1],
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
  }
  reqs = {}
  for line in io.lines(args[2]) do
    if line ~= "" then
      table.insert(reqs, wrk.format("POST", nil, headers, "token=" .. line))
    end
  end
  if #reqs == 0 then error("no tokens in " .. args[2]) end
  n = 0
  ok = 0
  bad = 0
  first_bad = ""
end

function request()
  n = n + 1
  return reqs[(n % #reqs) + 1]
end

function response(status, headers, body)
  if status == 200 and body and string.find(body, '"active"%s*:%s*true') then
    ok = ok + 1
  else
    bad = bad + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 120)
    end
  end
end

function done(summary, latency, requests)
  local okt, badt, sample = 0, 0, ""
  for _, t in ipairs(threads) do
    okt = okt + t:get("ok")
    badt = badt + t:get("bad")
    local fb = t:get("first_bad")
    if sample == "" and fb and fb ~= "" then sample = fb end
  end
  local secs = summary.duration / 1e6
  local e = summary.errors
  local sock = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    "RESULT driver=wrk duration_s=%.2f responses=%d ok=%d non_ok=%d socket_errors=%d " ..
    "(connect=%d read=%d write=%d timeout=%d) tokens_per_s=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    secs, summary.requests, okt, badt, sock, e.connect, e.read, e.write, e.timeout,
    okt / secs, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
  if sample ~= "" then io.write("FIRST_NON_OK " .. sample .. "\n") end
end
