package sqlstore

import (
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Column scanners for the values whose Go type differs between drivers:
// PostgreSQL (pgx) returns time.Time for TIMESTAMPTZ, SQLite returns the
// TEXT it stored (in the _time_format=sqlite layout).

// timeFormats are the layouts a time stored as text may have: the one
// modernc.org/sqlite writes under _time_format=sqlite, and the ones it reads.
var timeFormats = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	time.RFC3339Nano,
}

func parseTime(s string) (time.Time, error) {
	for _, f := range timeFormats {
		if t, err := time.Parse(f, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised time %q", s)
}

func toTime(src any) (time.Time, error) {
	switch v := src.(type) {
	case time.Time:
		return v.UTC(), nil
	case string:
		return parseTime(v)
	case []byte:
		return parseTime(string(v))
	}
	return time.Time{}, fmt.Errorf("cannot scan %T into a time", src)
}

// periodCol scans the text of a UTC period computed in SQL (Dialect.HourUTC,
// or a prefix of it) in layout, as the period's start.
type periodCol struct {
	layout string
	p      *time.Time
}

func (c periodCol) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("cannot scan %T into a period", src)
	}
	t, err := time.ParseInLocation(c.layout, s, time.UTC)
	if err != nil {
		return fmt.Errorf("period: %w", err)
	}
	*c.p = t
	return nil
}

// timeCol scans a NOT NULL time column, in UTC.
type timeCol struct{ p *time.Time }

func (c timeCol) Scan(src any) error {
	t, err := toTime(src)
	if err != nil {
		return err
	}
	*c.p = t
	return nil
}

// nullTimeCol scans a nullable time column: NULL is nil.
type nullTimeCol struct{ p **time.Time }

func (c nullTimeCol) Scan(src any) error {
	if src == nil {
		*c.p = nil
		return nil
	}
	t, err := toTime(src)
	if err != nil {
		return err
	}
	*c.p = &t
	return nil
}

// nullStringCol scans a nullable text column: NULL is nil.
type nullStringCol struct{ p **string }

func (c nullStringCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.p = nil
	case string:
		*c.p = &v
	case []byte:
		s := string(v)
		*c.p = &s
	default:
		return fmt.Errorf("cannot scan %T into a string", src)
	}
	return nil
}

// nullIntCol scans a nullable integer column: NULL is nil.
type nullIntCol struct{ p **int }

func (c nullIntCol) Scan(src any) error {
	var n sql.NullInt64
	if err := n.Scan(src); err != nil {
		return err
	}
	*c.p = nil
	if n.Valid {
		v := int(n.Int64)
		*c.p = &v
	}
	return nil
}

// bytesCol scans a nullable text column into a copy of its bytes: NULL is
// nil, the empty string a non-nil empty slice.
type bytesCol struct{ p *[]byte }

func (c bytesCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.p = nil
	case string:
		*c.p = []byte(v)
	case []byte:
		*c.p = append(make([]byte, 0, len(v)), v...)
	default:
		return fmt.Errorf("cannot scan %T into text", src)
	}
	return nil
}

// dbTime is how a time is bound: UTC, microseconds (what both databases
// keep), so that what is stored reads back equal.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// dbTimeCeil binds a bound of a comparison with stored times: t rounded up
// to the microsecond, so that, stored times being whole microseconds,
// "stored >= bound" and "stored < bound" mean the same as with t itself.
func dbTimeCeil(t time.Time) time.Time {
	u := dbTime(t)
	if u.Before(t) {
		u = u.Add(time.Microsecond)
	}
	return u
}

// dbNullTime binds a nullable time.
func dbNullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return dbTime(*t)
}

// dbNullInt binds a nullable integer.
func dbNullInt(n *int) any {
	if n == nil {
		return nil
	}
	return int64(*n)
}

// dbNullText binds a nullable string of outside origin (a receiver's
// answer, an error that may quote it) for a text column. PostgreSQL's text
// holds neither NUL nor invalid UTF-8, which such strings may contain (a
// body cut at a byte limit can end inside a character); they are stored
// with U+FFFD in their place, on every database alike.
func dbNullText(s *string) any {
	if s == nil {
		return nil
	}
	return strings.ReplaceAll(strings.ToValidUTF8(*s, "\uFFFD"), "\x00", "\uFFFD")
}

// dbNullString binds a nullable string.
func dbNullString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}
