package sqlstore

import (
	"context"

	"github.com/agentphone/agentphone"
)

// A webhook's scope_key is "" for the account's project webhook and the
// agent id for an agent webhook; UNIQUE (account_id, scope_key) keeps one
// webhook per scope, which a nullable agent_id could not (NULLs are never
// equal).

const webhookCols = `id, account_id, agent_id, url, secret, status, context_limit, timeout_seconds, created_at, updated_at`

func webhookDest(w *agentphone.Webhook) []any {
	return []any{&w.ID, &w.AccountID, nullStringCol{&w.AgentID}, &w.URL, &w.Secret, &w.Status,
		&w.ContextLimit, &w.Timeout, timeCol{&w.CreatedAt}, timeCol{&w.UpdatedAt}}
}

func scopeKey(agentID *string) string {
	if agentID == nil {
		return ""
	}
	return *agentID
}

// UpsertWebhook stores w, or, when its scope has a webhook already, updates
// that one's url, secret, status, limits and updated_at, keeping its id and
// creation time. Returns what is stored; not-found when w.AgentID is not an
// agent of w.AccountID.
func (s *Store) UpsertWebhook(ctx context.Context, w *agentphone.Webhook) (*agentphone.Webhook, error) {
	out := new(agentphone.Webhook)
	err := s.writeRow(ctx, `INSERT INTO webhooks (id, account_id, agent_id, scope_key, url, secret, status,
			context_limit, timeout_seconds, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (account_id, scope_key) DO UPDATE SET url = excluded.url, secret = excluded.secret,
			status = excluded.status, context_limit = excluded.context_limit,
			timeout_seconds = excluded.timeout_seconds, updated_at = excluded.updated_at
		RETURNING `+webhookCols,
		[]any{w.ID, w.AccountID, dbNullString(w.AgentID), scopeKey(w.AgentID), w.URL, w.Secret, w.Status,
			w.ContextLimit, w.Timeout, dbTime(w.CreatedAt), dbTime(w.UpdatedAt)}, webhookDest(out)...)
	if err != nil {
		if s.d.IsForeignKeyViolation(err) {
			if w.AgentID != nil {
				return nil, agentphone.Errorf(agentphone.KindNotFound, msgAgentNotFound)
			}
			return nil, agentphone.Errorf(agentphone.KindNotFound, msgAccountNotFound)
		}
		return nil, wrap("upsert webhook", err)
	}
	return out, nil
}

// GetWebhook returns the webhook of the account (agentID nil) or of one of
// its agents; not-found when none is configured.
func (s *Store) GetWebhook(ctx context.Context, accountID string, agentID *string) (*agentphone.Webhook, error) {
	w := new(agentphone.Webhook)
	rows, err := s.query(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE account_id = $1 AND scope_key = $2`,
		accountID, scopeKey(agentID))
	if err := scanOne(rows, err, webhookDest(w)...); err != nil {
		return nil, wrap("get webhook", notFound(err, msgWebhookNotFound))
	}
	return w, nil
}

// GetWebhookByID returns the account's webhook of that id, project or
// agent; not-found when there is none.
func (s *Store) GetWebhookByID(ctx context.Context, accountID, id string) (*agentphone.Webhook, error) {
	w := new(agentphone.Webhook)
	rows, err := s.query(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE id = $1 AND account_id = $2`, id, accountID)
	if err := scanOne(rows, err, webhookDest(w)...); err != nil {
		return nil, wrap("get webhook", notFound(err, msgWebhookNotFound))
	}
	return w, nil
}

// DeleteWebhook deletes the webhook of the account (agentID nil) or of one
// of its agents; not-found when none is configured.
func (s *Store) DeleteWebhook(ctx context.Context, accountID string, agentID *string) error {
	res, err := s.exec(ctx, `DELETE FROM webhooks WHERE account_id = $1 AND scope_key = $2`, accountID, scopeKey(agentID))
	if err != nil {
		return wrap("delete webhook", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap("delete webhook", err)
	}
	if n == 0 {
		return agentphone.Errorf(agentphone.KindNotFound, msgWebhookNotFound)
	}
	return nil
}
