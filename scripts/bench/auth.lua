-- wrk script for scripts/bench-api: GET with the API key from
-- AGENTPHONE_BENCH_KEY as a bearer token.
local key = os.getenv("AGENTPHONE_BENCH_KEY")
if key == nil or key == "" then
  error("set AGENTPHONE_BENCH_KEY")
end
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. key
