-- The webhook delivery log: one row per event sent (or to be sent) to one
-- webhook, updated after every attempt.
--
-- agent_id and webhook_id have no foreign key on purpose: the log outlives
-- the agents and webhooks it mentions and keeps their ids as recorded. The
-- account's deliveries go with the account.

CREATE TABLE webhook_deliveries (
	id              TEXT COLLATE "C" PRIMARY KEY,
	account_id      TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	agent_id        TEXT COLLATE "C",
	webhook_id      TEXT COLLATE "C",
	event_type      TEXT NOT NULL,
	channel         TEXT,
	message_id      TEXT,
	status          TEXT NOT NULL CHECK (status IN ('pending', 'success', 'failed')),
	http_status     INTEGER,
	error_message   TEXT,
	response_body   TEXT,
	attempt_count   INTEGER NOT NULL,
	last_attempt_at TIMESTAMPTZ,
	next_retry_at   TIMESTAMPTZ,
	test            BOOLEAN NOT NULL,
	created_at      TIMESTAMPTZ NOT NULL,
	payload         BYTEA NOT NULL -- the envelope as signed and sent
);
-- Lists, newest first: the account's, and one agent's.
CREATE INDEX webhook_deliveries_account ON webhook_deliveries (account_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_agent ON webhook_deliveries (account_id, agent_id, created_at DESC, id DESC);
-- Counts of an account since a time, read from the index alone.
CREATE INDEX webhook_deliveries_counts ON webhook_deliveries (account_id, created_at, event_type, status);
-- Pruning of finished deliveries; the predicate is the one PruneDeliveries
-- states, word for word, so that the planner matches it.
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (created_at) WHERE status IN ('success', 'failed');
-- The delivery worker's queue: pending deliveries by when they are due.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_retry_at) WHERE status = 'pending';
