-- Conversations and messages (spec §4, §5). A conversation is the thread
-- between one of the account's numbers and one other party. Both outlive
-- the release of their number (numbers rows are never deleted) and the
-- deletion of their agent (agent_id is set to NULL); they go with the
-- account.
CREATE TABLE conversations (
	id                   TEXT COLLATE "C" PRIMARY KEY,
	account_id           TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	number_id            TEXT COLLATE "C" NOT NULL REFERENCES numbers (id),
	agent_id             TEXT COLLATE "C" REFERENCES agents (id) ON DELETE SET NULL,
	phone_number         TEXT NOT NULL, -- the number's, E.164
	participant          TEXT NOT NULL, -- the other party
	metadata             TEXT,          -- JSON object as stored; NULL when none
	last_message_at      TIMESTAMPTZ NOT NULL,
	last_message_preview TEXT NOT NULL,
	message_count        INTEGER NOT NULL,
	created_at           TIMESTAMPTZ NOT NULL,
	UNIQUE (number_id, participant)
);
CREATE INDEX conversations_account ON conversations (account_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_agent ON conversations (agent_id, last_message_at DESC, id DESC);

CREATE TABLE messages (
	id                  TEXT COLLATE "C" PRIMARY KEY,
	account_id          TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	conversation_id     TEXT COLLATE "C" NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	number_id           TEXT COLLATE "C" NOT NULL REFERENCES numbers (id),
	agent_id            TEXT COLLATE "C" REFERENCES agents (id) ON DELETE SET NULL,
	direction           TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
	from_number         TEXT NOT NULL,
	to_number           TEXT NOT NULL,
	body                TEXT NOT NULL,
	media_urls          TEXT NOT NULL, -- JSON array
	channel             TEXT NOT NULL,
	status              TEXT NOT NULL,
	error_message       TEXT,
	provider_ref        TEXT,
	reply_to_message_id TEXT,
	created_at          TIMESTAMPTZ NOT NULL, -- receivedAt
	updated_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, created_at DESC, id DESC);
CREATE INDEX messages_number ON messages (number_id, created_at DESC, id DESC);
CREATE INDEX messages_account ON messages (account_id, created_at);
-- Sends left queued by a process that died before the hand-over
-- (MessageService.RecoverQueued, at start).
CREATE INDEX messages_queued ON messages (created_at) WHERE status = 'queued';
