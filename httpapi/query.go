package httpapi

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agentphone/agentphone"
)

// Query parameters are validated like FastAPI does: every bad parameter is
// listed in one 422 with a loc of ["query", name].

// queryErrors collects the errors of one query string.
type queryErrors []agentphone.FieldError

func (qe *queryErrors) add(name, msg, typ string) {
	*qe = append(*qe, agentphone.FieldError{Loc: []any{"query", name}, Msg: msg, Type: typ})
}

func (qe queryErrors) err() error {
	if len(qe) == 0 {
		return nil
	}
	return &validationError{qe}
}

// last returns the last value of name (Starlette's rule), and whether the
// parameter was given at all.
func last(q url.Values, name string) (string, bool) {
	vs := q[name]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// intParam parses the integer parameter name, def when absent; lo and hi
// bound it (hi < lo: no upper bound).
func (qe *queryErrors) intParam(q url.Values, name string, def, lo, hi int) int {
	s, ok := last(q, name)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		qe.add(name, "Input should be a valid integer, unable to parse string as an integer", "int_parsing")
		return def
	}
	// Out of int64 range: ParseInt saturated n, the bounds below report it.
	n = min(max(n, math.MinInt), math.MaxInt)
	switch {
	case n < int64(lo):
		qe.add(name, fmt.Sprintf("Input should be greater than or equal to %d", lo), "greater_than_equal")
		return def
	case hi >= lo && n > int64(hi):
		qe.add(name, fmt.Sprintf("Input should be less than or equal to %d", hi), "less_than_equal")
		return def
	}
	return int(n)
}

// nullableIntParam parses the optional, nullable integer parameter name
// like intParam; it returns nil when absent or empty: the SDK sends "name="
// for a null value.
func (qe *queryErrors) nullableIntParam(q url.Values, name string, lo, hi int) *int {
	s, ok := last(q, name)
	if !ok || strings.TrimSpace(s) == "" {
		return nil
	}
	before := len(*qe)
	n := qe.intParam(q, name, 0, lo, hi)
	if len(*qe) > before {
		return nil
	}
	return &n
}

// page parses limit (default and maximum as given, minimum 1) and offset
// (default 0, minimum 0) of an offset-paginated list (spec §1.7).
func (qe *queryErrors) page(q url.Values, defLimit, maxLimit int) agentphone.Page {
	return agentphone.Page{
		Limit:  qe.intParam(q, "limit", defLimit, 1, maxLimit),
		Offset: qe.intParam(q, "offset", 0, 0, -1),
	}
}

// pageQuery parses the limit and offset of a list with the default page
// size (20, at most 100).
func pageQuery(r *http.Request) (agentphone.Page, error) {
	var qe queryErrors
	p := qe.page(r.URL.Query(), agentphone.DefaultPageLimit, agentphone.MaxPageLimit)
	return p, qe.err()
}

// timeParam parses the date-time parameter name; the zero time when absent.
func (qe *queryErrors) timeParam(q url.Values, name string) time.Time {
	s, ok := last(q, name)
	if !ok {
		return time.Time{}
	}
	t, ok := parseDateTime(s)
	if !ok {
		qe.add(name, "Input should be a valid datetime", "datetime_from_date_parsing")
	}
	return t
}

// dateTimeLayouts are the ISO-8601 forms accepted in queries, most common
// first. Those without a zone are read as UTC.
var dateTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseDateTime parses an ISO-8601 date-time as Pydantic would: with or
// without fractional seconds or zone, a bare date (midnight UTC), or Unix
// seconds. A '+' of the zone that form decoding turned into a space is
// restored (spec §1.5).
func parseDateTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
	}
	if n := len(s); n > 6 && s[n-6] == ' ' && s[n-3] == ':' {
		s = s[:n-6] + "+" + s[n-5:]
	}
	for _, layout := range dateTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
