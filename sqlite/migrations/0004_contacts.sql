-- Contacts: an account's address book (spec §6). Times as in 0001.
--
-- The phone number (E.164) is unique within the account; the index enforces
-- it under concurrency, the store reports a violation as a conflict.

CREATE TABLE contacts (
	id           TEXT PRIMARY KEY,
	account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	phone_number TEXT NOT NULL,
	name         TEXT NOT NULL,
	email        TEXT,
	notes        TEXT,
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL,
	UNIQUE (account_id, phone_number)
) STRICT;
-- The list, newest first; searches filter the account's rows in this order.
CREATE INDEX contacts_account ON contacts (account_id, created_at DESC, id DESC);
