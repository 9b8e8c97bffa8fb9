package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/agentphone/agentphone"
)

const accountCols = `id, parent_id, name, created_at`

func accountDest(a *agentphone.Account) []any {
	return []any{&a.ID, nullStringCol{&a.ParentID}, &a.Name, timeCol{&a.CreatedAt}}
}

// CreateAccount stores a. Returns not-found when a's parent does not exist.
func (s *Store) CreateAccount(ctx context.Context, a *agentphone.Account) error {
	_, err := s.exec(ctx, `INSERT INTO accounts (`+accountCols+`) VALUES ($1, $2, $3, $4)`,
		a.ID, dbNullString(a.ParentID), a.Name, dbTime(a.CreatedAt))
	if err != nil && s.d.IsForeignKeyViolation(err) {
		return agentphone.Errorf(agentphone.KindNotFound, msgAccountNotFound)
	}
	return wrap("create account", err)
}

// GetAccount returns the account (top-level or sub-account) with that id.
func (s *Store) GetAccount(ctx context.Context, id string) (*agentphone.Account, error) {
	a := new(agentphone.Account)
	rows, err := s.query(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id)
	if err := scanOne(rows, err, accountDest(a)...); err != nil {
		return nil, wrap("get account", notFound(err, msgAccountNotFound))
	}
	return a, nil
}

// AccountByName returns the oldest top-level account of that name.
func (s *Store) AccountByName(ctx context.Context, name string) (*agentphone.Account, error) {
	a := new(agentphone.Account)
	rows, err := s.query(ctx, `SELECT `+accountCols+` FROM accounts
		WHERE parent_id IS NULL AND name = $1 ORDER BY created_at, id LIMIT 1`, name)
	if err := scanOne(rows, err, accountDest(a)...); err != nil {
		return nil, wrap("account by name", notFound(err, msgAccountNotFound))
	}
	return a, nil
}

// ListSubAccounts lists the sub-accounts of parentID, newest first.
func (s *Store) ListSubAccounts(ctx context.Context, parentID string, p agentphone.Page) (agentphone.List[*agentphone.Account], error) {
	l, err := listPage(ctx, s, p,
		`SELECT `+accountCols+` FROM accounts WHERE parent_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
		`SELECT count(*) FROM accounts WHERE parent_id = $1`, []any{parentID},
		func(rows *sql.Rows) (*agentphone.Account, error) {
			a := new(agentphone.Account)
			return a, rows.Scan(accountDest(a)...)
		})
	return l, wrap("list sub-accounts", err)
}

// RenameSubAccount changes the name of a sub-account of parentID.
func (s *Store) RenameSubAccount(ctx context.Context, parentID, id, name string) (*agentphone.Account, error) {
	a := new(agentphone.Account)
	err := s.writeRow(ctx, `UPDATE accounts SET name = $1 WHERE id = $2 AND parent_id = $3
		RETURNING `+accountCols,
		[]any{name, id, parentID}, accountDest(a)...)
	if err != nil {
		return nil, wrap("rename sub-account", notFound(err, msgSubAccountNotFound))
	}
	return a, nil
}

// DeleteSubAccount deletes a sub-account of parentID with its agents,
// webhooks, keys and released numbers. Returns a conflict while it holds
// active numbers.
func (s *Store) DeleteSubAccount(ctx context.Context, parentID, id string) (*agentphone.Account, error) {
	a := new(agentphone.Account)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The lock keeps CreateNumber (which locks the account row too)
		// from adding an active number between the count and the delete.
		err := tx.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1 AND parent_id = $2`+s.d.LockRows,
			id, parentID).Scan(accountDest(a)...)
		if err != nil {
			return notFound(err, msgSubAccountNotFound)
		}
		var n int
		if err := tx.QueryRowContext(ctx, countActiveNumbersSQL, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return agentphone.Errorf(agentphone.KindConflict, "Sub-account still holds %d active numbers; release them first", n)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM numbers WHERE account_id = $1`, id); err != nil {
			return err
		}
		// Agents, webhooks and keys go by ON DELETE CASCADE.
		_, err = tx.ExecContext(ctx, `DELETE FROM accounts WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return nil, wrap("delete sub-account", err)
	}
	return a, nil
}

// CountAccounts returns the number of accounts, sub-accounts included.
func (s *Store) CountAccounts(ctx context.Context) (int, error) {
	var n int
	rows, err := s.query(ctx, `SELECT count(*) FROM accounts`)
	return n, wrap("count accounts", scanOne(rows, err, &n))
}

const keyCols = `id, account_id, name, prefix, hash, created_at, revoked_at`

func keyDest(k *agentphone.APIKey) []any {
	return []any{&k.ID, &k.AccountID, &k.Name, &k.Prefix, &k.Hash, timeCol{&k.CreatedAt}, nullTimeCol{&k.RevokedAt}}
}

// CreateAPIKey stores k. Returns a conflict when a key with the same hash
// exists, not-found when its account does not.
func (s *Store) CreateAPIKey(ctx context.Context, k *agentphone.APIKey) error {
	_, err := s.exec(ctx, `INSERT INTO api_keys (`+keyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.AccountID, k.Name, k.Prefix, k.Hash, dbTime(k.CreatedAt), dbNullTime(k.RevokedAt))
	switch {
	case err == nil:
		return nil
	case s.d.IsUniqueViolation(err):
		return agentphone.Errorf(agentphone.KindConflict, "API key already exists")
	case s.d.IsForeignKeyViolation(err):
		return agentphone.Errorf(agentphone.KindNotFound, msgAccountNotFound)
	}
	return wrap("create api key", err)
}

// APIKeyByHash returns the key with that hash, revoked or not.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (*agentphone.APIKey, error) {
	k := new(agentphone.APIKey)
	rows, err := s.query(ctx, `SELECT `+keyCols+` FROM api_keys WHERE hash = $1`, hash)
	if err := scanOne(rows, err, keyDest(k)...); err != nil {
		return nil, wrap("api key by hash", notFound(err, msgAPIKeyNotFound))
	}
	return k, nil
}

// ListAPIKeys lists the keys of an account, revoked ones included, newest
// first.
func (s *Store) ListAPIKeys(ctx context.Context, accountID string) ([]*agentphone.APIKey, error) {
	rows, err := s.query(ctx, `SELECT `+keyCols+` FROM api_keys WHERE ($1 = '' OR account_id = $1)
		ORDER BY created_at DESC, id DESC`, accountID)
	if err != nil {
		return nil, wrap("list api keys", err)
	}
	defer rows.Close()
	out := []*agentphone.APIKey{}
	for rows.Next() {
		k := new(agentphone.APIKey)
		if err := rows.Scan(keyDest(k)...); err != nil {
			return nil, wrap("list api keys", err)
		}
		out = append(out, k)
	}
	return out, wrap("list api keys", rows.Err())
}

// RevokeAPIKey marks a key revoked at at; a key revoked already keeps its
// first revocation time. id may omit the "key_" prefix.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) (*agentphone.APIKey, error) {
	if !strings.HasPrefix(id, agentphone.PrefixAPIKey) {
		id = agentphone.PrefixAPIKey + id
	}
	k := new(agentphone.APIKey)
	err := s.writeRow(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2
		RETURNING `+keyCols,
		[]any{dbTime(at), id}, keyDest(k)...)
	if err != nil {
		return nil, wrap("revoke api key", notFound(err, msgAPIKeyNotFound))
	}
	return k, nil
}
