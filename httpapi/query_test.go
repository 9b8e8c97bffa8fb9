package httpapi

import (
	"net/url"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
)

func TestPageQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query string
		want  agentphone.Page
		errs  []string
	}{
		{"", agentphone.Page{Limit: 20, Offset: 0}, nil},
		{"limit=1&offset=0", agentphone.Page{Limit: 1, Offset: 0}, nil},
		{"limit=100&offset=5", agentphone.Page{Limit: 100, Offset: 5}, nil},
		{"limit=7&limit=8", agentphone.Page{Limit: 8}, nil},
		{"limit=0", agentphone.Page{Limit: 20}, []string{`["query","limit"]|greater_than_equal|Input should be greater than or equal to 1`}},
		{"limit=101", agentphone.Page{Limit: 20}, []string{`["query","limit"]|less_than_equal|Input should be less than or equal to 100`}},
		{"limit=99999999999999999999999", agentphone.Page{Limit: 20}, []string{`["query","limit"]|less_than_equal|Input should be less than or equal to 100`}},
		{"offset=-1", agentphone.Page{Limit: 20}, []string{`["query","offset"]|greater_than_equal|Input should be greater than or equal to 0`}},
		{"limit=x&offset=1.5", agentphone.Page{Limit: 20}, []string{
			`["query","limit"]|int_parsing|Input should be a valid integer, unable to parse string as an integer`,
			`["query","offset"]|int_parsing|Input should be a valid integer, unable to parse string as an integer`,
		}},
		{"limit=", agentphone.Page{Limit: 20}, []string{`["query","limit"]|int_parsing|Input should be a valid integer, unable to parse string as an integer`}},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		var qe queryErrors
		got := qe.page(q, agentphone.DefaultPageLimit, agentphone.MaxPageLimit)
		if got != tt.want && len(tt.errs) == 0 {
			t.Errorf("%q: page %+v, want %+v", tt.query, got, tt.want)
		}
		if keys := errKeys(qe); !reflect.DeepEqual(keys, tt.errs) && !(len(keys) == 0 && tt.errs == nil) {
			t.Errorf("%q: errors\n got %q\nwant %q", tt.query, keys, tt.errs)
		}
	}
}

func TestParseDateTime(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2025-01-15T12:00:00Z", at, true},
		{"2025-01-15T12:00:00.000Z", at, true},
		{"2025-01-15T12:00:00.123456Z", at.Add(123456 * time.Microsecond), true},
		{"2025-01-15T13:00:00+01:00", at, true},
		{"2025-01-15T13:00:00 01:00", at, true}, // '+' decoded as a space
		{"2025-01-15T12:00:00", at, true},
		{"2025-01-15 12:00:00Z", at, true},
		{"2025-01-15T12:00Z", at, true},
		{"2025-01-15", time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC), true},
		{"1736942400", at, true},
		{"", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"2025-13-01T00:00:00Z", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := parseDateTime(tt.in)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("parseDateTime(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMessageQuery(t *testing.T) {
	t.Parallel()
	q, _ := url.ParseQuery("limit=201&before=soon&after=2025-01-15T12:00:00Z")
	var qe queryErrors
	if got := qe.intParam(q, "limit", defaultMessageLimit, 1, maxMessageLimit); got != 50 {
		t.Errorf("limit = %d", got)
	}
	qe.timeParam(q, "before")
	if after := qe.timeParam(q, "after"); after.IsZero() {
		t.Error("after not parsed")
	}
	want := []string{
		`["query","limit"]|less_than_equal|Input should be less than or equal to 200`,
		`["query","before"]|datetime_from_date_parsing|Input should be a valid datetime`,
	}
	if keys := errKeys(qe); !reflect.DeepEqual(keys, want) {
		t.Errorf("errors\n got %q\nwant %q", keys, want)
	}
}

func TestNullableIntParam(t *testing.T) {
	t.Parallel()
	q, _ := url.ParseQuery("a=&b=%20&c=5&d=0&e=x&f=200")
	var qe queryErrors
	for name, want := range map[string]any{"a": nil, "b": nil, "c": 5, "d": nil, "e": nil, "f": nil, "absent": nil} {
		got := qe.nullableIntParam(q, name, 1, 168)
		if (got == nil) != (want == nil) || got != nil && *got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	want := []string{
		`["query","d"]|greater_than_equal|Input should be greater than or equal to 1`,
		`["query","e"]|int_parsing|Input should be a valid integer, unable to parse string as an integer`,
		`["query","f"]|less_than_equal|Input should be less than or equal to 168`,
	}
	keys := errKeys(qe)
	slices.Sort(keys) // map order
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("errors\n got %q\nwant %q", keys, want)
	}
}
