-- Calls (spec §8), their transcript turns and event logs, and the
-- per-account recording setting (our addition).
--
-- A call outlives the deletion of its agent (agent_id is set to NULL) and
-- the release of its number (numbers rows stay); it goes with its account.
-- number_id cascades only so that deleting a sub-account, which deletes its
-- numbers first, takes their calls along.

-- NULL: the server's default (--record-calls).
ALTER TABLE accounts ADD COLUMN record_calls BOOLEAN;

CREATE TABLE calls (
	id                      TEXT COLLATE "C" PRIMARY KEY,
	account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	agent_id                TEXT COLLATE "C" REFERENCES agents (id) ON DELETE SET NULL,
	number_id               TEXT COLLATE "C" REFERENCES numbers (id) ON DELETE CASCADE, -- NULL for web calls
	phone_number            TEXT,          -- the number's, E.164
	from_number             TEXT COLLATE "C" NOT NULL,
	to_number               TEXT COLLATE "C" NOT NULL,
	direction               TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound', 'web')),
	type                    TEXT NOT NULL CHECK (type IN ('pstn', 'web')),
	status                  TEXT NOT NULL,
	end_reason              TEXT,
	started_at              TIMESTAMPTZ NOT NULL,
	answered_at             TIMESTAMPTZ,
	ended_at                TIMESTAMPTZ,   -- NULL while the call is under way
	duration_seconds        INTEGER,
	last_transcript_snippet TEXT,
	recording_path          TEXT,          -- relative to the recordings folder
	options                 TEXT NOT NULL, -- JSON object as stored: the overrides of POST /v1/calls
	sip_call_id             TEXT NOT NULL
);
-- The lists, newest first: the account's, an agent's, a number's.
CREATE INDEX calls_account ON calls (account_id, started_at DESC, id DESC);
CREATE INDEX calls_agent ON calls (agent_id, started_at DESC, id DESC);
CREATE INDEX calls_number ON calls (number_id, started_at DESC, id DESC);
-- Calls under way: the concurrent-call cap, and the recovery at start.
CREATE INDEX calls_live ON calls (account_id) WHERE ended_at IS NULL;
CREATE INDEX calls_unfinished ON calls (started_at) WHERE ended_at IS NULL;

CREATE TABLE call_turns (
	id          TEXT COLLATE "C" PRIMARY KEY,
	call_id     TEXT COLLATE "C" NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
	role        TEXT NOT NULL CHECK (role IN ('user', 'agent')),
	text        TEXT NOT NULL,
	confidence  DOUBLE PRECISION,
	response    TEXT,
	dtmf        TEXT,
	interrupted BOOLEAN NOT NULL,
	started_at  TIMESTAMPTZ NOT NULL,
	ended_at    TIMESTAMPTZ,
	created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX call_turns_call ON call_turns (call_id, started_at, created_at, id);

CREATE TABLE call_events (
	id      TEXT COLLATE "C" PRIMARY KEY,
	call_id TEXT COLLATE "C" NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
	type    TEXT NOT NULL,
	data    TEXT NOT NULL, -- JSON object as stored
	at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX call_events_call ON call_events (call_id, at, id);
