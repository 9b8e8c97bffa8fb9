package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/agentphone/agentphone"
)

// agentFields are the stored columns of an agent, in the order of
// agentRow.dest and agentArgs.
var agentFields = []string{
	"id", "account_id", "name", "description", "voice_mode", "enable_messaging", "model_tier",
	"system_prompt", "begin_message", "voice", "transfer_number", "custom_tools",
	"voicemail_message", "call_screening_identity", "call_screening_purpose", "stt_mode",
	"ambient_sound", "denoising_mode", "max_silence_ms", "voice_speed",
	"interruption_sensitivity", "enable_backchannel", "language", "created_at", "updated_at",
}

// cols returns the fields prefixed with table alias t ("a.id, a.name, …").
func cols(t string, fields []string) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteString(", ")
		}
		if t != "" {
			b.WriteString(t + ".")
		}
		b.WriteString(f)
	}
	return b.String()
}

var (
	agentCols  = cols("", agentFields)
	agentColsA = cols("a", agentFields)

	insertAgentSQL = `INSERT INTO agents (` + agentCols + `) VALUES (` + placeholders(1, len(agentFields)) + `)`

	// updateAgentSQL writes every field but the keys and created_at; its
	// arguments are updateAgentArgs.
	updateAgentSQL = func() string {
		var b strings.Builder
		b.WriteString("UPDATE agents SET ")
		n := 2
		for _, f := range agentFields {
			if fixedAgentField(f) {
				continue
			}
			if n > 2 {
				b.WriteString(", ")
			}
			n++
			fmt.Fprintf(&b, "%s = $%d", f, n)
		}
		b.WriteString(" WHERE id = $1 AND account_id = $2")
		return b.String()
	}()

	// getAgentSQL reads an agent with its attached numbers in one query,
	// one row per number (one row with NULL number columns when none).
	getAgentSQL = `SELECT ` + agentColsA + `, n.id, n.phone_number, n.status, n.type
		FROM agents a LEFT JOIN numbers n ON n.agent_id = a.id AND n.status = 'active'
		WHERE a.id = $1 AND a.account_id = $2
		ORDER BY n.attached_at, n.id`
)

// agentRow receives the columns of an agent; custom tools stay JSON until
// agent() decodes them.
type agentRow struct {
	a     agentphone.Agent
	tools []byte
}

func (r *agentRow) dest() []any {
	a := &r.a
	return []any{
		&a.ID, &a.AccountID, &a.Name, nullStringCol{&a.Description}, &a.VoiceMode, &a.EnableMessaging, &a.ModelTier,
		nullStringCol{&a.SystemPrompt}, nullStringCol{&a.BeginMessage}, &a.Voice, nullStringCol{&a.TransferNumber}, bytesCol{&r.tools},
		nullStringCol{&a.VoicemailMessage}, nullStringCol{&a.CallScreeningIdentity}, nullStringCol{&a.CallScreeningPurpose}, &a.STTMode,
		&a.AmbientSound, &a.DenoisingMode, &a.MaxSilenceMs, &a.VoiceSpeed,
		&a.InterruptionSensitivity, &a.EnableBackchannel, &a.Language, timeCol{&a.CreatedAt}, timeCol{&a.UpdatedAt},
	}
}

// agent returns the scanned agent, with no numbers yet.
func (r *agentRow) agent() (*agentphone.Agent, error) {
	a := r.a
	tools, err := decodeTools(r.tools)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", a.ID, err)
	}
	a.CustomTools = tools
	a.Numbers = []agentphone.AgentNumber{}
	return &a, nil
}

func agentArgs(a *agentphone.Agent) ([]any, error) {
	tools, err := encodeTools(a.CustomTools)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", a.ID, err)
	}
	return []any{
		a.ID, a.AccountID, a.Name, dbNullString(a.Description), a.VoiceMode, a.EnableMessaging, a.ModelTier,
		dbNullString(a.SystemPrompt), dbNullString(a.BeginMessage), a.Voice, dbNullString(a.TransferNumber), tools,
		dbNullString(a.VoicemailMessage), dbNullString(a.CallScreeningIdentity), dbNullString(a.CallScreeningPurpose), a.STTMode,
		a.AmbientSound, a.DenoisingMode, a.MaxSilenceMs, a.VoiceSpeed,
		a.InterruptionSensitivity, a.EnableBackchannel, a.Language, dbTime(a.CreatedAt), dbTime(a.UpdatedAt),
	}, nil
}

// fixedAgentField reports whether UpdateAgent leaves field f as it is.
func fixedAgentField(f string) bool { return f == "id" || f == "account_id" || f == "created_at" }

// updateAgentArgs returns the arguments of updateAgentSQL.
func updateAgentArgs(a *agentphone.Agent) ([]any, error) {
	all, err := agentArgs(a)
	if err != nil {
		return nil, err
	}
	args := make([]any, 0, len(all))
	args = append(args, a.ID, a.AccountID)
	for i, f := range agentFields {
		if !fixedAgentField(f) {
			args = append(args, all[i])
		}
	}
	return args, nil
}

// encodeTools returns the JSON text of tools, or nil (NULL) for a nil slice
// so that "never set" and "set to []" stay apart. HTML characters are kept
// as they are; raw JSON (parameters) is stored compacted.
func encodeTools(tools []agentphone.CustomTool) (any, error) {
	if tools == nil {
		return nil, nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(tools); err != nil {
		return nil, fmt.Errorf("encode custom tools: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// decodeTools reverses encodeTools.
func decodeTools(b []byte) ([]agentphone.CustomTool, error) {
	if b == nil {
		return nil, nil
	}
	var tools []agentphone.CustomTool
	if err := json.Unmarshal(b, &tools); err != nil {
		return nil, fmt.Errorf("decode custom tools: %w", err)
	}
	if tools == nil { // the text was "null"
		return nil, nil
	}
	for i := range tools {
		// json.RawMessage keeps a JSON null as the bytes "null"; it was
		// nil when stored.
		if string(tools[i].Parameters) == "null" {
			tools[i].Parameters = nil
		}
	}
	return tools, nil
}

// CreateAgent stores a; a.Numbers is not stored (numbers are attached with
// AttachNumber or CreateNumber).
func (s *Store) CreateAgent(ctx context.Context, a *agentphone.Agent) error {
	args, err := agentArgs(a)
	if err != nil {
		return wrap("create agent", err)
	}
	_, err = s.exec(ctx, insertAgentSQL, args...)
	if err != nil && s.d.IsForeignKeyViolation(err) {
		return agentphone.Errorf(agentphone.KindNotFound, msgAccountNotFound)
	}
	return wrap("create agent", err)
}

// GetAgent returns an agent of the account with its attached numbers, in
// one query.
func (s *Store) GetAgent(ctx context.Context, accountID, id string) (*agentphone.Agent, error) {
	rows, err := s.query(ctx, getAgentSQL, id, accountID)
	if err != nil {
		return nil, wrap("get agent", err)
	}
	defer rows.Close()
	var (
		r        agentRow
		a        *agentphone.Agent
		n        agentphone.AgentNumber
		nID      *string
		nPhone   *string
		nStatus  *string
		nType    *string
		scanDest = append(r.dest(), nullStringCol{&nID}, nullStringCol{&nPhone}, nullStringCol{&nStatus}, nullStringCol{&nType})
	)
	for rows.Next() {
		if err := rows.Scan(scanDest...); err != nil {
			return nil, wrap("get agent", err)
		}
		if a == nil {
			if a, err = r.agent(); err != nil {
				return nil, wrap("get agent", err)
			}
		}
		if nID != nil {
			n = agentphone.AgentNumber{ID: *nID, PhoneNumber: *nPhone, Status: *nStatus, Type: *nType}
			a.Numbers = append(a.Numbers, n)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("get agent", err)
	}
	if a == nil {
		return nil, agentphone.Errorf(agentphone.KindNotFound, msgAgentNotFound)
	}
	return a, nil
}

// ListAgents lists the agents of an account, newest first, with their
// numbers (read for the whole page in one query).
func (s *Store) ListAgents(ctx context.Context, accountID string, p agentphone.Page) (agentphone.List[*agentphone.Agent], error) {
	var r agentRow
	dest := r.dest()
	l, err := listPage(ctx, s, p,
		`SELECT `+agentCols+` FROM agents WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
		`SELECT count(*) FROM agents WHERE account_id = $1`, []any{accountID},
		func(rows *sql.Rows) (*agentphone.Agent, error) {
			if err := rows.Scan(dest...); err != nil {
				return nil, err
			}
			return r.agent()
		})
	if err == nil {
		err = s.agentNumbers(ctx, s.read, l.Items)
	}
	return l, wrap("list agents", err)
}

// querier is a pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// agentNumbers fills the Numbers of agents with one query.
func (s *Store) agentNumbers(ctx context.Context, q querier, agents []*agentphone.Agent) error {
	if len(agents) == 0 {
		return nil
	}
	byID := make(map[string]*agentphone.Agent, len(agents))
	args := make([]any, 0, len(agents))
	for _, a := range agents {
		byID[a.ID] = a
		args = append(args, a.ID)
	}
	// No account_id condition: the agents are the account's already, and
	// with one the planner may prefer the account's index over numbers_agent.
	rows, err := q.QueryContext(ctx, `SELECT agent_id, id, phone_number, status, type FROM numbers
		WHERE agent_id IN (`+placeholders(1, len(agents))+`) AND status = 'active'
		ORDER BY attached_at, id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var agentID string
		var n agentphone.AgentNumber
		if err := rows.Scan(&agentID, &n.ID, &n.PhoneNumber, &n.Status, &n.Type); err != nil {
			return err
		}
		if a := byID[agentID]; a != nil {
			a.Numbers = append(a.Numbers, n)
		}
	}
	return rows.Err()
}

// loadAgentTx reads an agent of the account in tx, locking its row, with
// its numbers.
func (s *Store) loadAgentTx(ctx context.Context, tx *sql.Tx, accountID, id string) (*agentphone.Agent, error) {
	var r agentRow
	err := tx.QueryRowContext(ctx, `SELECT `+agentCols+` FROM agents WHERE id = $1 AND account_id = $2`+s.d.LockRows,
		id, accountID).Scan(r.dest()...)
	if err != nil {
		return nil, notFound(err, msgAgentNotFound)
	}
	a, err := r.agent()
	if err != nil {
		return nil, err
	}
	if err := s.agentNumbers(ctx, tx, []*agentphone.Agent{a}); err != nil {
		return nil, err
	}
	return a, nil
}

// UpdateAgent reads the agent, lets fn change it and writes it back in one
// transaction. An error from fn is returned as it is, with nothing written.
// fn cannot move the agent: its ID, AccountID and CreatedAt are not written.
// fn runs inside the transaction and must not use the Store (on SQLite,
// whose one write connection it holds, that would wait forever).
func (s *Store) UpdateAgent(ctx context.Context, accountID, id string, fn func(*agentphone.Agent) error) (*agentphone.Agent, error) {
	var out *agentphone.Agent
	var fnErr error
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		a, err := s.loadAgentTx(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		created := a.CreatedAt
		if fnErr = fn(a); fnErr != nil {
			return fnErr
		}
		a.ID, a.AccountID, a.CreatedAt = id, accountID, created
		args, err := updateAgentArgs(a)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, updateAgentSQL, args...); err != nil {
			return err
		}
		out = a
		return nil
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, wrap("update agent", err)
	}
	return out, nil
}

// DeleteAgent deletes an agent of the account, detaching its numbers; its
// agent webhook goes with it (ON DELETE CASCADE). Returns the agent as it
// was, with the numbers it had.
func (s *Store) DeleteAgent(ctx context.Context, accountID, id string) (*agentphone.Agent, error) {
	var out *agentphone.Agent
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		a, err := s.loadAgentTx(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		// ON DELETE SET NULL would detach them too, but leave attached_at.
		if _, err := tx.ExecContext(ctx, `UPDATE numbers SET agent_id = NULL, attached_at = NULL WHERE agent_id = $1`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM agents WHERE id = $1 AND account_id = $2`, id, accountID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return notFound(sql.ErrNoRows, msgAgentNotFound)
		}
		out = a
		return nil
	})
	if err != nil {
		return nil, wrap("delete agent", err)
	}
	return out, nil
}
