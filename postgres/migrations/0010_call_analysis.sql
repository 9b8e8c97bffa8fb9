-- The post-call analysis of a call (agentphone.CallAnalysis: the summary,
-- the caller's sentiment and whether the call succeeded, spec §15.7),
-- which the built-in LLM writes after the call has ended so that the
-- hang-up is not delayed by it.
--
-- analysis: a JSON object {summary, userSentiment, callSuccessful} as
-- stored; NULL until produced (and for calls that get none).
-- analysis_pending: true from the end of a call that awaits its analysis
-- until the analysis is stored with its agent.call_ended event, which
-- waits for it; the calls a run left pending are settled at the next
-- start.
ALTER TABLE calls ADD COLUMN analysis TEXT;
ALTER TABLE calls ADD COLUMN analysis_pending BOOLEAN NOT NULL DEFAULT false;
-- The recovery at start.
CREATE INDEX calls_analysis_pending ON calls (ended_at) WHERE analysis_pending;
