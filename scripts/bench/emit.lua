-- wrk script for scripts/bench-webhooks: POST /sandbox/v1/webhooks/emit with
-- the body in AGENTPHONE_BENCH_EMIT_BODY, authenticated with the API key from
-- AGENTPHONE_BENCH_KEY. With AGENTPHONE_BENCH_EMIT_LIMIT set, each thread
-- stops after that many answers (each connection's request in flight may
-- add one more) and creates the file AGENTPHONE_BENCH_EMIT_DONE.<thread>,
-- so that the caller can time a fixed backlog emitted as fast as the server
-- takes it (wrk itself runs on until -d ends).
local key = os.getenv("AGENTPHONE_BENCH_KEY")
if key == nil or key == "" then
  error("set AGENTPHONE_BENCH_KEY")
end
wrk.method = "POST"
wrk.body = os.getenv("AGENTPHONE_BENCH_EMIT_BODY") or "{}"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local limit = tonumber(os.getenv("AGENTPHONE_BENCH_EMIT_LIMIT") or "")
local marker = os.getenv("AGENTPHONE_BENCH_EMIT_DONE")
local answered = 0
function response(status, headers, body)
  answered = answered + 1
  if limit ~= nil and answered == limit then
    if marker ~= nil then
      local f = io.open(marker .. "." .. id, "w")
      if f then f:close() end
    end
    wrk.thread:stop()
  end
end
