-- Accounts, API keys, agents, numbers and webhooks.
-- Ids use COLLATE "C" so that they sort byte by byte, as on SQLite, whatever
-- the database's collation: lists break ties of created_at by id.

CREATE TABLE accounts (
	id         TEXT COLLATE "C" PRIMARY KEY,
	parent_id  TEXT COLLATE "C" REFERENCES accounts (id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX accounts_parent ON accounts (parent_id, created_at DESC, id DESC);
CREATE INDEX accounts_top_name ON accounts (name, created_at, id) WHERE parent_id IS NULL;

CREATE TABLE api_keys (
	id         TEXT COLLATE "C" PRIMARY KEY,
	account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	prefix     TEXT NOT NULL,
	hash       TEXT COLLATE "C" NOT NULL UNIQUE,
	created_at TIMESTAMPTZ NOT NULL,
	revoked_at TIMESTAMPTZ
);
CREATE INDEX api_keys_account ON api_keys (account_id, created_at DESC, id DESC);

CREATE TABLE agents (
	id                       TEXT COLLATE "C" PRIMARY KEY,
	account_id               TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	name                     TEXT NOT NULL,
	description              TEXT,
	voice_mode               TEXT NOT NULL,
	enable_messaging         BOOLEAN NOT NULL,
	model_tier               TEXT NOT NULL,
	system_prompt            TEXT,
	begin_message            TEXT,
	voice                    TEXT NOT NULL,
	transfer_number          TEXT,
	custom_tools             TEXT, -- JSON array as stored (not JSONB, which reorders keys); NULL when never set
	voicemail_message        TEXT,
	call_screening_identity  TEXT,
	call_screening_purpose   TEXT,
	stt_mode                 TEXT NOT NULL,
	ambient_sound            TEXT NOT NULL,
	denoising_mode           TEXT NOT NULL,
	max_silence_ms           INTEGER NOT NULL,
	voice_speed              DOUBLE PRECISION NOT NULL,
	interruption_sensitivity DOUBLE PRECISION NOT NULL,
	enable_backchannel       BOOLEAN NOT NULL,
	language                 TEXT NOT NULL,
	created_at               TIMESTAMPTZ NOT NULL,
	updated_at               TIMESTAMPTZ NOT NULL,
	UNIQUE (account_id, id) -- target of webhooks' (account_id, agent_id)
);
CREATE INDEX agents_account ON agents (account_id, created_at DESC, id DESC);

CREATE TABLE numbers (
	id           TEXT COLLATE "C" PRIMARY KEY,
	account_id   TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	phone_number TEXT COLLATE "C" NOT NULL,
	country      TEXT NOT NULL,
	status       TEXT NOT NULL, -- 'active' or 'released'
	type         TEXT NOT NULL,
	agent_id     TEXT COLLATE "C" REFERENCES agents (id) ON DELETE SET NULL,
	provider     TEXT NOT NULL,
	provider_ref TEXT NOT NULL,
	cap_sms      BOOLEAN NOT NULL,
	cap_mms      BOOLEAN NOT NULL,
	cap_voice    BOOLEAN NOT NULL,
	cap_imessage BOOLEAN NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL,
	attached_at  TIMESTAMPTZ,
	released_at  TIMESTAMPTZ
);
-- A phone number is held by one active number at most; released ones may
-- repeat it.
CREATE UNIQUE INDEX numbers_active_phone ON numbers (phone_number) WHERE status = 'active';
CREATE INDEX numbers_account ON numbers (account_id, status, created_at DESC, id DESC);
CREATE INDEX numbers_agent ON numbers (agent_id, attached_at, id);

CREATE TABLE webhooks (
	id              TEXT COLLATE "C" PRIMARY KEY,
	account_id      TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	agent_id        TEXT COLLATE "C",
	scope_key       TEXT COLLATE "C" NOT NULL, -- '' for the project webhook, else agent_id
	url             TEXT NOT NULL,
	secret          TEXT NOT NULL,
	status          TEXT NOT NULL,
	context_limit   INTEGER NOT NULL,
	timeout_seconds INTEGER NOT NULL,
	created_at      TIMESTAMPTZ NOT NULL,
	updated_at      TIMESTAMPTZ NOT NULL,
	UNIQUE (account_id, scope_key),
	CHECK (scope_key = COALESCE(agent_id, '')),
	-- The agent must be of the same account; deleting it deletes its webhook.
	FOREIGN KEY (account_id, agent_id) REFERENCES agents (account_id, id) ON DELETE CASCADE
);
CREATE INDEX webhooks_agent ON webhooks (account_id, agent_id);
