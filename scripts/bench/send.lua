-- wrk script for scripts/bench-messages: POST /v1/messages (snake_case
-- body) from the agent AGENTPHONE_BENCH_AGENT_ID to +1415555XXXX, the
-- recipient varying per request over AGENTPHONE_BENCH_VARY phones (default
-- 1000) from XXXX = AGENTPHONE_BENCH_FIRST (default 0), authenticated with
-- the API key from AGENTPHONE_BENCH_KEY.
local key = os.getenv("AGENTPHONE_BENCH_KEY")
if key == nil or key == "" then
  error("set AGENTPHONE_BENCH_KEY")
end
local agent = os.getenv("AGENTPHONE_BENCH_AGENT_ID")
if agent == nil or agent == "" then
  error("set AGENTPHONE_BENCH_AGENT_ID")
end
local vary = tonumber(os.getenv("AGENTPHONE_BENCH_VARY") or "") or 1000
local first = tonumber(os.getenv("AGENTPHONE_BENCH_FIRST") or "") or 0
if first < 0 or vary < 1 or first + vary > 10000 then
  error("AGENTPHONE_BENCH_FIRST + AGENTPHONE_BENCH_VARY must be at most 10000")
end
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

-- Each thread starts at its own place among the recipients.
local sent = 0
function request()
  local n = first + (sent + ((id or 1) - 1) * 499) % vary
  sent = sent + 1
  local body = string.format('{"agent_id":"%s","to_number":"+1415555%04d","body":"bench message %d"}',
    agent, n, sent)
  return wrk.format(nil, nil, nil, body)
end
