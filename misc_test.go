package agentphone

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestNewID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		id := NewID(PrefixAgent)
		if !strings.HasPrefix(id, "agt_") || len(id) != len("agt_")+22 {
			t.Fatalf("id %q: want agt_ and 22 base62 characters", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
}

func TestErrorIs(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("store: %w", Errorf(KindNotFound, "Agent not found"))
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		t.Fatal("errors.Is does not match by kind")
	}
	if ErrorKind(err) != KindNotFound || ErrorMessage(err) != "Agent not found" {
		t.Fatalf("kind %v message %q", ErrorKind(err), ErrorMessage(err))
	}
	if ErrorKind(errors.New("boom")) != KindInternal || ErrorMessage(errors.New("boom")) != "" {
		t.Fatal("an internal error leaks its message")
	}
}

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"+14155551234": "+14155551234", "+1 (415) 555-1234": "+14155551234", "14155551234": "+14155551234",
		" 14155551234": "+14155551234", "+44 20 7946 0958": "+442079460958",
		// Ten digits without +: written nationally in North America.
		"(415) 555-1234": "+14155551234", "415.555.1234": "+14155551234", "4155551234": "+14155551234",
		"442079460958": "+442079460958",
	} {
		if got, err := NormalizePhone(in); err != nil || got != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "hello", "+1", "+999999"} {
		if got, err := NormalizePhone(bad); err == nil {
			t.Errorf("NormalizePhone(%q) = %q, want error", bad, got)
		}
	}
}

func TestOpt(t *testing.T) {
	t.Parallel()
	var in struct {
		A Opt[int]    `json:"a"`
		B Opt[string] `json:"b"`
		C Opt[bool]   `json:"c"`
	}
	if err := json.Unmarshal([]byte(`{"a":3,"b":null}`), &in); err != nil {
		t.Fatal(err)
	}
	if !in.A.HasValue() || in.A.Value != 3 || !in.B.Set || !in.B.Null || in.C.Set {
		t.Fatalf("got %+v", in)
	}
	b, _ := json.Marshal(in)
	if string(b) != `{"a":3,"b":null,"c":null}` {
		t.Fatalf("marshal = %s", b)
	}
}
