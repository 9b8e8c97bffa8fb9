-- Accounts, API keys, agents, numbers and webhooks.
-- Times are TEXT in the layout modernc.org/sqlite writes with
-- _time_format=sqlite ("2006-01-02 15:04:05.999999-07:00", always UTC), which
-- sorts like the times it holds. Booleans are INTEGER 0/1.

CREATE TABLE accounts (
	id         TEXT PRIMARY KEY,
	parent_id  TEXT REFERENCES accounts (id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	created_at TEXT NOT NULL
) STRICT;
CREATE INDEX accounts_parent ON accounts (parent_id, created_at DESC, id DESC);
CREATE INDEX accounts_top_name ON accounts (name, created_at, id) WHERE parent_id IS NULL;

CREATE TABLE api_keys (
	id         TEXT PRIMARY KEY,
	account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	prefix     TEXT NOT NULL,
	hash       TEXT NOT NULL UNIQUE,
	created_at TEXT NOT NULL,
	revoked_at TEXT
) STRICT;
CREATE INDEX api_keys_account ON api_keys (account_id, created_at DESC, id DESC);

CREATE TABLE agents (
	id                       TEXT PRIMARY KEY,
	account_id               TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	name                     TEXT NOT NULL,
	description              TEXT,
	voice_mode               TEXT NOT NULL,
	enable_messaging         INTEGER NOT NULL,
	model_tier               TEXT NOT NULL,
	system_prompt            TEXT,
	begin_message            TEXT,
	voice                    TEXT NOT NULL,
	transfer_number          TEXT,
	custom_tools             TEXT, -- JSON array as stored; NULL when never set
	voicemail_message        TEXT,
	call_screening_identity  TEXT,
	call_screening_purpose   TEXT,
	stt_mode                 TEXT NOT NULL,
	ambient_sound            TEXT NOT NULL,
	denoising_mode           TEXT NOT NULL,
	max_silence_ms           INTEGER NOT NULL,
	voice_speed              REAL NOT NULL,
	interruption_sensitivity REAL NOT NULL,
	enable_backchannel       INTEGER NOT NULL,
	language                 TEXT NOT NULL,
	created_at               TEXT NOT NULL,
	updated_at               TEXT NOT NULL,
	UNIQUE (account_id, id) -- target of webhooks' (account_id, agent_id)
) STRICT;
CREATE INDEX agents_account ON agents (account_id, created_at DESC, id DESC);

CREATE TABLE numbers (
	id           TEXT PRIMARY KEY,
	account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	phone_number TEXT NOT NULL,
	country      TEXT NOT NULL,
	status       TEXT NOT NULL, -- 'active' or 'released'
	type         TEXT NOT NULL,
	agent_id     TEXT REFERENCES agents (id) ON DELETE SET NULL,
	provider     TEXT NOT NULL,
	provider_ref TEXT NOT NULL,
	cap_sms      INTEGER NOT NULL,
	cap_mms      INTEGER NOT NULL,
	cap_voice    INTEGER NOT NULL,
	cap_imessage INTEGER NOT NULL,
	created_at   TEXT NOT NULL,
	attached_at  TEXT,
	released_at  TEXT
) STRICT;
-- A phone number is held by one active number at most; released ones may
-- repeat it.
CREATE UNIQUE INDEX numbers_active_phone ON numbers (phone_number) WHERE status = 'active';
CREATE INDEX numbers_account ON numbers (account_id, status, created_at DESC, id DESC);
CREATE INDEX numbers_agent ON numbers (agent_id, attached_at, id);

CREATE TABLE webhooks (
	id              TEXT PRIMARY KEY,
	account_id      TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	agent_id        TEXT,
	scope_key       TEXT NOT NULL, -- '' for the project webhook, else agent_id
	url             TEXT NOT NULL,
	secret          TEXT NOT NULL,
	status          TEXT NOT NULL,
	context_limit   INTEGER NOT NULL,
	timeout_seconds INTEGER NOT NULL,
	created_at      TEXT NOT NULL,
	updated_at      TEXT NOT NULL,
	UNIQUE (account_id, scope_key),
	CHECK (scope_key = COALESCE(agent_id, '')),
	-- The agent must be of the same account; deleting it deletes its webhook.
	FOREIGN KEY (account_id, agent_id) REFERENCES agents (account_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX webhooks_agent ON webhooks (account_id, agent_id);
