-- Outbound messages are a durable send queue (agentphone.MessageService):
-- a queued message is handed to its carrier once more when next_attempt_at
-- comes. Its first hand-over happens right after the request that stored
-- it, with next_attempt_at a lease ahead (if the process dies first, the
-- queue sends it then); a temporary carrier failure (rate limit, outage)
-- moves it to the next retry. send_attempts counts the hand-overs made.
ALTER TABLE messages ADD COLUMN send_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN next_attempt_at TIMESTAMPTZ;
UPDATE messages SET next_attempt_at = created_at WHERE status = 'queued';
DROP INDEX messages_queued;
CREATE INDEX messages_send_due ON messages (next_attempt_at) WHERE status = 'queued';
