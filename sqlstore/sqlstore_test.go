package sqlstore

import (
	"encoding/json"
	"testing"
	"testing/fstest"
	"time"

	"github.com/agentphone/agentphone"
)

func TestMigrations(t *testing.T) {
	ms, err := Migrations(fstest.MapFS{
		"0002_more.sql":  {Data: []byte("two")},
		"0010_later.sql": {Data: []byte("ten")},
		"0001_init.sql":  {Data: []byte("one")},
		"README.md":      {Data: []byte("ignored")},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, m := range ms {
		got = append(got, m.Version)
	}
	if len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 10 || ms[2].SQL != "ten" {
		t.Fatalf("versions %v", got)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"duplicate": {"0001_a.sql": {}, "01_b.sql": {}},
		"no number": {"init.sql": {}},
		"zero":      {"0000_init.sql": {}},
	} {
		if _, err := Migrations(fsys); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestToolsRoundTrip(t *testing.T) {
	for name, tools := range map[string][]agentphone.CustomTool{
		"nil":   nil,
		"empty": {},
		"full": {{Name: "a<b>", Description: "x & y", URL: "https://e/?a=1&b=2", Method: "GET",
			Headers: map[string]string{"k": "v"}, Parameters: json.RawMessage(`{"p":"<q>"}`)}},
		"nil parts": {{Name: "n", Method: "POST"}},
	} {
		enc, err := encodeTools(tools)
		if err != nil {
			t.Fatal(err)
		}
		var b []byte
		if enc != nil {
			b = []byte(enc.(string))
		}
		got, err := decodeTools(b)
		if err != nil {
			t.Fatal(err)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(tools)
		if (got == nil) != (tools == nil) || string(gj) != string(wj) {
			t.Errorf("%s: %s → %s (stored %v)", name, wj, gj, enc)
		}
		if name == "nil parts" && (got[0].Parameters != nil || got[0].Headers != nil) {
			t.Errorf("nil parts read back as %+v", got[0])
		}
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2025, 1, 15, 10, 30, 0, 123456000, time.UTC)
	for _, s := range []string{
		"2025-01-15 10:30:00.123456+00:00",
		"2025-01-15 12:30:00.123456+02:00",
		"2025-01-15T10:30:00.123456Z",
		"2025-01-15 10:30:00.123456",
	} {
		got, err := parseTime(s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v", s, got, err)
		}
	}
}

func TestLimitOffset(t *testing.T) {
	if l, o := limitOffset(agentphone.Page{Limit: 10, Offset: -3}); l != 10 || o != 0 {
		t.Errorf("got %d %d", l, o)
	}
	if l, _ := limitOffset(agentphone.Page{}); l < 1<<30 {
		t.Errorf("no limit gave %d", l)
	}
	if p := placeholders(3, 3); p != "$3, $4, $5" {
		t.Errorf("placeholders = %q", p)
	}
}
