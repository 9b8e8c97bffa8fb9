package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/agentphone/agentphone"
)

// Conversations and messages. The times of a number's messages are whole
// milliseconds, distinct (storeMessageTx moves a new one past the latest),
// so that lists paged by time cursors neither skip nor repeat a message,
// also for clients that keep times to the millisecond only (JavaScript's
// Date).

// messageSpacing is the resolution of message times, and so the least
// time between two messages of a number: at most 1,000 a second, far above
// what carriers allow one number.
const messageSpacing = time.Millisecond

const conversationCols = `id, account_id, number_id, agent_id, phone_number, participant, metadata,
	last_message_at, last_message_preview, message_count, created_at`

func conversationDest(c *agentphone.Conversation) []any {
	return []any{
		&c.ID, &c.AccountID, &c.NumberID, nullStringCol{&c.AgentID}, &c.PhoneNumber, &c.Participant,
		rawJSONCol{&c.Metadata}, timeCol{&c.LastMessageAt}, &c.LastMessagePreview, &c.MessageCount, timeCol{&c.CreatedAt},
	}
}

func scanConversation(rows *sql.Rows) (*agentphone.Conversation, error) {
	c := new(agentphone.Conversation)
	return c, rows.Scan(conversationDest(c)...)
}

const messageCols = `id, account_id, conversation_id, number_id, agent_id, direction, from_number, to_number, body,
	media_urls, channel, status, error_message, provider_ref, reply_to_message_id, created_at, updated_at,
	send_attempts, next_attempt_at`

func messageDest(m *agentphone.Message) []any {
	return []any{
		&m.ID, &m.AccountID, &m.ConversationID, &m.NumberID, nullStringCol{&m.AgentID}, &m.Direction, &m.From, &m.To,
		&m.Body, stringsCol{&m.MediaURLs}, &m.Channel, &m.Status, nullStringCol{&m.ErrorMessage},
		nullStringCol{&m.ProviderRef}, nullStringCol{&m.ReplyToID}, timeCol{&m.CreatedAt}, timeCol{&m.UpdatedAt},
		&m.SendAttempts, nullTimeCol{&m.NextAttemptAt},
	}
}

func scanMessage(rows *sql.Rows) (*agentphone.Message, error) {
	m := new(agentphone.Message)
	return m, rows.Scan(messageDest(m)...)
}

// rawJSONCol scans a nullable JSON text column: NULL is nil.
type rawJSONCol struct{ p *json.RawMessage }

func (c rawJSONCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.p = nil
	case string:
		*c.p = json.RawMessage(v)
	case []byte:
		*c.p = json.RawMessage(append([]byte(nil), v...))
	default:
		return fmt.Errorf("JSON column: unexpected %T", src)
	}
	return nil
}

// stringsCol scans a JSON array of strings stored as text; never nil.
type stringsCol struct{ p *[]string }

func (c stringsCol) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("JSON list column: unexpected %T", src)
	}
	out := []string{}
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("JSON list column: %w", err)
	}
	*c.p = out
	return nil
}

// dbJSON binds a JSON value stored as text (nil: NULL).
func dbJSON(v json.RawMessage) any {
	if v == nil {
		return nil
	}
	return string(v)
}

// ReceiveMessage implements agentphone.Store: see there.
func (s *Store) ReceiveMessage(ctx context.Context, m *agentphone.Message, historyLimit int,
	event func(c *agentphone.Conversation, history []*agentphone.Message) (*agentphone.Delivery, error)) (*agentphone.Conversation, error) {
	var conv *agentphone.Conversation
	var d *agentphone.Delivery
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if conv, err = s.storeMessageTx(ctx, tx, m, m.From); err != nil {
			return err
		}
		history, err := s.historyTx(ctx, tx, conv.ID, m, historyLimit)
		if err != nil {
			return err
		}
		if d, err = event(conv, history); err != nil {
			return err
		}
		return s.createDeliveryTx(ctx, tx, d)
	})
	if err != nil {
		return nil, wrap("receive message", err)
	}
	s.notifyDelivery(d)
	return conv, nil
}

// storeMessageTx stores m in tx, in the conversation of its number with
// participant (created when new, else updated with m as its latest
// message), and returns that conversation. It locks the number's row, so
// that the messages of a number are stored one at a time and m.CreatedAt
// can be moved past the number's latest message.
func (s *Store) storeMessageTx(ctx context.Context, tx *sql.Tx, m *agentphone.Message, participant string) (*agentphone.Conversation, error) {
	var phone string
	var latest *time.Time
	rows, err := s.txQuery(ctx, tx, `SELECT phone_number FROM numbers WHERE id = $1 AND account_id = $2`+s.d.LockRows,
		m.NumberID, m.AccountID)
	if err := scanOne(rows, err, &phone); err != nil {
		return nil, notFound(err, msgNumberNotFound)
	}
	// A statement of its own, after the lock: on PostgreSQL its snapshot
	// then sees the messages of the transaction that held the lock before
	// (a subquery of the locking statement would not).
	rows, err = s.txQuery(ctx, tx, `SELECT max(created_at) FROM messages WHERE number_id = $1`, m.NumberID)
	if err := scanOne(rows, err, nullTimeCol{&latest}); err != nil {
		return nil, fmt.Errorf("latest message: %w", err)
	}
	if m.Direction == agentphone.DirectionInbound && m.ProviderRef != nil {
		dup := new(agentphone.Message)
		rows, err := s.txQuery(ctx, tx, `SELECT `+messageCols+` FROM messages
			WHERE number_id = $1 AND provider_ref = $2 AND direction = 'inbound'`, m.NumberID, *m.ProviderRef)
		switch err := scanOne(rows, err, messageDest(dup)...); {
		case err == nil:
			*m = *dup
			return nil, agentphone.ErrDuplicateMessage
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("duplicate look-up: %w", err)
		}
	}
	m.CreatedAt = m.CreatedAt.UTC().Truncate(messageSpacing)
	if latest != nil && m.CreatedAt.Before(latest.Add(messageSpacing)) {
		m.CreatedAt = latest.Add(messageSpacing)
	}
	if m.UpdatedAt.Before(m.CreatedAt) {
		m.UpdatedAt = m.CreatedAt
	}
	preview := agentphone.Preview(m.Body, m.MediaURLs)
	rows, err = s.txQuery(ctx, tx, `INSERT INTO conversations (`+conversationCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, 1, $7)
		ON CONFLICT (number_id, participant) DO UPDATE SET
			agent_id = excluded.agent_id, last_message_at = excluded.last_message_at,
			last_message_preview = excluded.last_message_preview,
			message_count = conversations.message_count + 1
		RETURNING `+conversationCols,
		agentphone.NewID(agentphone.PrefixConversation), m.AccountID, m.NumberID, dbNullString(m.AgentID), phone,
		participant, m.CreatedAt, preview)
	conv := new(agentphone.Conversation)
	if err := scanOne(rows, err, conversationDest(conv)...); err != nil {
		return nil, fmt.Errorf("conversation: %w", err)
	}
	m.ConversationID = conv.ID
	media, err := json.Marshal(m.MediaURLs)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	if m.MediaURLs == nil {
		media = []byte("[]")
	}
	_, err = s.txExec(ctx, tx, `INSERT INTO messages (`+messageCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		m.ID, m.AccountID, m.ConversationID, m.NumberID, dbNullString(m.AgentID), m.Direction, m.From, m.To,
		m.Body, string(media), m.Channel, m.Status, dbNullText(m.ErrorMessage), dbNullString(m.ProviderRef),
		dbNullString(m.ReplyToID), m.CreatedAt, dbTime(m.UpdatedAt), m.SendAttempts, dbNullTime(m.NextAttemptAt))
	if err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	return conv, nil
}

// ClaimDueMessages implements agentphone.Store.
func (s *Store) ClaimDueMessages(ctx context.Context, now, leaseEnd time.Time, limit int) ([]*agentphone.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	q := `UPDATE messages SET next_attempt_at = $1
		WHERE id IN (SELECT id FROM messages WHERE status = 'queued' AND next_attempt_at <= $2
			ORDER BY next_attempt_at LIMIT ` + strconv.Itoa(limit) + s.d.SkipLocked + `)
		RETURNING ` + messageCols
	var out []*agentphone.Message
	err := s.writeRows(ctx, q, []any{dbTime(leaseEnd), dbTime(now)}, func(rows *sql.Rows) error {
		m, err := scanMessage(rows)
		out = append(out, m)
		return err
	})
	if err != nil {
		return nil, wrap("claim due messages", err)
	}
	return out, nil
}

// RescheduleMessage implements agentphone.Store.
func (s *Store) RescheduleMessage(ctx context.Context, id string, attempts int, next time.Time) error {
	_, err := s.exec(ctx, `UPDATE messages SET send_attempts = $1, next_attempt_at = $2, updated_at = $3
		WHERE id = $4 AND status = 'queued'`, attempts, dbTime(next), dbTime(agentphone.Now()), id)
	return wrap("reschedule message", err)
}

// GetMessage implements agentphone.Store.
func (s *Store) GetMessage(ctx context.Context, accountID, id string) (*agentphone.Message, error) {
	m := new(agentphone.Message)
	rows, err := s.query(ctx, `SELECT `+messageCols+` FROM messages WHERE id = $1 AND account_id = $2`, id, accountID)
	if err := scanOne(rows, err, messageDest(m)...); err != nil {
		return nil, wrap("get message", notFound(err, msgMessageNotFound))
	}
	return m, nil
}

// CreateOutboundMessage implements agentphone.Store.
func (s *Store) CreateOutboundMessage(ctx context.Context, m *agentphone.Message) (*agentphone.Conversation, error) {
	var conv *agentphone.Conversation
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		conv, err = s.storeMessageTx(ctx, tx, m, m.To)
		return err
	})
	if err != nil {
		return nil, wrap("create message", err)
	}
	return conv, nil
}

// earlierStatuses lists, as SQL, the statuses an outbound message may move
// to status from: statuses only move forward (queued, sent, then delivered
// or failed).
func earlierStatuses(status string) string {
	if status == agentphone.MessageSent {
		return `('queued')`
	}
	return `('queued', 'sent')`
}

// UpdateMessageStatus implements agentphone.Store.
func (s *Store) UpdateMessageStatus(ctx context.Context, id, status string, attempts int, errorMessage, providerRef *string) error {
	res, err := s.exec(ctx, `UPDATE messages SET status = $1, error_message = $2,
			provider_ref = COALESCE($3, provider_ref), send_attempts = $4, next_attempt_at = NULL, updated_at = $5
		WHERE id = $6 AND status IN `+earlierStatuses(status),
		status, dbNullText(errorMessage), dbNullString(providerRef), attempts, dbTime(agentphone.Now()), id)
	return s.checkStatusUpdate(ctx, "update message status", res, err, id, nil)
}

// UpdateCarrierStatus implements agentphone.Store.
func (s *Store) UpdateCarrierStatus(ctx context.Context, id, ref, status string, reason *string) error {
	res, err := s.exec(ctx, `UPDATE messages SET status = $1, error_message = $2, provider_ref = $3,
			next_attempt_at = NULL, updated_at = $4
		WHERE id = $5 AND direction = 'outbound' AND (provider_ref IS NULL OR provider_ref = $3)
			AND status IN `+earlierStatuses(status),
		status, dbNullText(reason), ref, dbTime(agentphone.Now()), id)
	return s.checkStatusUpdate(ctx, "update carrier status", res, err, id, &ref)
}

// checkStatusUpdate tells apart, after a status update of outbound message
// id that changed no row, a message whose status is already further on
// (nil: the update was stale) from a missing one, or one whose carrier id
// is not ref when ref is not nil (not-found).
func (s *Store) checkStatusUpdate(ctx context.Context, op string, res sql.Result, err error, id string, ref *string) error {
	if err != nil {
		return wrap(op, err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return wrap(op, err)
	}
	var got *string
	rows, err := s.query(ctx, `SELECT provider_ref FROM messages WHERE id = $1 AND direction = 'outbound'`, id)
	if err := scanOne(rows, err, nullStringCol{&got}); err != nil {
		return wrap(op, notFound(err, msgMessageNotFound))
	}
	if ref != nil && got != nil && *got != *ref {
		return agentphone.Errorf(agentphone.KindNotFound, msgMessageNotFound)
	}
	return nil
}

// historyTx returns up to limit messages of the conversation before m,
// oldest first.
func (s *Store) historyTx(ctx context.Context, tx *sql.Tx, conversationID string, m *agentphone.Message, limit int) ([]*agentphone.Message, error) {
	if limit <= 0 {
		return []*agentphone.Message{}, nil
	}
	rows, err := s.txQuery(ctx, tx, `SELECT `+messageCols+` FROM messages
		WHERE conversation_id = $1 AND id <> $2 AND created_at <= $3
		ORDER BY created_at DESC, id DESC LIMIT $4`, conversationID, m.ID, m.CreatedAt, limit)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	msgs, err := scanRows(rows, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	slices.Reverse(msgs)
	if msgs == nil {
		msgs = []*agentphone.Message{}
	}
	return msgs, nil
}

// listMessages lists the messages of the account whose column col equals
// id, newest first, within cursor c: one more than the limit is read to
// tell hasMore.
func (s *Store) listMessages(ctx context.Context, col, accountID, id string, c agentphone.MessageCursor) ([]*agentphone.Message, bool, error) {
	where, args := col+` = $1 AND account_id = $2`, []any{id, accountID}
	if !c.Before.IsZero() {
		args = append(args, dbTime(c.Before))
		where += ` AND created_at < $` + strconv.Itoa(len(args))
	}
	if !c.After.IsZero() {
		args = append(args, dbTimeCeil(c.After))
		where += ` AND created_at > $` + strconv.Itoa(len(args))
	}
	args = append(args, c.Limit+1)
	order := ` ORDER BY created_at DESC, id DESC`
	forward := !c.After.IsZero() && c.Before.IsZero()
	if forward {
		// Paging forward: the page is the oldest messages after the
		// cursor, so that the next page (after its newest) leaves no gap;
		// it is returned newest first like every page.
		order = ` ORDER BY created_at ASC, id ASC`
	}
	rows, err := s.query(ctx, `SELECT `+messageCols+` FROM messages WHERE `+where+order+
		` LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, false, err
	}
	msgs, err := scanRows(rows, scanMessage)
	if err != nil {
		return nil, false, err
	}
	more := len(msgs) > c.Limit
	if more {
		msgs = msgs[:c.Limit]
	}
	if forward {
		slices.Reverse(msgs)
	}
	if msgs == nil {
		msgs = []*agentphone.Message{}
	}
	return msgs, more, nil
}

// ListNumberMessages implements agentphone.Store.
func (s *Store) ListNumberMessages(ctx context.Context, accountID, numberID string, c agentphone.MessageCursor) ([]*agentphone.Message, bool, error) {
	msgs, more, err := s.listMessages(ctx, "number_id", accountID, numberID, c)
	return msgs, more, wrap("list number messages", err)
}

// ListConversationMessages implements agentphone.Store.
func (s *Store) ListConversationMessages(ctx context.Context, accountID, conversationID string, c agentphone.MessageCursor) ([]*agentphone.Message, bool, error) {
	msgs, more, err := s.listMessages(ctx, "conversation_id", accountID, conversationID, c)
	return msgs, more, wrap("list conversation messages", err)
}

const (
	msgConversationNotFound = "Conversation not found"
	msgMessageNotFound      = "Message not found"
)

// GetConversation implements agentphone.Store.
func (s *Store) GetConversation(ctx context.Context, accountID, id string) (*agentphone.Conversation, error) {
	c := new(agentphone.Conversation)
	rows, err := s.query(ctx, `SELECT `+conversationCols+` FROM conversations WHERE id = $1 AND account_id = $2`, id, accountID)
	if err := scanOne(rows, err, conversationDest(c)...); err != nil {
		return nil, wrap("get conversation", notFound(err, msgConversationNotFound))
	}
	return c, nil
}

// FindConversation implements agentphone.Store.
func (s *Store) FindConversation(ctx context.Context, accountID, numberID, participant string) (*agentphone.Conversation, error) {
	c := new(agentphone.Conversation)
	rows, err := s.query(ctx, `SELECT `+conversationCols+` FROM conversations
		WHERE number_id = $1 AND participant = $2 AND account_id = $3`, numberID, participant, accountID)
	if err := scanOne(rows, err, conversationDest(c)...); err != nil {
		return nil, wrap("find conversation", notFound(err, msgConversationNotFound))
	}
	return c, nil
}

// ListConversations implements agentphone.Store.
func (s *Store) ListConversations(ctx context.Context, accountID string, agentID *string, p agentphone.Page) (agentphone.List[*agentphone.Conversation], error) {
	where, args := `account_id = $1`, []any{accountID}
	if agentID != nil {
		where, args = `account_id = $1 AND agent_id = $2`, append(args, *agentID)
	}
	n := len(args)
	l, err := listPage(ctx, s, p,
		`SELECT `+conversationCols+` FROM conversations WHERE `+where+`
			ORDER BY last_message_at DESC, id DESC LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2),
		`SELECT count(*) FROM conversations WHERE `+where, args, scanConversation)
	return l, wrap("list conversations", err)
}

// SetConversationMetadata implements agentphone.Store.
func (s *Store) SetConversationMetadata(ctx context.Context, accountID, id string, metadata json.RawMessage) (*agentphone.Conversation, error) {
	c := new(agentphone.Conversation)
	err := s.writeRow(ctx, `UPDATE conversations SET metadata = $1 WHERE id = $2 AND account_id = $3 RETURNING `+conversationCols,
		[]any{dbJSON(metadata), id, accountID}, conversationDest(c)...)
	if err != nil {
		return nil, wrap("set conversation metadata", notFound(err, msgConversationNotFound))
	}
	return c, nil
}
