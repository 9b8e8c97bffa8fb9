package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentphone/agentphone"
)

// Usage counts (spec §11). Every count is one GROUP BY or aggregate query
// whose text is the same on SQLite and PostgreSQL; days and months are cut
// from Dialect.HourUTC's "YYYY-MM-DD HH" text with substr, which both
// databases have.

// CountMessages counts the account's messages: all of them, then those
// created at or after each of since, in one scan.
func (s *Store) CountMessages(ctx context.Context, accountID string, since ...time.Time) ([]int, error) {
	counts, err := s.countSince(ctx, "messages", "created_at", accountID, since)
	return counts, wrap("count messages", err)
}

// CountCalls counts the account's calls: all of them, then those started
// at or after each of since, in one scan.
func (s *Store) CountCalls(ctx context.Context, accountID string, since ...time.Time) ([]int, error) {
	counts, err := s.countSince(ctx, "calls", "started_at", accountID, since)
	return counts, wrap("count calls", err)
}

// countSince counts the account's rows of table: all of them, then those
// whose time column is at or after each of since, in one scan. table and
// column are constants of this package, never input.
func (s *Store) countSince(ctx context.Context, table, column, accountID string, since []time.Time) ([]int, error) {
	var q strings.Builder
	q.WriteString(`SELECT count(*)`)
	args := []any{accountID}
	for _, t := range since {
		args = append(args, dbTimeCeil(t))
		fmt.Fprintf(&q, `, COALESCE(sum(CASE WHEN %s >= $%d THEN 1 ELSE 0 END), 0)`, column, len(args))
	}
	q.WriteString(` FROM ` + table + ` WHERE account_id = $1`)
	counts := make([]int, len(since)+1)
	dest := make([]any, len(counts))
	for i := range counts {
		dest[i] = &counts[i]
	}
	rows, err := s.query(ctx, q.String(), args...)
	if err := scanOne(rows, err, dest...); err != nil {
		return nil, err
	}
	return counts, nil
}

// CountDeliveriesByStatus counts the account's deliveries by status, test
// deliveries included.
func (s *Store) CountDeliveriesByStatus(ctx context.Context, accountID string) (map[string]int, error) {
	rows, err := s.query(ctx, `SELECT status, count(*) FROM webhook_deliveries WHERE account_id = $1 GROUP BY status`, accountID)
	if err != nil {
		return nil, wrap("count deliveries by status", err)
	}
	type row struct {
		status string
		n      int
	}
	rs, err := scanRows(rows, func(rows *sql.Rows) (row, error) {
		var r row
		return r, rows.Scan(&r.status, &r.n)
	})
	if err != nil {
		return nil, wrap("count deliveries by status", err)
	}
	out := make(map[string]int, len(rs))
	for _, r := range rs {
		out[r.status] = r.n
	}
	return out, nil
}

// CountUsage counts the account's messages and deliveries created, and
// calls started (with their voice minutes: each call's seconds rounded up
// to the minute), at or after since by UTC day or month, oldest first,
// periods with none left out.
func (s *Store) CountUsage(ctx context.Context, accountID string, unit agentphone.UsageUnit, since time.Time) ([]agentphone.UsageCount, error) {
	if s.d.HourUTC == "" {
		return nil, fmt.Errorf("sqlstore: count usage: dialect %s has no HourUTC", s.d.Name)
	}
	var n int
	var layout string
	switch unit {
	case agentphone.UsageDay:
		n, layout = 10, "2006-01-02"
	case agentphone.UsageMonth:
		n, layout = 7, "2006-01"
	default:
		return nil, fmt.Errorf("sqlstore: count usage: unknown unit %q", unit)
	}
	byStart := map[time.Time]*agentphone.UsageCount{}
	for _, table := range []string{"messages", "webhook_deliveries", "calls"} {
		col, minutes := "created_at", `0`
		if table == "calls" {
			col, minutes = "started_at", `COALESCE(sum((COALESCE(duration_seconds, 0) + 59) / 60), 0)`
		}
		period := `substr(` + fmt.Sprintf(s.d.HourUTC, col) + `, 1, ` + strconv.Itoa(n) + `)`
		rows, err := s.query(ctx, `SELECT `+period+`, count(*), `+minutes+` FROM `+table+`
			WHERE account_id = $1 AND `+col+` >= $2 GROUP BY `+period, accountID, dbTimeCeil(since))
		if err != nil {
			return nil, wrap("count usage", err)
		}
		type row struct {
			start      time.Time
			n, minutes int
		}
		rs, err := scanRows(rows, func(rows *sql.Rows) (row, error) {
			var r row
			return r, rows.Scan(periodCol{layout, &r.start}, &r.n, &r.minutes)
		})
		if err != nil {
			return nil, wrap("count usage", err)
		}
		for _, r := range rs {
			c := byStart[r.start]
			if c == nil {
				c = &agentphone.UsageCount{Start: r.start}
				byStart[r.start] = c
			}
			switch table {
			case "messages":
				c.Messages += r.n
			case "calls":
				c.Calls += r.n
				c.VoiceMinutes += r.minutes
			default:
				c.Webhooks += r.n
			}
		}
	}
	out := make([]agentphone.UsageCount, 0, len(byStart))
	for _, c := range byStart {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b agentphone.UsageCount) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// UsageByNumber returns the account's active numbers and its released
// numbers that have messages or calls, newest first, each with its
// agent's name and its messages and calls counted.
func (s *Store) UsageByNumber(ctx context.Context, accountID string) ([]agentphone.NumberUsage, error) {
	rows, err := s.query(ctx, `SELECT id, phone_number, country, status, agent_id, agent_name, messages, calls FROM (
			SELECT n.id, n.phone_number, n.country, n.status, n.agent_id, a.name AS agent_name, n.created_at,
				(SELECT count(*) FROM messages m WHERE m.number_id = n.id AND m.account_id = n.account_id) AS messages,
				(SELECT count(*) FROM calls c WHERE c.number_id = n.id AND c.account_id = n.account_id) AS calls
			FROM numbers n LEFT JOIN agents a ON a.id = n.agent_id
			WHERE n.account_id = $1) u
		WHERE status = 'active' OR messages > 0 OR calls > 0
		ORDER BY created_at DESC, id DESC`, accountID)
	if err != nil {
		return nil, wrap("usage by number", err)
	}
	out, err := scanRows(rows, func(rows *sql.Rows) (agentphone.NumberUsage, error) {
		var u agentphone.NumberUsage
		var agentID, agentName sql.NullString
		if err := rows.Scan(&u.NumberID, &u.PhoneNumber, &u.Country, &u.Status, &agentID, &agentName, &u.Messages, &u.Calls); err != nil {
			return u, err
		}
		if agentID.Valid {
			u.AgentID = &agentID.String
		}
		if agentName.Valid {
			u.AgentName = &agentName.String
		}
		return u, nil
	})
	return out, wrap("usage by number", err)
}

// CountMessagesByAgent counts the account's messages created in [from, to)
// by agent; messages of no agent (or of a deleted one, whose messages lose
// their agent) make the item with a nil AgentID.
func (s *Store) CountMessagesByAgent(ctx context.Context, accountID string, from, to time.Time) ([]agentphone.AgentUsage, error) {
	rows, err := s.query(ctx, `SELECT m.agent_id, a.name, count(*)
		FROM messages m LEFT JOIN agents a ON a.id = m.agent_id
		WHERE m.account_id = $1 AND m.created_at >= $2 AND m.created_at < $3
		GROUP BY m.agent_id, a.name`, accountID, dbTimeCeil(from), dbTimeCeil(to))
	if err != nil {
		return nil, wrap("count messages by agent", err)
	}
	out, err := scanRows(rows, func(rows *sql.Rows) (agentphone.AgentUsage, error) {
		var u agentphone.AgentUsage
		var agentID, agentName sql.NullString
		if err := rows.Scan(&agentID, &agentName, &u.Messages); err != nil {
			return u, err
		}
		if agentID.Valid {
			u.AgentID = &agentID.String
		}
		u.AgentName = agentName.String
		return u, nil
	})
	return out, wrap("count messages by agent", err)
}

// CountCallsByAgent counts the account's completed calls started in [from,
// to), and sums their seconds, by agent; calls of no agent (or of a
// deleted one, whose calls lose their agent) make the item with a nil
// AgentID.
func (s *Store) CountCallsByAgent(ctx context.Context, accountID string, from, to time.Time) ([]agentphone.AgentUsage, error) {
	rows, err := s.query(ctx, `SELECT c.agent_id, a.name, count(*), COALESCE(sum(COALESCE(c.duration_seconds, 0)), 0)
		FROM calls c LEFT JOIN agents a ON a.id = c.agent_id
		WHERE c.account_id = $1 AND c.status = 'completed' AND c.started_at >= $2 AND c.started_at < $3
		GROUP BY c.agent_id, a.name`, accountID, dbTimeCeil(from), dbTimeCeil(to))
	if err != nil {
		return nil, wrap("count calls by agent", err)
	}
	out, err := scanRows(rows, func(rows *sql.Rows) (agentphone.AgentUsage, error) {
		var u agentphone.AgentUsage
		var agentID, agentName sql.NullString
		if err := rows.Scan(&agentID, &agentName, &u.Calls, &u.TotalSeconds); err != nil {
			return u, err
		}
		if agentID.Valid {
			u.AgentID = &agentID.String
		}
		u.AgentName = agentName.String
		return u, nil
	})
	return out, wrap("count calls by agent", err)
}
