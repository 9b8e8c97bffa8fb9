-- The delivery log is also the delivery queue (webhook.Outbox): due_at is
-- when a pending delivery is next to be claimed by a worker, its first
-- attempt, its next retry, or, while an attempt is under way, the end of
-- that attempt's lease (after which a worker that died with its process is
-- presumed dead and the delivery is claimed again). NULL when no worker is
-- to claim it: finished, or a test delivery sent synchronously.
ALTER TABLE webhook_deliveries ADD COLUMN due_at TIMESTAMPTZ;
UPDATE webhook_deliveries SET due_at = COALESCE(next_retry_at, created_at) WHERE status = 'pending' AND NOT test;
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at) WHERE status = 'pending';
