-- The latency breakdown of an agent turn (our addition, agentphone.
-- TurnLatency): how long each stage took from the caller's end of speech
-- to the first packet of the answer, as a JSON object of milliseconds as
-- stored; NULL for turns without one (user turns, the greeting, turns
-- stored before this migration).
ALTER TABLE call_turns ADD COLUMN latency TEXT;
