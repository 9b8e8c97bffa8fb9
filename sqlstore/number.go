package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/agentphone/agentphone"
)

const numberCols = `id, account_id, phone_number, country, status, type, agent_id, provider, provider_ref,
	cap_sms, cap_mms, cap_voice, cap_imessage, created_at, attached_at, released_at`

func numberDest(n *agentphone.Number) []any {
	c := &n.Capabilities
	return []any{
		&n.ID, &n.AccountID, &n.PhoneNumber, &n.Country, &n.Status, &n.Type, nullStringCol{&n.AgentID}, &n.Provider, &n.ProviderRef,
		&c.SMS, &c.MMS, &c.Voice, &c.IMessage, timeCol{&n.CreatedAt}, nullTimeCol{&n.AttachedAt}, nullTimeCol{&n.ReleasedAt},
	}
}

func scanNumber(rows *sql.Rows) (*agentphone.Number, error) {
	n := new(agentphone.Number)
	return n, rows.Scan(numberDest(n)...)
}

// CreateNumber stores n as an active number of its account, attached to
// n.AgentID when set (n.AttachedAt defaults to n.CreatedAt then). In one
// transaction that locks the account row, so concurrent calls for one
// account cannot pass the limit together, it returns:
//   - not-found when the account, or the agent in that account, is missing;
//   - a conflict when maxActive > 0 and the account holds that many active
//     numbers already;
//   - a conflict ("already held") when an active number of any account has
//     the same phone number.
func (s *Store) CreateNumber(ctx context.Context, n *agentphone.Number, maxActive int) error {
	n.Status = agentphone.NumberActive
	if n.AgentID == nil {
		n.AttachedAt = nil
	} else if n.AttachedAt == nil {
		at := n.CreatedAt
		n.AttachedAt = &at
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE id = $1`+s.d.LockRows, n.AccountID).Scan(&one)
		if err != nil {
			return notFound(err, msgAccountNotFound)
		}
		if maxActive > 0 {
			var count int
			err := tx.QueryRowContext(ctx, countActiveNumbersSQL,
				n.AccountID).Scan(&count)
			if err != nil {
				return err
			}
			if count >= maxActive {
				return agentphone.NumberLimitError(maxActive)
			}
		}
		if n.AgentID != nil {
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM agents WHERE id = $1 AND account_id = $2`, *n.AgentID, n.AccountID).Scan(&one)
			if err != nil {
				return notFound(err, msgAgentNotFound)
			}
		}
		c := n.Capabilities
		_, err = tx.ExecContext(ctx, `INSERT INTO numbers (`+numberCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			n.ID, n.AccountID, n.PhoneNumber, n.Country, n.Status, n.Type, dbNullString(n.AgentID), n.Provider, n.ProviderRef,
			c.SMS, c.MMS, c.Voice, c.IMessage, dbTime(n.CreatedAt), dbNullTime(n.AttachedAt), dbNullTime(n.ReleasedAt))
		if err != nil && s.d.IsUniqueViolation(err) {
			return agentphone.Errorf(agentphone.KindConflict, "Phone number %s is already held", n.PhoneNumber)
		}
		return err
	})
	return wrap("create number", err)
}

// GetNumber returns a number of the account, whatever its status.
func (s *Store) GetNumber(ctx context.Context, accountID, id string) (*agentphone.Number, error) {
	n := new(agentphone.Number)
	rows, err := s.query(ctx, `SELECT `+numberCols+` FROM numbers WHERE id = $1 AND account_id = $2`, id, accountID)
	if err := scanOne(rows, err, numberDest(n)...); err != nil {
		return nil, wrap("get number", notFound(err, msgNumberNotFound))
	}
	return n, nil
}

// GetActiveNumberByPhone returns the active number with phone number phone
// (E.164), of whichever account holds it: where a message or call to that
// number goes.
func (s *Store) GetActiveNumberByPhone(ctx context.Context, phone string) (*agentphone.Number, error) {
	n := new(agentphone.Number)
	rows, err := s.query(ctx, `SELECT `+numberCols+` FROM numbers WHERE phone_number = $1 AND status = 'active'`, phone)
	if err := scanOne(rows, err, numberDest(n)...); err != nil {
		return nil, wrap("get number by phone", notFound(err, msgNumberNotFound))
	}
	return n, nil
}

// ListNumbers lists the active numbers of the account, newest first.
func (s *Store) ListNumbers(ctx context.Context, accountID string, p agentphone.Page) (agentphone.List[*agentphone.Number], error) {
	l, err := listPage(ctx, s, p,
		`SELECT `+numberCols+` FROM numbers WHERE account_id = $1 AND status = 'active'
			ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
		countActiveNumbersSQL, []any{accountID}, scanNumber)
	return l, wrap("list numbers", err)
}

// CountActiveNumbers returns how many active numbers the account holds.
func (s *Store) CountActiveNumbers(ctx context.Context, accountID string) (int, error) {
	var n int
	rows, err := s.query(ctx, countActiveNumbersSQL, accountID)
	return n, wrap("count numbers", scanOne(rows, err, &n))
}

const countActiveNumbersSQL = `SELECT count(*) FROM numbers WHERE account_id = $1 AND status = 'active'`

// heldChunk bounds the phones asked about in one query.
const heldChunk = 500

// HeldPhoneNumbers reports which of phones an active number of any account
// holds; the map has an entry only for those.
func (s *Store) HeldPhoneNumbers(ctx context.Context, phones []string) (map[string]bool, error) {
	held := map[string]bool{}
	for len(phones) > 0 {
		chunk := phones[:min(len(phones), heldChunk)]
		phones = phones[len(chunk):]
		args := make([]any, len(chunk))
		for i, p := range chunk {
			args[i] = p
		}
		rows, err := s.read.QueryContext(ctx, `SELECT phone_number FROM numbers
			WHERE status = 'active' AND phone_number IN (`+placeholders(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, wrap("held phone numbers", err)
		}
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return nil, wrap("held phone numbers", err)
			}
			held[p] = true
		}
		if err := rows.Close(); err != nil {
			return nil, wrap("held phone numbers", err)
		}
		if err := rows.Err(); err != nil {
			return nil, wrap("held phone numbers", err)
		}
	}
	return held, nil
}

// ReleaseNumber marks a number of the account released at at and detaches
// it. Releasing it again changes nothing but returns it.
func (s *Store) ReleaseNumber(ctx context.Context, accountID, id string, at time.Time) (*agentphone.Number, error) {
	n := new(agentphone.Number)
	err := s.writeRow(ctx, `UPDATE numbers
		SET status = 'released', released_at = COALESCE(released_at, $1), agent_id = NULL, attached_at = NULL
		WHERE id = $2 AND account_id = $3
		RETURNING `+numberCols,
		[]any{dbTime(at), id, accountID}, numberDest(n)...)
	if err != nil {
		return nil, wrap("release number", notFound(err, msgNumberNotFound))
	}
	return n, nil
}

// AttachNumber attaches a number of the account to an agent of the account.
// Returns not-found for an unknown agent or number, a bad request for a
// released number and a conflict when another agent holds it; attaching it
// to the agent that holds it changes nothing.
func (s *Store) AttachNumber(ctx context.Context, accountID, agentID, numberID string) (*agentphone.Number, error) {
	n := new(agentphone.Number)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM agents WHERE id = $1 AND account_id = $2`, agentID, accountID).Scan(&one)
		if err != nil {
			return notFound(err, msgAgentNotFound)
		}
		err = tx.QueryRowContext(ctx, `SELECT `+numberCols+` FROM numbers WHERE id = $1 AND account_id = $2`+s.d.LockRows,
			numberID, accountID).Scan(numberDest(n)...)
		if err != nil {
			return notFound(err, msgNumberNotFound)
		}
		switch {
		case n.Status != agentphone.NumberActive:
			return agentphone.Errorf(agentphone.KindBadRequest, "Phone number %s is released and cannot be attached", n.PhoneNumber)
		case n.AgentID != nil && *n.AgentID == agentID:
			return nil
		case n.AgentID != nil:
			return agentphone.Errorf(agentphone.KindConflict,
				"Phone number %s is attached to another agent; detach it first", n.PhoneNumber)
		}
		now := agentphone.Now()
		_, err = tx.ExecContext(ctx, `UPDATE numbers SET agent_id = $1, attached_at = $2 WHERE id = $3`, agentID, dbTime(now), numberID)
		if err != nil && s.d.IsForeignKeyViolation(err) {
			return agentphone.Errorf(agentphone.KindNotFound, msgAgentNotFound) // deleted meanwhile
		}
		n.AgentID, n.AttachedAt = &agentID, &now
		return err
	})
	if err != nil {
		return nil, wrap("attach number", err)
	}
	return n, nil
}

// DetachNumber detaches a number from an agent of the account. Returns
// not-found when the agent or the number is unknown or the number is not
// attached to that agent.
func (s *Store) DetachNumber(ctx context.Context, accountID, agentID, numberID string) error {
	res, err := s.exec(ctx, `UPDATE numbers SET agent_id = NULL, attached_at = NULL
		WHERE id = $1 AND account_id = $2 AND agent_id = $3`, numberID, accountID, agentID)
	if err != nil {
		return wrap("detach number", err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return wrap("detach number", err)
	}
	// Nothing detached: say which part is wrong.
	if _, err := s.GetAgent(ctx, accountID, agentID); err != nil {
		return err
	}
	num, err := s.GetNumber(ctx, accountID, numberID)
	if err != nil {
		return err
	}
	return agentphone.Errorf(agentphone.KindNotFound, "Phone number %s is not attached to this agent", num.PhoneNumber)
}
