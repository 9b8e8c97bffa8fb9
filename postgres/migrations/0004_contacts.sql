-- Contacts: an account's address book (spec §6).
--
-- The phone number (E.164) is unique within the account; the index enforces
-- it under concurrency, the store reports a violation as a conflict.
--
-- name is COLLATE "C" so that lower(name), which the search uses, folds
-- ASCII letters only, exactly as SQLite's lower() does: a search matches the
-- same contacts on both databases.

CREATE TABLE contacts (
	id           TEXT COLLATE "C" PRIMARY KEY,
	account_id   TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	phone_number TEXT COLLATE "C" NOT NULL,
	name         TEXT COLLATE "C" NOT NULL,
	email        TEXT,
	notes        TEXT,
	created_at   TIMESTAMPTZ NOT NULL,
	updated_at   TIMESTAMPTZ NOT NULL,
	UNIQUE (account_id, phone_number)
);
-- The list, newest first; searches filter the account's rows in this order.
CREATE INDEX contacts_account ON contacts (account_id, created_at DESC, id DESC);
