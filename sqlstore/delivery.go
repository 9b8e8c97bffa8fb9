package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentphone/agentphone"
)

// Webhook deliveries. agent_id and webhook_id are plain columns, not
// foreign keys: the log keeps the ids it recorded after the agent or the
// webhook is deleted. Lists leave out the payload, which can be large; only
// GetDelivery reads it.

// deliveryCols are the columns lists read: all but payload.
const deliveryCols = `id, account_id, agent_id, webhook_id, event_type, channel, message_id, status,
	http_status, error_message, response_body, attempt_count, last_attempt_at, next_retry_at, test, created_at`

func deliveryDest(d *agentphone.Delivery) []any {
	return []any{
		&d.ID, &d.AccountID, nullStringCol{&d.AgentID}, nullStringCol{&d.WebhookID}, &d.EventType,
		nullStringCol{&d.Channel}, nullStringCol{&d.MessageID}, &d.Status,
		nullIntCol{&d.HTTPStatus}, nullStringCol{&d.ErrorMessage}, nullStringCol{&d.ResponseBody}, &d.AttemptCount,
		nullTimeCol{&d.LastAttemptAt}, nullTimeCol{&d.NextRetryAt}, &d.Test, timeCol{&d.CreatedAt},
	}
}

func scanDelivery(rows *sql.Rows) (*agentphone.Delivery, error) {
	d := new(agentphone.Delivery)
	return d, rows.Scan(deliveryDest(d)...)
}

// CreateDelivery stores d. When it is pending and not a test it is queued:
// due at its NextRetryAt, else at once, and the notifier (NotifyDeliveries)
// hears of it after the commit. Not-found when its account is missing. A
// nil payload is stored empty; NUL and invalid UTF-8 in ErrorMessage and
// ResponseBody are stored as U+FFFD (see dbNullText).
func (s *Store) CreateDelivery(ctx context.Context, d *agentphone.Delivery) error {
	_, err := s.exec(ctx, insertDeliverySQL, insertDeliveryArgs(d)...) // one statement: no transaction needed
	if err != nil && s.d.IsForeignKeyViolation(err) {
		return agentphone.Errorf(agentphone.KindNotFound, msgAccountNotFound)
	}
	if err != nil {
		return wrap("create delivery", err)
	}
	s.notifyDelivery(d)
	return nil
}

// deliveryDue is when a new delivery is due for its first attempt: nil when
// no worker is to attempt it (finished, or a test sent synchronously).
func deliveryDue(d *agentphone.Delivery) *time.Time {
	if d.Status != agentphone.DeliveryPending || d.Test {
		return nil
	}
	if d.NextRetryAt != nil {
		return d.NextRetryAt
	}
	return &d.CreatedAt
}

// createDeliveryTx stores d in tx, queued as CreateDelivery says. Methods
// that store an event with the change that causes it (a message and its
// delivery) call it in their own transaction, then notifyDelivery once it
// has committed.
func (s *Store) createDeliveryTx(ctx context.Context, tx *sql.Tx, d *agentphone.Delivery) error {
	_, err := s.txExec(ctx, tx, insertDeliverySQL, insertDeliveryArgs(d)...)
	return err
}

const insertDeliverySQL = `INSERT INTO webhook_deliveries (` + deliveryCols + `, payload, due_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`

// insertDeliveryArgs are the arguments of insertDeliverySQL for d.
func insertDeliveryArgs(d *agentphone.Delivery) []any {
	payload := d.Payload
	if payload == nil {
		payload = []byte{}
	}
	return []any{d.ID, d.AccountID, dbNullString(d.AgentID), dbNullString(d.WebhookID), d.EventType,
		dbNullString(d.Channel), dbNullString(d.MessageID), d.Status,
		dbNullInt(d.HTTPStatus), dbNullText(d.ErrorMessage), dbNullText(d.ResponseBody), d.AttemptCount,
		dbNullTime(d.LastAttemptAt), dbNullTime(d.NextRetryAt), d.Test, dbTime(d.CreatedAt), payload,
		dbNullTime(deliveryDue(d))}
}

// notifyDelivery tells the notifier that d, committed, is queued.
func (s *Store) notifyDelivery(d *agentphone.Delivery) {
	if due := deliveryDue(d); due != nil && s.notifyDue != nil {
		s.notifyDue(*due)
	}
}

// ClaimDeliveries claims up to limit queued deliveries due at now, the
// earliest due when not all fit (returned in no particular order), for an
// attempt each: they stay pending but are due
// again only at leaseEnd, when a worker that died with its process is
// presumed dead. It returns them with their payloads. On PostgreSQL,
// servers claiming at once claim different deliveries.
func (s *Store) ClaimDeliveries(ctx context.Context, now, leaseEnd time.Time, limit int) ([]*agentphone.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	// The limit is written out, not bound: PostgreSQL's generic plan of a
	// bound LIMIT may not walk the due index (see PruneDeliveries).
	q := `UPDATE webhook_deliveries SET due_at = $1
		WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND due_at <= $2
			ORDER BY due_at LIMIT ` + strconv.Itoa(limit) + s.d.SkipLocked + `)
		RETURNING ` + deliveryCols + `, payload`
	var out []*agentphone.Delivery
	err := s.writeRows(ctx, q, []any{dbTime(leaseEnd), dbTime(now)}, func(rows *sql.Rows) error {
		d := new(agentphone.Delivery)
		if err := rows.Scan(append(deliveryDest(d), bytesCol{&d.Payload})...); err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, wrap("claim deliveries", err)
	}
	return out, nil
}

// NextDeliveryDue returns when the earliest queued delivery is due (claimed
// ones included, at the end of their lease); ok is false when none is.
func (s *Store) NextDeliveryDue(ctx context.Context) (due time.Time, ok bool, err error) {
	var t *time.Time
	rows, err := s.query(ctx, `SELECT min(due_at) FROM webhook_deliveries WHERE status = 'pending'`)
	if err := scanOne(rows, err, nullTimeCol{&t}); err != nil {
		return time.Time{}, false, wrap("next delivery due", err)
	}
	if t == nil {
		return time.Time{}, false, nil
	}
	return *t, true, nil
}

// RecordDeliveries writes the outcomes of claimed deliveries in one
// transaction: each update's outcome fields (as UpdateDeliveryAttempt)
// and when it is next due. An update applies only while its delivery is
// still pending at the attempt count it was claimed with; it returns how
// many did not (their delivery was finished or attempted again meanwhile,
// after its lease ended, or deleted).
func (s *Store) RecordDeliveries(ctx context.Context, updates []agentphone.DeliveryUpdate) (stale int, err error) {
	const q = `UPDATE webhook_deliveries
		SET status = $1, http_status = $2, error_message = $3, response_body = $4, attempt_count = $5,
			last_attempt_at = $6, next_retry_at = $7, due_at = $8
		WHERE id = $9 AND status = 'pending' AND attempt_count = $10`
	prepared, err := s.prepareWrite(ctx, q)
	if err != nil {
		return 0, wrap("record deliveries", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		stale = 0
		st, err := s.txStmt(ctx, tx, prepared, q)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, u := range updates {
			d := u.Delivery
			res, err := st.ExecContext(ctx, d.Status, dbNullInt(d.HTTPStatus), dbNullText(d.ErrorMessage),
				dbNullText(d.ResponseBody), d.AttemptCount, dbNullTime(d.LastAttemptAt), dbNullTime(d.NextRetryAt),
				dbNullTime(u.DueAt), d.ID, u.ClaimedAttempts)
			if err != nil {
				return fmt.Errorf("delivery %s: %w", d.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("delivery %s: %w", d.ID, err)
			} else if n == 0 {
				stale++
			}
		}
		return nil
	})
	return stale, wrap("record deliveries", err)
}

// UpdateDeliveryAttempt writes the outcome fields of d (status, HTTP
// status, error, response, attempt count, last and next attempt) to the
// delivery of d's id and account, leaving the rest as created; error and
// response as CreateDelivery stores them. Not-found when there is none.
func (s *Store) UpdateDeliveryAttempt(ctx context.Context, d *agentphone.Delivery) error {
	res, err := s.exec(ctx, `UPDATE webhook_deliveries
		SET status = $1, http_status = $2, error_message = $3, response_body = $4, attempt_count = $5,
			last_attempt_at = $6, next_retry_at = $7
		WHERE id = $8 AND account_id = $9`,
		d.Status, dbNullInt(d.HTTPStatus), dbNullText(d.ErrorMessage), dbNullText(d.ResponseBody), d.AttemptCount,
		dbNullTime(d.LastAttemptAt), dbNullTime(d.NextRetryAt), d.ID, d.AccountID)
	if err != nil {
		return wrap("update delivery", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap("update delivery", err)
	}
	if n == 0 {
		return agentphone.Errorf(agentphone.KindNotFound, msgDeliveryNotFound)
	}
	return nil
}

// GetDelivery returns a delivery of the account, payload included.
func (s *Store) GetDelivery(ctx context.Context, accountID, id string) (*agentphone.Delivery, error) {
	d := new(agentphone.Delivery)
	rows, err := s.query(ctx, `SELECT `+deliveryCols+`, payload FROM webhook_deliveries WHERE id = $1 AND account_id = $2`,
		id, accountID)
	if err := scanOne(rows, err, append(deliveryDest(d), bytesCol{&d.Payload})...); err != nil {
		return nil, wrap("get delivery", notFound(err, msgDeliveryNotFound))
	}
	return d, nil
}

// deliveryWhere returns the WHERE condition selecting the account's
// deliveries that pass f, and its arguments, $1 on. Each combination of
// filters gives its own fixed text, so that each is prepared once and
// planned for the indexes it can use.
func deliveryWhere(accountID string, f agentphone.DeliveryFilter) (string, []any) {
	where, args := `account_id = $1`, []any{accountID}
	if f.AgentID != nil {
		args = append(args, *f.AgentID)
		where += ` AND agent_id = $` + strconv.Itoa(len(args))
	}
	if f.Since != nil {
		args = append(args, dbTimeCeil(*f.Since))
		where += ` AND created_at >= $` + strconv.Itoa(len(args))
	}
	return where, args
}

// ListDeliveries lists the account's deliveries that pass f, newest first
// (ties by id, descending), without their payloads (Payload is nil).
func (s *Store) ListDeliveries(ctx context.Context, accountID string, f agentphone.DeliveryFilter,
	p agentphone.Page) (agentphone.List[*agentphone.Delivery], error) {
	where, args := deliveryWhere(accountID, f)
	n := len(args)
	l, err := listPage(ctx, s, p,
		`SELECT `+deliveryCols+` FROM webhook_deliveries WHERE `+where+`
			ORDER BY created_at DESC, id DESC LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2),
		`SELECT count(*) FROM webhook_deliveries WHERE `+where, args, scanDelivery)
	return l, wrap("list deliveries", err)
}

// hourLayout is the text of Dialect.HourUTC.
const hourLayout = "2006-01-02 15"

// CountDeliveries counts the account's deliveries created at or after since
// (all when nil) by event type, status and UTC hour of creation, ordered by
// hour, then event type and status byte by byte. The result is never nil.
func (s *Store) CountDeliveries(ctx context.Context, accountID string, since *time.Time) ([]agentphone.DeliveryCount, error) {
	if s.d.HourUTC == "" {
		return nil, fmt.Errorf("sqlstore: count deliveries: dialect %s has no HourUTC", s.d.Name)
	}
	hour := fmt.Sprintf(s.d.HourUTC, "created_at")
	where, args := deliveryWhere(accountID, agentphone.DeliveryFilter{Since: since})
	rows, err := s.query(ctx, `SELECT event_type, status, `+hour+`, count(*) FROM webhook_deliveries WHERE `+where+`
		GROUP BY event_type, status, `+hour, args...)
	if err != nil {
		return nil, wrap("count deliveries", err)
	}
	counts, err := scanRows(rows, func(rows *sql.Rows) (agentphone.DeliveryCount, error) {
		var c agentphone.DeliveryCount
		return c, rows.Scan(&c.EventType, &c.Status, periodCol{hourLayout, &c.Hour}, &c.N)
	})
	if err != nil {
		return nil, wrap("count deliveries", err)
	}
	// Sorted here rather than by ORDER BY, whose order of text depends on
	// the column's collation.
	slices.SortFunc(counts, func(a, b agentphone.DeliveryCount) int {
		return cmp.Or(a.Hour.Compare(b.Hour), strings.Compare(a.EventType, b.EventType), strings.Compare(a.Status, b.Status))
	})
	return counts, nil
}

// pruneBatch bounds the rows one statement of PruneDeliveries deletes, so
// that on SQLite a large prune holds the only write connection for a
// moment at a time and other writers get their turns in between.
var pruneBatch = 1000

// PruneDeliveries deletes the finished (success or failed) deliveries of
// every account created before before, pruneBatch at a time, each batch in
// a write turn of its own, and returns how many it deleted; after an error,
// how many it had deleted until then.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time) (int, error) {
	// The inner condition is the predicate of the index
	// webhook_deliveries_finished; the outer one, repeated, keeps a row
	// whose status changed meanwhile (PostgreSQL rechecks it). The batch size
	// is written out, not bound: with LIMIT $2, PostgreSQL's generic plan
	// guesses a large limit and hashes a scan of the whole table rather than
	// looking up each id in the primary key.
	pruneSQL := `DELETE FROM webhook_deliveries WHERE id IN (
			SELECT id FROM webhook_deliveries WHERE status IN ('success', 'failed') AND created_at < $1
			LIMIT ` + strconv.Itoa(pruneBatch) + `)
		AND status IN ('success', 'failed')`
	bound, total := dbTimeCeil(before), 0
	for {
		res, err := s.exec(ctx, pruneSQL, bound)
		if err != nil {
			return total, wrap("prune deliveries", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, wrap("prune deliveries", err)
		}
		total += int(n)
		if n < int64(pruneBatch) {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, wrap("prune deliveries", err)
		}
	}
}
