-- A carrier that retries a webhook (Twilio after a time-out, the sandbox
-- carrier after a crash of the send queue) hands over the same inbound
-- message twice, with the same carrier id: it is stored once
-- (sqlstore.ReceiveMessage looks it up under the number's row lock; the
-- index makes that look-up cheap and enforces it).
CREATE UNIQUE INDEX messages_inbound_ref ON messages (number_id, provider_ref)
	WHERE direction = 'inbound' AND provider_ref IS NOT NULL;
