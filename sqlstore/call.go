package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentphone/agentphone"
)

// Calls, their transcript turns and event logs (0008_calls.sql; the
// turns' latency, 0009_turn_latency.sql; the post-call analysis,
// 0010_call_analysis.sql). A call outlives the deletion of
// its agent (agent_id is set to NULL) and the release of its number; it
// goes with its account. The telephony edge knows calls by id only, so
// FindCall, AdvanceCall, AddTurn, AddCallEvent and FinishCall take no
// account; every read for the API does. So do SettleCallAnalysis and
// ListAnalysisPendingCalls, run after the call.

const (
	msgCallNotFound = "Call not found"

	callCols = `id, account_id, agent_id, number_id, phone_number, from_number, to_number, direction, type, status,
	end_reason, started_at, answered_at, ended_at, duration_seconds, last_transcript_snippet, recording_path,
	options, sip_call_id, analysis, analysis_pending`

	turnFields = `id, call_id, role, text, confidence, response, dtmf, interrupted, started_at, ended_at, created_at,
	latency`
	turnColsT = `t.id, t.call_id, t.role, t.text, t.confidence, t.response, t.dtmf, t.interrupted, t.started_at,
	t.ended_at, t.created_at, t.latency`
	// turnOrder is the order of a transcript: by when each turn began.
	turnOrder = ` ORDER BY t.started_at, t.created_at, t.id`

	eventColsE = `e.id, e.call_id, e.type, e.data, e.at`
)

func callDest(c *agentphone.Call) []any {
	return []any{
		&c.ID, &c.AccountID, nullStringCol{&c.AgentID}, nullStringCol{&c.NumberID}, nullStringCol{&c.PhoneNumber},
		&c.From, &c.To, &c.Direction, &c.Type, &c.Status, nullStringCol{&c.EndReason}, timeCol{&c.StartedAt},
		nullTimeCol{&c.AnsweredAt}, nullTimeCol{&c.EndedAt}, nullIntCol{&c.DurationSeconds},
		nullStringCol{&c.LastTranscriptSnippet}, nullStringCol{&c.RecordingPath}, optionsCol{&c.Options}, &c.SIPCallID,
		jsonCol[agentphone.CallAnalysis]{&c.Analysis, "call analysis"}, &c.AnalysisPending,
	}
}

func scanCall(rows *sql.Rows) (*agentphone.Call, error) {
	c := new(agentphone.Call)
	return c, rows.Scan(callDest(c)...)
}

// optionsCol scans a call's options, stored as a JSON object.
type optionsCol struct{ p *agentphone.CallOptions }

func (c optionsCol) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("call options: unexpected %T", src)
	}
	*c.p = agentphone.CallOptions{}
	if err := json.Unmarshal(b, c.p); err != nil {
		return fmt.Errorf("call options: %w", err)
	}
	return nil
}

// jsonCol scans a column holding a JSON object, or NULL (nil): a call's
// analysis, a turn's latency.
type jsonCol[T any] struct {
	p    **T
	what string // for errors
}

func (c jsonCol[T]) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*c.p = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("%s: unexpected %T", c.what, src)
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", c.what, err)
	}
	*c.p = v
	return nil
}

// dbJSONObject binds v as a JSON object, or NULL when it is nil. Text a model
// wrote (a call's analysis) is safe in it: JSON holds any of it (invalid
// UTF-8 becomes U+FFFD, NUL is escaped), so every database stores it.
func dbJSONObject[T any](v *T, what string) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return string(b), nil
}

func turnDest(t *agentphone.Turn) []any {
	return []any{
		&t.ID, &t.CallID, &t.Role, &t.Text, nullFloatCol{&t.Confidence}, nullStringCol{&t.Response},
		nullStringCol{&t.DTMF}, &t.Interrupted, timeCol{&t.StartedAt}, nullTimeCol{&t.EndedAt}, timeCol{&t.CreatedAt},
		jsonCol[agentphone.TurnLatency]{&t.Latency, "turn latency"},
	}
}

func scanTurn(rows *sql.Rows) (*agentphone.Turn, error) {
	t := new(agentphone.Turn)
	return t, rows.Scan(turnDest(t)...)
}

// nullFloatCol scans a nullable real column: NULL is nil.
type nullFloatCol struct{ p **float64 }

func (c nullFloatCol) Scan(src any) error {
	var f sql.NullFloat64
	if err := f.Scan(src); err != nil {
		return err
	}
	*c.p = nil
	if f.Valid {
		v := f.Float64
		*c.p = &v
	}
	return nil
}

// dbNullFloat binds a nullable real.
func dbNullFloat(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// CreateCall implements agentphone.Store: see there.
func (s *Store) CreateCall(ctx context.Context, c *agentphone.Call, maxLive int) error {
	opts, err := json.Marshal(c.Options)
	if err != nil {
		return fmt.Errorf("sqlstore: create call: options: %w", err)
	}
	analysis, err := dbJSONObject(c.Analysis, "call analysis")
	if err != nil {
		return fmt.Errorf("sqlstore: create call: %w", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		rows, err := s.txQuery(ctx, tx, `SELECT 1 FROM accounts WHERE id = $1`+s.d.LockRows, c.AccountID)
		if err := scanOne(rows, err, &one); err != nil {
			return notFound(err, msgAccountNotFound)
		}
		if maxLive > 0 {
			var n int
			rows, err := s.txQuery(ctx, tx, `SELECT count(*) FROM calls WHERE account_id = $1 AND ended_at IS NULL`, c.AccountID)
			if err := scanOne(rows, err, &n); err != nil {
				return fmt.Errorf("count live calls: %w", err)
			}
			if n >= maxLive {
				return agentphone.CallLimitError(maxLive)
			}
		}
		_, err = s.txExec(ctx, tx, `INSERT INTO calls (`+callCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
			c.ID, c.AccountID, dbNullString(c.AgentID), dbNullString(c.NumberID), dbNullString(c.PhoneNumber),
			c.From, c.To, c.Direction, c.Type, c.Status, dbNullString(c.EndReason), dbTime(c.StartedAt),
			dbNullTime(c.AnsweredAt), dbNullTime(c.EndedAt), dbNullInt(c.DurationSeconds),
			dbNullText(c.LastTranscriptSnippet), dbNullString(c.RecordingPath), string(opts), c.SIPCallID,
			analysis, c.AnalysisPending)
		if err != nil && s.d.IsForeignKeyViolation(err) {
			return agentphone.Errorf(agentphone.KindNotFound, "The call's agent or number no longer exists")
		}
		return err
	})
	return wrap("create call", err)
}

// GetCall implements agentphone.Store.
func (s *Store) GetCall(ctx context.Context, accountID, id string) (*agentphone.Call, error) {
	c := new(agentphone.Call)
	rows, err := s.query(ctx, `SELECT `+callCols+` FROM calls WHERE id = $1 AND account_id = $2`, id, accountID)
	if err := scanOne(rows, err, callDest(c)...); err != nil {
		return nil, wrap("get call", notFound(err, msgCallNotFound))
	}
	return c, nil
}

// FindCall implements agentphone.Store.
func (s *Store) FindCall(ctx context.Context, id string) (*agentphone.Call, error) {
	c := new(agentphone.Call)
	rows, err := s.query(ctx, `SELECT `+callCols+` FROM calls WHERE id = $1`, id)
	if err := scanOne(rows, err, callDest(c)...); err != nil {
		return nil, wrap("find call", notFound(err, msgCallNotFound))
	}
	return c, nil
}

// callSearch returns the LIKE pattern of a non-empty search of calls:
// "contains" on their phone numbers, by the digits of a search written
// like a phone number ("+1 (415) 555"), else literally. Text no database
// stores (invalid UTF-8, NUL) becomes U+FFFD, as for contacts.
func callSearch(search string) string {
	search = strings.ReplaceAll(strings.ToValidUTF8(search, "\uFFFD"), "\x00", "\uFFFD")
	if digits, ok := phoneDigits(search); ok {
		return "%" + digits + "%"
	}
	return "%" + likeEscaper.Replace(search) + "%"
}

// ListCalls implements agentphone.Store: see there.
func (s *Store) ListCalls(ctx context.Context, accountID string, f agentphone.CallFilter, p agentphone.Page) (agentphone.List[*agentphone.Call], error) {
	where, args := []string{`account_id = $1`}, []any{accountID}
	eq := func(col, v string) {
		if v != "" {
			args = append(args, v)
			where = append(where, col+` = $`+strconv.Itoa(len(args)))
		}
	}
	eq("status", f.Status)
	eq("direction", f.Direction)
	eq("type", f.Type)
	eq("agent_id", f.AgentID)
	eq("number_id", f.NumberID)
	if f.Search != "" {
		args = append(args, callSearch(f.Search))
		n := strconv.Itoa(len(args))
		where = append(where, `(from_number LIKE $`+n+` ESCAPE '\' OR to_number LIKE $`+n+` ESCAPE '\')`)
	}
	w, n := strings.Join(where, ` AND `), len(args)
	l, err := listPage(ctx, s, p,
		`SELECT `+callCols+` FROM calls WHERE `+w+` ORDER BY started_at DESC, id DESC
			LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2),
		`SELECT count(*) FROM calls WHERE `+w, args, scanCall)
	return l, wrap("list calls", err)
}

// ListUnfinishedCalls implements agentphone.Store.
func (s *Store) ListUnfinishedCalls(ctx context.Context) ([]*agentphone.Call, error) {
	rows, err := s.query(ctx, `SELECT `+callCols+` FROM calls WHERE ended_at IS NULL ORDER BY started_at, id`)
	if err != nil {
		return nil, wrap("list unfinished calls", err)
	}
	out, err := scanRows(rows, scanCall)
	return out, wrap("list unfinished calls", err)
}

// AdvanceCall implements agentphone.Store: one UPDATE, whose WHERE keeps
// statuses from moving back.
func (s *Store) AdvanceCall(ctx context.Context, id, status string, from []string, answeredAt *time.Time) (*agentphone.Call, bool, error) {
	if len(from) == 0 {
		c, err := s.FindCall(ctx, id)
		return c, false, err
	}
	args := []any{status, dbNullTime(answeredAt), id}
	for _, f := range from {
		args = append(args, f)
	}
	c := new(agentphone.Call)
	err := s.writeRow(ctx, `UPDATE calls SET status = $1, answered_at = COALESCE($2, answered_at)
		WHERE id = $3 AND ended_at IS NULL AND status IN (`+placeholders(4, len(from))+`)
		RETURNING `+callCols, args, callDest(c)...)
	if errors.Is(err, sql.ErrNoRows) {
		c, err := s.FindCall(ctx, id)
		return c, false, err
	}
	if err != nil {
		return nil, false, wrap("advance call", err)
	}
	return c, true, nil
}

// AddTurn implements agentphone.Store: see there.
func (s *Store) AddTurn(ctx context.Context, t *agentphone.Turn, snippet string) error {
	latency, err := dbJSONObject(t.Latency, "turn latency")
	if err != nil {
		return wrap("add turn", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := s.txQuery(ctx, tx, `INSERT INTO call_turns (`+turnFields+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (id) DO UPDATE SET role = excluded.role, text = excluded.text,
				confidence = excluded.confidence, response = excluded.response, dtmf = excluded.dtmf,
				interrupted = excluded.interrupted, started_at = excluded.started_at, ended_at = excluded.ended_at,
				latency = excluded.latency
			WHERE call_turns.call_id = excluded.call_id
			RETURNING created_at`,
			t.ID, t.CallID, t.Role, dbNullText(&t.Text), dbNullFloat(t.Confidence), dbNullText(t.Response),
			dbNullText(t.DTMF), t.Interrupted, dbTime(t.StartedAt), dbNullTime(t.EndedAt), dbTime(t.CreatedAt), latency)
		switch err := scanOne(rows, err, timeCol{&t.CreatedAt}); {
		case errors.Is(err, sql.ErrNoRows):
			return agentphone.Errorf(agentphone.KindConflict, "Turn %s belongs to another call", t.ID)
		case err != nil && s.d.IsForeignKeyViolation(err):
			return agentphone.Errorf(agentphone.KindNotFound, msgCallNotFound)
		case err != nil:
			return fmt.Errorf("turn: %w", err)
		}
		if snippet != "" {
			if _, err := s.txExec(ctx, tx, `UPDATE calls SET last_transcript_snippet = $1 WHERE id = $2`,
				dbNullText(&snippet), t.CallID); err != nil {
				return fmt.Errorf("snippet: %w", err)
			}
		}
		return nil
	})
	return wrap("add turn", err)
}

// ListTurns implements agentphone.Store.
func (s *Store) ListTurns(ctx context.Context, accountID, callID string) ([]*agentphone.Turn, error) {
	rows, err := s.query(ctx, `SELECT `+turnColsT+` FROM call_turns t JOIN calls c ON c.id = t.call_id
		WHERE t.call_id = $1 AND c.account_id = $2`+turnOrder, callID, accountID)
	if err != nil {
		return nil, wrap("list turns", err)
	}
	out, err := scanRows(rows, scanTurn)
	return out, wrap("list turns", err)
}

// ListConversationTurns implements agentphone.Store.
func (s *Store) ListConversationTurns(ctx context.Context, accountID, numberID, participant string, limit int) ([]*agentphone.Turn, error) {
	if limit <= 0 {
		return []*agentphone.Turn{}, nil
	}
	rows, err := s.query(ctx, `SELECT `+turnColsT+` FROM call_turns t JOIN calls c ON c.id = t.call_id
		WHERE c.account_id = $1 AND c.number_id = $2 AND t.text <> ''
			AND ((c.direction = $3 AND c.from_number = $4) OR (c.direction <> $3 AND c.to_number = $4))
		ORDER BY t.started_at DESC, t.created_at DESC, t.id DESC LIMIT $5`,
		accountID, numberID, agentphone.DirectionInbound, participant, limit)
	if err != nil {
		return nil, wrap("list conversation turns", err)
	}
	out, err := scanRows(rows, scanTurn)
	slices.Reverse(out)
	return out, wrap("list conversation turns", err)
}

// AddCallEvent implements agentphone.Store.
func (s *Store) AddCallEvent(ctx context.Context, e *agentphone.CallEvent) error {
	_, err := s.exec(ctx, `INSERT INTO call_events (id, call_id, type, data, at) VALUES ($1, $2, $3, $4, $5)`,
		e.ID, e.CallID, e.Type, string(e.Data), dbTime(e.At))
	if err != nil && s.d.IsForeignKeyViolation(err) {
		return agentphone.Errorf(agentphone.KindNotFound, msgCallNotFound)
	}
	return wrap("add call event", err)
}

// ListCallEvents implements agentphone.Store.
func (s *Store) ListCallEvents(ctx context.Context, accountID, callID string) ([]*agentphone.CallEvent, error) {
	rows, err := s.query(ctx, `SELECT `+eventColsE+` FROM call_events e JOIN calls c ON c.id = e.call_id
		WHERE e.call_id = $1 AND c.account_id = $2 ORDER BY e.at, e.id`, callID, accountID)
	if err != nil {
		return nil, wrap("list call events", err)
	}
	out, err := scanRows(rows, func(rows *sql.Rows) (*agentphone.CallEvent, error) {
		e := new(agentphone.CallEvent)
		return e, rows.Scan(&e.ID, &e.CallID, &e.Type, rawJSONCol{&e.Data}, timeCol{&e.At})
	})
	return out, wrap("list call events", err)
}

// FinishCall implements agentphone.Store: see there. The call's row is
// locked first, so that of two finishes at once the second sees the call
// ended and stores no second event.
func (s *Store) FinishCall(ctx context.Context, id string,
	finish func(c *agentphone.Call, turns []*agentphone.Turn, conv *agentphone.Conversation) (*agentphone.Delivery, error)) (*agentphone.Call, bool, error) {
	return s.changeCall(ctx, "finish call", id, (*agentphone.Call).Ended, finish,
		func(ctx context.Context, tx *sql.Tx, c *agentphone.Call) (*sql.Rows, error) {
			analysis, err := dbJSONObject(c.Analysis, "call analysis")
			if err != nil {
				return nil, err
			}
			return s.txQuery(ctx, tx, `UPDATE calls SET status = $1, end_reason = $2, ended_at = $3,
					duration_seconds = $4, recording_path = $5, analysis = $6, analysis_pending = $7
				WHERE id = $8 RETURNING `+callCols,
				c.Status, dbNullString(c.EndReason), dbNullTime(c.EndedAt), dbNullInt(c.DurationSeconds),
				dbNullString(c.RecordingPath), analysis, c.AnalysisPending, id)
		})
}

// SettleCallAnalysis implements agentphone.Store: see there. As in
// FinishCall, the call's row is locked first: of two settles at once the
// second sees the call settled and stores no second event.
func (s *Store) SettleCallAnalysis(ctx context.Context, id string,
	settle func(c *agentphone.Call, turns []*agentphone.Turn, conv *agentphone.Conversation) (*agentphone.Delivery, error)) (*agentphone.Call, bool, error) {
	settled := func(c *agentphone.Call) bool { return !c.AnalysisPending }
	return s.changeCall(ctx, "settle call analysis", id, settled, settle,
		func(ctx context.Context, tx *sql.Tx, c *agentphone.Call) (*sql.Rows, error) {
			analysis, err := dbJSONObject(c.Analysis, "call analysis")
			if err != nil {
				return nil, err
			}
			return s.txQuery(ctx, tx, `UPDATE calls SET analysis = $1, analysis_pending = $2 WHERE id = $3
				RETURNING `+callCols, analysis, false, id)
		})
}

// changeCall runs the transaction of FinishCall and SettleCallAnalysis
// (op names it in errors): it locks call id's row; unless done says the
// change was made already, it reads the call's turns and conversation,
// has fn change the call and make the delivery of its event, writes the
// call with update and stores the delivery. It returns the call as stored
// and whether it was changed; the outbox hears of the delivery once
// committed.
func (s *Store) changeCall(ctx context.Context, op, id string, done func(*agentphone.Call) bool,
	fn func(c *agentphone.Call, turns []*agentphone.Turn, conv *agentphone.Conversation) (*agentphone.Delivery, error),
	update func(ctx context.Context, tx *sql.Tx, c *agentphone.Call) (*sql.Rows, error)) (*agentphone.Call, bool, error) {
	var (
		out     *agentphone.Call
		changed bool
		d       *agentphone.Delivery
		fnErr   error
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c := new(agentphone.Call)
		rows, err := s.txQuery(ctx, tx, `SELECT `+callCols+` FROM calls WHERE id = $1`+s.d.LockRows, id)
		if err := scanOne(rows, err, callDest(c)...); err != nil {
			return notFound(err, msgCallNotFound)
		}
		if done(c) {
			out = c
			return nil
		}
		rows, err = s.txQuery(ctx, tx, `SELECT `+turnColsT+` FROM call_turns t WHERE t.call_id = $1`+turnOrder, id)
		if err != nil {
			return fmt.Errorf("turns: %w", err)
		}
		turns, err := scanRows(rows, scanTurn)
		if err != nil {
			return fmt.Errorf("turns: %w", err)
		}
		var conv *agentphone.Conversation
		if c.NumberID != nil {
			cv := new(agentphone.Conversation)
			rows, err := s.txQuery(ctx, tx, `SELECT `+conversationCols+` FROM conversations
				WHERE number_id = $1 AND participant = $2`, *c.NumberID, c.OtherParty())
			switch err := scanOne(rows, err, conversationDest(cv)...); {
			case err == nil:
				conv = cv
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("conversation: %w", err)
			}
		}
		if d, fnErr = fn(c, turns, conv); fnErr != nil {
			return fnErr
		}
		stored := new(agentphone.Call)
		rows, err = update(ctx, tx, c)
		if err := scanOne(rows, err, callDest(stored)...); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if d != nil {
			if err := s.createDeliveryTx(ctx, tx, d); err != nil {
				return fmt.Errorf("event: %w", err)
			}
		}
		out, changed = stored, true
		return nil
	})
	if fnErr != nil {
		return nil, false, fnErr
	}
	if err != nil {
		return nil, false, wrap(op, err)
	}
	if d != nil {
		s.notifyDelivery(d)
	}
	return out, changed, nil
}

// ListAnalysisPendingCalls implements agentphone.Store.
func (s *Store) ListAnalysisPendingCalls(ctx context.Context) ([]*agentphone.Call, error) {
	rows, err := s.query(ctx, `SELECT `+callCols+` FROM calls WHERE analysis_pending ORDER BY ended_at, id`)
	if err != nil {
		return nil, wrap("list analysis-pending calls", err)
	}
	out, err := scanRows(rows, scanCall)
	return out, wrap("list analysis-pending calls", err)
}

// GetAccountSettings implements agentphone.Store.
func (s *Store) GetAccountSettings(ctx context.Context, accountID string) (*agentphone.AccountSettings, error) {
	st := new(agentphone.AccountSettings)
	rows, err := s.query(ctx, `SELECT record_calls FROM accounts WHERE id = $1`, accountID)
	if err := scanOne(rows, err, nullBoolCol{&st.RecordCalls}); err != nil {
		return nil, wrap("get account settings", notFound(err, msgAccountNotFound))
	}
	return st, nil
}

// SetRecordCalls implements agentphone.Store.
func (s *Store) SetRecordCalls(ctx context.Context, accountID string, v *bool) (*agentphone.AccountSettings, error) {
	var arg any
	if v != nil {
		arg = *v
	}
	st := new(agentphone.AccountSettings)
	err := s.writeRow(ctx, `UPDATE accounts SET record_calls = $1 WHERE id = $2 RETURNING record_calls`,
		[]any{arg, accountID}, nullBoolCol{&st.RecordCalls})
	if err != nil {
		return nil, wrap("set record calls", notFound(err, msgAccountNotFound))
	}
	return st, nil
}

// nullBoolCol scans a nullable boolean column (INTEGER 0/1 on SQLite):
// NULL is nil.
type nullBoolCol struct{ p **bool }

func (c nullBoolCol) Scan(src any) error {
	var b sql.NullBool
	if err := b.Scan(src); err != nil {
		return err
	}
	*c.p = nil
	if b.Valid {
		v := b.Bool
		*c.p = &v
	}
	return nil
}
