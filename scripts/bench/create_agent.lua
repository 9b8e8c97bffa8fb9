-- wrk script for scripts/bench-api: POST /v1/agents with a small JSON body,
-- authenticated with the API key from AGENTPHONE_BENCH_KEY.
local key = os.getenv("AGENTPHONE_BENCH_KEY")
if key == nil or key == "" then
  error("set AGENTPHONE_BENCH_KEY")
end
wrk.method = "POST"
wrk.body = '{"name":"Bench Agent","description":"created by scripts/bench-api","voiceSpeed":1.1,"language":"en-GB"}'
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"
